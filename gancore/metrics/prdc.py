"""Precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020).

Each reference point's neighbourhood is the ball reaching its k-th nearest neighbour in its own
set (itself excluded). Precision is the share of fake samples inside some real ball; recall the
share of real samples inside some fake ball (both with ``<=``, as in the original code).
Density averages, over fake samples, the number of real balls containing them divided by k;
coverage is the share of real balls containing at least one fake sample (both with a strict
``<``, as in ``prdc``). Distances are Euclidean, computed in chunks so 10k × 10k sets fit in
memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from gancore.core.errors import GancoreError
from gancore.core.params import Neighbours
from gancore.metrics.base import EvalInputs, metric_key, require

#: Rows of the distance matrix computed at once (2048 × 10k floats is 80 MB).
CHUNK = 2048


def _check(real: torch.Tensor, fake: torch.Tensor, k: int) -> None:
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise GancoreError(
            f"features must be [N, d] and [M, d], got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    if k < 1 or k >= min(real.shape[0], fake.shape[0]):
        raise GancoreError(
            f"k = {k} needs more than k samples in each set "
            f"(got {real.shape[0]} real, {fake.shape[0]} fake)"
        )


def _scan(
    rows: torch.Tensor, cols: torch.Tensor, visit: Callable[[int, torch.Tensor], None],
    chunk: int | None = None,
) -> None:
    """Call ``visit(start, distances)`` for each block of rows of ``cdist(rows, cols)``."""
    chunk = chunk or CHUNK
    for start in range(0, rows.shape[0], chunk):
        visit(start, torch.cdist(rows[start : start + chunk], cols))


def knn_radii(x: torch.Tensor, k: int, chunk: int | None = None) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    radii = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)

    def visit(start: int, dist: torch.Tensor) -> None:
        radii[start : start + dist.shape[0]] = dist.topk(k + 1, dim=1, largest=False).values[:, k]

    _scan(x, x, visit, chunk)
    return radii


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x if x.is_floating_point() else x.float()


def _share_inside(points: torch.Tensor, refs: torch.Tensor, radii: torch.Tensor) -> float:
    """Share of ``points`` within (``<=``) the ball of some reference point."""
    inside = torch.zeros(points.shape[0], dtype=torch.bool, device=points.device)

    def visit(start: int, dist: torch.Tensor) -> None:
        inside[start : start + dist.shape[0]] = (dist <= radii).any(1)

    _scan(points, refs, visit)
    return float(inside.double().mean())


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` against ``real`` features."""
    real, fake = _as_float(real), _as_float(fake).to(real.device)
    _check(real, fake, k)
    precision = _share_inside(fake, real, knn_radii(real, k))
    recall = _share_inside(real, fake, knn_radii(fake, k))
    return precision, recall


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    """Density and coverage of ``fake`` against ``real`` features."""
    real, fake = _as_float(real), _as_float(fake).to(real.device)
    _check(real, fake, k)
    radii = knn_radii(real, k)
    hits = torch.zeros(fake.shape[0], dtype=torch.float64, device=real.device)
    covered = torch.zeros(real.shape[0], dtype=torch.bool, device=real.device)

    def visit(start: int, dist: torch.Tensor) -> None:
        block_radii = radii[start : start + dist.shape[0], None]
        hits.add_((dist < block_radii).sum(0).to(torch.float64))
        covered[start : start + dist.shape[0]] = dist.min(1).values < block_radii[:, 0]

    _scan(real, fake, visit)
    density = float(hits.mean()) / k
    return density, float(covered.double().mean())


class PrecisionRecall:
    """Improved precision and recall (higher is better): ``precision/<extractor>``, ``recall``."""

    needs: ClassVar[set[str]] = {"real_features", "fake_features"}

    def __init__(self, *, k: Neighbours = 3, ctx: Any = None) -> None:
        self.k = k

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.real_features is not None and inputs.fake_features is not None
        p, r = precision_recall(inputs.real_features, inputs.fake_features, self.k)
        name = inputs.extractor_name
        return {metric_key("precision", name): p, metric_key("recall", name): r}


class DensityCoverage:
    """Density (≈1 when matched) and coverage (higher is better): ``density/<extractor>``, ..."""

    needs: ClassVar[set[str]] = {"real_features", "fake_features"}

    def __init__(self, *, k: Neighbours = 5, ctx: Any = None) -> None:
        self.k = k

    def compute(self, inputs: EvalInputs) -> dict[str, float]:
        require(self, inputs)
        assert inputs.real_features is not None and inputs.fake_features is not None
        d, c = density_coverage(inputs.real_features, inputs.fake_features, self.k)
        name = inputs.extractor_name
        return {metric_key("density", name): d, metric_key("coverage", name): c}
