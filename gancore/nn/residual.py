"""Residual (skip-connection) blocks of SNGAN / BigGAN style (kind ``block``)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from gancore.assembly.context import BuildContext
from gancore.core.params import Channels
from gancore.core.refs import ActivationSpec, NormSpec, WeightNormSpec
from gancore.nn.layers import apply_norm


class ResidualUp(nn.Module):
    """Pre-activation residual block that doubles the resolution (SNGAN generator).

    main: norm, act, upsample, conv3, norm, act, conv3; shortcut: upsample, conv1.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        out = out_channels or in_channels
        self.out_channels, self.scale = out, 2.0
        self.norm1 = ctx.feature_norm(in_channels, norm) if ctx.uses_norm(norm) else nn.Identity()
        self.norm2 = ctx.feature_norm(out, norm) if ctx.uses_norm(norm) else nn.Identity()
        self.act = ctx.act(activation)
        self.conv1 = ctx.apply_weight_norm(nn.Conv2d(in_channels, out, 3, 1, 1), weight_norm)
        self.conv2 = ctx.apply_weight_norm(nn.Conv2d(out, out, 3, 1, 1), weight_norm)
        self.shortcut = ctx.apply_weight_norm(nn.Conv2d(in_channels, out, 1), weight_norm)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.act(apply_norm(self.norm1, x, cond))
        h = self.conv1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.conv2(self.act(apply_norm(self.norm2, h, cond)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ResidualDown(nn.Module):
    """Residual block that halves the resolution (SNGAN discriminator).

    main: [act], conv3, act, conv3, avgpool; shortcut: conv1, avgpool. With
    ``preactivation = false`` (the first block, fed with images) the input is not activated
    and the shortcut pools before its conv. ``downsample = false`` keeps the resolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        preactivation: bool = True,
        downsample: bool = True,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        out = out_channels or in_channels
        self.out_channels, self.scale = out, 0.5 if downsample else 1.0
        self.preactivation, self.downsample = preactivation, downsample
        self.norm1 = ctx.feature_norm(in_channels, norm) if ctx.uses_norm(norm) else nn.Identity()
        self.norm2 = ctx.feature_norm(out, norm) if ctx.uses_norm(norm) else nn.Identity()
        self.act = ctx.act(activation)
        self.conv1 = ctx.apply_weight_norm(nn.Conv2d(in_channels, out, 3, 1, 1), weight_norm)
        self.conv2 = ctx.apply_weight_norm(nn.Conv2d(out, out, 3, 1, 1), weight_norm)
        self.learn_shortcut = in_channels != out or downsample
        self.shortcut = (
            ctx.apply_weight_norm(nn.Conv2d(in_channels, out, 1), weight_norm)
            if self.learn_shortcut
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = apply_norm(self.norm1, x, cond)
        if self.preactivation:
            h = self.act(h)
        h = self.conv1(h)
        h = self.conv2(self.act(apply_norm(self.norm2, h, cond)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.preactivation:
            s = self.shortcut(s)
            if self.downsample:
                s = F.avg_pool2d(s, 2)
        else:
            if self.downsample:
                s = F.avg_pool2d(s, 2)
            s = self.shortcut(s)
        return h + s
