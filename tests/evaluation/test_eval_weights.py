"""The weights a score used: EMA or raw, said everywhere; a young EMA is never used silently."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from gancore.assembly.checkpoint import read
from gancore.evaluation import EvalSettings, evaluate_checkpoint
from gancore.train.ema import EMA, horizon
from tests.conftest import run_cli
from tests.evaluation.conftest import TINY


def _recipe(steps: int, ema: dict) -> dict:
    recipe = copy.deepcopy(TINY)
    recipe["train"].update(steps=steps, log_every=50, techniques=[{"type": "ema", **ema}])
    return recipe


@pytest.fixture(scope="module")
def young_ema(tmp_path_factory):
    """A run of 100 steps with an EMA of decay 0.999 (horizon 1,000 updates)."""
    from gancore.train import train

    out = tmp_path_factory.mktemp("runs") / "young"
    train(_recipe(100, {"decay": 0.999}), out=out)
    return out


def _settings(tmp_path, **kw):
    return EvalSettings(metrics=["kid"], num_samples=32, extractor="raw",
                        cache_dir=str(tmp_path / "cache"), **kw)


def test_an_ema_younger_than_its_horizon_is_not_used_silently(young_ema, tmp_path):
    ckpt = read(young_ema / "last.safetensors", tensors=False)
    assert ckpt.info.trainer.ema["updates"] == 100
    assert ckpt.info.trainer.ema["horizon"] == pytest.approx(1000)
    result = evaluate_checkpoint(young_ema, _settings(tmp_path))
    assert result["ema"] is False and result["weights"] == "raw"
    assert "100 updates" in result["weights_note"] and "1,000" in result["weights_note"]
    assert result["ema_updates"] == 100
    raw = evaluate_checkpoint(young_ema, _settings(tmp_path, ema=False))
    assert raw["weights"] == "raw" and raw["weights_note"] is None
    assert raw["kid_mean/raw"] == pytest.approx(result["kid_mean/raw"])  # the same weights


def test_eval_prints_which_weights_and_why(young_ema):
    result = run_cli("eval", str(young_ema), "-m", "kid", "-n", "32", "--extractor", "raw",
                     "-q")
    assert result.returncode == 0, result.stderr
    assert "raw G weights" in result.stdout
    assert "note: the EMA of G has seen 100 updates" in result.stderr


def test_sample_says_which_weights_drew_the_samples(young_ema, tmp_path):
    grid = tmp_path / "young.png"
    result = run_cli("sample", str(young_ema), "-n", "4", "--grid", str(grid))
    assert result.returncode == 0, result.stderr
    assert "(raw G weights)" in " ".join(result.stdout.split()) and grid.is_file()
    assert "note: the EMA of G has seen 100 updates" in result.stderr
    raw = run_cli("sample", str(young_ema), "-n", "4", "--grid", str(tmp_path / "raw.png"),
                  "--no-ema")
    assert raw.returncode == 0 and "note:" not in raw.stderr
    assert grid.read_bytes() == (tmp_path / "raw.png").read_bytes()  # the same weights drew both


def test_a_warmed_up_ema_is_used(tmp_path):
    from gancore.train import train

    out = tmp_path / "ramped"
    train(_recipe(20, {"decay": 0.999, "rampup": 0.05}), out=out)
    result = evaluate_checkpoint(out, _settings(tmp_path))
    assert result["ema"] is True and result["weights"] == "EMA"
    assert result["weights_note"] is None


def test_rampup_follows_stylegan2_ada():
    """beta = 0.5 ** (batch / max(min(ema_nimg, cur_nimg * rampup), 1e-8)), counted in images
    as stylegan2-ada-pytorch's training_loop.py does, with ema_nimg the decay's half-life."""
    net = nn.Linear(2, 2)
    batch, decay, rampup = 64, 0.999, 0.05
    ema = EMA(net, decay, rampup=rampup)
    ema_nimg = batch * math.log(0.5) / math.log(decay)
    for step in range(1, 2000):
        cur_nimg = (step - 1) * batch
        want = 0.5 ** (batch / max(min(ema_nimg, cur_nimg * rampup), 1e-8))
        assert ema.beta() == pytest.approx(want, rel=1e-9, abs=1e-12)
        ema.update(net, step)
    assert ema.updates == 1999 and ema.beta() < decay
    ema.updates = 20000  # past the ramp (half-life 693 updates / rampup 0.05 = 13,863)
    assert ema.beta() == pytest.approx(decay)


def test_without_rampup_the_decay_is_constant_and_updates_counted():
    net = nn.Linear(2, 2)
    ema = EMA(net, 0.9, start=2)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(net, 1)  # before start: a copy, not an averaging update
    assert ema.updates == 0 and torch.equal(ema.module.weight, net.weight)
    before = ema.module.weight.clone()
    with torch.no_grad():
        net.weight.fill_(2.0)
    ema.update(net, 2)
    assert ema.beta() == 0.9 and ema.updates == 1
    assert torch.allclose(ema.module.weight, 0.9 * before + 0.1 * net.weight)
    assert horizon(0.9) == pytest.approx(10) and not ema.warm
