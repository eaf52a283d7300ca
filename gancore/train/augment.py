"""The built-in differentiable augmentation (kind ``augment``): random horizontal flip.

An augmentation factory takes its recipe parameters and returns a callable ``x -> x`` that the
trainer applies to real and fake batches alike before the discriminator (DiffAugment style).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gancore.core.params import Chance


def flip(p: Chance = 0.5) -> Callable[[torch.Tensor], torch.Tensor]:
    """Flip each image horizontally with probability ``p`` (gradients flow through)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must be a probability in [0, 1]")

    def apply(x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or p == 0.0:
            return x
        mask = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
        return torch.where(mask, x.flip(-1), x)

    return apply
