"""Training state as safetensors-friendly data: flat tensors plus JSON metadata.

Optimizer states become tensors named ``{prefix}.{param index}.{name}`` plus a JSON record of
their param groups and any non-tensor values; RNG states become uint8 tensors.
"""

from __future__ import annotations

import json
from typing import Any

import torch


def flatten_optimizer(
    optimizer: torch.optim.Optimizer, prefix: str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` holding ``optimizer.state_dict()`` without pickling."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{name}"] = value
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {
        "param_groups": state["param_groups"],
        "scalars": scalars,
        "tensors": sorted(tensors),
    }


def unflatten_optimizer(
    tensors: dict[str, torch.Tensor], meta: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer`: a state dict for ``optimizer.load_state_dict``.

    Raises ``ValueError`` naming the tensor for a name not of the form ``prefix.N.name``.
    """
    state: dict[int, dict[str, Any]] = {}
    head = prefix + "."
    for key, value in tensors.items():
        if key.startswith(head):
            index, dot, name = key[len(head) :].partition(".")
            if not dot or not name or not index.isdigit():
                raise ValueError(f"tensor {key!r} is not named {prefix}.<index>.<name>")
            state.setdefault(int(index), {})[name] = value
    for index, values in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def load_optimizer(
    optimizer: torch.optim.Optimizer,
    tensors: dict[str, torch.Tensor],
    meta: Any,
    prefix: str,
    *,
    source: str,
    network: str,
) -> None:
    """Restore ``optimizer`` from a checkpoint's tensors and its ``prefix`` metadata.

    ``meta`` is the validated :class:`~gancore.assembly.checkpoint.OptimizerMeta` (None when the
    checkpoint has none). A missing state, missing state tensors (the checkpoint lists those it
    wrote), a state for other parameters and anything the optimizer refuses raise one
    :class:`~gancore.core.errors.CheckpointError` naming the file and the tensors.
    """
    from gancore.assembly.checkpoint import relay
    from gancore.core.errors import CheckpointError

    hint = ("resume from an intact checkpoint of the run (e.g. step_*.safetensors), or start "
            "a new run from these weights with --init-from")
    if meta is None:
        raise CheckpointError(
            f"the checkpoint has no optimizer state for the {network} ({prefix}), so the run "
            "cannot be resumed exactly", source=source, hint=hint)
    data = meta.model_dump() if hasattr(meta, "model_dump") else dict(meta)
    listed = data.get("tensors")
    if listed is not None:
        missing = [name for name in listed if name not in tensors]
        if missing:
            shown = ", ".join(missing[:4]) + (f" (+{len(missing) - 4} more)"
                                              if len(missing) > 4 else "")
            raise CheckpointError(
                f"the {network}'s optimizer state is incomplete: missing tensors {shown}",
                source=source, hint=hint)
    counts = [len(g.get("params", ())) for g in data["param_groups"]]
    own = [len(g["params"]) for g in optimizer.param_groups]
    if counts != own:
        raise CheckpointError(
            f"the {network}'s optimizer state is for {sum(counts)} parameters in "
            f"{len(counts)} group(s), but the network has {sum(own)} in {len(own)}",
            source=source, hint=hint)
    try:
        optimizer.load_state_dict(unflatten_optimizer(tensors, data, prefix))
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"corrupt checkpoint: the {network}'s optimizer state cannot be restored: "
            f"{relay(exc)}", source=source, hint=hint) from None


def rng_tensors(*generators: tuple[str, torch.Generator]) -> dict[str, torch.Tensor]:
    """The global CPU (and CUDA) RNG states and those of named generators."""
    out = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["rng.cuda"] = torch.cuda.get_rng_state()
    for name, gen in generators:
        out[f"rng.{name}"] = gen.get_state()
    return out


def restore_rng(tensors: dict[str, torch.Tensor], *generators: tuple[str, torch.Generator]) -> None:
    """Set the RNG states saved by :func:`rng_tensors` (those present in ``tensors``)."""
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    for name, gen in generators:
        if f"rng.{name}" in tensors:
            gen.set_state(tensors[f"rng.{name}"])


def dumps(value: Any) -> str:
    """JSON for checkpoint metadata."""
    return json.dumps(value, sort_keys=True)
