"""Gradient and weight clipping (extension points ``before_step`` and ``after_step``).

- ``grad_clip``: the global gradient norm of each network clipped to ``max_norm`` before its
  optimizer step (Pascanu et al. 2013; ``torch.nn.utils.clip_grad_norm_``); the norm before
  clipping is published as ``grad_norm.g`` / ``grad_norm.d``;
- ``clip_weights``: D's weights clamped to ``[-limit, limit]`` after each of its optimizer
  steps, as in the WGAN paper (Arjovsky et al. 2017, Algorithm 1: c = 0.01).
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from pydantic import Field

MaxNorm = Annotated[
    float, Field(gt=0.0, le=1e6, allow_inf_nan=False, description="largest norm in (0, 1e6]")
]
Limit = Annotated[
    float, Field(gt=0.0, le=100.0, allow_inf_nan=False, description="bound in (0, 100]")
]
_STAT = {"generator": "grad_norm.g", "discriminator": "grad_norm.d"}


class GradClip:
    """Clip the gradient norm of G and of D before each of their optimizer steps."""

    points = ("before_step",)

    def __init__(self, max_norm: MaxNorm = 10.0, *, run: Any) -> None:
        self.max_norm = float(max_norm)
        self._run = run

    def before_step(self, network: str, params: list[torch.nn.Parameter]) -> None:
        norm = torch.nn.utils.clip_grad_norm_(params, self.max_norm, foreach=True)
        self._run.stats.publish(_STAT[network], norm)


class ClipWeights:
    """Clamp D's weights to ``[-limit, limit]`` after each of its steps (WGAN)."""

    points = ("after_step",)

    def __init__(self, limit: Limit = 0.01) -> None:
        self.limit = float(limit)

    @torch.no_grad()
    def after_step(self, network: str, params: list[torch.nn.Parameter]) -> None:
        if network == "discriminator":
            torch._foreach_clamp_min_(params, -self.limit)
            torch._foreach_clamp_max_(params, self.limit)
