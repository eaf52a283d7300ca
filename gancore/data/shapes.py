"""``shapes``: procedurally generated images of coloured shapes, the built-in default dataset."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch

from gancore.core.errors import RecipeError
from gancore.core.params import Degrees, Fraction, ImageSize, SampleCount, Seed
from gancore.core.protocols import DataSpec
from gancore.data.common import (
    InMemoryImages,
    check_choice,
    check_positive,
    resolve_params,
    split_seed,
)
from gancore.data.transforms import Augmentation

#: The shapes, in label order.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")

#: The colours (RGB in [0, 1]), in colour-index order.
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.92, 0.22, 0.20),
    "green": (0.25, 0.80, 0.32),
    "blue": (0.26, 0.46, 0.96),
    "yellow": (0.96, 0.84, 0.24),
    "magenta": (0.86, 0.30, 0.86),
    "cyan": (0.24, 0.84, 0.90),
}

#: Shape area divided by radius² (radius as drawn, in the same units).
AREA_FACTORS: dict[str, float] = {
    "circle": math.pi,
    "square": 4 * 0.85**2,
    "triangle": 3 * math.sqrt(3) * 0.55**2,
    "cross": 2 * (2 * 0.33 * 2) - (2 * 0.33) ** 2,
}

_RADIUS_RANGE = (0.25, 0.55)  # in units of half the image width
_EXTENT = 1.25  # how far (in radii) a shape may reach from its centre
_CHUNK = 2048

Labels = Literal["shape", "shape_color", "none"]


def _signed_distance(shape: int, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Approximate signed distance (negative inside) to shape ``shape`` of radius ``r``."""
    if shape == 0:  # circle
        return np.hypot(u, v) - r
    if shape == 1:  # square, half-side 0.85 r
        return np.maximum(np.abs(u), np.abs(v)) - 0.85 * r
    if shape == 2:  # equilateral triangle, inradius 0.55 r, centroid at the centre
        s3 = np.float32(math.sqrt(3) / 2)
        edges = np.maximum(np.maximum(v, -s3 * u - 0.5 * v), s3 * u - 0.5 * v)
        return edges - 0.55 * r
    au, av, w = np.abs(u), np.abs(v), 0.33 * r  # cross: two bars of half-length r, half-width w
    return np.minimum(np.maximum(au - r, av - w), np.maximum(au - w, av - r))


def render_shapes(
    shape: torch.Tensor,
    color: torch.Tensor,
    background: torch.Tensor,
    center: torch.Tensor,
    radius: torch.Tensor,
    angle: torch.Tensor,
    size: int,
) -> torch.Tensor:
    """Draw one antialiased shape per image: uint8 ``N×3×size×size``.

    ``shape`` (N) indexes :data:`SHAPES`; ``color`` (N×3) and ``background`` (N) are in [0, 1];
    ``center`` (N×2, x then y), ``radius`` (N) are in units of half the image width, with the
    image spanning [-1, 1]; ``angle`` (N) is in radians.
    """
    shape_np = shape.numpy()
    color_np, background_np = color.numpy(), background.numpy()
    center_np, radius_np, angle_np = center.numpy(), radius.numpy(), angle.numpy()
    coords = ((np.arange(size, dtype=np.float32) + 0.5) * (2.0 / size) - 1.0).astype(np.float32)
    ys, xs = coords.reshape(1, size, 1), coords.reshape(1, 1, size)
    out = np.empty((shape_np.shape[0], 3, size, size), dtype=np.uint8)
    for k in range(len(SHAPES)):
        members = np.flatnonzero(shape_np == k)
        for start in range(0, members.size, _CHUNK):
            idx = members[start : start + _CHUNK]
            dx = xs - center_np[idx, 0].reshape(-1, 1, 1)
            dy = ys - center_np[idx, 1].reshape(-1, 1, 1)
            cos = np.cos(angle_np[idx]).reshape(-1, 1, 1)
            sin = np.sin(angle_np[idx]).reshape(-1, 1, 1)
            dist = _signed_distance(k, cos * dx + sin * dy, cos * dy - sin * dx,
                                    radius_np[idx].reshape(-1, 1, 1))
            coverage = np.clip(0.5 - dist * np.float32(size / 2.0), 0.0, 1.0)[:, None]
            bg = background_np[idx].reshape(-1, 1, 1, 1)
            fg = color_np[idx].reshape(-1, 3, 1, 1)
            pixels = (bg + (fg - bg) * coverage) * np.float32(255.0)
            out[idx] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    return torch.from_numpy(out)


#: The most memory the rendered images of a ``shapes`` set may take.
MAX_IMAGE_BYTES = 16 * 2**30


class Shapes(InMemoryImages):
    """Procedural RGB images, one coloured shape each on a dark plain background.

    Shapes are circle, square, triangle and cross (:data:`SHAPES`) in six colours
    (:data:`COLORS`), with random position, size, rotation, brightness and background level.
    Labels: ``"shape"`` (default) is the shape index (4 classes); ``"shape_color"`` is
    ``shape * 6 + colour`` (24 classes); ``"none"`` is 0 (unconditional). Deterministic by
    ``seed``; ``split = "test"`` draws from a different seed. Per-sample parameters are kept in
    ``meta`` (``shape``, ``color``, ``center``, ``radius``, ``angle``, ``rgb``, ``background``).
    """

    def __init__(
        self,
        image_size: ImageSize = 32,
        num_samples: SampleCount = 20000,
        seed: Seed = 0,
        labels: Labels = "shape",
        split: Literal["train", "test"] = "train",
        flip: bool = False,
        rotate: Degrees = 0.0,
        shift: Fraction = 0.0,
    ) -> None:
        check_positive(image_size, "image_size")
        check_positive(num_samples, "num_samples")
        size = num_samples * 3 * image_size**2
        if size > MAX_IMAGE_BYTES:
            raise RecipeError(
                f"{num_samples:,} shapes of {image_size}x{image_size} would take "
                f"{size / 2**30:,.1f} GiB (limit {MAX_IMAGE_BYTES / 2**30:.0f} GiB)",
                key="num_samples", hint="lower num_samples or image_size",
            )
        check_choice(labels, ("shape", "shape_color", "none"), "labels")
        check_choice(split, ("train", "test"), "split")
        self.image_size = image_size
        self.meta = self.sample_parameters(num_samples, split_seed(seed, split))
        images = render_shapes(
            self.meta["shape"], self.meta["rgb"], self.meta["background"],
            self.meta["center"], self.meta["radius"], self.meta["angle"], image_size,
        )
        if labels == "shape":
            y = self.meta["shape"]
        elif labels == "shape_color":
            y = self.meta["shape"] * len(COLORS) + self.meta["color"]
        else:
            y = torch.zeros(num_samples, dtype=torch.int64)
        self._set_data(images, y, Augmentation(flip, rotate, shift))

    @staticmethod
    def sample_parameters(num_samples: int, seed: int) -> dict[str, torch.Tensor]:
        """Draw the per-image shape, colour, geometry and background for ``num_samples``."""
        g = torch.Generator().manual_seed(seed)
        n = num_samples

        def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
            return low + (high - low) * torch.rand((n, *shape), generator=g)

        shape = torch.randint(len(SHAPES), (n,), generator=g)
        color = torch.randint(len(COLORS), (n,), generator=g)
        radius = uniform(*_RADIUS_RANGE)
        reach = (1.0 - _EXTENT * radius).unsqueeze(1)
        center = (torch.rand((n, 2), generator=g) * 2 - 1) * reach
        angle = uniform(0.0, 2 * math.pi)
        palette = torch.tensor(list(COLORS.values()), dtype=torch.float32)
        rgb = palette[color] * uniform(0.75, 1.0, 1)
        background = uniform(0.0, 0.15)
        return {"shape": shape, "color": color, "radius": radius, "center": center,
                "angle": angle, "rgb": rgb, "background": background}

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """``(3, image_size, image_size)`` and the class count of ``labels``."""
        p = resolve_params(cls, params)
        check_choice(p["labels"], ("shape", "shape_color", "none"), "labels")
        classes = {"shape": len(SHAPES), "shape_color": len(SHAPES) * len(COLORS), "none": 0}
        return DataSpec((3, p["image_size"], p["image_size"]), classes[p["labels"]])
