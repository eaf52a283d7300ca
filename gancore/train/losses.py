"""Adversarial losses (kind ``loss``) on raw discriminator logits.

Each has ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits, real_logits)``;
``real_target`` lets the trainer apply one-sided label smoothing; ``decision_threshold`` is
the logit above which an image counts as real in the discriminator's accuracy and F1 (``None``
for losses whose outputs have no fixed threshold: the midpoint of the real and fake means is
used then).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from gancore.core.params import Label, Scale, Target


class BCE:
    """Binary cross-entropy with the non-saturating generator loss (Goodfellow et al. 2014)."""

    decision_threshold: float | None = 0.0

    def __init__(self, real_target: Label = 1.0) -> None:
        self.real_target = real_target

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real = F.binary_cross_entropy_with_logits(
            real_logits, torch.full_like(real_logits, self.real_target)
        )
        return real + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class Minimax(BCE):
    """Binary cross-entropy with the original minimax generator loss: minimise log(1 - D(G(z)))."""

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


class LeastSquares:
    """Least-squares GAN (Mao et al. 2017) with targets a (fake), b (real), c (generator)."""

    def __init__(self, a: Target = 0.0, b: Target = 1.0, c: Target = 1.0) -> None:
        self.a, self.b, self.c = a, b, c
        self.real_target = b
        #: halfway between the fake and real targets (0.5 for the 0/1 coding, 0 for -1/1)
        self.decision_threshold: float | None = (a + b) / 2

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (
            (real_logits - self.real_target).pow(2).mean() + (fake_logits - self.a).pow(2).mean()
        )

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        return 0.5 * (fake_logits - self.c).pow(2).mean()


class Hinge:
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN)."""

    decision_threshold: float | None = 0.0

    def __init__(self, margin: Scale = 1.0) -> None:
        self.margin = margin
        self.real_target = margin

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return (
            F.relu(self.real_target - real_logits).mean() + F.relu(self.margin + fake_logits).mean()
        )

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        return -fake_logits.mean()


class Wasserstein:
    """Wasserstein critic loss (Arjovsky et al. 2017); pair with weight clipping or a penalty."""

    real_target = 1.0
    #: a critic's outputs have no fixed scale: the midpoint of the real and fake means is used
    decision_threshold: float | None = None

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        return -fake_logits.mean()


class RelativisticAverage:
    """Relativistic average GAN with BCE (Jolicoeur-Martineau 2018): D judges real vs mean fake."""

    needs_real_for_g = True
    #: D judges real against the mean fake, so a single logit has no fixed threshold
    decision_threshold: float | None = None

    def __init__(self, real_target: Label = 1.0) -> None:
        self.real_target = real_target

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        r = real_logits - fake_logits.mean()
        f = fake_logits - real_logits.mean()
        return F.binary_cross_entropy_with_logits(
            r, torch.full_like(r, self.real_target)
        ) + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))

    def g_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        if real_logits is None:
            raise ValueError("the relativistic loss needs the real logits for the generator")
        r = real_logits - fake_logits.mean()
        f = fake_logits - real_logits.mean()
        return F.binary_cross_entropy_with_logits(
            f, torch.ones_like(f)
        ) + F.binary_cross_entropy_with_logits(r, torch.zeros_like(r))
