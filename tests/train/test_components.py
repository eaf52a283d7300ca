"""Losses, penalties, optimizers, schedules, EMA, augmentations and state flattening."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from gancore.train import state as state_mod
from gancore.train.ema import EMA
from gancore.train.penalties import DRAGAN, R1, GradientPenalty


@pytest.fixture
def reg(builtin_registry):
    return builtin_registry


REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-0.5, 1.5, 0.0])


def _bce(x: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, target))


@pytest.mark.parametrize(
    ("name", "d_expected", "g_expected"),
    [
        ("bce", _bce(REAL, 1) + _bce(FAKE, 0), _bce(FAKE, 1)),
        ("minimax", _bce(REAL, 1) + _bce(FAKE, 0), -_bce(FAKE, 0)),
        (
            "least_squares",
            0.5 * ((REAL - 1).pow(2).mean() + FAKE.pow(2).mean()),
            0.5 * (FAKE - 1).pow(2).mean(),
        ),
        ("hinge", F.relu(1 - REAL).mean() + F.relu(1 + FAKE).mean(), -FAKE.mean()),
        ("wasserstein", FAKE.mean() - REAL.mean(), -FAKE.mean()),
        (
            "relativistic_average",
            _bce(REAL - FAKE.mean(), 1) + _bce(FAKE - REAL.mean(), 0),
            _bce(FAKE - REAL.mean(), 1) + _bce(REAL - FAKE.mean(), 0),
        ),
    ],
)
def test_loss_values(reg, name, d_expected, g_expected):
    loss = reg.create("loss", name)
    assert torch.allclose(loss.d_loss(REAL, FAKE), d_expected)
    assert torch.allclose(loss.g_loss(FAKE, REAL), g_expected)


class LinearCritic(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return (x.flatten(1) * self.w).sum(1)


@pytest.mark.parametrize("norm", [0.5, 3.0])
def test_penalties_of_a_linear_critic_are_analytic(norm):
    w = torch.tensor([3.0, 4.0, 0.0, 0.0]) / 5 * norm
    d = LinearCritic(w)
    real, fake = torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2)
    gp = GradientPenalty(weight=10.0)(d, real, fake, None)
    assert gp.item() == pytest.approx((norm - 1) ** 2, rel=1e-5)
    r1 = R1()(d, real, fake, None)
    assert r1.item() == pytest.approx(norm**2 / 2, rel=1e-5)
    dragan = DRAGAN()(d, real, fake, None)
    assert dragan.item() == pytest.approx((norm - 1) ** 2, rel=1e-5)
    gp.backward()  # differentiable w.r.t. the critic's weights
    expected = 2 * (norm - 1) * w / norm
    assert torch.allclose(d.w.grad, expected, atol=1e-5)


def test_penalties_are_registered_with_weight_and_interval(reg):
    pen = reg.create("penalty", "r1", weight=0.5, interval=16)
    assert (pen.weight, pen.interval) == (0.5, 16)
    with pytest.raises(Exception, match="interval"):
        reg.create("penalty", "gradient_penalty", interval="x")


@pytest.mark.parametrize(
    ("name", "cls", "hyper"),
    [
        ("adam", torch.optim.Adam, {"lr": 1e-3, "betas": [0.0, 0.9]}),
        ("adamw", torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 0.1}),
        ("rmsprop", torch.optim.RMSprop, {"lr": 5e-5}),
        ("sgd", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    ],
)
def test_optimizers_build(reg, name, cls, hyper):
    params = [nn.Parameter(torch.zeros(3))]
    opt = reg.create("optimizer", name, params, **hyper)
    assert isinstance(opt, cls)
    assert opt.param_groups[0]["lr"] == hyper["lr"]
    if "betas" in hyper:
        assert tuple(opt.param_groups[0]["betas"]) == (0.0, 0.9)


def test_optimizer_typo_is_a_located_error(reg):
    with pytest.raises(Exception, match="lrr"):
        reg.create("optimizer", "adam", [nn.Parameter(torch.zeros(1))], key="x", lrr=1.0)


def _lrs(reg, name, steps, total=100, **params):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = reg.create("schedule", name, opt, total, **params)
    out = {}
    for step in range(total + 1):
        if step in steps:
            out[step] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    return out


def test_schedule_values(reg):
    assert _lrs(reg, "constant", {0, 50, 100}) == {0: 1.0, 50: 1.0, 100: 1.0}
    warm = _lrs(reg, "constant", {0, 3, 9, 50}, warmup=10)
    assert warm == pytest.approx({0: 0.1, 3: 0.4, 9: 1.0, 50: 1.0})
    cos = _lrs(reg, "cosine", {0, 50, 100}, min_factor=0.1)
    assert cos == pytest.approx({0: 1.0, 50: 0.55, 100: 0.1})
    exp = _lrs(reg, "exponential", {0, 50, 100}, final_factor=0.01)
    assert exp == pytest.approx({0: 1.0, 50: 0.1, 100: 0.01})
    lin = _lrs(reg, "linear", {0, 50, 75, 100}, start=0.5)
    assert lin == pytest.approx({0: 1.0, 50: 1.0, 75: 0.5, 100: 0.0})


def test_ema_math():
    net = nn.Linear(2, 1, bias=False)
    nn.init.zeros_(net.weight)
    ema = EMA(net, decay=0.9)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(net, step=1)
    assert ema.module.weight.flatten().tolist() == pytest.approx([0.1, 0.1])
    ema.update(net, step=2)
    assert ema.module.weight.flatten().tolist() == pytest.approx([0.19, 0.19])
    assert not any(p.requires_grad for p in ema.module.parameters())
    late = EMA(net, decay=0.9, start=5)
    with torch.no_grad():
        net.weight.fill_(2.0)
    late.update(net, step=1)  # before start: copies
    assert late.module.weight.flatten().tolist() == [2.0, 2.0]


def test_flip_augment_is_differentiable_and_flips(reg):
    flip = reg.create("augment", "flip", p=1.0)
    x = torch.arange(8.0).view(1, 1, 2, 4).requires_grad_(True)
    out = flip(x)
    assert torch.equal(out, x.detach().flip(-1))
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    assert torch.equal(reg.create("augment", "flip", p=0.0)(x), x)


def test_optimizer_state_round_trip():
    net = nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors, meta = state_mod.flatten_optimizer(opt, "opt")
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    twin = torch.optim.Adam(nn.Linear(3, 2).parameters(), lr=0.5)
    twin.load_state_dict(state_mod.unflatten_optimizer(tensors, meta, "opt"))
    a, b = opt.state_dict(), twin.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for k in a["state"][i]:
            assert torch.equal(a["state"][i][k], b["state"][i][k])


def test_rng_round_trip():
    g = torch.Generator().manual_seed(1)
    saved = state_mod.rng_tensors(("g", g))
    a = torch.rand(3), torch.rand(3, generator=g)
    state_mod.restore_rng(saved, ("g", g))
    b = torch.rand(3), torch.rand(3, generator=g)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not math.isnan(float(a[0][0]))
