"""Top-k training: the selection, the k schedule, and the generator gradient it gives."""

from __future__ import annotations

import pytest
import torch

from gancore.core.errors import RecipeError
from gancore.recipe.schema import TopKSection
from gancore.train.topk import TopK
from gancore.train.trainer import Trainer, train

LOSSES = ["bce", "minimax", "least_squares", "hinge", "wasserstein", "relativistic_average"]


def _plain(tiny):
    tiny["train"].update(precision="fp32", channels_last="off", threads=1, techniques=[])
    return tiny


def test_selection_picks_exactly_the_k_highest():
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5, 1.5, -0.2, 0.9, 0.0])
    by_score = sorted(range(8), key=lambda i: -float(logits[i]))
    for fraction, k in ((0.5, 4), (0.25, 2), (0.125, 1), (0.3, 2)):
        top = TopK(start=fraction, min=fraction).select(logits, step=0)
        assert sorted(top.tolist()) == sorted(by_score[:k])
    assert TopK(start=1.0, min=1.0).select(logits, step=0) is None  # the whole batch


def test_the_k_schedule_decays_per_interval_down_to_the_minimum():
    schedule = TopK(start=1.0, gamma=0.5, min=0.3, every=2)
    fractions = [schedule.fraction(step) for step in range(8)]
    assert fractions == [1.0, 1.0, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]
    assert [schedule.k(step, 10) for step in range(8)] == [10, 10, 5, 5, 3, 3, 3, 3]
    slow = TopK(start=0.9, gamma=0.9, min=0.29, every=1)
    assert [slow.k(step, 100) for step in (0, 1, 2, 20)] == [90, 81, 72, 29]
    assert TopK(start=0.01, min=0.01).k(0, 8) == 1  # never fewer than one fake


def test_every_zero_is_one_pass_over_the_data(tiny):
    tiny["train"]["top_k"] = {"gamma": 0.9}
    trainer = Trainer(_plain(tiny), steps=1)
    assert trainer.top_k == TopK(1.0, 0.9, 0.5, every=64 // 8)
    tiny["train"].update(top_k={"every": 3}, n_critic=2)
    assert Trainer(tiny, steps=1).top_k.every == 3


def test_bounds_and_a_minimum_above_the_start_are_refused(tiny):
    for bad in ({"gamma": 0.0}, {"min": 1.5}, {"start": -0.1}, {"every": -1}, {"k": 3}):
        tiny["train"]["top_k"] = bad
        with pytest.raises(RecipeError, match=r"train\.top_k"):
            Trainer(tiny, steps=1)
    tiny["train"]["top_k"] = {"start": 0.5, "min": 0.7}
    with pytest.raises(RecipeError) as info:
        Trainer(tiny, steps=1)
    assert info.value.key == "train.top_k.min"
    assert info.value.message.startswith("min (0.7) is above start (0.5)")


@pytest.mark.parametrize("loss", LOSSES)
def test_the_generator_gradient_is_that_of_the_selected_fakes(tiny, loss, monkeypatch):
    tiny["loss"] = loss
    tiny["train"]["top_k"] = {"start": 0.5, "min": 0.5}
    trainer = Trainer(_plain(tiny), steps=1)
    monkeypatch.setattr(trainer.opt_g, "step", lambda *a, **k: None)  # keep G as it is
    G, D = trainer.G, trainer.D
    z, real = torch.randn(8, 8), torch.rand(8, 3, 16, 16) * 2 - 1
    trainer.run.update.g_phase(real, G(z), None)
    ours = [p.grad.clone() for p in G.parameters()]

    D.requires_grad_(False)
    fake_logits = D(G(z))
    real_logits = D(real) if trainer.loss.__class__.__name__ == "RelativisticAverage" else None
    best = sorted(range(8), key=lambda i: -float(fake_logits[i].detach()))[:4]
    subset = fake_logits[torch.tensor(best)]
    if loss == "bce":  # the non-saturating loss written out
        by_hand = torch.nn.functional.softplus(-subset).mean()
    else:
        by_hand = trainer.loss.g_loss(subset, real_logits)
    want = torch.autograd.grad(by_hand, list(G.parameters()))
    for a, b in zip(ours, want, strict=True):
        torch.testing.assert_close(a, b)
    whole = torch.autograd.grad(trainer.loss.g_loss(D(G(z)), real_logits), list(G.parameters()))
    assert any(not torch.allclose(a, b) for a, b in zip(ours, whole, strict=True))


def test_k_of_the_whole_batch_is_the_plain_step(tiny, tmp_path):
    train(_plain(tiny), out=tmp_path / "plain", steps=2)
    tiny["train"]["top_k"] = {"start": 1.0, "min": 1.0}
    train(tiny, out=tmp_path / "top", steps=2)
    from gancore.assembly import checkpoint

    a = checkpoint.read(tmp_path / "plain" / "last.safetensors").tensors
    b = checkpoint.read(tmp_path / "top" / "last.safetensors").tensors
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_top_k_resumes_exactly(tiny, tmp_path):
    tiny["train"]["top_k"] = {"start": 1.0, "gamma": 0.5, "min": 0.25, "every": 1}
    train(_plain(tiny), out=tmp_path / "one", steps=4)
    train(tiny, out=tmp_path / "two", steps=2)
    train(tiny, out=tmp_path / "two", steps=4, resume=True)
    from gancore.assembly import checkpoint

    a = checkpoint.read(tmp_path / "one" / "last.safetensors").tensors
    b = checkpoint.read(tmp_path / "two" / "last.safetensors").tensors
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_settings_model_has_the_documented_defaults():
    assert TopKSection() == TopKSection(start=1.0, gamma=0.99, min=0.5, every=0)


def test_acgan_class_term_uses_the_same_fakes(monkeypatch):
    from torch.nn import functional as F

    from tests.train.test_acgan import SMALL

    trainer = Trainer("acgan", overrides=[*SMALL, "train.top_k={start=0.5, min=0.5}",
                                          "loss.weight=2.0"], steps=1)
    monkeypatch.setattr(trainer.opt_g, "step", lambda *a, **k: None)
    G, D = trainer.G, trainer.D
    z, y = torch.randn(8, 100), torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
    real = torch.rand(8, 3, 32, 32) * 2 - 1
    trainer.run.update.g_phase(real, G(z, y), y)
    ours = [p.grad.clone() for p in G.parameters()]

    D.requires_grad_(False)
    logits, classes = D(G(z, y), return_classes=True)
    best = torch.tensor(sorted(range(8), key=lambda i: -float(logits[i].detach()))[:4])
    by_hand = F.softplus(-logits[best]).mean() + 2.0 * F.cross_entropy(classes[best], y[best])
    for a, b in zip(ours, torch.autograd.grad(by_hand, list(G.parameters())), strict=True):
        torch.testing.assert_close(a, b)
