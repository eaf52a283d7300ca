"""Fréchet distance between Gaussian fits of two feature sets (FID).

FID = ‖μ₁−μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁Σ₂)^½, in float64, covariances over N−1.

Tr (Σ₁Σ₂)^½ is the sum of the square roots of the eigenvalues of Σ₁Σ₂. That product is not
symmetric, but it is similar to the symmetric positive semi-definite √Σ₁ Σ₂ √Σ₁, and to
Lᵀ Σ₂ L for the Cholesky factor Σ₁ = L Lᵀ: one ``eigvalsh`` of the symmetric form gives the
eigenvalues (clamped at 0: round-off on singular covariances makes the smallest ones slightly
negative). Σ₁ is factored by Cholesky, or by ``eigh`` (√Σ₁) when it is singular; see
:func:`trace_sqrt_product`. This agrees with ``scipy.linalg.sqrtm`` (pytorch-fid) and with
``eigvals(Σ₁Σ₂)`` (torchmetrics, torch-fidelity) to round-off, is several times faster than
either, and runs on the GPU when the statistics are there.

FID depends on the sample count: compare values only at equal N (the literature uses 50,000;
2048-d features need several thousand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from gancore.core.errors import GancoreError
from gancore.metrics.base import EvalInputs, metric_key, require


@dataclass
class FeatureStats:
    """Mean ``[d]`` and covariance ``[d, d]`` (float64) of ``num_samples`` feature vectors."""

    mu: torch.Tensor
    sigma: torch.Tensor
    num_samples: int


def feature_stats(features: torch.Tensor, chunk_size: int | None = 16384) -> FeatureStats:
    """Mean and unbiased covariance of ``features`` ``[N, d]`` in float64, on their device.

    The covariance is one float64 matrix product of the centred features (``XᵀX / (N−1)``);
    sets of more than ``chunk_size`` rows are accumulated ``chunk_size`` rows at a time so that
    only one chunk is held in float64 (``None``: never chunk).
    """
    if features.ndim != 2:
        raise GancoreError(f"features must be [N, d], got shape {tuple(features.shape)}")
    n, d = features.shape
    if n < 2:
        raise GancoreError(f"a covariance needs at least 2 samples, got {n}")
    if chunk_size is None or n <= chunk_size:
        x = features.to(torch.float64)
        mu = x.mean(0)
        centred = x.sub_(mu) if x is not features else x - mu  # in place on our own copy
        sigma = centred.T @ centred
    else:
        chunks = features.split(chunk_size)
        mu = torch.zeros(d, dtype=torch.float64, device=features.device)
        for chunk in chunks:
            mu += chunk.to(torch.float64).sum(0)
        mu /= n
        sigma = torch.zeros(d, d, dtype=torch.float64, device=features.device)
        for chunk in chunks:
            centred = chunk.to(torch.float64) - mu
            sigma.addmm_(centred.T, centred)
    sigma /= n - 1
    return FeatureStats(mu, sigma, n)


def sqrtm_psd(sigma: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a positive semi-definite matrix (eigenvalues clamped at 0)."""
    evals, evecs = torch.linalg.eigh(sigma)
    return (evecs * evals.clamp_min(0).sqrt()) @ evecs.T


def _half_factor(sigma: torch.Tensor, method: str) -> torch.Tensor:
    """A factor ``H`` with ``H Hᵀ = Σ``: Cholesky's ``L``, or ``V √Λ`` from ``eigh``."""
    if method in ("auto", "cholesky"):
        factor, info = torch.linalg.cholesky_ex(sigma)
        if int(info) == 0:
            return factor
        if method == "cholesky":
            raise GancoreError("the covariance is not positive definite",
                               hint="use method='eigh' or 'auto' for singular covariances")
    evals, evecs = torch.linalg.eigh(sigma)
    return evecs * evals.clamp_min(0).sqrt()


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor,
                       method: str = "auto") -> torch.Tensor:
    """Tr (Σ₁Σ₂)^½ of two covariances, from the eigenvalues of a symmetric form (a 0-d tensor).

    With any ``H`` such that ``H Hᵀ = Σ₁``, ``Hᵀ Σ₂ H`` is symmetric positive semi-definite and
    similar to Σ₁Σ₂, so ``eigvalsh`` gives the eigenvalues of Σ₁Σ₂ (clamped at 0 against
    round-off). ``method="eigh"`` takes ``H = V√Λ`` from ``eigh(Σ₁)`` (then ``HᵀΣ₂H = Vᵀ (√Σ₁
    Σ₂ √Σ₁) V``); ``"cholesky"`` Cholesky's ``L`` (several times cheaper than ``eigh``, but
    only for positive definite Σ₁); ``"auto"`` Cholesky, falling back to ``eigh`` when Σ₁ is
    singular. Computed in the inputs' dtype on their device; pass float64 for FID.
    """
    if method not in ("auto", "cholesky", "eigh"):
        raise GancoreError(f"unknown method {method!r}", hint="use 'auto', 'cholesky' or 'eigh'")
    half = _half_factor(sigma1, method)
    inner = half.T @ sigma2 @ half
    inner = (inner + inner.T) / 2
    return torch.linalg.eigvalsh(inner).clamp_min(0).sqrt().sum()


def _compute_device(*tensors: torch.Tensor) -> torch.device:
    """The first non-CPU device among ``tensors`` (a GPU computes faster), else the CPU."""
    for t in tensors:
        if t.device.type != "cpu":
            return t.device
    return tensors[0].device


def frechet_distance(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), computed in float64.

    Runs on the GPU when any of the inputs is on one, else on the CPU.
    """
    device = _compute_device(mu1, sigma1, mu2, sigma2)
    mu1, mu2, sigma1, sigma2 = (t.to(device=device, dtype=torch.float64)
                                for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise GancoreError(
            f"feature dimensions differ: {tuple(mu1.shape)} vs {tuple(mu2.shape)}",
            hint="compute real and generated features with the same extractor",
        )
    diff = mu1 - mu2
    value = (diff.dot(diff) + sigma1.trace() + sigma2.trace()
             - 2.0 * trace_sqrt_product(sigma1, sigma2))
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
