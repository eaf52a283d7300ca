"""Inception Score from class-probability vectors.

IS = exp E_x KL(p(y|x) ‖ p(y)), computed on ``splits`` consecutive, equal-size chunks (the last
absorbs the remainder); the result is the mean and the population standard deviation (ddof 0,
as torch-fidelity; torchmetrics uses ddof 1) over chunks. With the Inception extractor the
probabilities are the softmax of its bias-free 1008-way logits, as in the original TF code.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field

from gancore.core.errors import GancoreError
from gancore.metrics.base import EvalInputs, metric_key, require


def inception_score(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation of the IS of ``probs`` ``[N, classes]`` (rows sum to 1)."""
    if probs.ndim != 2:
        raise GancoreError(f"IS needs probabilities [N, classes], got {tuple(probs.shape)}")
    n = probs.shape[0]
    splits = max(1, min(splits, n))
    p = probs.to(torch.float64)
    size = n // splits
    scores = []
    for i in range(splits):
        chunk = p[i * size : (i + 1) * size if i < splits - 1 else n]
        marginal = chunk.mean(0, keepdim=True)
        kl = torch.special.xlogy(chunk, chunk) - torch.special.xlogy(chunk, marginal)
        scores.append(kl.sum(1).mean().exp())
    values = torch.stack(scores)
    return float(values.mean()), float(values.std(correction=0))


class InceptionScore:
    """Inception Score (higher is better) of generated samples: ``is_mean/<extractor>``, ``is_std``.

    Only meaningful with a classifier of the data's domain: the Inception network for natural
    images, the ``classifier`` extractor (its own classes) otherwise.
    """

    needs: ClassVar[set[str]] = {"fake_probs"}

    def __init__(
        self,
        *,
        splits: Annotated[int, Field(ge=1, le=1000, description="1..1000")] = 10,
        ctx: Any = None,
    ) -> None:
        self.splits = splits

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.fake_probs is not None
        mean, std = inception_score(inputs.fake_probs, self.splits)
        name = inputs.extractor_name
        return {metric_key("is_mean", name): mean, metric_key("is_std", name): std}
