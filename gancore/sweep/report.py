"""The sweep's report: ``report.html`` (self-contained, like a study's), ``sweep.md`` and
``trials.json``.

For each tuned recipe or variant: the trial table (state, objective values, parameters, steps
reached), the optimisation history (each trial's value and the best so far; pruned trials at
their last reported value), the parameter importances (Optuna's PED-ANOVA evaluator,
:class:`optuna.importance.PedAnovaImportanceEvaluator`, which needs no scikit-learn) and a slice
plot per parameter (the objective against that parameter's values). Then the confirmation: the
table over seeds with 95% intervals and Holm-corrected verdicts (see
:mod:`gancore.sweep.confirm`) and a sample grid of each confirmed setting.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.evaluation.report import SCRIPT, STYLE, _e, _table, data_uri
from gancore.evaluation.tables import fmt
from gancore.sweep import storage as st

if TYPE_CHECKING:
    from gancore.core.registry import Registry
    from gancore.evaluation.gather import Comparison
    from gancore.sweep.confirm import Choice
    from gancore.sweep.spec import Sweep, Target

MIN_IMPORTANCE_TRIALS = 3
EXTRA_STYLE = """
td.pruned, td.failed { color: #777; }
table[id^="trials-"] th { white-space: nowrap; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
"""


@dataclass
class TargetTrials:
    """One tuned target's trials as read from the storage."""

    target: Target
    trials: list[Any]  # optuna FrozenTrial
    importances: dict[str, float] | None = None
    importance_note: str = ""
    states: dict[int, dict[str, Any]] = field(default_factory=dict)


def read_trials(sweep: Sweep, folder: Path, url: str) -> list[TargetTrials]:
    """Every target's trials, their run states and parameter importances."""
    out = []
    for target in sweep.targets:
        study = st.load_study(sweep, target, url)
        trials = list(study.get_trials(deepcopy=False))
        item = TargetTrials(target, trials,
                            states={t.number: st.trial_state(folder, target, t.number) or {}
                                    for t in trials})
        item.importances, item.importance_note = importances(sweep, study)
        out.append(item)
    return out


def importances(sweep: Sweep, study: Any) -> tuple[dict[str, float] | None, str]:
    """PED-ANOVA importances of the first objective, or None and why not."""
    import optuna
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(done) < MIN_IMPORTANCE_TRIALS:
        return None, (f"importances need at least {MIN_IMPORTANCE_TRIALS} finished trials "
                      f"({len(done)} so far)")
    try:
        values = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
            target=(lambda t: t.values[0]) if sweep.multi else None)
    except Exception as exc:  # too few distinct values, a single-valued parameter ...
        return None, f"importances could not be computed: {str(exc).splitlines()[0][:200]}"
    return dict(values), f"PED-ANOVA (Optuna), objective {sweep.objectives[0].score}"


# -- tables -------------------------------------------------------------------------------------
def trial_table(sweep: Sweep, item: TargetTrials) -> tuple[list[str], list[list[str]]]:
    keys = [p.key for p in item.target.space]
    headers = ["trial", "state", *(o.score for o in sweep.objectives), *keys, "step", "seconds",
               "note"]
    rows = []
    for t in item.trials:
        state = item.states.get(t.number, {})
        status = st.STATES.get(t.state.name, t.state.name.lower())
        values = list(t.values) if t.values else [None] * len(sweep.objectives)
        if t.state.name == "PRUNED" and t.intermediate_values:
            last = max(t.intermediate_values)
            values = [t.intermediate_values[last]]
        note = ""
        if "retry_of" in t.user_attrs:
            note = f"retry of trial {t.user_attrs['retry_of']}"
        if t.state.name in ("FAIL", "PRUNED"):
            pruned = state.get("stopped") if t.state.name == "PRUNED" else None
            why = t.user_attrs.get("error") or pruned or state.get("error") or ""
            note = "; ".join(x for x in (note, str(why).splitlines()[0] if why else "") if x)
        rows.append([str(t.number), status, *(fmt(v) for v in values),
                     *(_param(t.params.get(k)) for k in keys),
                     fmt(state.get("step")), fmt(state.get("seconds"), 3), note])
    return headers, rows


def _param(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- plots --------------------------------------------------------------------------------------
def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _points(sweep: Sweep, trials: Sequence[Any], i: int) -> tuple[list[Any], list[Any]]:
    """(finished, pruned) as ``(trial, value)`` pairs of objective ``i``."""
    done, pruned = [], []
    for t in trials:
        if t.state.name == "COMPLETE" and t.values is not None:
            done.append((t, t.values[i]))
        elif t.state.name == "PRUNED" and t.intermediate_values and i == 0:
            pruned.append((t, t.intermediate_values[max(t.intermediate_values)]))
    return done, pruned


def history_png(sweep: Sweep, item: TargetTrials) -> bytes:
    """Each objective against the trial number: finished trials, pruned ones at their last
    reported value, and the best so far."""
    from gancore.plotting.figures import figure as _figure

    n = len(sweep.objectives)
    fig = _figure(5.5 * n, 3.6)
    for i, o in enumerate(sweep.objectives):
        ax = fig.add_subplot(1, n, i + 1)
        done, pruned = _points(sweep, item.trials, i)
        if done:
            ax.scatter([t.number for t, _ in done], [v for _, v in done], c="#1f77b4",
                       label="finished", zorder=3)
            best, xs, ys = None, [], []
            for t, v in sorted(done, key=lambda p: p[0].number):
                if best is None or (v < best if o.direction == "minimize" else v > best):
                    best = v
                xs.append(t.number)
                ys.append(best)
            ax.step(xs, ys, where="post", c="#d62728", label="best so far")
        if pruned:
            ax.scatter([t.number for t, _ in pruned], [v for _, v in pruned], marker="x",
                       c="#999999", label="pruned (last report)", zorder=2)
        if not done and not pruned:
            ax.text(0.5, 0.5, "no finished trial", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set_xlabel("trial")
        ax.set_title(f"{o.score} ({'lower' if o.direction == 'minimize' else 'higher'} is "
                     "better)", fontsize=10)
        if ax.collections:
            ax.legend(fontsize=8)
    return _png(fig)


def slices_png(sweep: Sweep, item: TargetTrials) -> bytes:
    """The first objective against each parameter, one panel per parameter."""
    from gancore.plotting.figures import figure as _figure

    space = item.target.space
    cols = min(len(space), 3)
    rows = math.ceil(len(space) / cols)
    fig = _figure(4.2 * cols, 3.4 * rows)
    done, pruned = _points(sweep, item.trials, 0)
    for j, p in enumerate(space):
        ax = fig.add_subplot(rows, cols, j + 1)
        for group, style in ((done, {"c": "#1f77b4"}), (pruned, {"c": "#999999",
                                                                  "marker": "x"})):
            pts = [(t.params[p.key], v) for t, v in group if p.key in t.params]
            if not pts:
                continue
            if p.kind == "categorical":
                labels = [str(c) for c in (p.choices or [])]
                xs = [labels.index(str(x)) for x, _ in pts]
                ax.set_xticks(range(len(labels)), labels, fontsize=8)
            else:
                xs = [x for x, _ in pts]
            ax.scatter(xs, [v for _, v in pts], **style)
        if p.log:
            ax.set_xscale("log")
        ax.set_xlabel(p.key, fontsize=9)
        ax.set_ylabel(sweep.objectives[0].score, fontsize=9)
    return _png(fig)


def importance_png(values: dict[str, float]) -> bytes:
    from gancore.plotting.figures import figure as _figure

    keys = list(values)[::-1]
    fig = _figure(6.0, 0.5 + 0.45 * len(keys))
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(keys, [values[k] for k in keys], color="#1f77b4")
    ax.set_xlabel("importance (share)")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


# -- the page -----------------------------------------------------------------------------------
def settings_rows(sweep: Sweep, storage: str) -> list[tuple[str, str]]:
    m = sweep.meta
    tuned = ", ".join(t.name for t in sweep.targets) if sweep.variants else \
        sweep.targets[0].entry.recipe
    pruner = m.pruner.type if m.pruner.type != "none" else "none"
    if m.pruner.type != "none":
        pruner += f" (evaluation every {m.eval_every} steps)"
    objectives = "; ".join(f"{o.score} ({o.direction}, metric {o.metric})"
                           for o in sweep.objectives)
    return [
        ("sweep file", str(sweep.path)),
        ("tuned", str(tuned)),
        ("budget", f"{m.trials} trials of {m.steps} steps each"
                   + (" per variant" if sweep.variants else "")),
        ("sampler", f"{m.sampler.type}, seed {m.seed}"),
        ("pruner", pruner),
        ("objective", objectives),
        ("shared overrides", ", ".join(m.set) or "-"),
        ("storage", st.shown_url(storage)),
        ("confirmation", f"best {sweep.best}" + (" per variant" if sweep.variants else "")
                         + f", seeds {', '.join(map(str, sweep.confirm_seeds))}, "
                         f"{sweep.confirm.steps or m.steps} steps"),
    ]


def render(sweep: Sweep, storage: str, items: list[TargetTrials], choices: list[Choice],
           comparison: Comparison | None, registry: Registry | None = None,
           note: str = "") -> str:
    """The report page as a string."""
    from gancore.evaluation.figures import sample_png
    from gancore.evaluation.tables import verdict_lines

    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(sweep.name)} — gancore sweep</title>",
        f"<style>{STYLE}{EXTRA_STYLE}</style></head>",
        '<body data-report="gancore-sweep">',
        f"<h1>{_e(sweep.name)}</h1>",
    ]
    if sweep.meta.description:
        parts.append(f'<p class="note">{_e(sweep.meta.description)}</p>')
    parts.append("<h2>Settings</h2>")
    parts.append('<table class="settings" id="settings"><tbody>' + "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in settings_rows(sweep, storage))
        + "</tbody></table>")
    parts.append("<h3>Search space</h3><ul id=\"space\">")
    for t in sweep.targets:
        for p in t.space:
            who = f"{_e(t.name)}: " if t.name else ""
            parts.append(f"<li>{who}<code>{_e(p.key)}</code>: {_e(p.describe())}</li>")
    parts.append("</ul>")

    for item in items:
        slug = item.target.name or "base"
        title = f"Trials of {item.target.name}" if item.target.name else "Trials"
        parts.append(f"<h2>{_e(title)}</h2>")
        headers, rows = trial_table(sweep, item)
        classes = [["" for _ in r] for r in rows]
        for i, r in enumerate(rows):
            if r[1] in ("pruned", "failed"):
                classes[i] = [r[1]] * len(r)
        parts.append(_table(headers, rows, f"trials-{slug}", classes))
        parts.append('<div class="plots">')
        parts.append(f'<div><h3>Optimisation history</h3><img class="wide" '
                     f'id="history-{_e(slug)}" alt="optimisation history" '
                     f'src="{data_uri(history_png(sweep, item))}"></div>')
        parts.append(f'<div><h3>Slice plots</h3><img class="wide" '
                     f'id="slices-{_e(slug)}" alt="slice plots" '
                     f'src="{data_uri(slices_png(sweep, item))}"></div>')
        parts.append("</div>")
        parts.append("<h3>Parameter importances</h3>")
        if item.importances:
            irows = [[k, f"{v:.3f}"] for k, v in item.importances.items()]
            parts.append(f'<p class="note">{_e(item.importance_note)}</p>')
            parts.append(_table(["parameter", "importance"], irows, f"importances-{slug}"))
            parts.append(f'<img id="importance-{_e(slug)}" alt="importances" '
                         f'src="{data_uri(importance_png(item.importances))}">')
        else:
            parts.append(f'<p class="note">{_e(item.importance_note)}</p>')

    parts.append("<h2>Confirmation</h2>")
    if comparison is None or comparison.stats is None:
        parts.append(f'<p class="note" id="no-confirmation">{_e(note or "no confirmation")}</p>')
    else:
        n = len(sweep.confirm_seeds)
        parts.append(f'<p class="note">The best {len(choices)} setting(s) re-run under {n} new '
                     f"seeds ({', '.join(map(str, sweep.confirm_seeds))}) at the same budget; "
                     f"baseline: <code>{_e(comparison.stats.baseline)}</code>.</p>")
        parts.append(f'<p class="note" id="method">'
                     f'{_e(comparison.stats.method().replace("`", ""))}</p>')
        parts.append("<ul>" + "".join(f"<li><strong>{_e(e.entry.name)}</strong>: "
                                      f"{_e(e.entry.description)}</li>"
                                      for e in _first_runs(comparison)) + "</ul>")
        headers, srows = comparison.stats_table()
        classes = [["" for _ in r] for r in srows]
        for i, r in enumerate(srows):
            if r[-1] in ("better", "worse"):
                classes[i][-1] = r[-1]
        parts.append(_table(headers, srows, "confirm", classes))
        verdicts = verdict_lines(comparison)
        if verdicts:
            parts.append('<ul id="verdicts">' + "".join(
                f"<li>{_e(v.lstrip('- ').replace('**', ''))}</li>" for v in verdicts) + "</ul>")
        if comparison.failed:
            parts.append('<ul class="failed">' + "".join(
                f"<li><code>{_e(f['id'])}</code>: {_e(str(f.get('error')).splitlines()[0])}"
                "</li>" for f in comparison.failed) + "</ul>")
        parts.append('<div class="grids">')
        for r in _first_runs(comparison):
            parts.append(f'<figure><figcaption>{_e(r.entry.name)} (seed {_e(r.seed)})'
                         f'</figcaption><img class="sample" alt="samples of {_e(r.id)}" '
                         f'src="{data_uri(sample_png(r))}"></figure>')
        parts.append("</div>")
    parts.append(f"<script>{SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _first_runs(comparison: Comparison) -> list[Any]:
    from gancore.evaluation.gather import first_runs

    return first_runs(comparison.results)


def markdown(sweep: Sweep, storage: str, items: list[TargetTrials],
             comparison: Comparison | None, note: str = "") -> str:
    from gancore.evaluation.markdown import _md_table
    from gancore.evaluation.tables import verdict_lines

    lines = [f"# {sweep.name}", ""]
    lines += [f"- **{k}**: {v}" for k, v in settings_rows(sweep, storage)]
    for item in items:
        lines += ["", f"## Trials{' of ' + item.target.name if item.target.name else ''}", ""]
        lines += _md_table(*trial_table(sweep, item))
        if item.importances:
            lines += ["", "Importances (" + item.importance_note + "): " + ", ".join(
                f"`{k}` {v:.3f}" for k, v in item.importances.items())]
    lines += ["", "## Confirmation", ""]
    if comparison is None or comparison.stats is None:
        lines.append(note or "no confirmation")
    else:
        lines += [comparison.stats.method(), ""]
        lines += _md_table(*comparison.stats_table())
        lines += ["", *verdict_lines(comparison)]
    lines += ["", "All of it, with plots: [report.html](report.html)", ""]
    return "\n".join(lines)


def trials_json(sweep: Sweep, items: list[TargetTrials], choices: list[Choice],
                comparison: Comparison | None) -> dict[str, Any]:
    def trial(t: Any, states: dict[int, dict[str, Any]]) -> dict[str, Any]:
        s = states.get(t.number, {})
        return {"number": t.number, "state": st.STATES.get(t.state.name, t.state.name),
                "values": t.values, "params": t.params,
                "intermediate": {str(k): v for k, v in t.intermediate_values.items()},
                "user_attrs": t.user_attrs, "step": s.get("step"), "run": s.get("run"),
                "seconds": s.get("seconds")}

    return {
        "name": sweep.name,
        "objectives": [o.__dict__ for o in sweep.objectives],
        "targets": {i.target.label: {"trials": [trial(t, i.states) for t in i.trials],
                                     "importances": i.importances}
                    for i in items},
        "confirmed": [{"name": c.name, "target": c.target.label, "trial": c.number,
                       "params": c.params, "values": c.values} for c in choices],
        "confirmation": comparison.stats.as_dict() if comparison and comparison.stats
        else None,
    }


def write_reports(sweep: Sweep, folder: Path, storage: str, choices: list[Choice],
                  comparison: Comparison | None, registry: Registry | None = None,
                  note: str = "") -> dict[str, Path]:
    """Write ``report.html``, ``sweep.md`` and ``trials.json`` atomically."""
    from gancore.evaluation.runs import json_default
    from gancore.storage.io import atomic_write_text

    items = read_trials(sweep, folder, storage)
    files = {"html": folder / "report.html", "markdown": folder / "sweep.md",
             "json": folder / "trials.json"}
    atomic_write_text(files["json"], json.dumps(trials_json(sweep, items, choices, comparison),
                                                indent=2, default=json_default) + "\n",
                      what="the sweep's trials (JSON)")
    atomic_write_text(files["markdown"], markdown(sweep, storage, items, comparison, note),
                      what="the sweep's summary")
    atomic_write_text(files["html"], render(sweep, storage, items, choices, comparison,
                                            registry, note), what="the sweep's HTML report")
    return files
