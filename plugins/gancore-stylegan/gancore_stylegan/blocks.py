"""StyleGAN2 blocks (kind ``block``) that take their style vector ``w`` as ``cond``.

Every block here exposes ``cond_dim`` (the size of ``w`` it expects) and ``num_styles`` (how
many style vectors it consumes, always 1). A plain ``stack`` generator passes class labels as
``cond``, so these blocks belong in the ``blocks`` of a ``stylegan2`` generator, which hands
each one its own ``w``. ``w_dim`` defaults to the generator's.
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from gancore.plugin import BuildContext
from gancore_stylegan.layers import LRELU_GAIN, ModulatedConv2d, NoiseInput

#: Style size used when a block is built outside a ``stylegan2`` generator.
DEFAULT_W_DIM = 64

Channels = Annotated[int, Field(gt=0, le=4096, description="output channels (default: input's)")]
Kernel = Annotated[int, Field(gt=0, le=7, description="odd kernel size")]
WDim = Annotated[
    int, Field(gt=0, le=4096, description="style size (default: the generator's w_dim)")
]


def _w_dim(ctx: BuildContext, w_dim: int | None) -> int:
    return int(w_dim or ctx.cond_dim or DEFAULT_W_DIM)


def _check_style(name: str, cond: torch.Tensor | None, w_dim: int) -> torch.Tensor:
    if cond is None or cond.dim() != 2 or cond.shape[1] != w_dim:
        got = "nothing" if cond is None else f"shape {tuple(cond.shape)}"
        raise ValueError(
            f"{name} needs a style vector [B, {w_dim}] as cond, got {got}; "
            "use it in the blocks of a stylegan2 generator"
        )
    return cond


class ModulatedConvBlock(nn.Module):
    """A modulated convolution (demodulated unless told otherwise); ``forward(x, w)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        kernel_size: Kernel = 3,
        demodulate: bool = True,
        up: bool = False,
        w_dim: WDim | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels or in_channels
        self.scale = 2.0 if up else 1.0
        self.cond_dim, self.num_styles = _w_dim(ctx, w_dim), 1
        self.conv = ModulatedConv2d(
            in_channels, self.out_channels, kernel_size, self.cond_dim, demodulate, up
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(x, _check_style("modulated_conv", cond, self.cond_dim))


class StyleBlock(nn.Module):
    """StyleGAN2 layer: modulated conv (optionally x2 up), noise, bias, leaky ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        kernel_size: Kernel = 3,
        up: bool = False,
        noise: bool = True,
        w_dim: WDim | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels or in_channels
        self.scale = 2.0 if up else 1.0
        self.cond_dim, self.num_styles = _w_dim(ctx, w_dim), 1
        self.conv = ModulatedConv2d(
            in_channels, self.out_channels, kernel_size, self.cond_dim, True, up
        )
        res = ctx.resolution * (2 if up else 1) if ctx.resolution else None
        self.noise = NoiseInput(res) if noise else None
        self.bias = nn.Parameter(torch.zeros(self.out_channels))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv(x, _check_style("style_block", cond, self.cond_dim))
        if self.noise is not None:
            h = self.noise(h)
        return F.leaky_relu(h + self.bias[None, :, None, None], 0.2) * LRELU_GAIN


class ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) to image channels, plus bias."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        w_dim: WDim | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels or ctx.image_channels
        self.cond_dim, self.num_styles = _w_dim(ctx, w_dim), 1
        self.conv = ModulatedConv2d(in_channels, self.out_channels, 1, self.cond_dim, False)
        self.bias = nn.Parameter(torch.zeros(self.out_channels))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv(x, _check_style("to_rgb", cond, self.cond_dim))
        return h + self.bias[None, :, None, None]
