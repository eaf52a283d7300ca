"""Mode metrics (modes captured, % high quality) on hand-placed 2D samples."""

from __future__ import annotations

import math

import pytest
import torch

from gancore.core.errors import GancoreError
from gancore.metrics.base import EvalInputs
from gancore.metrics.modes import (
    GRID_STD,
    RING_STD,
    ModeCoverage,
    grid_modes,
    mode_coverage,
    mode_spec,
    ring_modes,
)


def test_ring_and_grid_layouts() -> None:
    ring = ring_modes()
    assert ring.shape == (8, 2)
    assert torch.allclose(ring.norm(dim=1), torch.ones(8))
    assert torch.allclose(ring[2], torch.tensor([0.0, 1.0]), atol=1e-7)
    grid = grid_modes()
    assert grid.shape == (25, 2)
    assert {tuple(p) for p in grid.tolist()} == {
        (float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)
    }
    assert mode_spec("ring")[1] == RING_STD == 0.01
    assert mode_spec("grid")[1] == GRID_STD == 0.05
    with pytest.raises(GancoreError, match="ring, grid"):
        mode_spec("spiral")


def test_ring_hand_placed_samples() -> None:
    centres, std = mode_spec("ring")
    samples = torch.stack([
        centres[0] + torch.tensor([0.02, 0.0]),     # 2 std from mode 0: high quality
        centres[0] + torch.tensor([0.0, -0.029]),   # 2.9 std: high quality, same mode
        centres[3] + torch.tensor([0.03, 0.0]),     # 3 std exactly: counts (<=)
        centres[5] + torch.tensor([0.0, 0.05]),     # 5 std: low quality, mode 5 not captured
        torch.tensor([0.0, 0.0]),                   # centre of the ring: low quality
    ])
    captured, pct = mode_coverage(samples.double(), centres.double(), std)
    assert captured == 2
    assert pct == pytest.approx(60.0)


def test_grid_all_modes_and_none() -> None:
    centres, std = mode_spec("grid")
    noise = torch.randn(25, 2, generator=torch.Generator().manual_seed(0)) * std * 0.5
    captured, pct = mode_coverage(centres + noise.clamp(-1.4 * std, 1.4 * std), centres, std)
    assert (captured, pct) == (25, 100.0)
    off = centres + torch.tensor([1.0, 1.0])  # between modes
    assert mode_coverage(off, centres, std) == (0, 0.0)


def test_metric_class() -> None:
    centres = ring_modes()
    inputs = EvalInputs(fake_samples=centres[:3].repeat(4, 1), modes=centres, mode_std=RING_STD)
    out = ModeCoverage().compute(inputs)
    assert out == {"modes_captured": 3.0, "modes_total": 8.0, "high_quality_pct": 100.0}
    wide = ModeCoverage(threshold=200.0).compute(
        EvalInputs(fake_samples=torch.zeros(2, 2), modes=centres, mode_std=RING_STD)
    )
    assert wide["high_quality_pct"] == 100.0
    assert math.isclose(wide["modes_captured"], 1.0)
