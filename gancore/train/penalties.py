"""Discriminator regularisers (kind ``penalty``): gradient penalty, R1, DRAGAN.

A penalty is called as ``penalty(discriminator, real, fake, y) -> scalar tensor`` (without its
weight); the trainer multiplies by ``weight`` and, for lazy regularisation, by ``interval``, and
applies it every ``interval`` discriminator steps.
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from gancore.core.params import Scale, Target, Weight

#: Every how many discriminator steps a lazy penalty is applied.
PenaltyInterval = Annotated[int, Field(ge=1, le=1000, description="1..1000")]


def _grad_norm_sq(d: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """Squared gradient norm of D's summed output w.r.t. ``x``, per sample (float32)."""
    x = x.detach().requires_grad_(True)
    out = d(x, y)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)
    return grad.float().flatten(1).pow(2).sum(1)


class Penalty:
    """Base of the built-in penalties: ``weight`` and lazy ``interval``."""

    def __init__(self, weight: Weight = 10.0, interval: PenaltyInterval = 1) -> None:
        if interval < 1:
            raise ValueError("interval must be 1 or more")
        self.weight = weight
        self.interval = interval

    def __call__(
        self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None
    ) -> torch.Tensor:
        raise NotImplementedError


class GradientPenalty(Penalty):
    """WGAN-GP (Gulrajani et al. 2017): E[(|grad D(x̂)| - target)²] at random interpolates x̂."""

    def __init__(
        self, weight: Weight = 10.0, interval: PenaltyInterval = 1, target: Target = 1.0
    ) -> None:
        super().__init__(weight, interval)
        self.target = target

    def __call__(
        self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None
    ) -> torch.Tensor:
        shape = (real.shape[0],) + (1,) * (real.dim() - 1)
        alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
        mixed = torch.lerp(real.detach(), fake.detach().to(real.dtype), alpha)
        norm = (_grad_norm_sq(d, mixed, y) + 1e-12).sqrt()
        return (norm - self.target).pow(2).mean()


class R1(Penalty):
    """R1 (Mescheder et al. 2018): E[|grad D(x)|²] / 2 on real data."""

    def __init__(self, weight: Weight = 10.0, interval: PenaltyInterval = 1) -> None:
        super().__init__(weight, interval)

    def __call__(
        self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None
    ) -> torch.Tensor:
        return 0.5 * _grad_norm_sq(d, real, y).mean()


class DRAGAN(Penalty):
    """DRAGAN (Kodali et al. 2017): gradient penalty at reals perturbed by ``c * std(x) * U``."""

    def __init__(
        self, weight: Weight = 10.0, interval: PenaltyInterval = 1, c: Scale = 0.5
    ) -> None:
        super().__init__(weight, interval)
        self.c = c

    def __call__(
        self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None
    ) -> torch.Tensor:
        real = real.detach()
        noise = self.c * real.std() * torch.rand_like(real)
        shape = (real.shape[0],) + (1,) * (real.dim() - 1)
        alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
        x = real + alpha * noise
        norm = (_grad_norm_sq(d, x, y) + 1e-12).sqrt()
        return (norm - 1.0).pow(2).mean()
