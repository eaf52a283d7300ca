"""Shared pieces of the BigGAN networks: parameter types, default layouts, checks."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from torch import nn

from gancore.plugin import BuildContext, InitSpec, RecipeError, WeightNormSpec


def _multipliers(value: list[int] | None) -> list[int] | None:
    if value is not None and not all(0 < m <= 64 for m in value):
        raise ValueError("each multiplier of ch must be in 1..64")
    return value


Width = Annotated[int, Field(gt=0, le=1024, description="channel width ch (1..1024)")]
Multipliers = Annotated[
    list[int] | None,
    Field(description="channel multipliers of ch (each 1..64); none: the published layout "
          "for the image size"),
    AfterValidator(_multipliers),
]
SpectralNorm = Annotated[
    WeightNormSpec, Field(description="weight norm of every layer (BigGAN: spectral)")
]
Init = Annotated[
    InitSpec, Field(description="init scheme (BigGAN: orthogonal; its CIFAR script: "
                    "normal_0.02)")
]
AttentionResolution = Annotated[
    int, Field(ge=0, le=4096, description="resolution of the non-local block (0: none)")
]

#: The published generator layouts (BigGAN's architecture tables): multipliers of ``ch`` for
#: the stem, then the output of each x2 residual block, by image size.
G_LAYOUTS: dict[int, list[int]] = {
    32: [4, 4, 4, 4],
    64: [16, 16, 8, 4, 2],
    128: [16, 16, 8, 4, 2, 1],
    256: [16, 16, 8, 8, 4, 2, 1],
    512: [16, 16, 8, 8, 4, 2, 1, 1],
}
#: The published discriminator layouts: (output multipliers, downsampling) of each block.
D_LAYOUTS: dict[int, tuple[list[int], list[bool]]] = {
    32: ([4, 4, 4, 4], [True, True, False, False]),
    64: ([1, 2, 4, 8, 16], [True, True, True, True, False]),
    128: ([1, 2, 4, 8, 16, 16], [True, True, True, True, True, False]),
    256: ([1, 2, 4, 8, 8, 16, 16], [True, True, True, True, True, True, False]),
    512: ([1, 1, 2, 4, 8, 8, 16, 16], [True] * 7 + [False]),
}


def image_size(ctx: BuildContext, key: str, what: str) -> int:
    """The data's square image side; vectors and non-square images are refused."""
    shape = tuple(ctx.data_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise RecipeError(
            f"the biggan {what} makes square images, but the data have shape {list(shape)}",
            key=f"{key}.type",
            hint="use an image dataset, or a stack network for vector data",
        )
    return int(shape[1])


def need_classes(ctx: BuildContext, key: str, what: str) -> None:
    """BigGAN networks are class-conditional: refuse unlabelled data, naming the key."""
    if ctx.num_classes <= 0:
        raise RecipeError(
            f"the biggan {what} is class-conditional (shared class embedding, conditional "
            "batch norm, projection discriminator), but the dataset has no classes",
            key=f"{key}.type",
            hint='use a labelled dataset (e.g. data.type = "shapes" with labels = "shape"), '
            'or a stack network for unlabelled data',
        )


def check_attention(resolution: int, reached: list[int], key: str) -> None:
    if resolution and resolution not in reached:
        raise RecipeError(
            f"attention_resolution = {resolution} is not a resolution the blocks make",
            key=f"{key}.attention_resolution",
            hint=f"use one of {', '.join(map(str, sorted(set(reached))))}, or 0 for none",
        )


def initialise(ctx: BuildContext, network: nn.Module, init: InitSpec, key: str) -> None:
    """Apply the recipe's init scheme (a registered ``init``), except on the meta device."""
    if any(p.is_meta for p in network.parameters()):
        return
    ctx.registry.make("init", init, network, key=f"{key}.init")
