"""KID against the unbiased polynomial-kernel MMD² written out in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gancore.core.errors import GancoreError
from gancore.metrics.base import EvalInputs
from gancore.metrics.kid import KID, kernel_inception_distance


def reference_mmd(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> float:
    d = x.shape[1]
    m = x.shape[0]
    k_xx = (x @ x.T / d + coef0) ** degree
    k_yy = (y @ y.T / d + coef0) ** degree
    k_xy = (x @ y.T / d + coef0) ** degree
    off_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    off_yy = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(off_xx + off_yy - 2 * k_xy.mean())


def features(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) + shift


def test_one_full_subset_equals_reference() -> None:
    x, y = features(200, 16, 0), features(200, 16, 1, shift=0.4)
    mean, std = kernel_inception_distance(torch.from_numpy(x), torch.from_numpy(y), subsets=1,
                                          subset_size=1000)
    assert mean == pytest.approx(reference_mmd(x, y), rel=1e-10)
    assert std == 0.0


def test_subset_size_is_clamped_to_the_smaller_set() -> None:
    x, y = features(50, 8, 2), features(80, 8, 3, shift=1.0)
    mean, _ = kernel_inception_distance(torch.from_numpy(x), torch.from_numpy(y), subsets=5,
                                        subset_size=1000, seed=1)
    assert mean > 0


def test_degree_and_coef_follow_the_formula() -> None:
    x, y = features(60, 4, 4), features(60, 4, 5, shift=0.2)
    mean, _ = kernel_inception_distance(torch.from_numpy(x), torch.from_numpy(y), subsets=1,
                                        subset_size=60, degree=2, coef0=0.5)
    assert mean == pytest.approx(reference_mmd(x, y, degree=2, coef0=0.5), rel=1e-10)


def test_subsets_are_seeded_and_separate_distributions() -> None:
    same = torch.from_numpy(features(600, 16, 6)), torch.from_numpy(features(600, 16, 7))
    apart = same[0], torch.from_numpy(features(600, 16, 8, shift=0.5))
    a = kernel_inception_distance(*same, subsets=20, subset_size=200, seed=3)
    b = kernel_inception_distance(*same, subsets=20, subset_size=200, seed=3)
    assert a == b
    assert abs(a[0]) < 3 * a[1] + 1e-3
    far, far_std = kernel_inception_distance(*apart, subsets=20, subset_size=200, seed=3)
    assert far > 10 * abs(a[0]) and far > 5 * far_std


def test_metric_class_keys_and_errors() -> None:
    x, y = torch.randn(40, 6), torch.randn(40, 6)
    out = KID(subsets=3, subset_size=20).compute(
        EvalInputs(real_features=x, fake_features=y, extractor_name="inception")
    )
    assert set(out) == {"kid_mean/inception", "kid_std/inception"}
    with pytest.raises(GancoreError):
        kernel_inception_distance(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(GancoreError):
        kernel_inception_distance(torch.randn(1, 3), torch.randn(10, 3))


def test_kid_with_no_more_samples_than_subset_size_adapts_and_says_so() -> None:
    x, y = torch.randn(40, 6, dtype=torch.float64), torch.randn(40, 6, dtype=torch.float64) + 0.3
    inputs = EvalInputs(real_features=x, fake_features=y, extractor_name="raw")
    kid = KID(subsets=10, subset_size=40, seed=2)
    out = kid.compute(inputs)
    assert len(kid.notes) == 1
    assert "40 samples per set ≤ subset_size 40" in kid.notes[0]
    assert "subsets of 20 were drawn" in kid.notes[0]
    want = kernel_inception_distance(x, y, subsets=10, subset_size=20, seed=2)
    assert (out["kid_mean/raw"], out["kid_std/raw"]) == pytest.approx(want)
    assert out["kid_std/raw"] > 1e-6  # a spread over subsets, not rounding noise
    whole = kernel_inception_distance(x, y, subsets=10, subset_size=40, seed=2)
    assert whole[1] < 1e-9  # what it avoids: every subset the whole set
    roomy = KID(subsets=10, subset_size=20, seed=2)
    roomy.compute(inputs)
    assert roomy.notes == []
