"""FID against independent references: SciPy ``sqrtm`` (pytorch-fid style) and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from gancore.core.errors import GancoreError
from gancore.metrics.base import EvalInputs
from gancore.metrics.fid import (
    FID,
    feature_stats,
    fid_from_features,
    fid_from_stats,
    frechet_distance,
    sqrtm_psd,
    trace_sqrt_product,
)


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


def random_spd(d: int, seed: int, rank: int | None = None, jitter: float = 1e-3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d + (jitter * np.eye(d) if rank is None else 0.0)


def scipy_frechet(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("d", [2, 7, 33, 100])
def test_frechet_distance_of_random_spd_covariances_matches_sqrtm(d: int) -> None:
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_spd(d, seed=d + 1), random_spd(d, seed=d + 2)
    expected = scipy_frechet(mu1, s1, mu2, s2)
    got = frechet_distance(*(torch.from_numpy(v) for v in (mu1, s1, mu2, s2)))
    assert got == pytest.approx(expected, rel=1e-9)


def test_diagonal_covariances_have_the_closed_form() -> None:
    # For diagonal Σ₁ = diag(a), Σ₂ = diag(b): FID = ‖μ₁−μ₂‖² + Σ (√aᵢ − √bᵢ)².
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.01, 4.0, size=64), rng.uniform(0.01, 4.0, size=64)
    mu1, mu2 = rng.normal(size=64), rng.normal(size=64)
    expected = float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    got = frechet_distance(torch.from_numpy(mu1), torch.diag(torch.from_numpy(a)),
                           torch.from_numpy(mu2), torch.diag(torch.from_numpy(b)))
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("method", ["auto", "cholesky", "eigh"])
def test_commuting_covariances_have_the_closed_form_in_their_eigenbasis(method: str) -> None:
    # Σ₁ = Q diag(a) Qᵀ, Σ₂ = Q diag(b) Qᵀ share eigenvectors: Tr (Σ₁Σ₂)^½ = Σ √(aᵢbᵢ).
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    a, b = rng.uniform(0.1, 3.0, size=40), rng.uniform(0.0, 3.0, size=40)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    got = trace_sqrt_product(torch.from_numpy(s1), torch.from_numpy(s2), method=method)
    assert float(got) == pytest.approx(float(np.sqrt(a * b).sum()), rel=1e-10)


@pytest.mark.parametrize("method", ["cholesky", "eigh"])
def test_trace_sqrt_product_matches_the_eigenvalues_of_the_product(method: str) -> None:
    s1, s2 = random_spd(50, seed=3), random_spd(50, seed=4)
    expected = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real.sum()
    got = trace_sqrt_product(torch.from_numpy(s1), torch.from_numpy(s2), method=method)
    assert float(got) == pytest.approx(float(expected), rel=1e-10)


@pytest.mark.parametrize(("rank1", "rank2"), [(3, 30), (30, 3), (5, 5), (0, 10)])
def test_singular_covariances_stay_finite_and_match_the_closed_form(rank1: int,
                                                                    rank2: int) -> None:
    # Diagonal with zeros (exact rank), rotated so the zeros are not on the axes.
    d = 30
    rng = np.random.default_rng(rank1 * 100 + rank2)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a = np.zeros(d)
    a[:rank1] = rng.uniform(0.5, 2.0, size=rank1)
    b = np.zeros(d)
    b[d - rank2:] = rng.uniform(0.5, 2.0, size=rank2)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    mu = torch.zeros(d, dtype=torch.float64)
    got = frechet_distance(mu, torch.from_numpy(s1), mu, torch.from_numpy(s2))
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert np.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-7, abs=1e-9)
    by_eigh = trace_sqrt_product(torch.from_numpy(s1), torch.from_numpy(s2), method="eigh")
    assert float(by_eigh) == pytest.approx(float(np.sqrt(a * b).sum()), abs=1e-6)


def test_cholesky_alone_refuses_a_singular_covariance() -> None:
    zero, eye = torch.zeros(4, 4, dtype=torch.float64), torch.eye(4, dtype=torch.float64)
    with pytest.raises(GancoreError, match="not positive definite"):
        trace_sqrt_product(zero, eye, method="cholesky")
    assert float(trace_sqrt_product(zero, eye)) == 0.0
    with pytest.raises(GancoreError, match="unknown method"):
        trace_sqrt_product(eye, eye, method="sqrtm")


def test_fewer_samples_than_dimensions_stay_finite() -> None:
    a = torch.from_numpy(correlated(20, 64, seed=12))
    b = torch.from_numpy(correlated(25, 64, seed=13, shift=0.5))
    value = fid_from_features(a, b)
    assert np.isfinite(value)
    assert value == pytest.approx(reference_fid(a.numpy(), b.numpy()), rel=1e-6)
    # The square roots of round-off-sized eigenvalues leave ~√eps of the trace (sqrtm too).
    trace = float(feature_stats(a).sigma.trace())
    assert abs(fid_from_features(a, a)) < 1e-7 * trace


def test_sqrtm_psd_squares_back_and_matches_scipy() -> None:
    s = random_spd(24, seed=5)
    root = sqrtm_psd(torch.from_numpy(s)).numpy()
    np.testing.assert_allclose(root @ root, s, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(root, np.real(scipy.linalg.sqrtm(s)), rtol=1e-8, atol=1e-10)


def test_one_matmul_and_chunked_covariances_agree() -> None:
    x = torch.from_numpy(correlated(3000, 16, seed=14, shift=5.0)).float()
    whole, chunked = feature_stats(x, chunk_size=None), feature_stats(x, chunk_size=700)
    assert whole.sigma.dtype == torch.float64 and whole.num_samples == 3000
    torch.testing.assert_close(whole.mu, chunked.mu, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(whole.sigma, chunked.sigma, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(whole.sigma.numpy(), np.cov(x.double().numpy(), rowvar=False),
                               rtol=1e-10, atol=1e-12)


def test_input_features_are_not_modified() -> None:
    x = torch.from_numpy(correlated(100, 8, seed=15, shift=2.0))
    before = x.clone()
    feature_stats(x)
    assert torch.equal(x, before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_statistics_give_the_cpu_value() -> None:
    a = torch.from_numpy(correlated(2000, 64, seed=16)).float()
    b = torch.from_numpy(correlated(2000, 64, seed=17, shift=0.2)).float()
    on_cpu = fid_from_features(a, b)
    on_gpu = fid_from_features(a.cuda(), b.cuda())
    mixed = fid_from_stats(feature_stats(a), feature_stats(b.cuda()))
    assert on_gpu == pytest.approx(on_cpu, rel=1e-9)
    assert mixed == pytest.approx(on_cpu, rel=1e-9)
