"""``joint_d_pass``: real and fake through D in one forward pass (extension point ``d_pass``).

``cat(real, fake)`` goes through D once and the outputs are split at the real batch's size;
ACGAN's class logits come out of the same pass. Layers that look across the batch (batch
norm) then normalise real and fake together, which changes the losses with a batch-norm D;
without such layers it is the two passes' result in one (faster) pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gancore.train.batches import joint_batch

Outputs = tuple[torch.Tensor, torch.Tensor | None]


class JointPass:
    """One D pass of ``cat(real, fake)``."""

    points = ("d_pass",)

    def __init__(self, *, run: Any) -> None:
        self._run = run

    def d_pass(self, forward: Callable[[torch.Tensor, Any], Outputs], real: torch.Tensor,
               fake: torch.Tensor, y: torch.Tensor | None) -> tuple[Outputs, Outputs]:
        n = real.shape[0]
        logits, cls = forward(*joint_batch(real, fake, y, self._run.channels_last))
        return ((logits[:n], None if cls is None else cls[:n]),
                (logits[n:], None if cls is None else cls[n:]))
