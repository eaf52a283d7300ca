"""Discriminator accuracy/F1 from logits and class coverage from predicted classes."""

from __future__ import annotations

import math

import pytest
import torch

from gancore.core.errors import GancoreError
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


def test_scores_use_the_given_threshold_and_the_midpoint_for_none() -> None:
    real = torch.tensor([0.9, 0.6, 0.4])  # least squares, 0/1 coding: 2 of 3 above 0.5
    fake = torch.tensor([0.1, 0.55, 0.2, 0.3])  # 1 of 4 above 0.5
    out = discriminator_scores(real, fake, 0.5)
    tp, fn, fp, tn = 2, 1, 1, 3
    assert out["d_accuracy"] == pytest.approx((tp + tn) / 7)
    assert out["d_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # with the BCE threshold every image is "real": the score the 0/1 coding used to get
    assert discriminator_scores(real, fake)["d_real_accuracy"] == 1.0
    assert discriminator_scores(real, fake)["d_fake_accuracy"] == 0.0
    critic = discriminator_scores(torch.tensor([10.0, 12.0]), torch.tensor([2.0, 11.5]), None)
    # midpoint of the means: (11 + 6.75) / 2 = 8.875 -> both real above it, one fake above it
    assert critic["d_real_accuracy"] == 1.0 and critic["d_fake_accuracy"] == 0.5


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("bce", 0.0),
        ("minimax", 0.0),
        ("hinge", 0.0),
        ({"type": "least_squares"}, 0.5),
        ({"type": "least_squares", "a": -1.0, "b": 1.0, "c": 0.0}, 0.0),
        ("wasserstein", None),
        ("relativistic_average", None),
        ({"type": "acgan", "adversarial": {"type": "least_squares"}}, 0.5),
    ],
)
def test_each_builtin_loss_states_its_threshold(loss, expected) -> None:
    import gancore
    from gancore.metrics.classification import decision_threshold

    registry = gancore.load_plugins(autoload=False).registry
    made = registry.make("loss", loss, key="loss")
    assert decision_threshold(made) == expected


def test_a_loss_without_the_attribute_keeps_the_logit_threshold_zero() -> None:
    from gancore.metrics.classification import decision_threshold

    class Old:  # a 0.1 pack's loss
        def d_loss(self, real_logits, fake_logits): ...

        def g_loss(self, fake_logits, real_logits=None): ...

    assert decision_threshold(Old()) == 0.0 and decision_threshold(None) == 0.0
