"""The BigGAN generator (Brock et al. 2019)."""

from __future__ import annotations

import math
from typing import Annotated

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from gancore.plugin import BuildContext, RecipeError
from gancore_biggan.layers import NO_ORTHO, GBlock, NonLocal
from gancore_biggan.networks import (
    G_LAYOUTS,
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


def latent_chunks(latent_dim: int, num_blocks: int, hierarchical: bool) -> list[int]:
    """Sizes of the chunks z is split into: the stem's first, then one per block.

    Each gets ``latent_dim // (num_blocks + 1)``; the stem's takes the remainder. Without the
    hierarchical latent the stem gets all of z.
    """
    if not hierarchical:
        return [latent_dim]
    slots = num_blocks + 1
    size = latent_dim // slots
    return [latent_dim - size * num_blocks] + [size] * num_blocks


class BigGANGenerator(nn.Module):
    """BigGAN's generator: ``forward(z, y) -> images`` in [-1, 1].

    z is split into chunks (hierarchical latent): the first feeds a linear stem to
    ``bottom_width²`` positions, and residual up-block i receives ``c_i = [shared(y), z_i]``,
    from which both of its conditional batch norms compute their gains (``1 + W_g c_i``) and
    biases (``W_b c_i``). A non-local block may follow the block that reaches
    ``attention_resolution``. The output is BN, ReLU, conv3x3, tanh. Spectral norm on every
    layer and orthogonal initialisation, as in the paper.
    """

    def __init__(
        self,
        latent_dim: Annotated[int, Field(gt=0, le=1024, description="size of z")] = 128,
        ch: Width = 64,
        widths: Multipliers = None,
        bottom_width: Annotated[
            int, Field(gt=0, le=64, description="resolution of the linear stem")
        ] = 4,
        shared_dim: Annotated[
            int,
            Field(ge=0, le=1024, description="size of the shared class embedding (0: one-hot "
                  "labels, no shared embedding)"),
        ] = 128,
        hierarchical: Annotated[
            bool, Field(description="split z across the stem and the blocks")
        ] = True,
        attention_resolution: AttentionResolution = 0,
        weight_norm: SpectralNorm = "spectral",
        init: Init = "orthogonal",
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        key = ctx.key or "generator"
        need_classes(ctx, key, "generator")
        size = image_size(ctx, key, "generator")
        mults = list(widths) if widths else G_LAYOUTS.get(size)
        if mults is None:
            ups = math.log2(size / bottom_width)
            if ups < 1 or not ups.is_integer():
                raise RecipeError(
                    f"no BigGAN layout reaches {size}x{size} from bottom_width = {bottom_width}",
                    key=f"{key}.bottom_width",
                    hint="the image size must be bottom_width times a power of 2",
                )
            mults = [4] * (int(ups) + 1)
        num_blocks = len(mults) - 1
        if num_blocks < 1 or bottom_width * 2**num_blocks != size:
            raise RecipeError(
                f"{num_blocks} up-blocks from {bottom_width}x{bottom_width} make "
                f"{bottom_width * 2**num_blocks}x{bottom_width * 2**num_blocks} images, but "
                f"data.image_size is {size}",
                key=f"{key}.widths",
                hint=f"give {int(math.log2(max(size // bottom_width, 1))) + 1} multipliers "
                "(the stem's, then one per block)",
            )
        self.chunks = latent_chunks(latent_dim, num_blocks, hierarchical)
        if min(self.chunks) < 1:
            raise RecipeError(
                f"latent_dim = {latent_dim} cannot be split into {num_blocks + 1} chunks",
                key=f"{key}.latent_dim",
                hint=f"use at least {num_blocks + 1}, or hierarchical = false",
            )
        self.latent_dim, self.num_classes = latent_dim, ctx.num_classes
        self.hierarchical, self.shared_dim = hierarchical, shared_dim
        self.bottom_width = bottom_width
        channels = [ch * m for m in mults]
        ctx = ctx.child(key=key, weight_norm=weight_norm)
        if shared_dim > 0:
            self.shared: nn.Module | None = nn.Embedding(ctx.num_classes, shared_dim)
            setattr(self.shared.weight, NO_ORTHO, True)
            label_dim = shared_dim
        else:
            self.shared = None
            self.register_buffer("one_hot", torch.eye(ctx.num_classes), persistent=False)
            label_dim = ctx.num_classes
        self.cond_dim = label_dim + (self.chunks[1] if hierarchical else 0)
        self.linear = ctx.apply_weight_norm(
            nn.Linear(self.chunks[0], channels[0] * bottom_width**2)
        )
        # gains and biases of the cBNs are spectrally normalised with a shared embedding, plain
        # per-class tables with one-hot labels (as BigGAN's nn.Embedding there)
        cbn_wn = weight_norm if shared_dim > 0 else None
        self.blocks = nn.ModuleList(
            GBlock(channels[i], channels[i + 1], self.cond_dim, ctx=ctx,
                   weight_norm=weight_norm, cbn_weight_norm=cbn_wn)
            for i in range(num_blocks)
        )
        reached = [bottom_width * 2 ** (i + 1) for i in range(num_blocks)]
        check_attention(attention_resolution, reached, key)
        self.attention_index = (
            reached.index(attention_resolution) if attention_resolution else None
        )
        self.attention = (
            NonLocal(channels[self.attention_index + 1], ctx=ctx, weight_norm=weight_norm)
            if self.attention_index is not None
            else None
        )
        self.out_bn = nn.BatchNorm2d(channels[-1])
        self.out_conv = ctx.apply_weight_norm(
            nn.Conv2d(channels[-1], ctx.data_shape[0], 3, padding=1)
        )
        initialise(ctx, self, init, key)

    def labels(self, y: torch.Tensor) -> torch.Tensor:
        """The class part of the conditions: ``shared(y)``, or one-hot labels."""
        if self.shared is not None:
            return self.shared(y)
        return F.embedding(y, self.one_hot)

    def conditions(
        self, z: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(stem input, [c_i per block])``: the split of z and the per-block conditions."""
        e = self.labels(y).to(z.dtype)
        if not self.hierarchical:
            return z, [e] * len(self.blocks)
        first, *rest = torch.split(z, self.chunks, dim=1)
        return first, [torch.cat([e, zi], dim=1) for zi in rest]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("the biggan generator is class-conditional: pass labels y")
        z0, conds = self.conditions(z, y)
        h = self.linear(z0).view(z.shape[0], -1, self.bottom_width, self.bottom_width)
        for i, (block, c) in enumerate(zip(self.blocks, conds, strict=True)):
            h = block(h, c)
            if i == self.attention_index:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))
