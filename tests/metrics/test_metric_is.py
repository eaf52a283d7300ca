"""Inception Score on probability vectors with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from gancore.metrics.base import EvalInputs
from gancore.metrics.inception_score import InceptionScore, inception_score


def test_confident_and_balanced_predictions_score_the_class_count() -> None:
    classes = 7
    probs = torch.eye(classes).repeat(10, 1)  # every split holds each class once
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(classes, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_identical_vectors_score_one() -> None:
    probs = torch.softmax(torch.randn(1, 12), 1).repeat(100, 1)
    mean, std = inception_score(probs)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_two_class_mixture_matches_closed_form() -> None:
    # half the samples predict [0.9, 0.1], half [0.1, 0.9]: marginal uniform
    probs = torch.tensor([[0.9, 0.1], [0.1, 0.9]], dtype=torch.float64).repeat(5, 1)
    kl = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    mean, _ = inception_score(probs, splits=5)
    assert mean == pytest.approx(math.exp(kl), rel=1e-12)


def test_uneven_splits_and_population_std() -> None:
    # 13 rows in 2 splits: rows 0-5 (balanced one-hot, IS 2) and rows 6-12 (uniform, IS 1)
    probs = torch.cat([torch.eye(2).repeat(3, 1), torch.full((7, 2), 0.5)])
    mean, std = inception_score(probs, splits=2)
    assert mean == pytest.approx(1.5, rel=1e-12)
    assert std == pytest.approx(0.5, rel=1e-12)


def test_metric_class_keys() -> None:
    out = InceptionScore(splits=2).compute(
        EvalInputs(fake_probs=torch.eye(4).repeat(2, 1), extractor_name="classifier:x")
    )
    assert out == pytest.approx({"is_mean/classifier:x": 4.0, "is_std/classifier:x": 0.0})
