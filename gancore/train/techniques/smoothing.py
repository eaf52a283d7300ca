"""``label_smoothing``: one-sided label smoothing (extension point ``d_targets``).

Salimans et al. 2016 ("Improved techniques for training GANs", section 3.4): D's target for
real images becomes ``1 - amount`` (fakes keep 0). The loss's ``real_target`` is lowered once
when the run starts; a loss without a ``real_target`` is left as it is.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

Amount = Annotated[
    float, Field(gt=0.0, lt=0.5, allow_inf_nan=False, description="amount in (0, 0.5)")
]


class LabelSmoothing:
    """Multiply the loss's real target by ``1 - amount``."""

    points = ("d_targets",)

    def __init__(self, amount: Amount = 0.1) -> None:
        self.amount = float(amount)

    def d_targets(self, loss: Any) -> None:
        if hasattr(loss, "real_target"):
            loss.real_target = loss.real_target * (1.0 - self.amount)
