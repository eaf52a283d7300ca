"""Network heads (kind ``block``): to-image for generators, to-logit for discriminators."""

from __future__ import annotations

import torch
from torch import nn

from gancore.assembly.context import BuildContext
from gancore.core.params import Channels, Kernel
from gancore.core.refs import ActivationSpec, NormSpec, WeightNormSpec
from gancore.nn.dense_conv import WindowConv2d
from gancore.nn.layers import SeqBlock, norm_act


class ToImage(SeqBlock):
    """Generator head: [norm, act], conv to the data's channels, tanh.

    ``out_channels`` defaults to the data's channel count.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        kernel_size: Kernel = 3,
        pre_activation: bool = False,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool = True,
        *,
        ctx: BuildContext,
    ) -> None:
        out = out_channels or ctx.image_channels
        pre = norm_act(ctx, in_channels, norm, activation) if pre_activation else []
        conv = nn.Conv2d(in_channels, out, kernel_size, 1, kernel_size // 2, bias=bias)
        super().__init__(
            *pre, ctx.apply_weight_norm(conv, weight_norm), nn.Tanh(), out_channels=out
        )


class ToImageTransposed(SeqBlock):
    """Generator head: transposed conv (4, stride 2) to the data's channels, tanh (DCGAN)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        weight_norm: WeightNormSpec | None = None,
        bias: bool = True,
        *,
        ctx: BuildContext,
    ) -> None:
        out = out_channels or ctx.image_channels
        conv = nn.ConvTranspose2d(in_channels, out, 4, 2, 1, bias=bias)
        super().__init__(
            ctx.apply_weight_norm(conv, weight_norm), nn.Tanh(), out_channels=out, scale=2.0
        )


class ConvLogit(nn.Module):
    """Discriminator head: a valid conv whose kernel covers the whole map -> one logit (DCGAN).

    Needs the feature map to be exactly ``kernel_size`` pixels wide.
    """

    def __init__(
        self,
        in_channels: int,
        kernel_size: Kernel = 4,
        weight_norm: WeightNormSpec | None = None,
        bias: bool = True,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        self.out_channels, self.out_resolution = 1, None
        self.required_resolution = kernel_size
        self.conv = ctx.apply_weight_norm(
            WindowConv2d(in_channels, 1, kernel_size, 1, 0, bias=bias), weight_norm
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(x).flatten(1).squeeze(1)


class LinearLogit(nn.Module):
    """Discriminator head: act, global sum pooling, linear -> one logit.

    With a class-conditional discriminator (``conditioning = "projection"``) it adds the
    projection term ⟨embed(y), h⟩ of Miyato & Koyama (2018).
    """

    def __init__(
        self,
        in_channels: int,
        activation: ActivationSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        self.out_channels, self.out_resolution = 1, None
        self.act = ctx.act(activation)
        self.linear = ctx.apply_weight_norm(nn.Linear(in_channels, 1), weight_norm)
        self.projection = ctx.projection and ctx.num_classes > 0
        self.embed = (
            ctx.apply_weight_norm(nn.Embedding(ctx.num_classes, in_channels), weight_norm)
            if self.projection
            else None
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.act(x)
        if h.dim() == 4:
            h = h.sum(dim=(2, 3))
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if cond is None:
                raise ValueError("this projection discriminator needs class labels y")
            out = out + (self.embed(cond) * h).sum(dim=1)
        return out
