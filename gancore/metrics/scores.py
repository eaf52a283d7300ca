"""What each score is: its unit, its valid range and which way is better (no torch needed).

A score key is ``<base>/<extractor>`` (``fid/classifier:shapes``) or a bare base
(``d_accuracy``); :func:`score_info` looks the base up in :data:`SCORES`. Tables print every
value as computed, never rescaled: KID is the raw MMD², not the ×10³ that papers on Inception
features print; :func:`unit_legend` says so in one line under each table. The range is what a
value can possibly be (precision in [0, 1], FID ≥ 0), used to clip the intervals over seeds
(:mod:`gancore.evaluation.stats`). ``docs/metrics.md`` explains how to read each score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScoreInfo:
    """A score's unit (in words), the range of the quantity it estimates (``None``:
    unbounded) and its direction (``-1`` lower is better, ``+1`` higher is better, ``None``
    neither). An estimate may leave the range by noise (KID's unbiased MMD² dips below 0);
    an interval for the quantity never needs to."""

    unit: str
    low: float | None = None
    high: float | None = None
    direction: int | None = None

    def clip(self, value: float) -> float:
        """``value`` moved into the valid range."""
        if self.low is not None and value < self.low:
            return self.low
        if self.high is not None and value > self.high:
            return self.high
        return value


_FRACTION = "fraction in [0, 1]"
_DISTANCE = "squared distance in the extractor's feature space"

#: Per score base name.
SCORES: dict[str, ScoreInfo] = {
    "fid": ScoreInfo(f"{_DISTANCE} (Fréchet distance of two Gaussians), ≥ 0", 0.0, None, -1),
    "kid_mean": ScoreInfo("raw MMD² in the extractor's feature space (not ×10³; an unbiased "
                          "estimate, so a value may dip below 0 by noise)", 0.0, None, -1),
    "kid_std": ScoreInfo("raw MMD², spread over KID's subsets", 0.0),
    "is_mean": ScoreInfo("exp of a KL divergence, in [1, classes]", 1.0, None, 1),
    "is_std": ScoreInfo("spread of IS over its splits", 0.0),
    "precision": ScoreInfo(_FRACTION + " of generated samples inside the real manifold",
                           0.0, 1.0, 1),
    "recall": ScoreInfo(_FRACTION + " of real samples inside the generated manifold",
                        0.0, 1.0, 1),
    "density": ScoreInfo("mean real neighbourhoods per generated sample / k, ≥ 0 (1: as "
                         "dense as the data)", 0.0),
    "coverage": ScoreInfo(_FRACTION + " of real neighbourhoods holding a generated sample",
                          0.0, 1.0, 1),
    "d_accuracy": ScoreInfo(_FRACTION + ", D's hits on held-out real and generated (0.5: "
                            "chance)", 0.0, 1.0),
    "d_f1": ScoreInfo(_FRACTION + ", F1 of D with real as positive", 0.0, 1.0),
    "d_real_accuracy": ScoreInfo(_FRACTION + " of held-out real called real", 0.0, 1.0),
    "d_fake_accuracy": ScoreInfo(_FRACTION + " of generated called fake", 0.0, 1.0),
    "class_coverage": ScoreInfo(_FRACTION + " of classes generated", 0.0, 1.0, 1),
    "class_kl": ScoreInfo("KL(p_gen ‖ p_data) in nats, ≥ 0", 0.0, None, -1),
    "modes_captured": ScoreInfo("count of mixture modes with a generated sample", 0.0, None, 1),
    "modes_total": ScoreInfo("count of mixture modes", 0.0),
    "high_quality_pct": ScoreInfo("percent of samples within 3 std of a mode, in [0, 100]",
                                  0.0, 100.0, 1),
}

UNKNOWN = ScoreInfo("as the metric defines it")


def base_name(key: str) -> str:
    """``fid/classifier:shapes`` -> ``fid``; ``pr_k5.precision/x`` -> ``precision``."""
    base = key.partition("/")[0]
    return base.rpartition(".")[2] if base not in SCORES else base


def score_info(key: str) -> ScoreInfo:
    """The :class:`ScoreInfo` of a score key (:data:`UNKNOWN` for a score of a plugin)."""
    return SCORES.get(base_name(key), UNKNOWN)


def direction(key: str) -> int | None:
    """``-1`` (lower is better), ``+1`` (higher is better) or None for the score ``key``."""
    return score_info(key).direction


def unit_legend(keys: Iterable[str], extractor: str | None = None) -> str:
    """One line naming the unit of each score among ``keys`` (grouped where they share one)."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        base = base_name(key)
        if base in ("kid_std", "is_std", "modes_total", "d_real_accuracy", "d_fake_accuracy"):
            continue
        name = base.removesuffix("_mean")
        info = score_info(key)
        unit = info.unit
        if base in ("fid", "kid_mean") and extractor:
            unit = unit.replace("the extractor's", f"{extractor}'s")
        groups.setdefault(unit, [])
        if name not in groups[unit]:
            groups[unit].append(name)
    parts = [f"{', '.join(names)}: {unit}" for unit, names in groups.items()]
    return "Units: " + "; ".join(parts) + "." if parts else ""
