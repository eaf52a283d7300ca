"""Fully connected blocks (kind ``block``) for vector data such as ``ring`` and ``grid``."""

from __future__ import annotations

from torch import nn

from gancore.assembly.context import BuildContext
from gancore.core.params import Channels
from gancore.core.refs import ActivationSpec, NormSpec, WeightNormSpec
from gancore.nn.layers import SeqBlock, default_bias, norm_act


class Linear(SeqBlock):
    """Linear layer, [norm], activation, on flat feature vectors."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels = 128,
        norm: NormSpec | None = None,
        weight_norm: WeightNormSpec | None = None,
        activation: ActivationSpec | None = None,
        bias: bool | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        layer = nn.Linear(in_channels, out_channels, bias=default_bias(ctx, bias, norm))
        super().__init__(
            ctx.apply_weight_norm(layer, weight_norm),
            *norm_act(ctx, out_channels, norm, activation, dims=1),
            out_channels=out_channels,
            out_resolution=None,
        )


class ToVector(SeqBlock):
    """Generator head for vector data: a linear layer to the data's dimension, no activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: Channels | None = None,
        weight_norm: WeightNormSpec | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        out = out_channels or ctx.image_channels
        super().__init__(
            ctx.apply_weight_norm(nn.Linear(in_channels, out), weight_norm),
            out_channels=out,
            out_resolution=None,
        )
