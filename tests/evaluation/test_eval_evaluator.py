"""The evaluator: score keys, EMA weights, extractor choice, mode metrics, errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

import gancore
from gancore.core.errors import GancoreError
from gancore.evaluation import EvalSettings, evaluate_checkpoint, evaluate_gan, score_keys


def test_scores_carry_the_extractor_name(tiny_run, settings):
    settings.metrics = ["fid", "kid", "is", "pr", "dc", "f1", "class_coverage"]
    result = evaluate_checkpoint(tiny_run, settings)
    name = "classifier:shapes"
    assert result["extractor"] == name
    for base in ("fid", "kid_mean", "kid_std", "is_mean", "precision", "recall", "density",
                 "coverage", "class_coverage", "class_kl"):
        assert f"{base}/{name}" in result
    for key in ("d_accuracy", "d_f1"):
        assert 0.0 <= result[key] <= 1.0
    assert not any(k.startswith("fid") and k != f"fid/{name}" for k in result)
    assert result["num_samples"] == 64
    assert result["step"] == 3
    assert result["ema"] is True
    assert result["checkpoint"] == str(tiny_run / "last.safetensors")
    assert result["split"] == "test" and result["held_out"] is True
    assert all(isinstance(result[k], float) for k in score_keys(result))


def test_real_features_are_cached(tiny_run, settings, eval_cache):
    settings.metrics = ["fid"]
    first = evaluate_checkpoint(tiny_run, settings)
    files = sorted((eval_cache / "stats").glob("shapes-test-classifier-shapes-n64-*"))
    assert files
    stamp = files[0].stat().st_mtime_ns
    second = evaluate_checkpoint(tiny_run, settings)
    assert second["fid/classifier:shapes"] == pytest.approx(first["fid/classifier:shapes"])
    assert files[0].stat().st_mtime_ns == stamp


def test_recipe_defaults_apply(tiny_run, settings):
    settings.num_samples = None
    result = evaluate_checkpoint(tiny_run, settings)
    assert result["metrics"] == ["fid", "kid", "pr", "f1"]
    assert result["num_samples"] == 64


def _save_pair(make_tiny, tmp_path: Path) -> tuple[Path, Path, Path]:
    """Checkpoints: (G = W1 with EMA = W2), (G = W2, no EMA), (G = W1, no EMA)."""
    # warmed up (rampup): an EMA saved at step 0 is scored as it is
    recipe = make_tiny(train={"techniques": [{"type": "ema", "decay": 0.5, "rampup": 0.05}]})
    gan = gancore.build(recipe, seed=0)
    w1 = {k: v.clone() for k, v in gan.generator.state_dict().items()}
    gen = torch.Generator().manual_seed(1)
    w2 = {k: v + 0.3 * torch.randn(v.shape, generator=gen) if v.is_floating_point() else v
          for k, v in w1.items()}
    with_ema = gancore.save(gan, tmp_path / "ema.safetensors",
                            extra_tensors={f"ema.{k}": v for k, v in w2.items()})
    plain = gancore.save(gan, tmp_path / "w1.safetensors")
    gan.generator.load_state_dict(w2)
    as_g = gancore.save(gan, tmp_path / "w2.safetensors")
    return with_ema, as_g, plain


def test_ema_weights_are_used_when_present(make_tiny, tmp_path):
    with_ema, as_g, plain = _save_pair(make_tiny, tmp_path)
    settings = EvalSettings(metrics=["kid", "pr"], num_samples=64, extractor="raw",
                            cache_dir=str(tmp_path / "cache"))
    a = evaluate_checkpoint(with_ema, settings)
    b = evaluate_checkpoint(as_g, settings)
    c = evaluate_checkpoint(plain, settings)
    assert a["ema"] is True and b["ema"] is False
    assert a["kid_mean/raw"] == pytest.approx(b["kid_mean/raw"], rel=1e-6)
    assert a["recall/raw"] == b["recall/raw"]
    assert a["kid_mean/raw"] != pytest.approx(c["kid_mean/raw"], rel=1e-3)


class PerfectRing(nn.Module):
    """A generator that draws exactly from the ring's modes (or from one mode only)."""

    latent_dim = 3
    num_classes = 0

    def __init__(self, collapsed: bool = False) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))
        self.collapsed = collapsed

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        from gancore.metrics import ring_modes

        idx = (z[:, 0].abs() * 1e4).long() % 8
        if self.collapsed:
            idx = torch.zeros_like(idx)
        return ring_modes()[idx] + 0.01 * z[:, 1:3]


def test_perfect_ring_generator_captures_all_modes(ring_recipe):
    gan = gancore.build(ring_recipe)
    gan.generator = PerfectRing()
    result = evaluate_gan(gan, EvalSettings(num_samples=2000, cache=False))
    assert result["metrics"] == ["modes", "f1", "fid"]
    assert result["extractor"] == "raw"
    assert result["modes_captured"] == 8 and result["modes_total"] == 8
    assert result["high_quality_pct"] > 95
    assert result["fid/raw"] < 0.01
    gan.generator = PerfectRing(collapsed=True)
    collapsed = evaluate_gan(gan, EvalSettings(num_samples=2000, cache=False))
    assert collapsed["modes_captured"] == 1
    assert collapsed["fid/raw"] > 0.5


def test_trained_ring_run(ring_run):
    result = evaluate_checkpoint(ring_run, EvalSettings(num_samples=200, cache=False))
    assert {"modes_captured", "high_quality_pct", "d_f1", "fid/raw"} <= set(result)
    assert result["ema"] is False
    assert math.isfinite(result["fid/raw"])


def test_unlabelled_images_need_inception_weights(make_tiny):
    gan = gancore.build(make_tiny(data={"labels": "none"}))
    with pytest.raises(GancoreError) as info:
        evaluate_gan(gan, EvalSettings(metrics=["fid"], num_samples=16, cache=False))
    text = info.value.format()
    assert "--inception-weights" in text
    assert "GANCORE_INCEPTION_WEIGHTS" in text
    assert "never downloads" in text


def test_missing_inception_file_says_where_to_get_it(make_tiny, tmp_path):
    gan = gancore.build(make_tiny())
    settings = EvalSettings(metrics=["fid"], num_samples=16, extractor="inception",
                            inception_weights=str(tmp_path / "nope.pth"), cache=False)
    with pytest.raises(GancoreError) as info:
        evaluate_gan(gan, settings)
    assert "nope.pth" in info.value.format()
    assert "https://" in info.value.format()


def test_discriminator_scores_need_no_extractor(make_tiny):
    gan = gancore.build(make_tiny(data={"labels": "none"}))
    result = evaluate_gan(gan, EvalSettings(metrics=["f1"], num_samples=16, cache=False))
    assert result["extractor"] is None
    assert set(score_keys(result)) == {"d_accuracy", "d_f1", "d_real_accuracy", "d_fake_accuracy"}


@pytest.mark.parametrize(
    ("metrics", "extractor", "expected"),
    [
        (["modes"], None, "2D Gaussian mixture"),
        (["is"], "raw", "class probabilities"),
        (["fdi"], None, "did you mean 'fid'"),
    ],
)
def test_metrics_that_do_not_fit_are_errors(make_tiny, metrics, extractor, expected):
    gan = gancore.build(make_tiny())
    settings = EvalSettings(metrics=metrics, extractor=extractor, num_samples=16, cache=False)
    with pytest.raises(GancoreError, match=expected):
        evaluate_gan(gan, settings)


@pytest.mark.parametrize(("threshold", "real_acc", "fake_acc"), [(1e9, 0.0, 1.0), (-1e9, 1.0, 0.0)])
def test_discriminator_scores_use_the_loss_threshold(make_tiny, threshold, real_acc, fake_acc):
    gan = gancore.build(make_tiny(data={"labels": "none"}))
    gan.loss.decision_threshold = threshold  # everything fake / everything real
    result = evaluate_gan(gan, EvalSettings(metrics=["f1"], num_samples=16, cache=False))
    assert result["d_real_accuracy"] == real_acc and result["d_fake_accuracy"] == fake_acc
