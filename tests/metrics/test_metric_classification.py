"""Discriminator accuracy/F1 from logits and class coverage from predicted classes."""

from __future__ import annotations

import math

import pytest
import torch

from gancore.errors import GancoreError
from gancore.metrics.base import EvalInputs
from gancore.metrics.classification import (
    ClassCoverage,
    DiscriminatorF1,
    class_coverage,
    discriminator_scores,
)


def test_discriminator_scores_on_known_logits() -> None:
    real = torch.tensor([2.0, 0.5, -1.0, 0.0])  # 2 predicted real (0.0 is not > 0)
    fake = torch.tensor([-3.0, 1.0, -0.1, -2.0, -0.5, 4.0])  # 2 predicted real
    out = discriminator_scores(real, fake)
    tp, fn, fp, tn = 2, 2, 2, 4
    assert out["d_accuracy"] == pytest.approx((tp + tn) / 10)
    assert out["d_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert out["d_real_accuracy"] == pytest.approx(0.5)
    assert out["d_fake_accuracy"] == pytest.approx(4 / 6)


def test_perfect_and_fooled_discriminators() -> None:
    perfect = discriminator_scores(torch.ones(5), -torch.ones(5))
    assert perfect["d_accuracy"] == 1.0 and perfect["d_f1"] == 1.0
    fooled = discriminator_scores(-torch.ones(5), -torch.ones(5))
    assert fooled["d_accuracy"] == 0.5 and fooled["d_f1"] == 0.0
    assert DiscriminatorF1().compute(
        EvalInputs(real_logits=torch.ones(3, 1), fake_logits=-torch.ones(3))
    )["d_f1"] == 1.0


def test_class_coverage_matches_hand_computation() -> None:
    predicted = torch.tensor([0, 0, 1, 1])  # classes 2, 3 never generated
    data = torch.tensor([0, 1, 2, 3])
    coverage, kl = class_coverage(predicted, 4, data, eps=1e-6)
    assert coverage == 0.5
    p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    q = torch.full((4,), 0.25, dtype=torch.float64)
    p, q = (p + 1e-6) / (1 + 4e-6), (q + 1e-6) / (1 + 4e-6)
    assert kl == pytest.approx(float((p * (p / q).log()).sum()), rel=1e-12)
    assert kl == pytest.approx(math.log(2), rel=1e-4)


def test_matching_histograms_have_zero_kl_and_missing_data_class_is_finite() -> None:
    labels = torch.tensor([0, 1, 1, 2, 2, 2])
    assert class_coverage(labels, 3, labels) == (1.0, pytest.approx(0.0, abs=1e-12))
    coverage, kl = class_coverage(torch.tensor([0, 1]), 2, torch.tensor([0, 0]))
    assert coverage == 1.0 and math.isfinite(kl) and kl > 5


def test_class_coverage_metric_sources_of_the_data_histogram() -> None:
    fake = torch.eye(3)[[0, 0, 1]]
    uniform = ClassCoverage().compute(EvalInputs(fake_probs=fake, extractor_name="classifier:x"))
    assert uniform["class_coverage/classifier:x"] == pytest.approx(2 / 3)
    from_probs = ClassCoverage().compute(
        EvalInputs(fake_probs=fake, real_probs=torch.eye(3)[[0, 0, 1]], extractor_name="c")
    )
    assert from_probs["class_kl/c"] == pytest.approx(0.0, abs=1e-9)
    from_labels = ClassCoverage().compute(
        EvalInputs(fake_probs=fake, real_labels=torch.tensor([2, 2]), num_classes=3)
    )
    assert from_labels["class_kl"] > 10


def test_class_coverage_errors() -> None:
    with pytest.raises(GancoreError):
        class_coverage(torch.tensor([], dtype=torch.long), 3)
    with pytest.raises(GancoreError, match="fake_probs"):
        ClassCoverage().compute(EvalInputs())
