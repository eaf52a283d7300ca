"""What every metric receives and promises: :class:`EvalInputs`, :class:`Metric`, :func:`evaluate`.

A metric is a class whose typed constructor parameters are its options. It declares ``needs``,
the :class:`EvalInputs` fields it reads, and implements ``compute(inputs) -> dict[str, float]``.
A need written ``"a|b"`` is met by either field. Scores computed on features carry the feature
extractor's name in their key (``fid/inception``, ``fid/classifier:fashion_mnist``), so a
domain-classifier FID is never mistaken for the Inception FID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from gancore.core.errors import GancoreError

if TYPE_CHECKING:
    import torch

    from gancore.metrics.fid import FeatureStats


@dataclass
class EvalInputs:
    """Everything a metric may read; each field is optional.

    Feature and probability tensors are ``[N, d]`` / ``[N, classes]``; logits are the
    discriminator's raw outputs ``[N]``, computed in eval mode (batch norm with its running
    statistics; see :mod:`gancore.metrics.classification`); ``fake_samples`` are raw
    generated samples (``[N, 2]`` for the 2D mixtures); ``modes`` ``[K, 2]`` and
    ``mode_std`` describe a 2D mixture; ``real_stats`` (mean and covariance) can stand in
    for ``real_features`` in FID; ``extractor_name`` names the network the features and
    probabilities came from; ``d_threshold`` is the logit above which D calls an image real
    (the loss's ``decision_threshold``; None: the midpoint of the mean real and fake logits).
    """

    real_features: torch.Tensor | None = None
    fake_features: torch.Tensor | None = None
    real_stats: FeatureStats | None = None
    real_probs: torch.Tensor | None = None
    fake_probs: torch.Tensor | None = None
    real_logits: torch.Tensor | None = None
    fake_logits: torch.Tensor | None = None
    fake_samples: torch.Tensor | None = None
    modes: torch.Tensor | None = None
    mode_std: float | None = None
    num_classes: int | None = None
    real_labels: torch.Tensor | None = None
    extractor_name: str | None = None
    d_threshold: float | None = 0.0

    def has(self, need: str) -> bool:
        """Whether a need (``"field"`` or ``"field_a|field_b"``) is met."""
        return any(getattr(self, name) is not None for name in need.split("|"))

    def missing(self, needs: Iterable[str]) -> list[str]:
        """The needs among ``needs`` that are not met, sorted."""
        return sorted(n for n in needs if not self.has(n))


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(EvalInputs))


@runtime_checkable
class Metric(Protocol):
    """An evaluation metric: ``needs`` fields of :class:`EvalInputs`, ``compute`` scores."""

    needs: ClassVar[set[str]]

    def compute(self, inputs: EvalInputs) -> dict[str, float]: ...


@runtime_checkable
class FeatureExtractor(Protocol):
    """A network mapping images in [-1, 1] ``[N, C, H, W]`` to features and class probabilities.

    ``name`` identifies it in every score key; ``extract`` returns ``(features [N, d],
    probs [N, classes])`` in one pass.
    """

    name: str
    feature_dim: int
    num_classes: int

    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; any other name as given."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from gancore.core.params import check_device

    check_device(device)  # a device name this machine has, or one message
    return torch.device(device)


def metric_key(base: str, extractor_name: str | None) -> str:
    """``fid`` + ``inception`` -> ``fid/inception``; the bare name without an extractor."""
    return f"{base}/{extractor_name}" if extractor_name else base


def require(metric: Any, inputs: EvalInputs) -> None:
    """Raise a :class:`GancoreError` naming the inputs ``metric`` needs but did not get."""
    lacking = inputs.missing(getattr(metric, "needs", set()))
    if lacking:
        raise GancoreError(
            f"metric {type(metric).__name__} needs {', '.join(lacking)}, which the evaluation "
            "did not provide",
            hint="choose metrics that fit the data (mode metrics need a 2D mixture, "
            "class coverage a labelled dataset, f1 discriminator logits)",
        )


def required_fields(metrics: Iterable[Any], available: Iterable[str] = ()) -> set[str]:
    """The :class:`EvalInputs` fields to fill for ``metrics``.

    A need with alternatives (``"real_features|real_stats"``) resolves to an alternative in
    ``available`` when there is one, else to its first option.
    """
    have = set(available)
    out: set[str] = set()
    for metric in metrics:
        for need in getattr(metric, "needs", set()):
            options = need.split("|")
            out.add(next((o for o in options if o in have), options[0]))
    return out


def evaluate(metrics: Mapping[str, Metric], inputs: EvalInputs) -> dict[str, float]:
    """Run each metric on ``inputs`` and merge the scores.

    A score key produced by two metrics is prefixed with the metric's name in ``metrics``
    (``pr_k5.precision/inception``) so that no score is silently overwritten.
    """
    for metric in metrics.values():
        require(metric, inputs)
    results: dict[str, dict[str, float]] = {n: m.compute(inputs) for n, m in metrics.items()}
    counts: dict[str, int] = {}
    for scores in results.values():
        for key in scores:
            counts[key] = counts.get(key, 0) + 1
    merged: dict[str, float] = {}
    for name, scores in results.items():
        for key, value in scores.items():
            merged[f"{name}.{key}" if counts[key] > 1 else key] = float(value)
    return merged
