"""Mode metrics for the 2D Gaussian mixtures (VEEGAN, PacGAN).

A generated sample is *high quality* when it lies within ``threshold`` standard deviations
(3 by default, ``<=``) of its nearest mode centre; a mode is *captured* when at least one
high-quality sample has it as nearest mode.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from gancore.core.errors import GancoreError
from gancore.core.params import Scale
from gancore.metrics.base import EvalInputs, require

RING_STD = 0.01
GRID_STD = 0.05


def ring_modes(num_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """Centres ``[num_modes, 2]`` evenly spaced on a circle, the first at ``(radius, 0)``."""
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    return torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1).float()


def grid_modes(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    """Centres ``[len(values)², 2]`` of the grid ``values × values`` (row-major in x, then y)."""
    axis = torch.tensor(values, dtype=torch.float32)
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def mode_spec(name: str) -> tuple[torch.Tensor, float]:
    """``(centres, std)`` of the built-in mixture ``"ring"`` or ``"grid"``."""
    if name == "ring":
        return ring_modes(), RING_STD
    if name == "grid":
        return grid_modes(), GRID_STD
    raise GancoreError(f"no mode layout {name!r}", hint="mode layouts: ring, grid")


def mode_coverage(
    samples: torch.Tensor, modes: torch.Tensor, std: float, threshold: float = 3.0
) -> tuple[int, float]:
    """``(modes captured, % high-quality samples)`` of ``samples`` ``[N, 2]``."""
    if samples.ndim != 2 or samples.shape[1] != modes.shape[1]:
        raise GancoreError(
            f"samples must be [N, {modes.shape[1]}] to match the modes, got {tuple(samples.shape)}"
        )
    if samples.shape[0] == 0:
        return 0, 0.0
    centres = modes.to(device=samples.device, dtype=torch.float64)
    dist = torch.cdist(samples.to(torch.float64), centres)
    nearest_dist, nearest = dist.min(1)
    good = nearest_dist <= threshold * std
    captured = int(nearest[good].unique().numel())
    return captured, 100.0 * float(good.double().mean())


class ModeCoverage:
    """Modes captured and % high-quality samples on a 2D mixture.

    Reports ``modes_captured``, ``modes_total`` and ``high_quality_pct``.
    """

    needs: ClassVar[set[str]] = {"fake_samples", "modes", "mode_std"}

    def __init__(self, *, threshold: Scale = 3.0, ctx: Any = None) -> None:
        self.threshold = threshold

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.fake_samples is not None and inputs.modes is not None
        assert inputs.mode_std is not None
        captured, pct = mode_coverage(
            inputs.fake_samples, inputs.modes, inputs.mode_std, self.threshold
        )
        return {
            "modes_captured": float(captured),
            "modes_total": float(inputs.modes.shape[0]),
            "high_quality_pct": pct,
        }
