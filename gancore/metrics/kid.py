"""Kernel Inception Distance: the unbiased squared MMD with a polynomial kernel, over subsets.

The defaults are torch-fidelity's: 100 subsets of 1,000 samples (clamped to the smaller set),
kernel ``(x·y / d + 1)³``, unbiased estimator; the result is the mean and the (population)
standard deviation over subsets. The kernel arithmetic is torchmetrics' ``poly_mmd``, run in
float64 on subsets drawn with a seeded generator, so the score is reproducible.

The values are the raw MMD² in the features' units (papers on Inception features often print
KID ×10³; gancore never rescales). When a set holds no more samples than ``subset_size``, every
subset would be the whole set and ``kid_std`` would be 0 up to rounding, which says nothing:
the :class:`KID` metric then draws subsets of half the smaller set, so that the spread over
subsets means something, and says so in a note (:attr:`KID.notes`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field
from torchmetrics.image.kid import poly_mmd

from gancore.core.errors import GancoreError
from gancore.core.params import Seed, Target
from gancore.metrics.base import EvalInputs, metric_key, require


def kernel_inception_distance(
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and standard deviation of the subset MMD² between ``real`` and ``fake`` features.

    ``gamma`` defaults to ``1 / d``. Each subset draws ``min(subset_size, N, M)`` rows without
    replacement from each set.
    """
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise GancoreError(
            f"KID needs features [N, d] and [M, d], got {tuple(real.shape)} and "
            f"{tuple(fake.shape)}"
        )
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < 2:
        raise GancoreError(f"KID needs at least 2 samples per set, got {size}")
    if subsets < 1:
        raise GancoreError(f"KID needs at least one subset, got {subsets}")
    gen = torch.Generator().manual_seed(seed)
    gamma = 1.0 / real.shape[1] if gamma is None else gamma
    values = torch.empty(subsets, dtype=torch.float64)
    for i in range(subsets):
        r = torch.randperm(real.shape[0], generator=gen)[:size].to(real.device)
        f = torch.randperm(fake.shape[0], generator=gen)[:size].to(fake.device)
        values[i] = poly_mmd(
            real[r].to(torch.float64), fake[f].to(device=real.device, dtype=torch.float64),
            degree=degree, gamma=gamma, coef=coef0,
        ).cpu()
    return float(values.mean()), float(values.std(correction=0))


class KID:
    """Kernel Inception Distance (lower is better): ``kid_mean/<extractor>``, ``kid_std/...``.

    With ``subsets > 1`` and no more samples than ``subset_size`` in a set, subsets of half the
    smaller set are drawn instead, with a note in :attr:`notes` (see the module docstring).
    """

    needs: ClassVar[set[str]] = {"real_features", "fake_features"}

    def __init__(
        self,
        *,
        subsets: Annotated[int, Field(ge=1, le=100_000, description="1..100,000")] = 100,
        subset_size: Annotated[int, Field(ge=2, le=10**6, description="2..1,000,000")] = 1000,
        degree: Annotated[int, Field(ge=1, le=10, description="1..10")] = 3,
        coef0: Target = 1.0,
        seed: Seed = 0,
        ctx: Any = None,
    ) -> None:
        self.subsets = subsets
        self.subset_size = subset_size
        self.degree = degree
        self.coef0 = coef0
        self.seed = seed
        #: what the last :meth:`compute` adapted, in words (read by the evaluator)
        self.notes: list[str] = []

    def subset_size_for(self, n: int) -> int:
        """The subset size used for sets of at least ``n`` samples (see the class docstring)."""
        if self.subsets > 1 and n <= self.subset_size:
            return max(2, n // 2)
        return self.subset_size

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.real_features is not None and inputs.fake_features is not None
        n = min(inputs.real_features.shape[0], inputs.fake_features.shape[0])
        size = self.subset_size_for(n)
        self.notes = []
        if size != self.subset_size:
            self.notes.append(
                f"KID: {n:,} samples per set ≤ subset_size {self.subset_size:,}, so every subset "
                f"would be the whole set and kid_std 0; subsets of {size:,} were drawn instead "
                f"(for KID's usual subsets give -n {2 * self.subset_size:,} or more, or "
                f'eval.metrics = [{{ type = "kid", subset_size = {size} }}])')
        mean, std = kernel_inception_distance(
            inputs.real_features, inputs.fake_features, subsets=self.subsets,
            subset_size=size, degree=self.degree, coef0=self.coef0, seed=self.seed,
        )
        name = inputs.extractor_name
        return {metric_key("kid_mean", name): mean, metric_key("kid_std", name): std}
