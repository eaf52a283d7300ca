"""Statistics over seeds: means, spreads, 95% intervals, tests against the baseline, verdicts.

Each variant runs under several seeds; for one quantity (a score, a final or mean loss) the
values of its runs give ``mean ± std`` (sample standard deviation, ``ddof=1``) and a 95%
**Student t interval** ``mean ± t(0.975, n-1) · std / √n``. Each variant is tested against the
baseline (or the variant its study names in ``against``) with **Welch's t-test** (unequal
variances, two-sided); the p-values of every
(variant, score) pair are adjusted together with the **Holm–Bonferroni** step-down method, and a
difference counts at adjusted ``p < 0.05``. Only scores with a known direction (lower FID is
better, higher recall is better, see :data:`DIRECTIONS`) get a better/worse verdict and join the
family of tests; losses and direction-free scores (density, discriminator F1) get intervals
only: a loss value means different things under different losses.

Intervals are clipped to the range of the quantity (:mod:`gancore.metrics.scores`: precision in
[0, 1], FID and KID ≥ 0), so a few seeds never give an interval of impossible values; the
summary says when it was clipped. With fewer than 3 seeds the method says how wide a t interval
with n − 1 degrees of freedom is (t = 12.7 at 2 seeds). :func:`ranking` puts the variants of each
score in order and says how sure the order is: each neighbour pair in that order tested by
Welch's test, Holm-adjusted over every pair of every score.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gancore.metrics.scores import SCORES, ScoreInfo, score_info
from gancore.metrics.scores import direction as _direction

ALPHA = 0.05
CONFIDENCE = 0.95
#: Fewer seeds than this get a word on how wide their interval is.
FEW_SEEDS = 3
#: Per score base name (the part before ``/extractor``): ``-1`` lower is better, ``+1`` higher.
DIRECTIONS: dict[str, int] = {k: v.direction for k, v in SCORES.items()
                              if v.direction is not None}
#: Scores that are a metric's own spread or a count, never aggregated or tested.
SKIPPED = ("kid_std", "is_std", "modes_total", "d_real_accuracy", "d_fake_accuracy")
LOSSES = ("d_loss_final", "d_loss_mean", "g_loss_final", "g_loss_mean")

BETTER, WORSE, SAME = "better", "worse", "no difference at this budget"
#: A measured verdict beside a published direction (:func:`published_verdict`).
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced at this budget"
CONTRADICTED = "contradicted"


def direction(key: str) -> int | None:
    """``-1`` (lower is better), ``+1`` (higher is better) or None for the score ``key``."""
    return _direction(key)


def t_quantile(n: int) -> float:
    """The two-sided 95% Student t quantile with ``n - 1`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1))


@dataclass
class Summary:
    """One quantity of one variant over its seeds."""

    values: list[float]
    mean: float
    std: float | None  # None with one value
    low: float | None  # the 95% interval (clipped to the valid range); None with one value
    high: float | None
    #: whether the t interval reached outside the valid range and was cut at its edge
    clipped: bool = False

    @property
    def n(self) -> int:
        return len(self.values)

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "values": self.values, "mean": self.mean, "std": self.std,
                "ci95": None if self.low is None else [self.low, self.high],
                "ci95_clipped": self.clipped}


def summarize(values: Sequence[float], info: ScoreInfo | None = None) -> Summary:
    """Mean, sample standard deviation and 95% t interval of ``values`` (finite ones), the
    interval clipped to ``info``'s valid range."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return Summary([], math.nan, None, None, None)
    n = len(xs)
    mean = sum(xs) / n
    if n < 2:
        return Summary(xs, mean, None, None, None)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(n) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    if info is None:
        return Summary(xs, mean, std, low, high)
    cut_low, cut_high = info.clip(low), info.clip(high)
    return Summary(xs, mean, std, cut_low, cut_high,
                   clipped=(cut_low, cut_high) != (low, high))


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test; None when it cannot be computed (n < 2, no spread)."""
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy import stats

    if _var(a) == 0 and _var(b) == 0:
        return 1.0 if sum(a) / len(a) == sum(b) / len(b) else None
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return p if math.isfinite(p) else None


def _var(xs: Sequence[float]) -> float:
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@dataclass
class Test:
    """A variant's quantity against the baseline's (or that of the variant it is tested
    against: ``against``)."""

    delta: float
    p: float | None = None
    p_holm: float | None = None
    verdict: str = ""
    against: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"against": self.against, "delta": self.delta, "p": self.p,
                "p_holm": self.p_holm, "verdict": self.verdict}


@dataclass
class StudyStats:
    """Every variant's summaries and tests; see the module docstring."""

    baseline: str
    variants: list[str]
    keys: list[str]  # scores, then losses
    summaries: dict[str, dict[str, Summary]]  # variant -> key -> summary
    tests: dict[str, dict[str, Test]] = field(default_factory=dict)  # variant -> key -> test
    comparisons: int = 0
    seeds: int = 1
    #: variant -> the variant it is tested against, where that is not the baseline
    against: dict[str, str] = field(default_factory=dict)

    def reference(self, variant: str) -> str:
        """The variant ``variant`` is tested against."""
        return self.against.get(variant, self.baseline)
    ranking: list[Ranked] = field(default_factory=list)

    @property
    def intervals(self) -> bool:
        return self.seeds >= 2

    def method(self) -> str:
        """What the numbers are, in one paragraph."""
        if not self.intervals:
            return ("One seed per variant: no interval or test is possible (run several seeds "
                    "with `--seeds N` or `seeds = [...]` in the study file).")
        text = (
            f"Mean ± standard deviation over {self.seeds} seeds; 95% interval: Student t "
            f"interval of the mean, cut at the edges of what a score can be. Each variant is "
            f"compared with the baseline `{self.baseline}`{self._others()} by Welch's t-test "
            f"(two-sided); the p-values of all {self.comparisons} variant × score comparisons "
            f"are adjusted with Holm–Bonferroni, and a difference counts at adjusted p < "
            f"{ALPHA}. \"{SAME}\" means the seeds could not tell the variants apart, not that "
            "they are equal. Losses and scores without a better direction get intervals only."
        )
        note = self.few_seeds_note()
        return f"{text} {note}" if note else text

    def few_seeds_note(self) -> str:
        """A word on how little fewer than :data:`FEW_SEEDS` seeds can show ('' otherwise)."""
        if not self.intervals or self.seeds >= FEW_SEEDS:
            return ""
        df = self.seeds - 1
        return (f"Only {self.seeds} seeds: the interval is a t interval with {df} degree"
                f"{'s' if df != 1 else ''} of freedom (mean ± {t_quantile(self.seeds):.1f} × "
                f"std/√{self.seeds}), very wide, and a test finds only very large differences; "
                f"use {FEW_SEEDS} seeds or more (--seeds {FEW_SEEDS}).")

    def _others(self) -> str:
        if not self.against:
            return ""
        return " (" + ", ".join(f"`{v}` with `{ref}`" for v, ref in self.against.items()) + ")"

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "against": dict(self.against),
            "seeds": self.seeds,
            "interval": "student-t 95%" if self.intervals else None,
            "test": "welch t-test, two-sided" if self.intervals else None,
            "correction": "holm-bonferroni" if self.intervals else None,
            "alpha": ALPHA,
            "comparisons": self.comparisons,
            "few_seeds": self.few_seeds_note() or None,
            "ranking": [r.as_dict() for r in self.ranking],
            "variants": {
                v: {k: {**s.as_dict(), **({"test": self.tests[v][k].as_dict()}
                                           if k in self.tests.get(v, {}) else {})}
                    for k, s in self.summaries[v].items()}
                for v in self.variants
            },
        }


def study_stats(
    runs: dict[str, list[dict[str, float | None]]], baseline: str, seeds: int,
    against: dict[str, str] | None = None,
) -> StudyStats:
    """Summaries and tests from ``runs``: variant -> one ``{key: value}`` per seed. Each
    variant is tested against ``against[variant]`` where given, else against ``baseline``."""
    variants = list(runs)
    keys: list[str] = []
    for rows in runs.values():
        for row in rows:
            keys.extend(k for k in row if k not in keys and k.partition("/")[0] not in SKIPPED)
    keys = [k for k in keys if k not in LOSSES] + [k for k in LOSSES if k in keys]
    summaries = {
        v: {k: summarize([row.get(k) for row in rows if row.get(k) is not None],  # type: ignore[misc]
                         None if k in LOSSES else score_info(k))
            for k in keys}
        for v, rows in runs.items()
    }
    others = {v: ref for v, ref in (against or {}).items()
              if v in summaries and ref != baseline}
    out = StudyStats(baseline, variants, keys, summaries, seeds=seeds, against=others)
    out.ranking = ranking(out)
    family: list[tuple[str, str]] = []
    pvals: list[float] = []
    for v in variants:
        ref = out.reference(v)
        if v == baseline or ref not in summaries:
            continue
        out.tests[v] = {}
        for k in keys:
            a, b = summaries[v][k], summaries[ref][k]
            if not a.values or not b.values:
                continue
            test = Test(a.mean - b.mean, against=ref)
            out.tests[v][k] = test
            if direction(k) is None or seeds < 2:
                continue
            test.p = welch_p(a.values, b.values)
            if test.p is not None:
                family.append((v, k))
                pvals.append(test.p)
            else:
                test.verdict = "no test (no spread)"
    out.comparisons = len(family)
    for (v, k), adj in zip(family, holm(pvals), strict=True):
        test = out.tests[v][k]
        test.p_holm = adj
        if adj < ALPHA and test.delta != 0:
            sign = direction(k) or 0
            test.verdict = BETTER if test.delta * sign > 0 else WORSE
        else:
            test.verdict = SAME
    return out


def published_verdict(published: str, measured: str) -> str | None:
    """The measured verdict (:data:`BETTER`, :data:`WORSE`, :data:`SAME`) beside a published
    direction (``better``, ``worse`` or ``same``): :data:`REPRODUCED` when they agree,
    :data:`CONTRADICTED` when the test found a significant difference the other way (or any
    significant difference where the paper reports none), :data:`NOT_REPRODUCED` when it found
    no difference where the paper reports one; None when nothing was tested."""
    if measured not in (BETTER, WORSE, SAME):
        return None
    if published == "same":
        return REPRODUCED if measured == SAME else CONTRADICTED
    if measured == SAME:
        return NOT_REPRODUCED
    return REPRODUCED if measured == published else CONTRADICTED


@dataclass
class Ranked:
    """The variants of one score in order, best mean first, with how sure each step is:
    ``p_holm[i]`` is the Holm-adjusted p-value of Welch's test of ``order[i]`` against
    ``order[i + 1]`` (None: no test, one seed or no spread)."""

    key: str
    order: list[str]
    means: list[float]
    p_holm: list[float | None]
    seeds: int

    @property
    def supported(self) -> bool:
        """Whether at least one step of the order is backed by the seeds."""
        return any(p is not None and p < ALPHA for p in self.p_holm)

    def line(self) -> str:
        """``lsgan < dcgan-32 on fid (p=0.03, 3 seeds)``, or why no ranking is supported."""
        name = self.key.partition("/")[0].removesuffix("_mean")
        if self.seeds < 2:
            return (f"{name}: no ranking is possible from 1 seed per variant (means, best "
                    f"first: {self._means()})")
        if not self.supported:
            return (f"{name}: no ranking is supported at {self.seeds} seeds (means, best "
                    f"first: {self._means()}; every neighbour pair p ≥ {ALPHA})")
        sign = "<" if direction(self.key) == -1 else ">"
        parts = [self.order[0]]
        for nxt, p in zip(self.order[1:], self.p_holm, strict=True):
            if p is not None and p < ALPHA:
                parts.append(f"{sign} {nxt} (p{_p_relation(p)})")
            else:
                parts.append(f"≈ {nxt}")
        return f"{' '.join(parts)} on {name} ({self.seeds} seeds, Welch, Holm)"

    def _means(self) -> str:
        return ", ".join(f"{v} {m:.4g}" for v, m in zip(self.order, self.means, strict=True))

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "order": self.order, "means": self.means,
                "p_holm": self.p_holm, "supported": self.supported, "line": self.line()}


def fmt_p(value: float | None) -> str:
    """A p-value to 3 decimals (``<0.001`` below), ``-`` for none: the one format of every
    table, verdict and ranking line."""
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _p_relation(p: float) -> str:
    """``=0.027`` or ``<0.001``."""
    text = fmt_p(p)
    return text if text.startswith("<") else "=" + text


def ranking(st: StudyStats) -> list[Ranked]:
    """Per score with a direction, the variants ordered by mean (best first); each neighbour
    pair tested by Welch's test, the p-values of every pair of every score adjusted together
    (Holm)."""
    out: list[Ranked] = []
    family: list[tuple[int, int, float]] = []
    for key in st.keys:
        sign = direction(key)
        if sign is None or key in LOSSES:
            continue
        have = [v for v in st.variants if st.summaries[v][key].values]
        if len(have) < 2:
            continue
        order = sorted(have, key=lambda v: sign * -st.summaries[v][key].mean)
        ranked = Ranked(key, order, [st.summaries[v][key].mean for v in order],
                        [None] * (len(order) - 1), st.seeds)
        if st.seeds >= 2:
            for i, (a, b) in enumerate(itertools.pairwise(order)):
                p = welch_p(st.summaries[a][key].values, st.summaries[b][key].values)
                if p is not None:
                    family.append((len(out), i, p))
        out.append(ranked)
    for (r, i, _), adj in zip(family, holm([p for _, _, p in family]), strict=True):
        out[r].p_holm[i] = adj
    return out
