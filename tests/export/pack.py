"""Helpers of the export tests: training a checkpoint, a pack with parts that do not export."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from gancore.plugin import hookimpl
from tests.bad_input.conftest import tiny_recipe

#: Why the ONNX tests skip when the export extra is missing.
NO_ONNX = "onnx, onnxruntime and onnxscript are not installed (pip install 'gancore[export]')"


def _onnx_missing() -> bool:
    for name in ("onnx", "onnxruntime", "onnxscript"):
        try:
            importlib.import_module(name)
        except ImportError:
            return True
    return False


ONNX_MISSING = _onnx_missing()
needs_onnx = pytest.mark.skipif(ONNX_MISSING, reason=NO_ONNX)


def train_checkpoint(recipe: str | dict[str, Any], out: Path, **train: Any) -> Path:
    """``recipe`` trained for 2 steps on a little shapes data (EMA on); its last checkpoint."""
    from gancore.train import train as run

    overrides = ["data.type=shapes", "data.num_samples=32", "train.batch_size=4",
                 "train.precision=fp32", 'train.channels_last="off"',
                 'train.techniques=[{ type = "ema", decay = 0.5 }]', "train.grid_size=4",
                 *(f"train.{k}={v}" for k, v in train.items())]
    result = run(recipe, overrides=overrides, out=out, steps=2)
    return Path(result.checkpoint)


# -- a pack whose parts do not export ---------------------------------------------------------
@torch.library.custom_op("gancore_exporttest::wiggle", mutates_args=())
def wiggle(x: torch.Tensor) -> torch.Tensor:
    """A custom op (no ONNX translation exists for it)."""
    return x + 0.01 * torch.sin(7 * x)


@wiggle.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


class Wiggle(nn.Module):
    """A block computing with the custom op: torch.export keeps it, ONNX cannot translate it."""

    def __init__(self, in_channels: int, *, ctx: Any = None) -> None:
        super().__init__()
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        return wiggle(x)


class Shifty(nn.Module):
    """A block that computes something else while it is being exported."""

    def __init__(self, in_channels: int, *, ctx: Any = None) -> None:
        super().__init__()
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        return x + (0.25 if torch.compiler.is_exporting() else 0.0)


class NumpyTanh(nn.Module):
    """tanh through numpy: torch.export cannot trace a tensor's way out to numpy."""

    def __init__(self, in_channels: int, *, ctx: Any = None) -> None:
        super().__init__()
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        return torch.from_numpy(np.tanh(x.detach().cpu().numpy()))


def numpy_norm(num_features: int, dims: int = 2, num_classes: int = 0) -> nn.Module:
    """A feature norm that goes through numpy."""
    return NumpyTanh(num_features)


class ExportTestPack:
    @hookimpl
    def gancore_register_components(self, registry: Any) -> None:
        registry.add("block", "wiggle", Wiggle)
        registry.add("block", "shifty", Shifty)
        registry.add("norm", "numpy_norm", numpy_norm)


PACK = "gancore-exporttest"


def tiny_with(block: dict[str, Any]) -> dict[str, Any]:
    """The tiny recipe with ``block`` between the generator's two upsampling blocks."""
    recipe = tiny_recipe()
    blocks = recipe["generator"]["blocks"]
    recipe["generator"]["blocks"] = [blocks[0], block, blocks[1]]
    return recipe
