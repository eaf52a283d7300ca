"""Discriminator regularisers of the recent literature (kind ``penalty``).

Each is called as ``penalty(discriminator, real, fake, y) -> scalar`` (without its weight) and
has ``weight`` and ``interval``: the trainer adds ``weight * interval * value`` to the
discriminator's loss every ``interval`` discriminator steps (see :mod:`gancore.train.penalties`).

- ``lecam``: LeCam regularisation (Tseng et al. 2021), with EMA anchors kept as buffers;
- ``bcr``: balanced consistency regularisation (Zhao et al. 2021), real and generated images;
- ``cr``: consistency regularisation (Zhang et al. 2020), real images only;
- ``zero_gp``: zero-centred gradient penalty at interpolates (Thanh-Tung et al. 2019);
- ``max_gp``: the largest ``(|∇D(x̂)| − target)²`` of the batch at interpolates.

The consistency terms use :func:`translate_flip`, a differentiable augmentation written with
torch ops (random translation by up to ``translation`` of the size, and a random horizontal
flip); it is the ``augment`` attribute of the penalty, so any ``x -> x`` callable can replace it.
The pixels shifted in repeat the image's edge by default (``fill = "edge"``): zeros
(``fill = "zeros"``, DiffAugment's convention) are mid-grey in images scaled to [-1, 1], a
border that dark-background data never has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

#: The weight of a penalty in the discriminator's loss.
Weight = Annotated[
    float, Field(ge=0.0, le=1e6, allow_inf_nan=False, description="weight in [0, 1e6]")
]
#: Every how many discriminator steps a penalty is applied (lazy regularisation).
Interval = Annotated[
    int, Field(ge=1, le=1000, description="apply every this many D steps (1..1000)")
]
#: The largest shift of :func:`translate_flip`, as a fraction of the image size.
Translation = Annotated[
    float,
    Field(ge=0.0, le=0.5, allow_inf_nan=False,
          description="largest random shift, as a fraction of the size (0..0.5)"),
]
Flip = Annotated[bool, Field(description="also flip images horizontally at random")]
#: What :func:`translate_flip` puts in the pixels a shift uncovers.
Fill = Annotated[
    Literal["edge", "zeros"],
    Field(description='"edge" repeats the border pixels; '
                      '"zeros" fills with 0 (mid-grey in [-1, 1])'),
]


def _interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Random points on the segments between real and fake samples (one α per sample)."""
    real = real.detach()
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    return torch.lerp(real, fake.detach().to(real.dtype), alpha)


def input_gradients(d: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """``∇ₓ D(x)`` per sample, flattened ``[B, numel]`` (float32), kept in the graph."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x, y).float().sum(), x, create_graph=True)
    return grad.float().flatten(1)


def translate_flip(x: torch.Tensor, translation: float = 0.125, flip: bool = True,
                   fill: str = "edge") -> torch.Tensor:
    """Shift each image by up to ``translation`` of its size and flip it horizontally with
    probability 1/2; differentiable. Uncovered pixels repeat the nearest edge pixel
    (``fill="edge"``) or are 0 (``fill="zeros"``). Non-image tensors pass unchanged."""
    if fill not in ("edge", "zeros"):
        raise ValueError(f'fill must be "edge" or "zeros", not {fill!r}')
    if x.dim() != 4:
        return x
    b, _, h, w = x.shape
    if flip:
        mask = torch.rand(b, 1, 1, 1, device=x.device) < 0.5
        x = torch.where(mask, x.flip(-1), x)
    sh, sw = int(h * translation + 0.5), int(w * translation + 0.5)
    if sh == 0 and sw == 0:
        return x
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy  # source row of each pixel
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).flatten(1)  # [B, H*W]
    flat = x.flatten(2)  # [B, C, H*W]
    moved = flat.gather(2, index.unsqueeze(1).expand(-1, x.shape[1], -1)).view_as(x)
    if fill == "edge":
        return moved
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1)
    return moved * inside.to(x.dtype)


class _Regulariser:
    def __init__(self, weight: float, interval: int) -> None:
        if interval < 1:
            raise ValueError("interval must be 1 or more")
        self.weight, self.interval = float(weight), int(interval)


class LeCam(nn.Module):
    """LeCam regularisation (Tseng et al. 2021): ``E[(D(x) − α_F)²] + E[(D(G(z)) − α_R)²]``.

    ``α_R`` and ``α_F`` are exponential moving averages (``decay``) of D's mean outputs on real
    and fake batches, updated at each call before the penalty is computed. They are buffers
    (``ema_real``, ``ema_fake``) of this module, so its ``state_dict()`` saves and restores
    them. ``hinged = true`` takes the reference code's variant,
    ``E[relu(D(x) − α_F)²] + E[relu(α_R − D(G(z)))²]``. The paper uses weight 0.3 on CIFAR.
    """

    def __init__(
        self,
        weight: Weight = 0.3,
        interval: Interval = 1,
        decay: Annotated[
            float, Field(ge=0.0, lt=1.0, allow_inf_nan=False,
                         description="EMA decay of the anchors in [0, 1)")
        ] = 0.99,
        hinged: Annotated[bool, Field(description="the reference code's one-sided form")] = False,
    ) -> None:
        super().__init__()
        if interval < 1:
            raise ValueError("interval must be 1 or more")
        self.weight, self.interval, self.decay, self.hinged = float(weight), interval, decay, hinged
        self.register_buffer("ema_real", torch.zeros(()))
        self.register_buffer("ema_fake", torch.zeros(()))

    @torch.no_grad()
    def update(self, real_mean: torch.Tensor, fake_mean: torch.Tensor) -> None:
        """``α ← decay α + (1 − decay) mean`` for both anchors."""
        if self.ema_real.device != real_mean.device:
            self.to(real_mean.device)
        self.ema_real.lerp_(real_mean.detach().float(), 1.0 - self.decay)
        self.ema_fake.lerp_(fake_mean.detach().float(), 1.0 - self.decay)

    def regularise(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        """Update the anchors with these outputs, then the penalty on them."""
        real_out, fake_out = real_out.float(), fake_out.float()
        self.update(real_out.mean(), fake_out.mean())
        a = real_out - self.ema_fake
        b = fake_out - self.ema_real
        if self.hinged:
            a, b = torch.relu(a), torch.relu(-b)
        return a.pow(2).mean() + b.pow(2).mean()

    def forward(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        return self.regularise(d(real.detach(), y), d(fake.detach(), y))


class BCR(_Regulariser):
    """Balanced consistency regularisation (Zhao et al. 2021):
    ``real_weight E[(D(x) − D(T(x)))²] + fake_weight E[(D(G(z)) − D(T(G(z))))²]``.

    ``T`` is :func:`translate_flip` (the ``augment`` attribute); the paper uses 10 for both.
    """

    def __init__(
        self,
        weight: Weight = 1.0,
        interval: Interval = 1,
        real_weight: Weight = 10.0,
        fake_weight: Weight = 10.0,
        translation: Translation = 0.125,
        flip: Flip = True,
        fill: Fill = "edge",
    ) -> None:
        super().__init__(weight, interval)
        self.real_weight, self.fake_weight = real_weight, fake_weight
        self.augment: Callable[[torch.Tensor], torch.Tensor] = (
            lambda x: translate_flip(x, translation, flip, fill)
        )

    def consistency(self, d: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        x = x.detach()
        return (d(x, y).float() - d(self.augment(x), y).float()).pow(2).mean()

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        return (self.real_weight * self.consistency(d, real, y)
                + self.fake_weight * self.consistency(d, fake, y))


class CR(BCR):
    """Consistency regularisation (Zhang et al. 2020): ``E[(D(x) − D(T(x)))²]`` on real images.

    The paper's weight is 10.
    """

    def __init__(
        self,
        weight: Weight = 10.0,
        interval: Interval = 1,
        translation: Translation = 0.125,
        flip: Flip = True,
        fill: Fill = "edge",
    ) -> None:
        super().__init__(weight, interval, 1.0, 0.0, translation, flip, fill)

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        return self.consistency(d, real, y)


class ZeroGP(_Regulariser):
    """Zero-centred gradient penalty (Thanh-Tung et al. 2019): ``E[|∇D(x̂)|²]`` at random
    interpolates ``x̂`` between real and fake samples."""

    def __init__(self, weight: Weight = 10.0, interval: Interval = 1) -> None:
        super().__init__(weight, interval)

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        return input_gradients(d, _interpolates(real, fake), y).pow(2).sum(1).mean()


class MaxGP(_Regulariser):
    """Maximum gradient penalty: ``max over the batch of (|∇D(x̂)| − target)²`` at random
    interpolates (the worst sample only, as in Lipschitz GANs, Zhou et al. 2019)."""

    def __init__(
        self,
        weight: Weight = 10.0,
        interval: Interval = 1,
        target: Annotated[
            float, Field(ge=0.0, le=1e3, allow_inf_nan=False,
                         description="the gradient norm aimed at (0..1000)")
        ] = 1.0,
    ) -> None:
        super().__init__(weight, interval)
        self.target = target

    def __call__(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        grad = input_gradients(d, _interpolates(real, fake), y)
        norm = (grad.pow(2).sum(1) + 1e-12).sqrt()
        return (norm - self.target).pow(2).max()
