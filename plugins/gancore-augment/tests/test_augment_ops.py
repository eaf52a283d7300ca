"""The deterministic operations against written-out expectations, and their random forms."""

from __future__ import annotations

import pytest
import torch
from gancore_augment import ops


@pytest.fixture
def images():
    torch.manual_seed(0)
    return torch.rand(4, 3, 8, 8) * 2 - 1


def test_translate_shifts_with_zero_fill(images):
    out = ops.translate(images, torch.tensor([2, 0, -1, 0]), torch.tensor([0, 3, 0, 0]))
    assert torch.equal(out[0, :, 2:], images[0, :, :-2]) and (out[0, :, :2] == 0).all()
    assert torch.equal(out[1, :, :, 3:], images[1, :, :, :-3]) and (out[1, :, :, :3] == 0).all()
    assert torch.equal(out[2, :, :-1], images[2, :, 1:]) and (out[2, :, -1:] == 0).all()
    assert torch.equal(out[3], images[3])


def test_cut_zeroes_the_square_only(images):
    out = ops.cut(images, torch.tensor([1, -2, 6, 0]), torch.tensor([2, -2, 6, 0]), 4, 4)
    hole = torch.zeros(4, 8, 8, dtype=torch.bool)
    hole[0, 1:5, 2:6] = True
    hole[1, 0:2, 0:2] = True  # clipped at the top-left corner
    hole[2, 6:8, 6:8] = True  # clipped at the bottom-right corner
    hole[3, 0:4, 0:4] = True
    mask = hole.unsqueeze(1).expand_as(images)
    assert (out[mask] == 0).all()
    assert torch.equal(out[~mask], images[~mask])


def test_colour_operations(images):
    shift = torch.tensor([0.5, -0.25, 0.0, 1.0])
    torch.testing.assert_close(ops.brightness(images, shift), images + shift.view(4, 1, 1, 1))
    grey = ops.saturation(images, torch.zeros(4))
    torch.testing.assert_close(grey, images.mean(1, keepdim=True).expand_as(images))
    torch.testing.assert_close(ops.saturation(images, torch.ones(4)), images)
    torch.testing.assert_close(ops.contrast(images, torch.ones(4)), images)
    flat = ops.contrast(images, torch.zeros(4))
    torch.testing.assert_close(flat, images.mean((1, 2, 3), keepdim=True).expand_as(images))


@pytest.mark.parametrize("op", [ops.rand_color, ops.rand_translation, ops.rand_cutout])
def test_random_ops_are_seeded_change_images_and_keep_shapes(images, op):
    a = op(images, generator=torch.Generator().manual_seed(1))
    b = op(images, generator=torch.Generator().manual_seed(1))
    assert a.shape == images.shape and torch.equal(a, b)
    assert not torch.equal(a, images)


def test_rand_translation_moves_within_the_ratio(images):
    ones = torch.ones(64, 1, 16, 16)
    out = ops.rand_translation(ones, 0.125, torch.Generator().manual_seed(0))
    zero_rows = (out[:, 0] == 0).all(dim=2).sum(dim=1)
    zero_cols = (out[:, 0] == 0).all(dim=1).sum(dim=1)
    assert zero_rows.max() <= 2 and zero_cols.max() <= 2
    assert zero_rows.max() == 2 and (zero_rows == 0).any()


def test_rand_cutout_removes_at_most_the_square():
    ones = torch.ones(64, 3, 16, 16)
    out = ops.rand_cutout(ones, 0.5, torch.Generator().manual_seed(0))
    removed = (out[:, 0] == 0).sum(dim=(1, 2))
    assert removed.max() == 64 and removed.min() > 0
    assert torch.equal(out[:, 0], out[:, 1])  # the same hole in every channel


@pytest.mark.parametrize("op", [ops.rand_color, ops.rand_translation, ops.rand_cutout])
def test_gradients_flow(images, op):
    x = images.clone().requires_grad_(True)
    op(x, generator=torch.Generator().manual_seed(2)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
