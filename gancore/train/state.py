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
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(
    tensors: dict[str, torch.Tensor], meta: dict[str, Any], prefix: str
) -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer`: a state dict for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {}
    head = prefix + "."
    for key, value in tensors.items():
        if key.startswith(head):
            index, name = key[len(head) :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    for index, values in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


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
