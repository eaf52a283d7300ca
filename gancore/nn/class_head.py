"""The auxiliary class head of a discriminator (ACGAN, Odena et al. 2017).

The stack discriminator builds one when ``class_head`` is set: it reads the same features as
the logit head, in the same forward pass, and predicts one logit per data class.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from gancore.assembly.context import BuildContext

#: ``linear``: flatten the last feature map, then a linear layer (the ACGAN paper's D, for
#: blocks that end activated, like DCGAN's); ``pooled``: activation, global sum pooling, then a
#: linear layer (like the ``linear_logit`` head, for residual blocks).
ClassHeadType = Literal["none", "linear", "pooled"]


class ClassHead(nn.Module):
    """Features ``[B, C, H, W]`` (or ``[B, C]``) -> class logits ``[B, num_classes]``."""

    def __init__(
        self,
        in_channels: int,
        resolution: int | None,
        num_classes: int,
        pool: Literal["linear", "pooled"],
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        self.out_channels, self.out_resolution = num_classes, None
        self.pool = pool
        self.act: nn.Module = ctx.act() if pool == "pooled" else nn.Identity()
        width = in_channels
        if pool == "linear" and resolution is not None:
            width *= resolution * resolution
        self.linear = ctx.apply_weight_norm(nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.act(x)
        if h.dim() == 4:
            h = h.sum(dim=(2, 3)) if self.pool == "pooled" else h.flatten(1)
        return self.linear(h)
