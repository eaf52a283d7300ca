"""Activation functions (kind ``activation``)."""

from __future__ import annotations

from torch import nn

from gancore.core.params import Factor


def relu(inplace: bool = False) -> nn.Module:
    """Rectified linear unit."""
    return nn.ReLU(inplace)


def leaky_relu(negative_slope: Factor = 0.2, inplace: bool = False) -> nn.Module:
    """Leaky ReLU (slope 0.2 as in DCGAN's discriminator)."""
    return nn.LeakyReLU(negative_slope, inplace)


def tanh() -> nn.Module:
    """Hyperbolic tangent."""
    return nn.Tanh()


def sigmoid() -> nn.Module:
    """Logistic sigmoid."""
    return nn.Sigmoid()


def gelu() -> nn.Module:
    """Gaussian error linear unit."""
    return nn.GELU()


def silu() -> nn.Module:
    """SiLU / swish."""
    return nn.SiLU()


def elu(inplace: bool = False) -> nn.Module:
    """Exponential linear unit."""
    return nn.ELU(inplace=inplace)


def identity() -> nn.Module:
    """No activation."""
    return nn.Identity()
