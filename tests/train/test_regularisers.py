"""The regularisers of gancore/train/regularisers.py against closed forms and the reference
code's formulas on fixed tensors: LeCam (one- and two-sided, its start step, its anchors), CR,
bCR and zCR with one meaning of weight (the paper's λ), and the gradient penalties."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import gancore
from gancore.core.errors import RecipeError
from gancore.testing import check_component
from gancore.train.regularisers import ZCR, LeCam, MaxGP, ZeroGP, translate_flip
from gancore.train.techniques import DBatch, GBatch

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


def test_zcr_is_a_conforming_technique(registry):
    zcr = check_component(registry, "technique", "zcr")
    assert (zcr.weight, zcr.g_weight, zcr.sigma) == (20.0, 0.5, 0.05)


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



# -- CR and bCR: weight is the paper's λ ----------------------------------------------------------
def shifted_d():
    """A linear D and a constant shift T(x) = x + c: D(x) − D(T(x)) = −w·c for every sample."""
    w = torch.linspace(-1, 1, 18)
    shift = torch.full((1, 2, 3, 3), 0.2)
    return LinearD(w), (lambda x: x + shift), float((shift.flatten() @ w) ** 2)


class OnFakes(nn.Module):
    """D(x) = w·x on images above 100 (the fakes below), 0 elsewhere."""

    def forward(self, x, y=None):
        w = torch.linspace(-1, 1, 18)
        return (x.flatten(1) @ w) * (x.flatten(1)[:, :1] > 100).float().squeeze(1)


def term(penalty, d, real, fake):
    """What the update adds to D's loss: ``weight * interval * value``."""
    return penalty.weight * penalty.interval * penalty(d, real, fake)


def test_cr_weight_is_lambda(registry):
    d, augment, sq = shifted_d()
    real, fake = batches()
    cr = registry.create("penalty", "cr")
    cr.augment = augment
    assert cr.weight == 10.0  # Zhang et al. 2020; StudioGAN BigGAN-CR.yaml cr_lambda
    torch.testing.assert_close(term(cr, d, real, fake), torch.tensor(10.0 * sq))
    cr = registry.create("penalty", "cr", weight=2.5)
    cr.augment = augment
    torch.testing.assert_close(term(cr, d, real, fake), torch.tensor(2.5 * sq))
    assert float(cr(OnFakes(), real, fake + 1000.0)) == 0.0  # real images only


@pytest.mark.parametrize(("params", "lambdas"), [
    ({}, (10.0, 10.0)),  # the paper's λ_real = λ_fake = 10
    ({"weight": 10.0}, (10.0, 10.0)),  # λ = 10 (it was λ = 100 before 0.4)
    ({"weight": 4.0}, (4.0, 4.0)),
    ({"weight": 4.0, "lambda_fake": 1.0}, (4.0, 1.0)),
    ({"lambda_real": 2.0, "lambda_fake": 0.0}, (2.0, 0.0)),
    # the meaning before 0.4, kept with a deprecation: weight (default 1) x real/fake_weight
    ({"real_weight": 1.0, "fake_weight": 1.0}, (1.0, 1.0)),
    ({"weight": 2.0, "real_weight": 3.0}, (6.0, 20.0)),
    ({"fake_weight": 0.5}, (10.0, 0.5)),
])
def test_bcr_weight_is_lambda_and_the_old_meaning_still_works(registry, params, lambdas):
    d, augment, sq = shifted_d()
    real, fake = batches()
    bcr = registry.create("penalty", "bcr", **params)
    bcr.augment = augment
    assert (bcr.lambda_real, bcr.lambda_fake) == lambdas
    torch.testing.assert_close(term(bcr, d, real, fake), torch.tensor((sum(lambdas)) * sq))
    # each λ on its own side: with D blind to the reals only λ_fake counts
    torch.testing.assert_close(term(bcr, OnFakes(), real, fake + 1000.0),
                               torch.tensor(lambdas[1] * sq), rtol=1e-4, atol=1e-4)


def test_bcr_refuses_both_spellings_at_once(registry):
    with pytest.raises(RecipeError, match=r"real_weight/fake_weight .* and lambda_real"):
        registry.create("penalty", "bcr", real_weight=1.0, lambda_fake=2.0)


# -- zCR ------------------------------------------------------------------------------------------
class LinearG(nn.Module):
    """G(z) = tanh(A z) as [B, 2, 3, 3] images."""

    latent_dim, num_classes = 4, 0

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.randn(18, 4, generator=torch.Generator().manual_seed(2)))

    def forward(self, z, y=None):
        return torch.tanh(z @ self.a.t()).view(-1, 2, 3, 3)


def test_zcr_terms_match_the_reference_formulas():
    g, d = LinearG(), LinearD(torch.linspace(-1, 1, 18))
    run = type("View", (), {"generator": g, "num_classes": 0})()
    zcr = ZCR(weight=20.0, g_weight=0.5, sigma=0.05, run=run)
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(3))
    fake = g(z)
    fake_logits = d(fake.detach())
    torch.manual_seed(7)
    value = zcr.d_term(DBatch(fake, fake.detach(), None, d(fake), fake_logits, d, z, None))
    torch.manual_seed(7)
    moved = g(z + 0.05 * torch.randn_like(z)).detach()
    # StudioGAN worker.py: d_lambda * l2_loss(D(G(z)), D(G(z + radius N(0, I))))
    torch.testing.assert_close(value, 20.0 * (fake_logits - d(moved)).pow(2).mean())
    (gw,) = torch.autograd.grad(value, d.w)  # trains D...
    assert gw.abs().sum() > 0
    assert all(p.grad is None for p in g.parameters())  # ...and not G
    # without the step's latents there is nothing to compare: skipped
    assert zcr.d_term(DBatch(fake, fake, None, fake_logits, fake_logits, d)) is None
    torch.manual_seed(8)
    value = zcr.g_term(GBatch(z, None, fake, None, None, None, g, d))
    torch.manual_seed(8)
    moved = g(z + 0.05 * torch.randn_like(z))
    # StudioGAN worker.py: g_lambda * -l2_loss(G(z), G(z + radius N(0, I))): pushes them apart
    torch.testing.assert_close(value, -0.5 * (fake - moved).pow(2).mean())
    (ga,) = torch.autograd.grad(value, g.a)
    assert ga.abs().sum() > 0


def test_zcr_trains_in_a_recipe_with_the_steps_latents(tiny, tmp_path, monkeypatch):
    from gancore.train import Trainer

    seen = []
    d_term = ZCR.d_term

    def spy(self, batch):
        seen.append((batch.z.shape, batch.y_g))
        return d_term(self, batch)

    monkeypatch.setattr(ZCR, "d_term", spy)
    tiny["discriminator"]["norm"] = "none"
    tiny["train"]["techniques"] = [{"type": "zcr", "weight": 5.0}]
    trainer = Trainer(tiny, overrides=['train.device="cpu"', "train.n_critic=2"], steps=2,
                      out=tmp_path / "run")
    for _ in range(2):
        d_loss, g_loss = trainer.train_step()
        assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    assert seen == [(torch.Size([8, 8]), None)] * 4  # every critic batch, with its latents


# -- LeCam: the reference's form ------------------------------------------------------------------
class Clock:
    """The part of a run view LeCam reads: the step."""

    def __init__(self) -> None:
        self.step = 0


class ReferenceLeCam:
    """google/lecam-gan as written: third_party/utils.py ema_losses (init 1000, decay 0 before
    start_itr) updated with the batch means, then biggan_cifar/losses.py lecam_reg, applied
    when itr > start_itr (third_party/train_fns.py)."""

    def __init__(self, decay: float, start: int) -> None:
        self.d_real = self.d_fake = 1000.0
        self.decay, self.start = decay, start

    def __call__(self, real: torch.Tensor, fake: torch.Tensor, itr: int) -> float:
        decay = 0.0 if itr < self.start else self.decay
        self.d_fake = self.d_fake * decay + float(fake.mean()) * (1 - decay)
        self.d_real = self.d_real * decay + float(real.mean()) * (1 - decay)
        if not itr > self.start:
            return 0.0
        return float(torch.relu(real - self.d_fake).pow(2).mean()
                     + torch.relu(self.d_real - fake).pow(2).mean())


def scripted_outputs(n: int = 8):
    g = torch.Generator().manual_seed(11)
    return [(torch.randn(6, generator=g) + 1.0, torch.randn(6, generator=g) - 1.0)
            for _ in range(n)]


def test_lecam_is_the_reference_one_sided_form_with_its_start_step():
    clock = Clock()
    pen = LeCam(decay=0.9, start=3, run=clock)
    assert pen.hinged and pen.weight == 0.3
    ref = ReferenceLeCam(decay=0.9, start=3)
    for step, (real, fake) in enumerate(scripted_outputs()):
        clock.step = step
        value = pen.regularise(real, fake)
        want = ref(real, fake, step)
        torch.testing.assert_close(value, torch.tensor(want), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(pen.ema_real, torch.tensor(ref.d_real), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(pen.ema_fake, torch.tensor(ref.d_fake), rtol=1e-5, atol=1e-6)
        assert (float(value) == 0.0) == (step <= 3)  # off up to and including the start step


def test_lecam_anchors_start_from_the_first_batch_not_from_0():
    pen = LeCam(decay=0.9, start=0, run=Clock())
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, -3.0])
    pen.regularise(real, fake)
    assert float(pen.ema_real) == 3.0 and float(pen.ema_fake) == -2.0
    pen.regularise(real + 1, fake + 1)  # then the moving average (decay from step 0 on)
    torch.testing.assert_close(pen.ema_real, torch.tensor(0.9 * 3.0 + 0.1 * 4.0))
    torch.testing.assert_close(pen.ema_fake, torch.tensor(0.9 * -2.0 + 0.1 * -1.0))


def test_lecam_two_sided_form_on_fixed_tensors():
    clock = Clock()
    pen = LeCam(decay=0.5, start=0, hinged=False, run=clock)
    a_real = a_fake = None
    for step, (real, fake) in enumerate(scripted_outputs(4)):
        clock.step = step
        value = pen.regularise(real, fake)
        r, f = float(real.mean()), float(fake.mean())
        a_real = r if a_real is None else 0.5 * a_real + 0.5 * r
        a_fake = f if a_fake is None else 0.5 * a_fake + 0.5 * f
        # the paper's equation 3: E[(D(x) − α_F)²] + E[(D(G(z)) − α_R)²]
        want = ((real - a_fake) ** 2).mean() + ((fake - a_real) ** 2).mean()
        torch.testing.assert_close(value, want if step > 0 else torch.tensor(0.0))
    # where the one-sided form clips: a real output below α_F, a fake one above α_R
    one = LeCam(decay=0.0, start=0, run=Clock())
    two = LeCam(decay=0.0, start=0, hinged=False, run=Clock())
    real, fake = torch.tensor([1.0, -1.0]), torch.tensor([2.0, -3.0])
    for pen in (one, two):
        pen.regularise(real, fake)
        pen._run.step = 1
    # anchors α_R = 0, α_F = -0.5
    torch.testing.assert_close(one.regularise(real, fake),
                               torch.tensor((1.5**2 + 0.0) / 2 + (0.0 + 3.0**2) / 2))
    torch.testing.assert_close(two.regularise(real, fake),
                               torch.tensor((1.5**2 + 0.5**2) / 2 + (2.0**2 + 3.0**2) / 2))


def test_lecam_while_off_still_tracks_and_keeps_d_in_the_graph():
    w = torch.linspace(-1, 1, 18)
    real, fake = batches()
    d = LinearD(w)
    pen = LeCam(decay=0.5)  # no run: each call is a step; off through step 1000
    value = pen(d, real, fake)
    assert float(value.detach()) == 0.0 and value.requires_grad
    value.backward()
    assert torch.equal(d.w.grad, torch.zeros_like(w))
    with torch.no_grad():
        r, f = d(real), d(fake)
    torch.testing.assert_close(pen.ema_real, r.mean())
    torch.testing.assert_close(pen.ema_fake, f.mean())
    state = pen.state_dict()
    assert set(state) == {"ema_real", "ema_fake", "updates", "_extra_state"}
    fresh = LeCam(decay=0.5)
    fresh.load_state_dict(state)
    assert fresh._calls == 1 and int(fresh.updates) == 1
    torch.testing.assert_close(fresh.ema_real, r.mean())
    # a state saved by gancore 0.3 (anchors only) loads: its anchors count as set
    old = LeCam()
    old.load_state_dict({"ema_real": torch.tensor(0.5), "ema_fake": torch.tensor(-0.5)})
    assert int(old.updates) == 1 and old._calls == 0


def test_lecam_state_resumes_across_its_start_step(tiny, tmp_path):
    from gancore.testing import resume_matches

    tiny["discriminator"]["norm"] = "none"
    tiny["penalty"] = [{"type": "lecam", "start": 2}]  # off through step 2, on from 3
    done = resume_matches(tiny, tmp_path, ['train.device="cpu"', "train.log_every=1"],
                          steps=(2, 3))
    pen = done.straight.penalties[0]
    assert int(pen.updates) == 5 and torch.equal(pen.ema_real,
                                                 done.resumed.penalties[0].ema_real)
    records = [json.loads(line) for line in
               (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    penalties = [r["penalty"] for r in records if "penalty" in r]
    assert penalties[:3] == [0.0, 0.0, 0.0] and all(v > 0 for v in penalties[3:])


# -- the augmentation of the consistency terms ----------------------------------------------------
@pytest.mark.parametrize("fill", ["zeros", "edge", "reflect"])
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
                elif fill == "reflect":  # mirrored at the border, which is not repeated
                    rr = -sr if sr < 0 else (14 - sr if sr > 7 else sr)
                    cc = -sc if sc < 0 else (14 - sc if sc > 7 else sc)
                    ref[i, :, r, c] = x[i, :, rr, cc]
    torch.testing.assert_close(out, ref)
    flipped = translate_flip(x, 0.0, flip=True)
    for i in range(5):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    xg = x.clone().requires_grad_(True)
    translate_flip(xg).sum().backward()
    assert xg.grad is not None and torch.isfinite(xg.grad).all()


def test_reflection_is_the_default_fill_and_matches_pad(registry):
    x = torch.randn(3, 2, 8, 8)
    torch.manual_seed(2)
    out = registry.create("penalty", "bcr", flip=False, translation=0.25).augment(x)
    torch.manual_seed(2)
    dy = torch.randint(-2, 3, (3, 1, 1)).flatten().tolist()
    dx = torch.randint(-2, 3, (3, 1, 1)).flatten().tolist()
    padded = torch.nn.functional.pad(x, [2, 2, 2, 2], mode="reflect")  # StudioGAN cr.py's
    for i in range(3):
        want = padded[i, :, 2 + dy[i]:10 + dy[i], 2 + dx[i]:10 + dx[i]]
        assert torch.equal(out[i], want)


def test_a_recipe_trains_with_the_regularisers(tiny, tmp_path):
    from gancore.train import Trainer

    recipe = tiny
    recipe["discriminator"]["norm"] = "none"
    recipe["penalty"] = [
        {"type": "lecam", "weight": 0.3, "start": 1},
        {"type": "bcr", "weight": 1.0},
        {"type": "zero_gp", "weight": 1.0, "interval": 2},
        "max_gp",
    ]
    overrides = ["train.device=\"cpu\"", "train.threads=1"]
    trainer = Trainer(recipe, overrides=overrides, steps=3, out=tmp_path / "run")
    for _ in range(3):
        d_loss, g_loss = trainer.train_step()
        assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    assert float(trainer.penalties[0].ema_real) != 0.0


def test_edge_and_reflect_keep_a_constant_background_and_zeros_do_not(registry):
    black = torch.full((16, 1, 8, 8), -1.0)
    for fill in ("edge", "reflect"):
        torch.manual_seed(0)
        assert torch.equal(translate_flip(black, 0.25, fill=fill), black)
    torch.manual_seed(0)
    zeros = translate_flip(black, 0.25, fill="zeros")
    assert (zeros == 0).any() and set(zeros.unique().tolist()) == {-1.0, 0.0}
    bcr = registry.create("penalty", "bcr", fill="zeros", translation=0.25)
    torch.manual_seed(0)
    assert torch.equal(bcr.augment(black), zeros)
    with pytest.raises(RecipeError, match="fill"):
        registry.create("penalty", "cr", fill="wrap")
