"""Exponential moving average of a network's weights (for the generator)."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn


def horizon(decay: float) -> float:
    """The number of updates an EMA of ``decay`` averages over, ``1 / (1 - decay)``: after that
    many updates the starting weights keep at most ``decay ** horizon ≈ e⁻¹`` of the average."""
    return 1.0 / (1.0 - decay)


def is_warm(updates: int, decay: float, rampup: float | None) -> bool:
    """Whether an EMA is past its start-up, so that its weights may stand for G: warmed up by
    ``rampup``, or at least :func:`horizon` averaging updates done. The one rule for training's
    sample grids (:attr:`EMA.warm`) and for the weights a checkpoint is scored with
    (:func:`gancore.evaluation.weights.choose_weights`)."""
    return rampup is not None or updates >= horizon(decay)


class EMA:
    """A frozen copy of ``model`` whose parameters follow ``beta * ema + (1 - beta) * model``.

    Buffers (batch-norm statistics) are copied as they are. ``update()`` before ``start`` steps
    copies the weights instead of averaging them. ``beta`` is ``decay``; with ``rampup`` it is
    warmed up as in stylegan2-ada-pytorch's ``training/training_loop.py`` (``ema_rampup``): the
    half-life ``ln ½ / ln decay`` updates is cut to ``rampup`` times the updates done so far,
    ``beta = 0.5 ** (1 / max(half_life, 1e-8))`` (the reference counts images; with one batch
    per update the batch size cancels). :attr:`updates` counts the averaging updates.
    """

    def __init__(self, model: nn.Module, decay: float, start: int = 0,
                 rampup: float | None = None) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError("decay must be in [0, 1)")
        self.decay = decay
        self.start = start
        self.rampup = rampup
        self.updates = 0
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @property
    def horizon(self) -> float:
        """``1 / (1 - decay)`` updates (see :func:`horizon`)."""
        return horizon(self.decay)

    @property
    def warm(self) -> bool:
        """Whether the average is past its start-up: warmed up by ``rampup``, or at least
        :attr:`horizon` averaging updates done."""
        return is_warm(self.updates, self.decay, self.rampup)

    def beta(self) -> float:
        """The weight the average keeps at the next update."""
        if self.rampup is None or self.decay == 0.0:
            return self.decay
        half_life = math.log(0.5) / math.log(self.decay)
        half_life = min(half_life, self.updates * self.rampup)
        return 0.5 ** (1.0 / max(half_life, 1e-8))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Fold ``model``'s current weights into the average (``step``: the update number)."""
        ema_params = list(self.module.parameters())
        params = [p.detach() for p in model.parameters()]
        if step < self.start:
            torch._foreach_copy_(ema_params, params)
        else:
            torch._foreach_lerp_(ema_params, params, 1.0 - self.beta())
            self.updates += 1
        for b_ema, b in zip(self.module.buffers(), model.buffers(), strict=True):
            b_ema.copy_(b)

    def record(self) -> dict[str, Any]:
        """What a checkpoint records of the average besides its weights."""
        return {"updates": self.updates, "decay": self.decay, "start": self.start,
                "rampup": self.rampup, "horizon": self.horizon}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
