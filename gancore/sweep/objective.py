"""One trial: its sampled settings as recipe overrides, its run through the study engine, and
what Optuna is told.

A trial is a run of the study engine (:func:`gancore.evaluation.runs.run_task`): the tuned
recipe with the sweep's overrides, the sampled values, the sweep's seed and steps, the
in-training evaluation (``train.eval_every``) and the ``sweep_trial`` callback
(:mod:`gancore.sweep.callback`), which reports every evaluation to the trial and stops the run
when the pruner says so. The run is trained (or resumed from its checkpoint), evaluated with the
sweep's metrics, and its objective score told to Optuna: a finished trial its value(s), a run the
pruner stopped ``PRUNED``, a failure ``FAIL`` (with its error as the trial's ``error``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.evaluation import runs
from gancore.sweep import storage as st
from gancore.sweep.spec import override
from gancore.sweep.spec import suggest_values as suggest  # noqa: F401  (its old home)

if TYPE_CHECKING:
    from gancore.evaluation.evaluator import EvalSettings
    from gancore.sweep.spec import Sweep, Target


def setting_overrides(target: Target, params: dict[str, Any]) -> list[str]:
    """The overrides of one setting: the tuned recipe's, then the sampled values (in the
    space's order)."""
    ordered = [p.key for p in target.space if p.key in params]
    return [*target.entry.overrides, *(override(k, params[k]) for k in ordered)]


def inline(value: Any) -> str:
    """``value`` as an inline TOML value (for an override)."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else
                                                        ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {inline(v)}"
                                for k, v in value.items() if v is not None) + " }"
    return json.dumps(str(value))


def trial_overrides(sweep: Sweep, target: Target, params: dict[str, Any], folder: Path,
                    number: int, callbacks: list[dict[str, Any]]) -> list[str]:
    """Everything a trial's run sets: the setting, the seed, the in-training evaluation and the
    ``sweep_trial`` callback after the recipe's own ``callbacks``."""
    m = sweep.meta
    ovs = [*setting_overrides(target, params), f"seed={m.seed}"]
    if m.eval_every:
        ovs.append(f"train.eval_every={m.eval_every}")
        if m.eval_samples:
            ovs.append(f"train.eval_samples={m.eval_samples}")
        ovs.append("eval.metrics=" + inline([o.metric for o in sweep.objectives]))
    mine = {"type": "sweep_trial", "sweep": str(folder.resolve()),
            "study": sweep.study_name(target), "trial": number}
    ovs.append("train.callbacks=" + inline([*callbacks, mine]))
    return ovs


def recipe_callbacks(target: Target, registry: Any) -> list[dict[str, Any]]:
    """The tuned recipe's own ``train.callbacks`` (kept in every trial)."""
    from gancore.recipe import load_recipe, resolve

    recipe = resolve(load_recipe(target.entry.recipe, target.entry.overrides), registry)
    return list(recipe.to_dict()["train"].get("callbacks") or [])


def values_of(sweep: Sweep, evaluation: dict[str, Any]) -> list[float]:
    """The objective value(s) of an evaluation result; one error naming a missing score."""
    from gancore.core.errors import GancoreError

    out = []
    for o in sweep.objectives:
        found = o.pick(evaluation)
        if found is None:
            from gancore.evaluation.evaluator import score_keys

            raise GancoreError(f"the evaluation computed no {o.score!r} (it computed: "
                               + ", ".join(score_keys(evaluation)) + ")",
                               key="objective.metric",
                               hint="name a score the metric computes, or from_metric")
        if not math.isfinite(found[1]):
            raise GancoreError(f"the objective {found[0]} is {found[1]}", key="objective",
                               hint="the trial diverged")
        out.append(found[1])
    return out


@dataclasses.dataclass
class TrialContext:
    """What a worker needs for its trials (picklable)."""

    sweep: Sweep
    folder: Path
    storage: str
    settings: EvalSettings
    data_root: str | None = None
    threads: int | None = None
    gpu: str | None = None


def run_trial(ctx: TrialContext, target: Target, claim: st.Claim, callbacks: list[dict],
              echo: Callable[[str], None]) -> dict[str, Any]:
    """Train and evaluate the claimed trial, tell Optuna; returns the run's state."""
    from optuna.trial import TrialState

    sweep, trial = ctx.sweep, claim.trial
    number = trial.number
    run_id = st.trial_id(target, number)
    study = trial.study
    previous = claim.previous or {}
    if claim.resumed and previous.get("status") == runs.STOPPED:
        echo(f"{run_id}: pruned earlier ({previous.get('error')}); telling the storage")
        study.tell(trial, state=TrialState.PRUNED)
        runs.write_state(runs.state_path(ctx.folder / st.TRIALS, run_id), previous)
        return previous
    spec = runs.RunSpec(
        run_id, target.label, sweep.meta.seed, st.trial_run(ctx.folder, target, number),
        target.entry.recipe,
        trial_overrides(sweep, target, claim.params, ctx.folder, number, callbacks),
        sweep.meta.steps, study=ctx.folder / st.TRIALS)
    what = "resuming" if claim.resumed else "running"
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in claim.params.items())
    echo(f"{run_id}: {what} ({shown})")
    task = runs.Task(spec, ctx.settings, data_root=ctx.data_root, threads=ctx.threads,
                     gpu=ctx.gpu)
    state = _with_heartbeat(ctx.folder, target, number, lambda: runs.run_task(task, echo))
    status = state.get("status")
    if status == runs.STOPPED:
        study.tell(trial, state=TrialState.PRUNED)
        echo(f"{run_id}: pruned at step {state.get('step')}")
        return state
    if status == runs.DONE:
        try:
            values = values_of(sweep, state["evaluation"])
        except Exception as exc:  # a missing or non-finite score fails the trial
            state.update(status=runs.FAILED, error=runs.error_text(exc))
            runs.write_state(spec.state_file, state)
        else:
            study.tell(trial, values if sweep.multi else values[0])
            echo(f"{run_id}: done, " + ", ".join(
                f"{o.score} {v:.4g}" for o, v in zip(sweep.objectives, values, strict=True)))
            return state
    trial.set_user_attr("error", str(state.get("error") or "no result").splitlines()[0][:500])
    study.tell(trial, state=TrialState.FAIL)
    echo(f"{run_id}: failed: {str(state.get('error')).splitlines()[0]}")
    return state


def _with_heartbeat(folder: Path, target: Target, number: int, work: Callable[[], Any]) -> Any:
    """Run ``work`` while a thread touches the trial's state file every
    :data:`~gancore.sweep.storage.HEARTBEAT` seconds."""
    import threading

    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(st.HEARTBEAT):
            st.beat(folder, target, number)

    thread = threading.Thread(target=loop, name="gancore-sweep-heartbeat", daemon=True)
    thread.start()
    try:
        return work()
    finally:
        stop.set()
