"""The ``stylegan2`` generator: mapping network + synthesis network of style blocks."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from gancore.plugin import BlockSpec, BuildContext, RecipeError, assemble
from gancore_stylegan.blocks import ToRGB
from gancore_stylegan.layers import MappingNetwork


def default_blocks(
    start_resolution: int, resolution: int, channel_base: int, channel_max: int
) -> list[BlockSpec]:
    """Two style blocks per resolution (the first of each upsampling), StyleGAN2's layout."""

    def channels(res: int) -> int:
        return max(1, min(channel_base // res, channel_max))

    specs = [BlockSpec(type="style_block", out_channels=channels(start_resolution))]
    res = start_resolution
    while res < resolution:
        res *= 2
        specs.append(BlockSpec(type="style_block", out_channels=channels(res), up=True))
        specs.append(BlockSpec(type="style_block", out_channels=channels(res)))
    return specs


class StyleGAN2Generator(nn.Module):
    """StyleGAN2-style generator (Karras et al. 2020), small by default.

    z -> mapping MLP -> w; a learned constant is refined by ``blocks`` (by default two
    ``style_block`` per resolution up to the data's), each modulated by its own copy of w;
    a ``to_rgb`` after each resolution's last block is added to the upsampled image so far
    (skip architecture). Training mixes two w at a random crossover layer with probability
    ``mixing_prob``. Blocks that consume styles receive w as ``cond``; others receive labels.
    """

    def __init__(
        self,
        latent_dim: Annotated[int, Field(gt=0, le=4096, description="size of z")] = 64,
        w_dim: Annotated[int, Field(gt=0, le=4096, description="size of the style w")] = 64,
        mapping_layers: Annotated[int, Field(ge=1, le=8, description="MLP layers z -> w")] = 2,
        mapping_lr_mul: Annotated[
            float, Field(gt=0, le=1, description="learning-rate multiplier of the mapping MLP")
        ] = 0.01,
        start_resolution: Annotated[
            int, Field(ge=1, le=64, description="size of the learned constant input")
        ] = 4,
        channel_base: Annotated[
            int, Field(gt=0, description="default blocks: channels = channel_base / resolution")
        ] = 1024,
        channel_max: Annotated[
            int, Field(gt=0, description="default blocks: at most this many channels")
        ] = 128,
        blocks: Annotated[
            list[BlockSpec],
            Field(description="synthesis blocks from the constant up (empty: the default layout)"),
        ] = [],  # noqa: B006 (never mutated)
        mixing_prob: Annotated[
            float, Field(ge=0, le=1, description="probability of style mixing in training")
        ] = 0.9,
        w_avg_beta: Annotated[
            float, Field(ge=0, lt=1, description="decay of the tracked mean w (truncation)")
        ] = 0.995,
        conditional: Annotated[
            bool, Field(description="condition the mapping network on class labels")
        ] = False,
        output: Annotated[
            Literal["linear", "tanh"], Field(description="output activation of the images")
        ] = "linear",
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        key = ctx.key or "generator"
        shape = tuple(ctx.data_shape)
        if len(shape) != 3:
            raise RecipeError(
                "stylegan2 makes images, but the data are vectors",
                key=f"{key}.type",
                hint='use the "stack" generator for vector data',
            )
        if conditional and ctx.num_classes <= 0:
            raise RecipeError(
                "conditional = true needs labelled data, but the dataset has no classes",
                key=f"{key}.conditional",
                hint="set conditional = false or use a labelled dataset",
            )
        channels, resolution = shape[0], shape[1]
        self.latent_dim, self.w_dim = latent_dim, w_dim
        self.num_classes = ctx.num_classes if conditional else 0
        self.mixing_prob, self.w_avg_beta, self.output = mixing_prob, w_avg_beta, output
        self.mapping_net = MappingNetwork(
            latent_dim, w_dim, mapping_layers, self.num_classes, mapping_lr_mul
        )
        self.register_buffer("w_avg", torch.zeros(w_dim))
        if not blocks:
            ratio = resolution / start_resolution
            if ratio < 1 or not math.log2(ratio).is_integer():
                raise RecipeError(
                    f"cannot reach the data's {resolution}x{resolution} from "
                    f"start_resolution = {start_resolution} by doubling",
                    key=f"{key}.start_resolution",
                    hint="choose a start_resolution that is the image size over a power of 2",
                )
            blocks = default_blocks(start_resolution, resolution, channel_base, channel_max)
        const_channels = max(1, min(channel_base // start_resolution, channel_max))
        self.const = nn.Parameter(
            torch.randn(1, const_channels, start_resolution, start_resolution)
        )
        bctx = ctx.child(key=key, cond_dim=w_dim)
        self.blocks, _, out_res = assemble(
            bctx, blocks, const_channels, start_resolution, f"{key}.blocks"
        )
        if out_res != resolution:
            raise RecipeError(
                f"the blocks end at {out_res}x{out_res}, but the data are "
                f"{resolution}x{resolution}",
                key=f"{key}.blocks",
                hint="add or remove style blocks with up = true",
            )
        self.rgb_after = self._rgb_positions()
        self.to_rgb = nn.ModuleDict(
            {
                str(i): ToRGB(int(self.blocks[i].out_channels), channels, ctx=bctx.child(key=key))
                for i in self.rgb_after
            }
        )
        self.num_ws = sum(self._num_styles(b) for b in self.blocks) + len(self.rgb_after)

    @staticmethod
    def _num_styles(block: nn.Module) -> int:
        return int(getattr(block, "num_styles", 0))

    def _rgb_positions(self) -> list[int]:
        """Indices of the last block at each resolution."""
        last = len(self.blocks) - 1
        return [
            i
            for i in range(len(self.blocks))
            if i == last or float(getattr(self.blocks[i + 1], "scale", 1.0)) != 1.0
        ]

    def mapping(
        self, z: torch.Tensor, y: torch.Tensor | None = None, truncation: float = 1.0
    ) -> torch.Tensor:
        """z ``[B, latent_dim]`` -> w ``[B, w_dim]``, tracking the mean w while training."""
        w = self.mapping_net(z, y if self.num_classes else None)
        if self.training and self.w_avg_beta > 0:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if truncation != 1.0:
            w = self.w_avg.lerp(w, truncation)
        return w

    def synthesis(self, ws: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images from per-layer styles ``ws`` ``[B, num_ws, w_dim]``."""
        if ws.shape[1] != self.num_ws:
            raise ValueError(f"expected {self.num_ws} styles per sample, got {ws.shape[1]}")
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        image: torch.Tensor | None = None
        idx = 0
        for i, block in enumerate(self.blocks):
            n = self._num_styles(block)
            x = block(x, ws[:, idx]) if n else block(x, y)
            idx += n
            if str(i) in self.to_rgb:
                out = self.to_rgb[str(i)](x, ws[:, idx])
                idx += 1
                if image is not None:
                    image = F.interpolate(
                        image, size=out.shape[-2:], mode="bilinear", align_corners=False
                    )
                    out = out + image
                image = out
        assert image is not None
        return torch.tanh(image) if self.output == "tanh" else image

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """One w per sample -> the same w for every layer ``[B, num_ws, w_dim]``."""
        return w.unsqueeze(1).expand(-1, self.num_ws, -1)

    def mix(
        self,
        z1: torch.Tensor,
        z2: torch.Tensor,
        crossover: int,
        y: torch.Tensor | None = None,
        truncation: float = 1.0,
    ) -> torch.Tensor:
        """Images styled by ``z1`` before layer ``crossover`` and by ``z2`` from it on."""
        w1, w2 = self.mapping(z1, y, truncation), self.mapping(z2, y, truncation)
        return self.synthesis(mixed_styles(self.broadcast(w1), self.broadcast(w2), crossover), y)

    def forward(
        self, z: torch.Tensor, y: torch.Tensor | None = None, truncation: float = 1.0
    ) -> torch.Tensor:
        ws = self.broadcast(self.mapping(z, y, truncation))
        if self.training and self.mixing_prob > 0 and self.num_ws > 1:
            if float(torch.rand(())) < self.mixing_prob:
                crossover = int(torch.randint(1, self.num_ws, ()))
                w2 = self.mapping(torch.randn_like(z), y, truncation)
                ws = mixed_styles(ws, self.broadcast(w2), crossover)
        return self.synthesis(ws, y)

    def set_noise_mode(self, mode: Literal["random", "const", "none"]) -> None:
        """Switch every noise input to ``random``, ``const`` or ``none``."""
        for module in self.modules():
            if module is not self and hasattr(module, "const_noise"):
                module.mode = mode


def mixed_styles(ws1: torch.Tensor, ws2: torch.Tensor, crossover: int) -> torch.Tensor:
    """Layers ``< crossover`` from ``ws1``, the rest from ``ws2`` (both ``[B, L, w_dim]``)."""
    return torch.cat([ws1[:, :crossover], ws2[:, crossover:]], dim=1)
