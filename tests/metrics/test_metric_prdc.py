"""Precision/recall and density/coverage on hand-built point sets and a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gancore.core.errors import GancoreError
from gancore.metrics import prdc
from gancore.metrics.base import EvalInputs
from gancore.metrics.prdc import DensityCoverage, PrecisionRecall, density_coverage, knn_radii


def on_line(*xs: float) -> torch.Tensor:
    return torch.tensor([[x, 0.0] for x in xs], dtype=torch.float64)


# Real points 0, 1, 3, 20: with k = 1 their radii are 1, 1, 2, 17.
# Fake points -1, 0.5, 2.5, 40, 41: radii 1.5, 1.5, 2, 1, 1.
REAL = on_line(0, 1, 3, 20)
FAKE = on_line(-1, 0.5, 2.5, 40, 41)


def test_radii_are_kth_neighbour_excluding_self() -> None:
    assert knn_radii(REAL, 1).tolist() == [1, 1, 2, 17]
    assert knn_radii(REAL, 2).tolist() == [3, 2, 3, 19]


def test_precision_recall_by_hand() -> None:
    # precision: -1 (on the boundary of 0's ball, counts with <=), 0.5, 2.5 inside; 40, 41 not
    # recall: 0, 1, 3 inside fake balls; 20 is 17.5 from 2.5 (radius 2) and 20 from 40 (radius 1)
    p, r = prdc.precision_recall(REAL, FAKE, k=1)
    assert p == pytest.approx(3 / 5)
    assert r == pytest.approx(3 / 4)


def test_density_coverage_by_hand() -> None:
    # strict <: -1 lies on 0's boundary and is not counted; 0.5 is in 2 balls, 2.5 in 1
    d, c = density_coverage(REAL, FAKE, k=1)
    assert d == pytest.approx((0 + 2 + 1 + 0 + 0) / 5)
    # coverage: balls of 0, 1, 3 hold a fake sample; 20's nearest fake is 17.5 away (radius 17)
    assert c == pytest.approx(3 / 4)


def test_identical_sets() -> None:
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    assert prdc.precision_recall(x, x, k=3) == (1.0, 1.0)
    d, c = density_coverage(x, x, k=5)
    assert c == 1.0
    assert d > 0


def reference_prdc(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> list[float]:
    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    d_rr, d_ff, d_rf = dist(real, real), dist(fake, fake), dist(real, fake)
    r_pr = np.sort(d_rr, axis=1)[:, k_pr]
    f_pr = np.sort(d_ff, axis=1)[:, k_pr]
    r_dc = np.sort(d_rr, axis=1)[:, k_dc]
    precision = (d_rf <= r_pr[:, None]).any(0).mean()
    recall = (d_rf <= f_pr[None, :]).any(1).mean()
    density = (d_rf < r_dc[:, None]).sum(0).mean() / k_dc
    coverage = (d_rf.min(1) < r_dc).mean()
    return [float(precision), float(recall), float(density), float(coverage)]


def test_chunked_torch_matches_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    real = rng.normal(size=(300, 10))
    fake = rng.normal(size=(260, 10)) * 1.2 + 0.2
    expected = reference_prdc(real, fake, 3, 5)
    monkeypatch.setattr(prdc, "CHUNK", 37)
    rt, ft = torch.from_numpy(real), torch.from_numpy(fake)
    got = [*prdc.precision_recall(rt, ft, 3), *density_coverage(rt, ft, 5)]
    assert got == pytest.approx(expected, rel=1e-12)


def test_metric_classes_keys_and_options() -> None:
    inputs = EvalInputs(real_features=REAL, fake_features=FAKE, extractor_name="inception")
    assert PrecisionRecall(k=1).compute(inputs) == pytest.approx(
        {"precision/inception": 0.6, "recall/inception": 0.75}
    )
    assert DensityCoverage(k=1).compute(inputs) == pytest.approx(
        {"density/inception": 0.6, "coverage/inception": 0.75}
    )


def test_too_few_samples_for_k() -> None:
    with pytest.raises(GancoreError, match="more than k"):
        prdc.precision_recall(REAL, FAKE, k=4)
