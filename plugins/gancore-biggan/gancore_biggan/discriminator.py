"""The BigGAN discriminator (Brock et al. 2019): residual blocks and a projection head."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from gancore.plugin import BuildContext, RecipeError
from gancore_biggan.layers import DBlock, NonLocal
from gancore_biggan.networks import (
    D_LAYOUTS,
    AttentionResolution,
    Init,
    Multipliers,
    SpectralNorm,
    Width,
    check_attention,
    image_size,
    initialise,
    need_classes,
)


class BigGANDiscriminator(nn.Module):
    """BigGAN's projection discriminator: ``forward(x, y) -> logits[B]``.

    Residual down-blocks (the first without pre-activation), an optional non-local block after
    the block that reaches ``attention_resolution``, then ReLU, sum pooling over positions to
    ``h`` and ``logit = linear(h) + ⟨embed(y), h⟩`` (Miyato & Koyama 2018). Spectral norm on
    every layer (the class embedding included) and orthogonal initialisation.
    """

    def __init__(
        self,
        ch: Width = 64,
        widths: Multipliers = None,
        downsample: Annotated[
            list[bool] | None,
            Field(description="whether each block halves the resolution, one per width "
                  "(default: the published layout; with widths, all but the last)"),
        ] = None,
        attention_resolution: AttentionResolution = 0,
        weight_norm: SpectralNorm = "spectral",
        init: Init = "orthogonal",
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        key = ctx.key or "discriminator"
        need_classes(ctx, key, "discriminator")
        size = image_size(ctx, key, "discriminator")
        default = D_LAYOUTS.get(size)
        if default is None:
            downs = max(0, size.bit_length() - 4)  # down to 8x8, then two blocks at 8x8
            default = ([4] * (downs + 2), [True] * downs + [False, False])
        mults = list(widths) if widths else default[0]
        down = list(downsample) if downsample else (
            default[1] if not widths else [True] * (len(mults) - 1) + [False]
        )
        if len(down) != len(mults):
            raise RecipeError(
                f"{len(down)} downsample flags for {len(mults)} blocks",
                key=f"{key}.downsample",
                hint="give one flag per entry of widths",
            )
        reached, res = [], size
        for flag in down:
            res = res // 2 if flag else res
            if res < 1:
                raise RecipeError(
                    f"the blocks downsample {size}x{size} images below 1x1",
                    key=f"{key}.downsample",
                    hint="downsample fewer times",
                )
            reached.append(res)
        check_attention(attention_resolution, reached, key)
        self.num_classes = ctx.num_classes
        ctx = ctx.child(key=key, weight_norm=weight_norm)
        channels = [ctx.data_shape[0]] + [ch * m for m in mults]
        self.blocks = nn.ModuleList(
            DBlock(channels[i], channels[i + 1], ctx=ctx, weight_norm=weight_norm,
                   preactivation=i > 0, downsample=down[i])
            for i in range(len(mults))
        )
        self.attention_index = (
            reached.index(attention_resolution) if attention_resolution else None
        )
        self.attention = (
            NonLocal(channels[self.attention_index + 1], ctx=ctx, weight_norm=weight_norm)
            if self.attention_index is not None
            else None
        )
        self.linear = ctx.apply_weight_norm(nn.Linear(channels[-1], 1))
        self.embed = ctx.apply_weight_norm(nn.Embedding(ctx.num_classes, channels[-1]))
        initialise(ctx, self, init, key)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``h``: the last block's activations, ReLU'd and summed over positions ``[B, C]``."""
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_index:
                h = self.attention(h)
        return F.relu(h).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("the biggan discriminator is class-conditional: pass labels y")
        h = self.features(x)
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
