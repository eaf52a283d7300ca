"""Convolutional blocks (kind ``block``): stems, up/down-sampling and plain convolutions."""

from __future__ import annotations

from typing import Literal

from torch import nn

from gancore.assembly.context import BuildContext
from gancore.core.params import Channels, Kernel, Probability, Resolution
from gancore.core.refs import ActivationSpec, NormSpec, WeightNormSpec
from gancore.nn.dense_conv import ProjectionConvTranspose2d
from gancore.nn.layers import SeqBlock, default_bias, norm_act


class Dense(SeqBlock):
    """Stem: a linear layer from the latent vector to ``out_channels`` x resolution²."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels = 256,
        resolution: Resolution = 4,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        linear = nn.Linear(
            in_channels, out_channels * resolution * resolution, bias=default_bias(ctx, bias, norm)
        )
        super().__init__(
            ctx.apply_weight_norm(linear, weight_norm),
            nn.Unflatten(1, (out_channels, resolution, resolution)),
            *norm_act(ctx, out_channels, norm, activation),
            out_channels=out_channels,
            out_resolution=resolution,
        )


class Project(SeqBlock):
    """Stem: the latent vector as a 1x1 map through a transposed conv (DCGAN's first layer)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels = 512,
        resolution: Resolution = 4,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        conv = ProjectionConvTranspose2d(
            in_channels, out_channels, resolution, 1, 0, bias=default_bias(ctx, bias, norm)
        )
        super().__init__(
            nn.Unflatten(1, (in_channels, 1, 1)),
            ctx.apply_weight_norm(conv, weight_norm),
            *norm_act(ctx, out_channels, norm, activation),
            out_channels=out_channels,
            out_resolution=resolution,
        )


class Upsample(SeqBlock):
    """Upsample x2 (nearest or bilinear) then a stride-1 conv: no checkerboard artefacts."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        mode: Literal["nearest", "bilinear"] = "nearest",
        kernel_size: Kernel = 3,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        out = out_channels or in_channels
        conv = nn.Conv2d(
            in_channels, out, kernel_size, 1, kernel_size // 2, bias=default_bias(ctx, bias, norm)
        )
        super().__init__(
            nn.Upsample(scale_factor=2, mode=mode),
            ctx.apply_weight_norm(conv, weight_norm),
            *norm_act(ctx, out, norm, activation),
            out_channels=out,
            scale=2.0,
        )


class Transposed(SeqBlock):
    """Transposed conv (kernel 4, stride 2, padding 1) doubling the resolution (DCGAN)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        out = out_channels or in_channels // 2
        conv = nn.ConvTranspose2d(in_channels, out, 4, 2, 1, bias=default_bias(ctx, bias, norm))
        super().__init__(
            ctx.apply_weight_norm(conv, weight_norm),
            *norm_act(ctx, out, norm, activation),
            out_channels=out,
            scale=2.0,
        )


class Down(SeqBlock):
    """Strided conv (kernel 4, stride 2, padding 1) halving the resolution (DCGAN's D)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        kernel_size: Kernel = 4,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        out = out_channels or in_channels * 2
        conv = nn.Conv2d(
            in_channels,
            out,
            kernel_size,
            2,
            (kernel_size - 1) // 2,
            bias=default_bias(ctx, bias, norm),
        )
        super().__init__(
            ctx.apply_weight_norm(conv, weight_norm),
            *norm_act(ctx, out, norm, activation),
            out_channels=out,
            scale=0.5,
        )


class Conv(SeqBlock):
    """Stride-1 conv keeping the resolution (also a discriminator's from-image stem)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        kernel_size: Kernel = 3,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        out = out_channels or in_channels
        conv = nn.Conv2d(
            in_channels, out, kernel_size, 1, kernel_size // 2, bias=default_bias(ctx, bias, norm)
        )
        super().__init__(
            ctx.apply_weight_norm(conv, weight_norm),
            *norm_act(ctx, out, norm, activation),
            out_channels=out,
        )


class Dropout(SeqBlock):
    """Dropout of activations with probability ``p``."""

    def __init__(self, in_channels: int, p: Probability = 0.3, *, ctx: BuildContext) -> None:
        super().__init__(nn.Dropout(p), out_channels=in_channels)
