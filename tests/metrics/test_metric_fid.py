"""FID against an independent NumPy/SciPy computation (pytorch-fid style, ``sqrtm``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from gancore.errors import GancoreError
from gancore.metrics.base import EvalInputs
from gancore.metrics.fid import FID, feature_stats, fid_from_features, frechet_distance


def reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def correlated(
    n: int, d: int, seed: int, shift: float = 0.0, rank: int | None = None
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(rank or d, d)) / np.sqrt(d)
    return rng.normal(size=(n, rank or d)) @ mix + shift + rng.normal(size=d) * 0.1


@pytest.mark.parametrize(
    ("n", "d", "rank"),
    [(2000, 32, None), (69, 64, None), (130, 128, None), (400, 64, 20), (300, 64, 5)],
    ids=["well-conditioned", "n-slightly-above-d", "n-near-d-128", "rank-20-of-64",
         "rank-5-of-64"],
)
def test_fid_matches_scipy_sqrtm(n: int, d: int, rank: int | None) -> None:
    a = correlated(n, d, seed=1, rank=rank)
    b = correlated(n + 7, d, seed=2, shift=0.3, rank=rank)
    expected = reference_fid(a, b)
    got = fid_from_features(torch.from_numpy(a), torch.from_numpy(b))
    assert got == pytest.approx(expected, rel=1e-4)


def test_float32_features_are_accumulated_in_float64() -> None:
    a = correlated(1000, 48, seed=10).astype(np.float32)
    b = correlated(1000, 48, seed=11, shift=0.1).astype(np.float32)
    expected = reference_fid(a.astype(np.float64), b.astype(np.float64))
    assert fid_from_features(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(
        expected, rel=1e-6
    )


def test_fid_of_identical_sets_is_zero_and_symmetric() -> None:
    x = torch.from_numpy(correlated(500, 16, seed=3))
    y = torch.from_numpy(correlated(500, 16, seed=4, shift=1.0))
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-9)
    assert fid_from_features(x, y) == pytest.approx(fid_from_features(y, x), rel=1e-9)


def test_mean_shift_only() -> None:
    s = torch.eye(4, dtype=torch.float64)
    value = frechet_distance(torch.zeros(4), s, torch.full((4,), 2.0), s)
    assert value == pytest.approx(16.0, abs=1e-9)


def test_feature_stats_match_numpy_in_chunks() -> None:
    x = correlated(1000, 8, seed=5)
    stats = feature_stats(torch.from_numpy(x), chunk_size=64)
    assert stats.num_samples == 1000
    np.testing.assert_allclose(stats.mu.numpy(), x.mean(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats.sigma.numpy(), np.cov(x, rowvar=False), rtol=1e-10)


def test_agrees_with_torchmetrics_formula() -> None:
    fid_module = pytest.importorskip("torchmetrics.image.fid")
    compute = getattr(fid_module, "_compute_fid", None)
    if compute is None:
        pytest.skip("this torchmetrics has no _compute_fid")
    a = feature_stats(torch.from_numpy(correlated(300, 24, seed=6)))
    b = feature_stats(torch.from_numpy(correlated(300, 24, seed=7, shift=0.5)))
    expected = float(compute(a.mu, a.sigma, b.mu, b.sigma))
    assert frechet_distance(a.mu, a.sigma, b.mu, b.sigma) == pytest.approx(expected, rel=1e-8)


def test_metric_class_carries_extractor_name_and_uses_stats() -> None:
    real = torch.from_numpy(correlated(300, 8, seed=8)).float()
    fake = torch.from_numpy(correlated(300, 8, seed=9, shift=0.2)).float()
    metric = FID()
    by_features = metric.compute(EvalInputs(real_features=real, fake_features=fake,
                                            extractor_name="classifier:toy"))
    by_stats = metric.compute(EvalInputs(real_stats=feature_stats(real), fake_features=fake,
                                         extractor_name="classifier:toy"))
    assert list(by_features) == ["fid/classifier:toy"]
    assert by_stats == pytest.approx(by_features, rel=1e-12)


def test_bad_inputs_are_user_errors() -> None:
    with pytest.raises(GancoreError, match="at least 2 samples"):
        feature_stats(torch.zeros(1, 3))
    with pytest.raises(GancoreError, match="dimensions differ"):
        fid_from_features(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(GancoreError, match="needs"):
        FID().compute(EvalInputs(fake_features=torch.randn(5, 2)))
