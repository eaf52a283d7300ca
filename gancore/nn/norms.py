"""Feature normalizations (kind ``norm``) and weight normalizations (kind ``weight_norm``)."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from gancore.core.contract import KEEP_INIT
from gancore.core.params import Chance, Channels, Epsilon


def batch(
    num_features: int,
    dims: int = 2,
    num_classes: int = 0,
    momentum: Chance = 0.1,
    eps: Epsilon = 1e-5,
) -> nn.Module:
    """Batch normalization (Ioffe & Szegedy 2015)."""
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return cls(num_features, eps=eps, momentum=momentum)


def instance(
    num_features: int, dims: int = 2, num_classes: int = 0, affine: bool = True
) -> nn.Module:
    """Instance normalization (per sample and channel)."""
    if dims != 2:
        raise ValueError("instance norm needs feature maps; use 'layer' for vectors")
    return nn.InstanceNorm2d(num_features, affine=affine)


def layer(num_features: int, dims: int = 2, num_classes: int = 0) -> nn.Module:
    """Layer normalization over channels and positions (GroupNorm with one group)."""
    return nn.GroupNorm(1, num_features) if dims == 2 else nn.LayerNorm(num_features)


def group(
    num_features: int, dims: int = 2, num_classes: int = 0, groups: Channels = 32
) -> nn.Module:
    """Group normalization; ``groups`` is reduced until it divides the channel count."""
    g = min(groups, num_features)
    while num_features % g:
        g -= 1
    return nn.GroupNorm(g, num_features)


def none(num_features: int, dims: int = 2, num_classes: int = 0) -> nn.Module:
    """No normalization."""
    return nn.Identity()


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and shift are looked up per class (de Vries et al. 2017)."""

    conditional = True

    def __init__(self, num_features: int, dims: int = 2, num_classes: int = 0) -> None:
        super().__init__()
        if num_classes <= 0:
            raise ValueError("conditional batch norm needs labelled data (num_classes > 0)")
        cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
        self.bn = cls(num_features, affine=False)
        self.embed = nn.Embedding(num_classes, 2 * num_features)
        setattr(self.embed, KEEP_INIT, True)  # init schemes leave the (1, 0) start alone
        with torch.no_grad():
            self.embed.weight[:, :num_features].fill_(1.0)
            self.embed.weight[:, num_features:].zero_()
        self.num_features = num_features

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.embed(y).chunk(2, dim=1)
        shape = (-1, self.num_features) + (1,) * (x.dim() - 2)
        return self.bn(x) * gamma.view(shape) + beta.view(shape)


def conditional_batch(num_features: int, dims: int = 2, num_classes: int = 0) -> nn.Module:
    """Batch norm with per-class scale and shift (needs labelled data)."""
    return ConditionalBatchNorm(num_features, dims=dims, num_classes=num_classes)


def spectral(
    module: nn.Module,
    n_power_iterations: Annotated[int, Field(ge=1, le=100, description="1..100")] = 1,
    eps: Epsilon = 1e-12,
) -> nn.Module:
    """Spectral normalization of the layer's weight (Miyato et al. 2018)."""
    return nn.utils.parametrizations.spectral_norm(
        module, n_power_iterations=n_power_iterations, eps=eps
    )


def weight(
    module: nn.Module, dim: Annotated[int, Field(ge=-4, le=3, description="-4..3")] = 0
) -> nn.Module:
    """Weight normalization: magnitude and direction learned separately (Salimans & Kingma)."""
    return nn.utils.parametrizations.weight_norm(module, dim=dim)


def no_weight_norm(module: nn.Module) -> nn.Module:
    """No weight normalization."""
    return module


NormName = Literal["batch", "instance", "layer", "group", "conditional_batch", "none"]
