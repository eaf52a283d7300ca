"""Self-attention over positions (SAGAN, Zhang et al. 2019), kind ``block``."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from gancore.assembly.context import BuildContext
from gancore.core.refs import WeightNormSpec


class SelfAttention(nn.Module):
    """Non-local attention with a learned gate ``gamma`` that starts at 0 (identity at init).

    Queries and keys have ``in_channels // reduction`` channels, values ``in_channels // 2``.
    """

    def __init__(
        self,
        in_channels: int,
        reduction: Annotated[int, Field(ge=1, le=1024, description="1..1024")] = 8,
        weight_norm: WeightNormSpec | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        self.out_channels, self.scale = in_channels, 1.0
        qk = max(1, in_channels // reduction)
        v = max(1, in_channels // 2)
        self.query = ctx.apply_weight_norm(nn.Conv2d(in_channels, qk, 1, bias=False), weight_norm)
        self.key = ctx.apply_weight_norm(nn.Conv2d(in_channels, qk, 1, bias=False), weight_norm)
        self.value = ctx.apply_weight_norm(nn.Conv2d(in_channels, v, 1, bias=False), weight_norm)
        self.out = ctx.apply_weight_norm(nn.Conv2d(v, in_channels, 1, bias=False), weight_norm)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        b, _, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # B, N, qk
        k = self.key(x).flatten(2)  # B, qk, N
        v = self.value(x).flatten(2)  # B, v, N
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # B, N, N
        o = torch.bmm(v, attn.transpose(1, 2)).view(b, -1, h, w)
        return x + self.gamma * self.out(o)
