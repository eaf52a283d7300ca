"""``top_k``: only the fakes D scores highest update G (extension point ``g_select``).

Sinha et al. 2020 ("Top-k training of GANs"): in each generator step the generator loss is
computed on the k fakes with the highest D output, k a fraction of the batch that starts at
``start`` and decays by ``gamma`` every ``every`` generator updates (an epoch when 0) down to
``min``; the paper uses ``gamma = 0.99`` and ``min = 0.5``. See :mod:`gancore.train.topk`.
"""

from __future__ import annotations

from typing import Any

import torch

from gancore.core.errors import RecipeError
from gancore.core.params import PositiveFactor, Steps
from gancore.train.topk import TopK


class TopKSelection:
    """Keep the ``k`` highest-scored fakes in the G loss."""

    points = ("g_select",)

    def __init__(
        self,
        start: PositiveFactor = 1.0,
        gamma: PositiveFactor = 0.99,
        min: PositiveFactor = 0.5,
        every: Steps = 0,
        *,
        run: Any,
    ) -> None:
        if min > start:
            raise RecipeError(
                f"min ({min:g}) is above start ({start:g}): the fraction of the batch could "
                "never decay to it", key="min",
                hint="set min to start or below (min = start keeps k fixed)")
        self.start, self.gamma, self.min, self.every = start, gamma, min, every
        self._run = run
        self._schedule: TopK | None = None

    @property
    def schedule(self) -> TopK:
        """The k schedule (``every = 0`` becomes the run's steps per epoch)."""
        if self._schedule is None:
            every = self.every or self._run.steps_per_epoch
            self._schedule = TopK(self.start, self.gamma, self.min, every)
        return self._schedule

    def g_select(self, fake_logits: torch.Tensor) -> torch.Tensor | None:
        return self.schedule.select(fake_logits, self._run.step)
