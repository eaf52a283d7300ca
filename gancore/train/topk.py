"""Top-k training of GANs (Sinha et al. 2020): only the k best fakes update the generator.

In each generator step the discriminator scores the whole fake batch; the generator loss is
computed on the k fakes it scores highest (its raw output: the most realistic by every
built-in loss), so gradients from fakes D already rejects are left out. k is a fraction of
the batch that starts at ``start`` and decays by ``gamma`` every ``every`` generator updates
(an epoch by default) down to ``min``:

    k = max(floor(max(start * gamma ** (step // every), min) * batch), 1)

When k is the whole batch nothing is selected: the step is exactly the plain one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from gancore.core.errors import RecipeError

if TYPE_CHECKING:
    from gancore.recipe.schema import TopKSection


@dataclass(frozen=True)
class TopK:
    """The k schedule and the selection (``every`` in generator updates, 1 or more)."""

    start: float = 1.0
    gamma: float = 0.99
    min: float = 0.5
    every: int = 1

    @classmethod
    def from_settings(cls, settings: TopKSection, steps_per_epoch: int,
                      source: str | None = None) -> TopK:
        """From ``train.top_k``; ``every = 0`` becomes ``steps_per_epoch``."""
        if settings.min > settings.start:
            raise RecipeError(
                f"min ({settings.min:g}) is above start ({settings.start:g}): the fraction "
                "of the batch could never decay to it",
                source=source, key="train.top_k.min",
                hint="set min to start or below (min = start keeps k fixed)",
            )
        every = settings.every or max(1, steps_per_epoch)
        return cls(settings.start, settings.gamma, settings.min, every)

    def fraction(self, step: int) -> float:
        """The share of the batch used at generator update ``step`` (0-based)."""
        return max(self.start * self.gamma ** (step // self.every), self.min)

    def k(self, step: int, batch: int) -> int:
        """How many of ``batch`` fakes update G at ``step``."""
        # the small margin keeps e.g. 0.29 * 100 = 28.999999999999996 at 29
        return min(batch, max(1, math.floor(self.fraction(step) * batch + 1e-9)))

    def select(self, fake_logits: torch.Tensor, step: int) -> torch.Tensor | None:
        """Indices of the k highest of ``fake_logits`` [B], or ``None`` when k is B."""
        batch = fake_logits.shape[0]
        k = self.k(step, batch)
        if k >= batch:
            return None
        return torch.topk(fake_logits.detach(), k, sorted=False).indices


def steps_per_epoch(dataset_size: int, batch_size: int, n_critic: int, world_size: int) -> int:
    """Generator updates in one pass over the data (each takes ``n_critic`` batches)."""
    return max(1, dataset_size // (batch_size * n_critic * world_size))
