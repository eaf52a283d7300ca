"""Fréchet distance between Gaussian fits of two feature sets (FID).

FID = ‖μ₁−μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Σᵢ √λᵢ(Σ₁Σ₂), in float64, covariances over N−1. The trace of
the matrix square root is the sum of the square roots of the eigenvalues of the (non-symmetric)
product Σ₁Σ₂, as in torchmetrics and torch-fidelity. FID depends on the sample count: compare
values only at equal N (the literature uses 50,000; 2048-d features need several thousand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gancore.errors import GancoreError
from gancore.metrics.base import EvalInputs, metric_key, require


@dataclass
class FeatureStats:
    """Mean ``[d]`` and covariance ``[d, d]`` (float64) of ``num_samples`` feature vectors."""

    mu: torch.Tensor
    sigma: torch.Tensor
    num_samples: int


def feature_stats(features: torch.Tensor, chunk_size: int = 8192) -> FeatureStats:
    """Mean and unbiased covariance of ``features`` ``[N, d]`` in float64 (two passes, chunked)."""
    if features.ndim != 2:
        raise GancoreError(f"features must be [N, d], got shape {tuple(features.shape)}")
    n, d = features.shape
    if n < 2:
        raise GancoreError(f"a covariance needs at least 2 samples, got {n}")
    mu = torch.zeros(d, dtype=torch.float64, device=features.device)
    for chunk in features.split(chunk_size):
        mu += chunk.to(torch.float64).sum(0)
    mu /= n
    sigma = torch.zeros(d, d, dtype=torch.float64, device=features.device)
    for chunk in features.split(chunk_size):
        centred = chunk.to(torch.float64) - mu
        sigma.addmm_(centred.T, centred)
    sigma /= n - 1
    return FeatureStats(mu, sigma, n)


def frechet_distance(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), computed in float64."""
    mu1, mu2 = mu1.to(torch.float64), mu2.to(device=mu1.device, dtype=torch.float64)
    sigma1 = sigma1.to(device=mu1.device, dtype=torch.float64)
    sigma2 = sigma2.to(device=mu1.device, dtype=torch.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise GancoreError(
            f"feature dimensions differ: {tuple(mu1.shape)} vs {tuple(mu2.shape)}",
            hint="compute real and generated features with the same extractor",
        )
    eigenvalues = torch.linalg.eigvals(sigma1 @ sigma2)
    trace_sqrt = eigenvalues.sqrt().real.sum()
    diff = mu1 - mu2
    value = diff.dot(diff) + sigma1.trace() + sigma2.trace() - 2.0 * trace_sqrt
    return float(value)


def fid_from_stats(a: FeatureStats, b: FeatureStats) -> float:
    """FID between two :class:`FeatureStats`."""
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def fid_from_features(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two feature sets ``[N, d]`` and ``[M, d]``."""
    return fid_from_stats(feature_stats(real), feature_stats(fake))


class FID:
    """Fréchet Inception Distance (lower is better) on precomputed features.

    Uses ``real_stats`` when given (for example from the real-data statistics cache), else
    ``real_features``. Reports ``fid/<extractor>``.
    """

    needs: ClassVar[set[str]] = {"real_features|real_stats", "fake_features"}

    def __init__(self, *, ctx: Any = None) -> None:
        del ctx

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.fake_features is not None
        real = inputs.real_stats
        if real is None:
            assert inputs.real_features is not None
            real = feature_stats(inputs.real_features)
        value = fid_from_stats(real, feature_stats(inputs.fake_features))
        return {metric_key("fid", inputs.extractor_name): value}
