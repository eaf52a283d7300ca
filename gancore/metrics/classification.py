"""Metrics from classifier outputs: discriminator accuracy/F1 and class coverage.

Discriminator scores treat *real* as the positive class and predict real when a logit is
above the loss's ``decision_threshold`` (0 for BCE and hinge, halfway between the targets for
least squares; without a fixed threshold, as for a Wasserstein critic, the midpoint of the
mean real and mean fake logits). They should be computed on held-out real data, and values
near 0.5 accuracy mean D cannot tell the two apart.

Batch norm: the evaluator (:func:`gancore.evaluation.evaluator.evaluate_gan`, for
``gancore eval``, ``gancore compare`` and the in-training evaluation alike) runs a batch-norm D
as it runs in training: on clean batches of the recipe's batch size, real and generated images
in separate batches (as D's step sees them unless ``joint_d_pass``), each batch normalised by its
own statistics, and the running statistics left untouched
(:func:`~gancore.evaluation.evaluator.batch_statistics`). Why not eval mode, PyTorch's usual
inference convention: D never runs in eval mode in training, and its running statistics average
real and fake batches, augmented batches and the penalties' extra passes, so in eval mode a
batch-norm D classifies with a normalisation no training step used, and its held-out accuracy
can say the opposite of the training log (0.50 against 0.96 in one DCGAN run). With batch
statistics the held-out figure and the log's ``d_accuracy`` measure the same D and differ only
by the data (held-out against training images) and the augmentations. Other layers stay in eval
mode (no dropout; spectral norm uses its last estimate, no power iteration).

Class coverage labels each generated sample by the classifier's arg-max class. It reports the
share of classes predicted at least once and ``KL(p_gen ‖ p_data)`` in nats, where ``p_gen``
is the histogram of predicted classes and ``p_data`` the histogram of the real labels (of the
classifier's predictions on real data without labels; uniform without either). Both
histograms are normalised, ``eps`` is added to every bin and they are renormalised, so a class
the data lacks costs about ``p·log(p/eps)`` instead of infinity.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from gancore.core.errors import GancoreError
from gancore.core.params import Epsilon
from gancore.metrics.base import EvalInputs, metric_key, require


def decision_threshold(loss: Any) -> float | None:
    """The logit above which ``loss``'s discriminator calls an image real.

    A loss's ``decision_threshold`` attribute (float, or None for none fixed); 0.0 for a loss
    without the attribute (the convention of raw BCE logits)."""
    value = getattr(loss, "decision_threshold", 0.0)
    return None if value is None else float(value)


def threshold_of(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                 threshold: float | None) -> torch.Tensor:
    """``threshold`` as a tensor, or the midpoint of the mean real and fake logits for None."""
    if threshold is not None:
        return torch.tensor(float(threshold), device=real_logits.device)
    return (real_logits.float().mean() + fake_logits.float().mean()) / 2


def discriminator_scores(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                         threshold: float | None = 0.0) -> dict[str, float]:
    """Accuracy, F1 (real positive) and per-side accuracy of a discriminator from its logits.

    A logit above ``threshold`` counts as "real"; ``None`` takes the midpoint of the mean
    real and mean fake logits."""
    real_logits, fake_logits = real_logits.reshape(-1).float(), fake_logits.reshape(-1).float()
    if real_logits.numel() == 0 or fake_logits.numel() == 0:
        raise GancoreError("discriminator scores need at least one logit")
    cut = threshold_of(real_logits, fake_logits, threshold)
    real_hit = real_logits > cut
    fake_hit = fake_logits > cut
    tp = float(real_hit.sum())
    fn = float(real_hit.numel()) - tp
    fp = float(fake_hit.sum())
    tn = float(fake_hit.numel()) - fp
    total = tp + fn + fp + tn
    if total == 0:
        raise GancoreError("discriminator scores need at least one logit")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {
        "d_accuracy": (tp + tn) / total,
        "d_f1": f1,
        "d_real_accuracy": tp / (tp + fn) if tp + fn else float("nan"),
        "d_fake_accuracy": tn / (tn + fp) if tn + fp else float("nan"),
    }


def _histogram(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    counts = torch.bincount(labels.reshape(-1).long().cpu(), minlength=num_classes)
    return counts[:num_classes].to(torch.float64)


def _smoothed(hist: torch.Tensor, eps: float) -> torch.Tensor:
    p = hist / hist.sum()
    return (p + eps) / (1 + eps * p.numel())


def class_coverage(
    predicted: torch.Tensor,
    num_classes: int,
    data_labels: torch.Tensor | None = None,
    eps: float = 1e-6,
) -> tuple[float, float]:
    """``(share of classes predicted, KL(p_gen ‖ p_data))`` from predicted class indices."""
    if predicted.numel() == 0:
        raise GancoreError("class coverage needs at least one generated sample")
    gen = _histogram(predicted, num_classes)
    data = (
        _histogram(data_labels, num_classes)
        if data_labels is not None
        else torch.ones(num_classes, dtype=torch.float64)
    )
    if data.sum() == 0:
        raise GancoreError("class coverage needs at least one real label")
    coverage = float((gen > 0).double().mean())
    p, q = _smoothed(gen, eps), _smoothed(data, eps)
    kl = float((p * (p / q).log()).sum())
    return coverage, kl


class DiscriminatorF1:
    """Discriminator accuracy and F1 on held-out real vs generated samples.

    Reports ``d_accuracy``, ``d_f1``, ``d_real_accuracy`` and ``d_fake_accuracy``; a logit
    counts as real above ``inputs.d_threshold`` (the loss's ``decision_threshold``). A
    batch-norm D normalises each evaluation batch by its own statistics, as in training, so the
    score and the training records' ``d_accuracy`` agree (see the module's notes).
    """

    needs: ClassVar[set[str]] = {"real_logits", "fake_logits"}

    def __init__(self, *, ctx: Any = None) -> None:
        del ctx

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.real_logits is not None and inputs.fake_logits is not None
        return discriminator_scores(inputs.real_logits, inputs.fake_logits, inputs.d_threshold)


class ClassCoverage:
    """Share of classes a classifier finds among generated samples, and KL(p_gen ‖ p_data).

    Reports ``class_coverage/<extractor>`` and ``class_kl/<extractor>``. The data histogram
    comes from ``real_labels``, else from ``real_probs``, else is uniform.
    """

    needs: ClassVar[set[str]] = {"fake_probs"}

    def __init__(self, *, eps: Epsilon = 1e-6, ctx: Any = None) -> None:
        self.eps = eps

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.fake_probs is not None
        num_classes = inputs.num_classes or inputs.fake_probs.shape[1]
        data = inputs.real_labels
        if data is None and inputs.real_probs is not None:
            data = inputs.real_probs.argmax(1)
        coverage, kl = class_coverage(inputs.fake_probs.argmax(1), num_classes, data, self.eps)
        name = inputs.extractor_name
        return {metric_key("class_coverage", name): coverage, metric_key("class_kl", name): kl}
