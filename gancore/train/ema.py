"""Exponential moving average of a network's weights (for the generator)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """A frozen copy of ``model`` whose parameters follow ``decay * ema + (1 - decay) * model``.

    Buffers (batch-norm statistics) are copied as they are. ``update()`` before ``start`` steps
    copies the weights instead of averaging them.
    """

    def __init__(self, model: nn.Module, decay: float, start: int = 0) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError("decay must be in [0, 1)")
        self.decay = decay
        self.start = start
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Fold ``model``'s current weights into the average (``step``: the update number)."""
        ema_params = list(self.module.parameters())
        params = [p.detach() for p in model.parameters()]
        if step < self.start:
            torch._foreach_copy_(ema_params, params)
        else:
            torch._foreach_lerp_(ema_params, params, 1.0 - self.decay)
        for b_ema, b in zip(self.module.buffers(), model.buffers(), strict=True):
            b_ema.copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
