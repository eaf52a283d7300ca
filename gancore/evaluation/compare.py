"""Train (or load) several recipes under one budget, evaluate them alike, write a comparison.

A study is a pipeline: :mod:`~gancore.evaluation.plan` checks the entries and lays out the runs,
:mod:`~gancore.evaluation.runs` trains or loads and evaluates each (reusing finished runs,
resuming killed ones, under each run folder's lock), :mod:`~gancore.evaluation.gather` turns
the finished runs into one :class:`Comparison` (statistics over seeds: see
:mod:`gancore.evaluation.stats`), and :mod:`~gancore.evaluation.render` writes every output
from it: ``comparison.md``, ``comparison.json``, ``samples.png``, ``losses.png`` and
``report.html``. :func:`compare` runs the four stages.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.evaluation.evaluator import EvalSettings
from gancore.evaluation.gather import Comparison, EntryResult, first_runs, gather
from gancore.evaluation.plan import (
    _check_existing,
    _reusable,
    entries_from_args,
    pick_baseline,
    plan_runs,
    run_waves,
    unique_names,
    validate,
)
from gancore.evaluation.render import write_outputs
from gancore.evaluation.runs import (
    HELD,
    InlineExecutor,
    StudyFailed,
    Task,
    read_state,
    record_plan,
    source_failed,
    summarize_failures,
    train_or_load,
)
from gancore.evaluation.study import Entry, Study

if TYPE_CHECKING:
    from gancore.core.registry import Registry

__all__ = ["Comparison", "EntryResult", "StudyFailed", "compare", "entries_from_args",
           "first_runs", "gather", "train_or_load", "validate", "write_outputs"]


def compare(
    entries: Sequence[Entry],
    out: str | Path,
    *,
    steps: int | None = None,
    seed: int | None = None,
    seeds: Sequence[int] | None = None,
    baseline: str | None = None,
    overrides: Sequence[str] = (),
    settings: EvalSettings | None = None,
    name: str = "comparison",
    registry: Registry | None = None,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
    executor: Any = None,
    study: Study | None = None,
    allow_mixed_data: bool = False,
) -> Comparison:
    """Train or load every entry under the same steps and seeds, evaluate alike, write files.

    ``seeds`` runs every entry once per seed (``seed`` is then only the evaluation seed, when
    ``settings`` gives none); ``baseline`` (default: the first entry) is what the other entries
    are tested against. ``executor`` runs the training runs (default: one after another in this
    process; see :mod:`gancore.evaluation.runs`). Every recipe, override and metric is checked
    before anything is trained; runs recorded as finished in ``out`` are reused, killed ones
    resumed, and runs another process holds (another command on ``out``) done after the
    others, once it lets go of them. Runs that fail are recorded and reported at the end
    (:class:`StudyFailed`) after the others were compared. Entries that train or are scored on
    different data are refused before anything trains, unless ``allow_mixed_data`` (or the
    study's ``allow_mixed_data = true``).
    """
    from gancore.packs.loader import get_registry
    from gancore.storage.io import check_writable_dir

    registry = registry or get_registry()
    echo = echo or (lambda text: None)
    settings = settings or EvalSettings()
    out = Path(out)
    entries = unique_names(list(entries))
    if not entries:
        raise GancoreError("nothing to compare", hint="give recipes, run folders or a study file")
    check_writable_dir(out, what="the comparison folder")  # before any training
    seeds = list(seeds) if seeds else None
    if seeds is not None and len(set(seeds)) != len(seeds):
        raise GancoreError(f"the seeds repeat: {seeds}", key="seeds",
                           source=str(study.path) if study else None,
                           hint="give distinct seeds, e.g. [0, 1, 2]")
    base = pick_baseline(entries, baseline, str(study.path) if study else None)
    shared = list(overrides)
    recipes = validate(entries, overrides=shared, seed=seeds[0] if seeds else seed,
                       steps=steps, settings=settings, registry=registry, study=study,
                       allow_mixed_data=allow_mixed_data or bool(
                           study is not None and study.meta.allow_mixed_data))
    specs = plan_runs(entries, out, seeds=seeds, seed=seed, overrides=shared, recipes=recipes)
    _check_existing(specs, registry)
    record_plan(out, {"name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                      "runs": [s.id for s in specs], "seeds": seeds, "steps": steps,
                      "variant_steps": {e.name: e.steps for e in entries if e.steps},
                      "baseline": base, "overrides": shared})

    states: dict[str, dict[str, Any]] = {}
    tasks = []
    for spec in specs:
        state = read_state(spec.state_file)
        if _reusable(spec, state, settings):
            assert state is not None
            echo(f"{spec.id}: finished and evaluated earlier, reused")
            states[spec.id] = {**state, "trained": False}
        else:
            tasks.append(Task(spec, settings, data_root=settings.data_root))
    if executor is None:
        executor = InlineExecutor(echo=echo)
    if getattr(executor, "name", "") != "local" or getattr(executor, "jobs", 1) != 1:
        tasks = [dataclasses.replace(t, settings=dataclasses.replace(t.settings, progress=False))
                 for t in tasks]
    if tasks:
        echo(f"{len(tasks)} of {len(specs)} runs to train or evaluate"
             + (f" ({executor.name}, {executor.jobs} at once)" if executor.jobs > 1 else ""))

    held: list[Task] = []  # runs another process holds: done after the others, waiting

    def done(task: Task, state: dict[str, Any]) -> None:
        if state.get("status") == HELD:
            held.append(task)
            echo(f"{task.spec.id}: {str(state.get('error')).splitlines()[0]}; this command "
                 "does the other runs first, then waits for it")
            return
        states[task.spec.id] = state
        if state.get("status") == "done":
            what = "trained" if state.get("trained") else "loaded"
            echo(f"{task.spec.id}: done ({what}, step {state.get('step')}, "
                 f"{state.get('seconds', 0):.0f}s)")
        else:
            echo(f"{task.spec.id}: {state.get('status')}: "
                 f"{str(state.get('error')).splitlines()[0]}")

    for wave in run_waves(tasks):  # the runs a wave starts from have finished
        ready = []
        for task in wave:
            lost = [a for a in task.spec.after if states.get(a, {}).get("status") != "done"]
            if lost:
                done(task, source_failed(task.spec, lost[0]))
            else:
                ready.append(task)
        if ready:
            executor.run(ready, done)
        if held:  # the folder's holder finishes it (then it is reused) or lets it go
            waiting = [dataclasses.replace(t, wait=True) for t in held]
            held.clear()
            echo("waiting for " + ", ".join(t.spec.id for t in waiting)
                 + ": another process holds " + ("it" if len(waiting) == 1 else "them"))
            executor.run(waiting, done)

    comparison = gather(specs, states, name=name, out=out, steps=steps, seed=seed, seeds=seeds,
                        baseline=base, overrides=[*(study.meta.set if study else []), *shared],
                        recipes=recipes, settings=settings,
                        registry=registry, entries=entries, study=study)
    failure = summarize_failures(states.get(s.id, {"id": s.id, "status": "failed",
                                                   "error": "no result"}) for s in specs)
    if comparison.results:
        write_outputs(comparison)
    if failure is not None:
        failure.comparison = comparison  # type: ignore[attr-defined]
        if comparison.results:
            failure.message += f" (the others are compared in {out})"
            failure.args = (failure.format(),)
        raise failure
    return comparison


