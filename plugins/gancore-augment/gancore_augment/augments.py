"""The ``augment`` components: ``factory(**params)`` -> module mapping images to images."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field, field_validator
from torch import nn

from gancore.plugin import Params, suggest
from gancore_augment import ops

#: Operations a DiffAugment policy may name, in the order they are applied.
POLICY_OPS = ("color", "translation", "cutout")

Ratio = Annotated[float, Field(gt=0.0, le=1.0)]


class DiffAugmentParams(Params):
    """Parameters of ``diffaugment``."""

    policy: str = Field(
        "color,translation,cutout", description="comma-separated: color, translation, cutout"
    )
    translation_ratio: Ratio = Field(0.125, description="largest shift, fraction of the size")
    cutout_ratio: Ratio = Field(0.5, description="side of the cut square, fraction of the size")

    @field_validator("policy")
    @classmethod
    def _known_ops(cls, value: str) -> str:
        names = [p.strip() for p in value.split(",") if p.strip()]
        for name in names:
            if name not in POLICY_OPS:
                raise ValueError(
                    f"unknown operation {name!r}{suggest(name, POLICY_OPS)} "
                    f"(known: {', '.join(POLICY_OPS)})"
                )
        return ",".join(names)


class DiffAugment(nn.Module):
    """DiffAugment (Zhao et al. 2020): the policy's operations, in canonical order.

    As ``DiffAugment_pytorch.py`` of mit-han-lab/data-efficient-gans (copied in google/lecam-gan
    ``third_party/DiffAugment_pytorch.py``): brightness, saturation and contrast drawn
    uniformly, translation filled with zeros, cutout; every image, no probability. None of them
    flips or rotates an image, so nothing leaks an orientation into the generator.

    Apply the same instance to real and fake batches; each call draws new random parameters
    per sample.
    """

    Params = DiffAugmentParams

    def __init__(
        self,
        policy: str = "color,translation,cutout",
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        chosen = {p.strip() for p in policy.split(",") if p.strip()}
        self.ops = [op for op in POLICY_OPS if op in chosen]
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for op in self.ops:
            if op == "color":
                x = ops.rand_color(x, generator)
            elif op == "translation":
                x = ops.rand_translation(x, self.translation_ratio, generator)
            else:
                x = ops.rand_cutout(x, self.cutout_ratio, generator)
        return x

    def extra_repr(self) -> str:
        return f"policy={','.join(self.ops)!r}"


class Color(nn.Module):
    """Random brightness, saturation and contrast per sample (DiffAugment's ``color``)."""

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return ops.rand_color(x, generator)


class Translation(nn.Module):
    """Random shift by up to ``ratio`` of the image size, zero padded."""

    def __init__(self, ratio: Ratio = 0.125) -> None:
        super().__init__()
        self.ratio = ratio

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return ops.rand_translation(x, self.ratio, generator)


class Cutout(nn.Module):
    """Zero one random square of side ``ratio`` times the image size per sample."""

    def __init__(self, ratio: Ratio = 0.5) -> None:
        super().__init__()
        self.ratio = ratio

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return ops.rand_cutout(x, self.ratio, generator)
