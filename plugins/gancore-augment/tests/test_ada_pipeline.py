"""ADA's pipeline against written-out expectations: identity, reflection padding, the colour
matrices, how often each operation is drawn, gradients and dtypes, the presets."""

from __future__ import annotations

import math

import pytest
import torch
from gancore_augment import opsets, pipeline
from gancore_augment.ada import ADA, ADA_OPS
from torch.nn import functional as F

ONE = torch.ones(3)


@pytest.fixture
def images():
    return torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_at_p_0_the_images_pass_unchanged_and_nothing_is_drawn(images):
    g = torch.Generator().manual_seed(3)
    before = g.get_state()
    assert ADA(p=0.0)(images, g) is images
    assert torch.equal(g.get_state(), before)


def test_the_identity_transform_resamples_to_the_image(images):
    # reflection padding, Symlet-6 up- and downsampling: an orthogonal pair, so the identity
    # comes back up to rounding
    out = pipeline.apply_geometry(images, torch.eye(3).expand(3, 3, 3))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


def test_an_integer_shift_pads_by_reflection(images):
    # the inverse transform of a shift by (+3, -2): output pixel (x, y) reads (x - 3, y + 2)
    out = pipeline.apply_geometry(images, pipeline.translate2d(-3 * ONE, 2 * ONE))
    padded = F.pad(images, [3, 3, 2, 2], mode="reflect")  # mirrored, border not repeated
    torch.testing.assert_close(out, padded[:, :, 4:20, 0:16], atol=1e-5, rtol=0)
    # a black image stays black: no mid-grey border as with zero filling
    black = torch.full((3, 1, 16, 16), -1.0)
    shifted = pipeline.apply_geometry(black, pipeline.translate2d(-3 * ONE, 2 * ONE))
    torch.testing.assert_close(shifted, black, atol=1e-5, rtol=0)


def test_a_half_turn_is_a_rotation_of_the_image(images):
    out = pipeline.apply_geometry(images, pipeline.rotate2d(math.pi * ONE))
    # the Symlet filter is not symmetric: a turn is exact only up to its ripple (largest on
    # this white noise, all high frequencies)
    ref = torch.rot90(images, 2, dims=(-2, -1))
    assert (out - ref).abs().mean() < 0.2 * (out - images).abs().mean()


def test_colour_matrices_act_about_mid_grey_and_the_luma_axis(images):
    c = torch.tensor([0.5, 2.0, 1.0])
    # contrast scales about 0, the mid-grey of [-1, 1] images (not about the image mean)
    torch.testing.assert_close(pipeline.apply_color(images, pipeline.scale3d(c)),
                               images * c.view(3, 1, 1, 1))
    b = torch.tensor([0.1, -0.3, 0.0])
    torch.testing.assert_close(pipeline.apply_color(images, pipeline.translate3d(b)),
                               images + b.view(3, 1, 1, 1))
    grey = images[:, :1]
    outer = torch.outer(torch.tensor([*pipeline.LUMA, 0.0]), torch.tensor([*pipeline.LUMA, 0.0]))
    flip = (torch.eye(4) - 2 * outer).expand(3, 4, 4)
    torch.testing.assert_close(pipeline.apply_color(grey, flip), -grey)  # luma flip: -x
    # a hue rotation keeps each pixel's mean over the channels (its luma)
    hue = pipeline.rotate3d(pipeline.LUMA, torch.tensor([0.5, 2.0, -1.0]))
    out = pipeline.apply_color(images, hue)
    torch.testing.assert_close(out.mean(1), images.mean(1), atol=1e-5, rtol=0)
    assert (out - images).abs().mean() > 0.1
    # saturation 0 makes every pixel grey (its channel mean)
    sat = (outer + (torch.eye(4) - outer) * 0.0).expand(3, 4, 4)
    out = pipeline.apply_color(images, sat)
    torch.testing.assert_close(out, images.mean(1, keepdim=True).expand_as(images),
                               atol=1e-6, rtol=0)


@pytest.mark.parametrize(("op", "share"), [
    ("xflip", 1 / 2),  # drawn with probability p, then a mirror half the time
    ("rotate90", 3 / 4),  # then 1-3 quarter turns
    ("brightness", 1.0), ("contrast", 1.0), ("lumaflip", 1 / 2), ("cutout", 1.0),
    ("scale", 1.0), ("rotate", 1.0),
])
def test_each_operation_changes_about_the_share_it_draws(op, share):
    p, n = 0.4, 600
    x = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(4)) * 2 - 1
    out = pipeline.augment(x, (op,), p, torch.Generator().manual_seed(5))
    changed = (out - x).flatten(1).abs().amax(1) > 1e-3
    want = p * share if op != "rotate" else 1 - (1 - (1 - math.sqrt(1 - p))) ** 2
    sd = math.sqrt(want * (1 - want) / n)
    assert abs(float(changed.float().mean()) - want) < 4 * sd + 0.01, op


def test_hue_and_saturation_leave_greyscale_images_alone():
    x = torch.rand(5, 1, 8, 8) * 2 - 1
    g = torch.Generator().manual_seed(0)
    before = g.get_state()
    assert torch.equal(pipeline.augment(x, ("hue", "saturation"), 1.0, g), x)
    assert torch.equal(g.get_state(), before)  # not even drawn, as in the reference


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_the_pipeline_keeps_shape_and_dtype_and_passes_gradients(dtype):
    ada = ADA(ops=list(ADA_OPS), p=1.0)
    for shape in [(4, 3, 16, 16), (4, 1, 8, 12)]:  # square and not
        x = (torch.rand(*shape, generator=torch.Generator().manual_seed(6)) * 2 - 1).to(dtype)
        x.requires_grad_(True)
        out = ada(x, torch.Generator().manual_seed(7))
        assert out.shape == x.shape and out.dtype == dtype
        out.float().square().sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_the_same_seed_gives_the_same_augmentation(images):
    ada = ADA(p=0.7)
    a = ada(images, torch.Generator().manual_seed(8))
    assert torch.equal(a, ada(images, torch.Generator().manual_seed(8)))
    assert not torch.equal(a, ada(images, torch.Generator().manual_seed(9)))


def test_the_presets_are_the_references_and_bgc_fixed_leaves_out_the_leaks():
    assert opsets.expand("bgc") == ("xflip", "rotate90", "xint", "scale", "rotate", "aniso",
                                    "xfrac", "brightness", "contrast", "lumaflip", "hue",
                                    "saturation")
    assert opsets.expand("bg") == opsets.expand("blit") + opsets.expand("geom")
    assert set(opsets.expand("bgc_fixed")) == set(opsets.expand("bgc")) - set(opsets.LEAKING)
    assert opsets.leaking("bgc_fixed") == ()
    # named in any order, applied in the reference's
    assert opsets.expand(["saturation", "xint", "xflip"]) == ("xflip", "xint", "saturation")


def test_an_upright_image_keeps_its_orientation_with_bgc_fixed():
    """Without flips and turns, no drawn transform maps an asymmetric image close to its
    mirror or its half turn (what a leak would teach the generator)."""
    x = torch.full((64, 1, 16, 16), -1.0)
    x[:, :, 2:6, 2:12] = 1.0  # a bar at the top
    x[:, :, 2:14, 2:5] = 1.0  # and down the left side
    out = pipeline.augment(x, opsets.expand("bgc_fixed"), 1.0,
                           torch.Generator().manual_seed(0))
    to_self = (out - x).abs().flatten(1).mean(1)
    to_mirror = (out - x.flip(-1)).abs().flatten(1).mean(1)
    to_turn = (out - torch.rot90(x, 2, dims=(-2, -1))).abs().flatten(1).mean(1)
    assert (to_self < to_mirror).float().mean() > 0.9
    assert (to_self < to_turn).float().mean() > 0.9
