"""``instance_noise``: Gaussian noise on every input of D, annealed to 0 (extension point
``d_input``).

Sønderby et al. 2017 ("Amortised MAP inference for image super-resolution", section 4) and
Arjovsky & Bottou 2017: noise of standard deviation ``std * max(0, 1 - step / until)`` is
added to real and fake images alike, in the D and the G phase, after the recipe's
augmentations. ``until`` defaults to the run's total steps, so a run resumed with a larger
``--steps`` stretches the schedule from there; set it to fix the schedule in steps.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from pydantic import Field

Std = Annotated[
    float, Field(ge=0.0, le=10.0, allow_inf_nan=False, description="initial std (0..10)")
]
Until = Annotated[
    int | None, Field(ge=1, le=10**9, description="step at which the noise reaches 0; "
                      "unset: the run's total steps")
]


class InstanceNoise:
    """Add ``std * max(0, 1 - step / until) * N(0, 1)`` to D's inputs."""

    points = ("d_input",)

    def __init__(self, std: Std = 0.1, until: Until = None, *, run: Any) -> None:
        self.std, self.until = float(std), until
        self._run = run

    def sigma(self) -> float:
        """The standard deviation at the current step."""
        until = self.until or self._run.total_steps
        return self.std * max(0.0, 1.0 - self._run.step / until)

    def d_input(self, x: torch.Tensor) -> torch.Tensor:
        sigma = self.sigma()
        if sigma > 0:
            x = x + sigma * torch.randn_like(x)
        return x
