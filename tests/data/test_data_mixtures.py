import itertools

import pytest
import torch

from gancore.core.errors import RecipeError
from gancore.data.mixtures import Grid, Ring


def _check_mixture(ds: Ring | Grid, modes: torch.Tensor, std: float) -> None:
    x, y = ds.as_tensors()
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape[1] == 2
    assert torch.equal(ds.centers, modes)
    dist = torch.cdist(x, modes)
    nearest = dist.argmin(1)
    assert torch.equal(nearest, y)
    assert (dist.min(1).values < 6 * std).all()
    counts = torch.bincount(y, minlength=len(modes))
    assert (counts > 0).all()
    expected = len(y) / len(modes)
    assert ((counts - expected).abs() < 0.2 * expected).all()
    residual = x - modes[y]
    assert residual.std(0).tolist() == pytest.approx([std, std], rel=0.05)
    assert residual.mean(0).abs().max() < 6 * std / len(y) ** 0.5


def test_ring_defaults() -> None:
    ds = Ring(num_samples=20000)
    modes = Ring.modes()
    assert modes.shape == (8, 2)
    assert torch.allclose(modes.norm(dim=1), torch.ones(8))
    assert ds.std == Ring.mode_std() == 0.01
    _check_mixture(ds, modes, 0.01)
    x, y = ds[3]
    assert x.shape == (2,) and y.dtype == torch.int64 and y.ndim == 0
    points = ds.as_tensors()[0]
    assert ds.augment(points) is points


def test_grid_defaults() -> None:
    ds = Grid(num_samples=25000)
    expected = {(float(a), float(b)) for a, b in itertools.product([-4, -2, 0, 2, 4], repeat=2)}
    assert {tuple(p) for p in Grid.modes().tolist()} == expected
    assert ds.std == Grid.mode_std() == 0.05
    _check_mixture(ds, Grid.modes(), 0.05)


def test_overrides_and_instance_helpers() -> None:
    ds = Ring(num_samples=4000, radius=2.0, num_modes=5, std=0.02)
    assert torch.allclose(ds.modes(), Ring.modes(radius=2.0, num_modes=5))
    assert ds.modes().norm(dim=1).allclose(torch.full((5,), 2.0))
    assert ds.mode_std() == Ring.mode_std(std=0.02) == 0.02
    _check_mixture(ds, ds.modes(), 0.02)
    grid = Grid(num_samples=900, side=3, spacing=1.0)
    assert grid.modes().abs().max() == 1.0 and len(grid.modes()) == 9


def test_describe() -> None:
    assert Ring.describe().shape == (2,) and Ring.describe().num_classes == 0
    assert Ring.describe(conditional=True).num_classes == 8
    assert Grid.describe(conditional=True, side=4).num_classes == 16
    assert Grid(num_samples=10)[0][0].shape == Grid.describe().shape


def test_deterministic_and_split() -> None:
    a, b = Ring(num_samples=100, seed=5), Ring(num_samples=100, seed=5)
    assert torch.equal(a.points, b.points)
    assert not torch.equal(a.points, Ring(num_samples=100, seed=6).points)
    assert not torch.equal(a.points, Ring(num_samples=100, seed=5, split="test").points)


def test_bad_std() -> None:
    with pytest.raises(RecipeError, match="std"):
        Grid(num_samples=10, std=0.0)
