"""``torch.export``: the generator as an ``ExportedProgram`` saved in a ``.pt2`` file.

The program is traced by ``torch.export.export`` (non-strict: the Python code runs as it is,
the tensor operations are recorded) with a dynamic batch dimension, saved with
``torch.export.save`` and checked by running what ``torch.export.load`` reads back. Loading it
needs PyTorch alone: ``torch.export.load("generator.pt2").module()(z, ...)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "torch-export"
LABEL = "torch.export"
FILENAME = "generator.pt2"


def require() -> None:
    """Nothing beyond PyTorch is needed."""


def export(module: nn.Module, args: tuple[torch.Tensor, ...], dynamic: Sequence[Any],
           path: Path, *, input_names: Sequence[str] | None = None,
           output_name: str | None = None) -> dict[str, Any]:
    """Trace ``module`` on ``args`` and save the program to ``path``; returns facts to record."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(module, args, dynamic_shapes=tuple(dynamic), strict=False)
        torch.export.save(program, str(path))
    return {"torch_version": torch.__version__}


def load(path: Path) -> Callable[[tuple[torch.Tensor, ...]], list[torch.Tensor]]:
    """What runs the saved program: inputs in, the output tensors out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.export.load(str(path)).module()

    def run(args: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        with torch.no_grad():
            out = module(*args)
        return list(out) if isinstance(out, tuple | list) else [out]

    return run
