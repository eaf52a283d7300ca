"""The state of stateful components (penalties, augments, losses, callbacks) in checkpoints.

A component is stateful when it has ``state_dict()`` and ``load_state_dict(state)`` (every
``nn.Module`` has them: its parameters and buffers). Its state dict is split into tensors,
stored in the checkpoint's safetensors as ``state.<component key>.<path>``, and everything
else, stored as JSON in the trainer metadata; nothing is pickled. Tensors come back on the
trainer's device.

JSON cannot say everything Python can, so the encoding marks what it would lose: a tensor leaf
becomes ``{"__tensor__": name}``, a tuple ``{"__tuple__": [...]}`` and a dict whose keys are not
all strings (an optimizer's integer parameter ids) ``{"__items__": [[key, value], ...]}``.
Anything else (numbers, strings, bools, None, lists and string-keyed dicts of them) is JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from gancore.core.errors import CheckpointError

PREFIX = "state."
_MARKS = ("__tensor__", "__tuple__", "__items__")


@dataclass
class Stateful:
    """A component of the run whose state goes into checkpoints."""

    key: str  # "penalty[0]", "train.callbacks[1]", "callback:ada" (a pack's default one)
    type: str
    origin: str | None
    obj: Any


def is_stateful(obj: Any) -> bool:
    """Whether ``obj`` declares ``state_dict()`` and ``load_state_dict()``."""
    return callable(getattr(obj, "state_dict", None)) and callable(
        getattr(obj, "load_state_dict", None)
    )


def encode(value: Any, name: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON data; tensors are moved into ``tensors`` under names from ``name``."""
    if isinstance(value, torch.Tensor):
        key = f"{PREFIX}{name}"
        tensors[key] = value.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": key}
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) and k not in (*_MARKS, "__float__") for k in value):
            return {k: encode(v, f"{name}.{k}", tensors) for k, v in value.items()}
        items = []
        for k, v in value.items():
            if not (isinstance(k, int | str | bool | float) or k is None):
                raise TypeError(f"a dict key of type {type(k).__name__} at {name}")
            items.append([k, encode(v, f"{name}.{k}", tensors)])
        return {"__items__": items}
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalars
        return encode(value.item(), name, tensors)
    raise TypeError(f"a value of type {type(value).__name__} at {name} (state dicts hold "
                    "tensors, numbers, strings, bools, None, lists, tuples and dicts)")


def decode(data: Any, tensors: dict[str, torch.Tensor], device: torch.device | None) -> Any:
    """Inverse of :func:`encode`; a tensor listed but missing is a ``KeyError`` naming it."""
    if isinstance(data, list):
        return [decode(v, tensors, device) for v in data]
    if isinstance(data, dict):
        if set(data) == {"__tensor__"}:
            t = tensors[data["__tensor__"]]
            return t.to(device) if device is not None else t
        if set(data) == {"__float__"}:
            return float(data["__float__"])
        if set(data) == {"__tuple__"}:
            return tuple(decode(v, tensors, device) for v in data["__tuple__"])
        if set(data) == {"__items__"}:
            return {k: decode(v, tensors, device) for k, v in data["__items__"]}
        return {k: decode(v, tensors, device) for k, v in data.items()}
    return data


def save_states(components: Iterable[Stateful]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` of every component with a non-empty state."""
    from gancore.core.errors import GancoreError

    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for c in components:
        state = c.obj.state_dict()
        if not state:
            continue
        try:
            encoded = encode(dict(state), c.key, tensors)
        except TypeError as exc:
            raise GancoreError(
                f"the state of {c.key} ({c.type!r} from {c.origin}) cannot be stored in a "
                f"checkpoint: state_dict() holds {exc}",
                hint="keep tensors and plain numbers/strings in state_dict(); see 'Component "
                "state' in docs/plugins.md",
            ) from None
        meta[c.key] = {"type": c.type, "origin": c.origin, "state": encoded}
    return tensors, meta


_HINT = ("resume with the recipe, plugin packs and pack versions the run was started with, "
         "or start a new run from these weights with --init-from")


def restore_states(
    components: Iterable[Stateful],
    saved: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    *,
    source: str,
    device: torch.device | None = None,
) -> None:
    """Load the checkpoint's component states into ``components``.

    Every component with state must find its own (same key, same type) and every saved state
    must find its component; otherwise one :class:`CheckpointError` lists the mismatches.
    """
    own = {c.key: c for c in components}
    problems = []
    for key, c in own.items():
        entry = saved.get(key)
        if entry is None:
            if c.obj.state_dict():
                problems.append(f"{key} ({c.type!r} from {c.origin}) has state, but the "
                                "checkpoint holds none for it")
        elif entry.get("type") != c.type:
            problems.append(f"{key} is {c.type!r} in this run but {entry.get('type')!r} in the "
                            "checkpoint")
    for key, entry in saved.items():
        if key not in own:
            problems.append(f"the checkpoint holds the state of {key} ({entry.get('type')!r} "
                            f"from {entry.get('origin')}), which this run does not have")
    if problems:
        raise CheckpointError(
            "the checkpoint's component state does not match the recipe's components: "
            + "; ".join(problems), source=source, hint=_HINT)
    for key, entry in saved.items():
        c = own[key]
        try:
            c.obj.load_state_dict(decode(entry.get("state", {}), tensors, device))
        except Exception as exc:  # the component refused its own saved state
            raise CheckpointError(
                f"the checkpoint's state of {key} ({c.type!r} from {c.origin}) does not fit "
                f"the component: {type(exc).__name__}: {exc}", source=source, hint=_HINT,
            ) from None
