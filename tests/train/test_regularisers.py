"""The regularisers of gancore/train/regularisers.py against closed forms and hand references."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gancore
from gancore.core.errors import RecipeError
from gancore.testing import check_component
from gancore.train.regularisers import BCR, CR, LeCam, MaxGP, ZeroGP, translate_flip

NAMES = ["lecam", "bcr", "cr", "zero_gp", "max_gp"]


@pytest.fixture(scope="module")
def registry():
    return gancore.load_plugins(autoload=False).registry


class LinearD(nn.Module):
    """D(x) = w·x + b: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor, b: float = 0.3) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x, y=None):
        return x.flatten(1) @ self.w + self.b


def batches(shape=(4, 2, 3, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)


@pytest.mark.parametrize("name", NAMES)
def test_each_is_a_conforming_penalty(registry, name):
    penalty = check_component(registry, "penalty", name)
    assert penalty.interval == 1 and penalty.weight > 0


def test_parameters_are_bounded(registry):
    with pytest.raises(RecipeError, match="decay"):
        registry.create("penalty", "lecam", decay=1.0)
    with pytest.raises(RecipeError, match="translation"):
        registry.create("penalty", "bcr", translation=0.9)
    with pytest.raises(RecipeError, match="interval"):
        registry.create("penalty", "zero_gp", interval=0)
    with pytest.raises(RecipeError, match="weight"):
        registry.create("penalty", "max_gp", weight=-1.0)


def test_gradient_penalties_have_closed_forms_on_a_linear_discriminator():
    w = torch.tensor([0.5, -1.0, 2.0, 0.25] * 4 + [1.0, 0.0])  # 18 = 2 * 3 * 3 inputs
    real, fake = batches()
    d = LinearD(w)
    sq = float(w.pow(2).sum())
    zero = ZeroGP()(d, real, fake)
    torch.testing.assert_close(zero, torch.tensor(sq))
    mx = MaxGP()(d, real, fake)
    torch.testing.assert_close(mx, torch.tensor((sq**0.5 - 1.0) ** 2))
    torch.testing.assert_close(MaxGP(target=0.0)(d, real, fake), torch.tensor(sq), atol=1e-5,
                               rtol=1e-5)
    # both back-propagate to D's parameters: d|w|²/dw = 2w, d(|w| - 1)²/dw = 2(|w| - 1) w/|w|
    (gw,) = torch.autograd.grad(zero, d.w)
    torch.testing.assert_close(gw, 2 * w)
    (gw,) = torch.autograd.grad(MaxGP()(d, real, fake), d.w)
    torch.testing.assert_close(gw, 2 * (sq**0.5 - 1) * w / sq**0.5)


def test_max_gp_takes_the_worst_sample():
    class Quadratic(nn.Module):  # D(x) = |x|²/2: gradient x, norm |x| per sample
        def forward(self, x, y=None):
            return 0.5 * x.flatten(1).pow(2).sum(1)

    x = torch.zeros(3, 1, 2, 2)
    x[0, 0, 0, 0], x[1, 0, 0, 0], x[2, 0, 0, 0] = 0.5, 3.0, 1.5  # real == fake: x̂ = x
    value = MaxGP()(Quadratic(), x, x)
    torch.testing.assert_close(value, torch.tensor((3.0 - 1.0) ** 2))
    torch.testing.assert_close(ZeroGP()(Quadratic(), x, x), torch.tensor((0.25 + 9 + 2.25) / 3))


def test_consistency_terms_with_a_constant_augmentation():
    w = torch.linspace(-1, 1, 18)
    real, fake = batches()
    shift = torch.full((1, 2, 3, 3), 0.2)
    d = LinearD(w)
    expected = float((shift.flatten() @ w) ** 2)  # D(x) − D(x + c) = −w·c for every sample
    cr = CR()
    cr.augment = lambda x: x + shift
    torch.testing.assert_close(cr(d, real, fake), torch.tensor(expected))
    bcr = BCR(real_weight=2.0, fake_weight=5.0)
    bcr.augment = lambda x: x + shift
    torch.testing.assert_close(bcr(d, real, fake), torch.tensor(7.0 * expected))
    # only real images count for CR; BCR sees the fakes too
    class OnFakes(nn.Module):
        def forward(self, x, y=None):
            return (x.flatten(1) @ w) * (x.flatten(1)[:, :1] > 100).float().squeeze(1)

    huge = fake + 1000.0
    assert float(cr(OnFakes(), real, huge)) == 0.0
    assert float(bcr(OnFakes(), real, huge)) > 0.0


@pytest.mark.parametrize("fill", ["zeros", "edge"])
def test_translate_flip_matches_a_per_pixel_reference(fill):
    x = torch.randn(5, 2, 8, 8)
    torch.manual_seed(1)
    out = translate_flip(x, 0.25, flip=False, fill=fill)
    torch.manual_seed(1)
    dy = torch.randint(-2, 3, (5, 1, 1)).flatten().tolist()
    dx = torch.randint(-2, 3, (5, 1, 1)).flatten().tolist()
    ref = torch.zeros_like(x)
    for i in range(5):
        for r in range(8):
            for c in range(8):
                sr, sc = r + dy[i], c + dx[i]
                if 0 <= sr < 8 and 0 <= sc < 8:
                    ref[i, :, r, c] = x[i, :, sr, sc]
                elif fill == "edge":  # the nearest pixel inside the image
                    ref[i, :, r, c] = x[i, :, min(max(sr, 0), 7), min(max(sc, 0), 7)]
    torch.testing.assert_close(out, ref)
    flipped = translate_flip(x, 0.0, flip=True)
    for i in range(5):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    xg = x.clone().requires_grad_(True)
    translate_flip(xg).sum().backward()
    assert xg.grad is not None and torch.isfinite(xg.grad).all()


def test_lecam_anchors_follow_a_scripted_sequence_of_outputs():
    pen = LeCam(decay=0.9)
    script = [
        (torch.tensor([1.0, 3.0]), torch.tensor([-1.0, -2.0])),
        (torch.tensor([0.5, 0.5]), torch.tensor([0.0, -4.0])),
        (torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0])),
    ]
    a_real = a_fake = 0.0
    for real_out, fake_out in script:
        a_real = 0.9 * a_real + 0.1 * float(real_out.mean())
        a_fake = 0.9 * a_fake + 0.1 * float(fake_out.mean())
        value = pen.regularise(real_out, fake_out)
        expected = ((real_out - a_fake) ** 2).mean() + ((fake_out - a_real) ** 2).mean()
        torch.testing.assert_close(value, expected)
        torch.testing.assert_close(pen.ema_real, torch.tensor(a_real))
        torch.testing.assert_close(pen.ema_fake, torch.tensor(a_fake))
    # the reference code's one-sided variant
    hinged = LeCam(decay=0.0, hinged=True)
    real_out, fake_out = torch.tensor([1.0, -1.0]), torch.tensor([2.0, -3.0])
    value = hinged.regularise(real_out, fake_out)  # anchors: α_R = 0, α_F = -0.5
    torch.testing.assert_close(value, torch.tensor((1.5**2 + 0.0) / 2 + (0.0 + 3.0**2) / 2))


def test_lecam_calls_the_discriminator_and_keeps_its_anchors_as_state():
    w = torch.linspace(-1, 1, 18)
    real, fake = batches()
    d = LinearD(w)
    pen = LeCam(decay=0.5)
    value = pen(d, real, fake)
    with torch.no_grad():
        r, f = d(real), d(fake)
    a_real, a_fake = 0.5 * r.mean(), 0.5 * f.mean()
    torch.testing.assert_close(value, ((r - a_fake) ** 2).mean() + ((f - a_real) ** 2).mean())
    value.backward()
    assert d.w.grad is not None and torch.isfinite(d.w.grad).all()
    state = pen.state_dict()
    assert set(state) == {"ema_real", "ema_fake"}
    fresh = LeCam(decay=0.5)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.ema_real, a_real)
    torch.testing.assert_close(fresh.ema_fake, a_fake)


def test_a_recipe_trains_with_the_regularisers(tiny, tmp_path):
    from gancore.train import Trainer

    recipe = tiny
    recipe["penalty"] = [
        {"type": "lecam", "weight": 0.3},
        {"type": "bcr", "real_weight": 1.0, "fake_weight": 1.0},
        {"type": "zero_gp", "weight": 1.0, "interval": 2},
        "max_gp",
    ]
    overrides = ["train.device=\"cpu\"", "train.threads=1"]
    trainer = Trainer(recipe, overrides=overrides, steps=3, out=tmp_path / "run")
    for _ in range(3):
        d_loss, g_loss = trainer.train_step()
        assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    assert float(trainer.penalties[0].ema_real) != 0.0


def test_edge_fill_keeps_a_constant_background_and_zeros_do_not(registry):
    black = torch.full((16, 1, 8, 8), -1.0)
    torch.manual_seed(0)
    assert torch.equal(translate_flip(black, 0.25), black)
    torch.manual_seed(0)
    zeros = translate_flip(black, 0.25, fill="zeros")
    assert (zeros == 0).any() and set(zeros.unique().tolist()) == {-1.0, 0.0}
    bcr = registry.create("penalty", "bcr", fill="zeros", translation=0.25)
    torch.manual_seed(0)
    assert torch.equal(bcr.augment(black), zeros)
    with pytest.raises(RecipeError, match="fill"):
        registry.create("penalty", "cr", fill="reflect")
