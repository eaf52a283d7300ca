"""Tables of a :class:`~gancore.evaluation.gather.Comparison`: per run, over seeds, the
verdicts, and the settings and budget in words (Markdown, the terminal and the report)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gancore.evaluation.stats import LOSSES, SAME, direction, fmt_p, published_verdict

if TYPE_CHECKING:
    from gancore.evaluation.gather import Comparison, EntryResult

#: Scores kept in the JSON but left out of the tables.
HIDDEN_SCORES = ("d_real_accuracy", "d_fake_accuracy", "modes_total")


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (at any depth) as None, for JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


_finite = finite


# -- tables -----------------------------------------------------------------------------------
def fmt(value: Any, digits: int = 4) -> str:
    """A number for a table cell: ``digits`` significant digits, large ones as integers."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"
    return str(value)


def score_columns(
    results: Sequence[EntryResult], compact: bool = False
) -> list[tuple[str, Callable[[dict], str]]]:
    """Table columns for the scores: ``x_mean``/``x_std`` pairs as ``mean ± std`` (the mean
    alone when ``compact``)."""
    keys: list[str] = []
    for r in results:
        keys.extend(k for k in r.scores if k not in keys)
    bases = {k.partition("/")[0] for k in keys}
    columns: list[tuple[str, Callable[[dict], str]]] = []
    for key in keys:
        base, _, ext = key.partition("/")
        paired_std = base.endswith("_std") and base.removesuffix("_std") + "_mean" in bases
        if base in HIDDEN_SCORES or paired_std:
            continue
        if base.endswith("_mean"):
            std_key = base.removesuffix("_mean") + "_std" + (f"/{ext}" if ext else "")
            header = base.removesuffix("_mean") + (f"/{ext}" if ext else "")
            if compact:
                columns.append((header, lambda s, k=key: fmt(s.get(k))))
            else:
                columns.append((header, lambda s, k=key, sk=std_key: _pm(s.get(k), s.get(sk))))
        elif base == "modes_captured":
            total = "modes_total" + (f"/{ext}" if ext else "")
            columns.append(("modes", lambda s, k=key, t=total: _of(s.get(k), s.get(t))))
        else:
            columns.append((key, lambda s, k=key: fmt(s.get(k))))
    return columns


def _pm(mean: Any, std: Any) -> str:
    return fmt(mean) if std is None else f"{fmt(mean)} ± {fmt(std)}"


def _of(captured: Any, total: Any) -> str:
    if captured is None:
        return "-"
    return f"{int(captured)}/{int(total)}" if total is not None else fmt(captured)


def _millions(count: int) -> str:
    return f"{count / 1e6:.2f}M" if count >= 10**5 else f"{count:,}"


def comparison_table(
    results: Sequence[EntryResult], compact: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: run, step, scores, losses (final / mean), images/s, parameters.

    ``compact`` (for terminals) leaves out standard deviations and rounds parameter counts.
    """
    columns = score_columns(results, compact)
    count = _millions if compact else fmt
    digits = 3 if compact else 4
    sep = "/" if compact else " / "
    headers = ["variant", "step", *([] if compact else ["G weights"]), *[c[0] for c in columns],
               "d_loss final / mean", "g_loss final / mean", "images/s", "params G + D"]
    rows = []
    for r in results:
        s, summary, scores = r.evaluation, r.summary, r.scores
        rows.append([
            r.id,
            fmt(s.get("step")),
            *([] if compact else [weights_label(s)]),
            *[fn(scores) for _, fn in columns],
            f"{fmt(summary['d_loss_final'], digits)}{sep}{fmt(summary['d_loss_mean'], digits)}",
            f"{fmt(summary['g_loss_final'], digits)}{sep}{fmt(summary['g_loss_mean'], digits)}",
            fmt(summary["images_per_s"], digits),
            f"{count(r.params['generator'])}{sep.replace('/', '+')}"
            f"{count(r.params['discriminator'])}",
        ])
    return headers, rows


def _label(key: str) -> str:
    return {"d_loss_final": "d_loss final", "d_loss_mean": "d_loss mean",
            "g_loss_final": "g_loss final", "g_loss_mean": "g_loss mean"}.get(key, key)


def statistics_table(
    comparison: Comparison, compact: bool = False
) -> tuple[list[str], list[list[str]]]:
    """One row per variant and quantity: mean ± std, 95% interval, Δ vs the baseline, the
    Holm-adjusted p-value of Welch's test and the verdict."""
    stats = comparison.stats
    if stats is None:
        return [], []
    headers = ["variant", "quantity", "better", "mean ± std", "95% interval",
               f"Δ vs {stats.baseline}", "p (Holm)", "verdict"]
    digits = 3 if compact else 4
    rows = []
    for key in stats.keys:
        if compact and key.partition("/")[0] in ("d_accuracy",):
            continue
        d = direction(key)
        better = {-1: "lower", 1: "higher"}.get(d or 0, "-")
        for v in stats.variants:
            s = stats.summaries[v].get(key)
            if s is None or not s.values:
                continue
            pm = fmt(s.mean, digits) if s.std is None else \
                f"{fmt(s.mean, digits)} ± {fmt(s.std, digits)}"
            ci = "-" if s.low is None else f"[{fmt(s.low, digits)}, {fmt(s.high, digits)}]"
            test = stats.tests.get(v, {}).get(key)
            if v == stats.baseline:
                delta, p, verdict = "baseline", "-", "-"
            elif test is None:
                delta, p, verdict = "-", "-", "-"
            else:
                delta = f"{test.delta:+.{digits}g}"
                if test.against and test.against != stats.baseline:
                    delta += f" vs {test.against}"
                p = fmt_p(test.p_holm)
                verdict = test.verdict or ("one seed: no test" if not stats.intervals
                                           else "-")
            label = _label(key).partition("/")[0] if compact else _label(key)
            if compact and verdict == SAME:
                verdict = "no difference"
            rows.append([v, label, better if key not in LOSSES else "-", pm, ci, delta,
                         p, verdict])
    return headers, rows


def verdict_lines(comparison: Comparison) -> list[str]:
    """Plain-words verdicts: ``hinge: fid better than bce (p = 0.004, Holm)``."""
    stats = comparison.stats
    if stats is None or not stats.intervals:
        return []
    lines = []
    for v in stats.variants:
        if v == stats.baseline:
            continue
        parts = []
        for key, test in stats.tests.get(v, {}).items():
            if test.p_holm is None:
                continue
            if test.verdict == SAME:
                parts.append(f"{key}: no difference at this budget (p = {fmt_p(test.p_holm)})")
            else:
                parts.append(f"{key}: **{test.verdict}** (p = {fmt_p(test.p_holm)})")
        if parts:
            lines.append(f"- **{v}** vs {stats.reference(v)}: " + "; ".join(parts))
    return lines


def published_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Per variant with a ``published`` direction: the paper's direction and source, the
    measured verdict of the same metric against the same variant (the study's test, see
    :mod:`gancore.evaluation.stats`) and whether it reproduces the paper."""
    stats = comparison.stats
    rows = []
    for r in first_runs_of(comparison):
        pub = r.entry.published
        if pub is None:
            continue
        ref = stats.reference(r.entry.name) if stats else r.entry.against
        test, key = None, None
        if stats is not None:
            tests = stats.tests.get(r.entry.name, {})
            key = next((k for k in tests if k == pub.metric
                        or k.partition("/")[0] == pub.metric), None)
            test = tests.get(key) if key else None
        measured = test.verdict if test is not None and test.verdict else None
        verdict = published_verdict(pub.direction, measured or "")
        if test is None:
            verdict = f"not measured: no {pub.metric} score"
        elif measured is None:
            verdict = "not measured: one seed, no test"
        elif verdict is None:
            verdict = f"not measured: {measured}"
        rows.append({"variant": r.entry.name, "against": ref, "metric": key or pub.metric,
                     "published": pub.direction, "source": pub.source,
                     "delta": test.delta if test is not None else None,
                     "p_holm": test.p_holm if test is not None else None,
                     "measured": measured, "verdict": verdict})
    return rows


def published_table(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of :func:`published_rows` (empty when no variant has one)."""
    rows = published_rows(comparison)
    if not rows:
        return [], []
    headers = ["variant", "against", "metric", "published", "source", "Δ", "p (Holm)",
               "measured", "verdict"]
    return headers, [[r["variant"], r["against"] or "-", r["metric"], r["published"],
                      r["source"], "-" if r["delta"] is None else f"{r['delta']:+.4g}",
                      fmt_p(r["p_holm"]), r["measured"] or "-", r["verdict"]] for r in rows]


def first_runs_of(comparison: Comparison) -> list[EntryResult]:
    """The first run of each compared variant."""
    seen: dict[str, EntryResult] = {}
    for r in comparison.results:
        seen.setdefault(r.entry.name, r)
    return list(seen.values())


def weights_label(evaluation: dict[str, Any]) -> str:
    """``EMA`` or ``raw``: the generator weights an evaluation scored."""
    return str(evaluation.get("weights") or ("EMA" if evaluation.get("ema") else "raw"))


def describe_weights(results: Sequence[EntryResult]) -> str:
    """``generator weights: EMA`` (or per variant, with why an EMA was not used)."""
    by: dict[str, list[str]] = {}
    fallback: list[str] = []
    for r in results:
        label = weights_label(r.evaluation)
        names = by.setdefault(label, [])
        if r.entry.name not in names:
            names.append(r.entry.name)
        if r.evaluation.get("weights_note") and r.entry.name not in fallback:
            fallback.append(r.entry.name)
    if len(by) == 1:
        text = f"generator weights: {next(iter(by))}"
    else:
        text = "generator weights: " + "; ".join(
            f"{label} for {', '.join(names)}" for label, names in by.items())
    if fallback:
        text += (f" (raw for {', '.join(fallback)}: the EMA had seen fewer updates than its "
                 "horizon 1/(1 - decay))")
    return text


def describe_settings(comparison: Comparison) -> str:
    """One sentence saying how the entries were evaluated."""
    s = comparison.settings
    first = comparison.results[0].evaluation
    real = first.get("num_real")
    held = "held-out " if first.get("held_out") else ""
    return (
        f"{fmt(s['num_samples'])} generated vs {fmt(real)} {held}real samples of "
        f"`{s['dataset']}` ({s['split']} split); features: `{s['extractor'] or 'none'}`; "
        f"evaluation seed {s['eval_seed']}; {describe_weights(comparison.results)}."
    )


def ranking_lines(comparison: Comparison) -> list[str]:
    """One line per directional score: the variants best first, ``<`` where the seeds back a
    step of the order (Holm-adjusted Welch p < 0.05), ``≈`` where they do not."""
    stats = comparison.stats
    if stats is None or not comparison.multi_seed:
        return []
    return [r.line() for r in stats.ranking]


def reference_line(comparison: Comparison) -> str:
    """``Real vs real (...): fid 2.6, kid 0.001, ...``: the floor (FID, KID) or ceiling
    (precision, recall, coverage) of each score at this sample count ('' when none)."""
    s = comparison.settings
    ref = s.get("reference") or {}
    keys = [k for k in ref if k.partition("/")[0] not in HIDDEN_SCORES
            and not k.partition("/")[0].endswith("_std")]
    if not keys:
        return ""
    values = ", ".join(f"{k.partition('/')[0].removesuffix('_mean')} {fmt(ref[k], 3)}"
                       for k in keys)
    return (f"Real vs real (the same metrics, features and sample count, "
            f"{s.get('reference_set')} in place of the generated): {values}.")


def units_line(comparison: Comparison) -> str:
    """``Units: fid, kid: ...`` for the scores of the comparison's tables."""
    from gancore.metrics.scores import unit_legend

    keys = [k for r in comparison.results for k in r.scores]
    return unit_legend(keys, comparison.settings.get("extractor"))


def describe_budget(comparison: Comparison) -> str:
    s = comparison.settings
    budget = f"{s['steps']} steps each" if s["steps"] else "each recipe's own train.steps"
    own = s.get("variant_steps") or {}
    if own:
        budget += " (" + ", ".join(f"{name}: {n}" for name, n in own.items()) + ")"
    if s.get("seeds"):
        seeds = ", ".join(str(x) for x in s["seeds"])
        seed = f", seeds {seeds} ({len(s['seeds'])} runs per variant)"
    else:
        seed = f", seed {s['seed']}" if s["seed"] is not None else ""
    return f"Training budget: {budget}{seed}. Baseline: `{s.get('baseline')}`."


