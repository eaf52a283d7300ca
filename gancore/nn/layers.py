"""Shared pieces of the built-in blocks."""

from __future__ import annotations

import torch
from torch import nn

from gancore.assembly.context import BuildContext
from gancore.core.contract import is_conditional
from gancore.core.refs import ActivationSpec, NormSpec


class SeqBlock(nn.Sequential):
    """A block that is a plain sequence of layers.

    Layers marked ``conditional`` (conditional batch norm) also receive the labels; when there
    are none the forward is exactly ``nn.Sequential``'s.
    """

    def __init__(
        self,
        *layers: nn.Module,
        out_channels: int,
        scale: float = 1.0,
        out_resolution: int | str | None = "same",
    ) -> None:
        super().__init__(*layers)
        self.out_channels = out_channels
        self.scale = scale
        if out_resolution != "same":
            self.out_resolution = out_resolution
        self.conditional = any(is_conditional(m) for m in layers)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if not self.conditional:
            for layer in self:
                x = layer(x)
            return x
        for layer in self:
            x = layer(x, cond) if is_conditional(layer) else layer(x)
        return x


def norm_act(
    ctx: BuildContext,
    channels: int,
    norm: NormSpec | None,
    activation: ActivationSpec | None,
    dims: int = 2,
) -> list[nn.Module]:
    """The norm (unless ``none``) and activation that follow a layer."""
    layers: list[nn.Module] = []
    if ctx.uses_norm(norm):
        layers.append(ctx.feature_norm(channels, norm, dims=dims))
    act = ctx.act(activation, inplace=True)  # follows a fresh conv/norm output
    if not isinstance(act, nn.Identity):
        layers.append(act)
    return layers


def default_bias(ctx: BuildContext, bias: bool | None, norm: NormSpec | None) -> bool:
    """Layers followed by a norm need no bias unless asked for."""
    return (not ctx.uses_norm(norm)) if bias is None else bias


def apply_norm(norm: nn.Module, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    """Call a feature norm, passing labels to conditional ones."""
    return norm(x, cond) if is_conditional(norm) else norm(x)
