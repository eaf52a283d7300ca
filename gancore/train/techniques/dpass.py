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

Outputs = tuple[torch.Tensor, torch.Tensor | None]


def joint_batch(
    real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None, channels_last: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``cat(real, fake)`` (fake in real's dtype) and its labels ``cat(y, y)``: one D pass for
    both batches (the ``joint_d_pass`` technique); D's outputs split at ``len(real)``."""
    both = torch.cat([real, fake.to(real.dtype)])
    if channels_last and both.dim() == 4:
        both = both.contiguous(memory_format=torch.channels_last)
    return both, None if y is None else torch.cat([y, y])


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
