"""Train (or load) several recipes under one budget, evaluate them alike, write a comparison.

Each entry trains into ``OUT/<name>/`` (``OUT/<name>/seed-<s>/`` for each of several seeds);
the state of every run is recorded in ``OUT/state/`` (see :mod:`gancore.evaluation.runs`), so
running the same command again reuses finished runs, resumes killed ones and re-evaluates only
when the evaluation settings changed. Existing run folders and checkpoints may be given as
entries too. Everything is checked before anything is trained (:func:`validate`). The
comparison is ``comparison.md`` and ``comparison.json`` (scores, final and mean losses,
images/s, parameter counts; with several seeds: means, spreads, 95% intervals and tests
against the baseline, see :mod:`gancore.evaluation.stats`), ``samples.png`` (the sample grids
side by side), ``losses.png`` (the loss curves, with a band over seeds) and ``report.html``
(all of it in one self-contained page, see :mod:`gancore.evaluation.report`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.errors import GancoreError
from gancore.evaluation.evaluator import (
    EvalSettings,
    checkpoint_path,
    score_keys,
)
from gancore.evaluation.runs import (
    HELD,
    LAST,
    InlineExecutor,
    RunSpec,
    StudyFailed,
    Task,
    checkpoint_of,
    eval_key,
    fingerprint,
    json_default,
    parameter_counts,
    read_records,
    read_state,
    record_plan,
    run_summary,
    source_failed,
    stale,
    stale_error,
    summarize_failures,
    train_or_load,
)
from gancore.evaluation.stats import LOSSES, SAME, StudyStats, direction, study_stats
from gancore.evaluation.study import Entry, Study, is_study_file, load_study

if TYPE_CHECKING:
    import torch

    from gancore.registry import Registry

__all__ = ["Comparison", "EntryResult", "StudyFailed", "compare", "train_or_load"]

#: Samples shown per variant in ``samples.png`` (2D data: points in the scatter plot).
GRID_SAMPLES = 64
SCATTER_SAMPLES = 1000
#: Scores kept in the JSON but left out of the tables.
HIDDEN_SCORES = ("d_real_accuracy", "d_fake_accuracy", "modes_total")


@dataclass
class EntryResult:
    """One compared run: where it is, whether it was trained now, its scores."""

    entry: Entry
    run: Path
    checkpoint: Path
    trained: bool
    evaluation: dict[str, Any]
    summary: dict[str, Any]
    params: dict[str, int]
    records: list[dict[str, Any]] = field(default_factory=list)
    samples: torch.Tensor | None = None
    seed: int | None = None
    run_id: str = ""

    @property
    def id(self) -> str:
        return self.run_id or self.entry.name

    @property
    def scores(self) -> dict[str, float]:
        return {k: self.evaluation[k] for k in score_keys(self.evaluation)}

    def as_dict(self) -> dict[str, Any]:
        """The run's row of ``comparison.json``."""
        return {
            "name": self.entry.name,
            "id": self.id,
            "seed": self.seed,
            "recipe": self.entry.recipe,
            "overrides": self.entry.overrides,
            "run": str(self.run),
            "checkpoint": str(self.checkpoint),
            "trained": self.trained,
            "step": self.evaluation.get("step"),
            "ema": self.evaluation.get("ema"),
            "scores": self.scores,
            **self.summary,
            "params_generator": self.params["generator"],
            "params_discriminator": self.params["discriminator"],
        }


@dataclass
class Comparison:
    """The result of :func:`compare` and the files it wrote."""

    name: str
    out: Path
    results: list[EntryResult]
    settings: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    stats: StudyStats | None = None
    diffs: dict[str, list[str]] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(r.entry.name for r in self.results))

    @property
    def multi_seed(self) -> bool:
        return bool(self.settings.get("seeds")) and len(self.settings["seeds"]) > 1

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.settings,
                "statistics": self.stats.as_dict() if self.stats else None,
                "differences": self.diffs,
                "failed": self.failed,
                "entries": [r.as_dict() for r in self.results]}

    def table(self, compact: bool = False) -> tuple[list[str], list[list[str]]]:
        """Column headers and formatted rows of the per-run (Markdown or terminal) table."""
        return comparison_table(self.results, compact)

    def stats_table(self, compact: bool = False) -> tuple[list[str], list[list[str]]]:
        """Headers and rows of the table over seeds (one row per variant and quantity)."""
        return statistics_table(self, compact)


# -- entries ----------------------------------------------------------------------------------
def entries_from_args(args: Sequence[str]) -> tuple[list[Entry], Study | None]:
    """Entries for ``compare`` arguments: one study file, or recipes, run folders, checkpoints."""
    if not args:
        raise GancoreError("nothing to compare", hint="give recipes, run folders or a study file")
    studies = [a for a in args if is_study_file(a)]
    if studies:
        if len(args) > 1:
            raise GancoreError("a study file is compared on its own", source=studies[0],
                               hint="put the other recipes into the study as variants")
        study = load_study(studies[0])
        return study.entries, study
    entries = []
    for arg in args:
        path = Path(arg)
        if (path.is_dir() and (path / LAST).is_file()) or (
            path.is_file() and path.suffix == ".safetensors"
        ):
            name = path.name if path.is_dir() else (
                path.parent.name if path.name == LAST else path.stem)
            entries.append(Entry(name, run=path))
        else:
            entries.append(Entry(_recipe_name(arg), recipe=arg))
    return entries, None


def _recipe_name(arg: str) -> str:
    from gancore.recipe import load_recipe

    name = load_recipe(arg).recipe.name or Path(arg).stem
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name)


def unique_names(entries: list[Entry]) -> list[Entry]:
    """Rename repeated entry names ``name-2``, ``name-3``..."""
    seen: dict[str, int] = {}
    for entry in entries:
        count = seen.get(entry.name, 0) + 1
        seen[entry.name] = count
        if count > 1:
            entry.name = f"{entry.name}-{count}"
    return entries


# -- training or loading ----------------------------------------------------------------------
# The work of one run lives in :mod:`gancore.evaluation.runs`; these names stay importable here.
_stale = stale
_records = read_records


# -- checking everything before training anything -----------------------------------------------
def pick_baseline(entries: Sequence[Entry], baseline: str | None,
                  source: str | None = None) -> str:
    """The baseline entry's name: ``baseline`` (which must be an entry) or the first one
    (``[pretrain]`` runs are not compared, so never the baseline)."""
    names = [e.name for e in entries if not e.train_only]
    if baseline is None:
        return names[0]
    if baseline not in names:
        from gancore.errors import suggest

        raise GancoreError(f"the baseline {baseline!r} is not a variant{suggest(baseline, names)}",
                           source=source, key="study.baseline" if source else "--baseline",
                           hint="variants: " + ", ".join(names))
    return baseline


def _seed_overrides(seed: int | None) -> list[str]:
    return [f"seed={seed}"] if seed is not None else []


def _from_set(exc: GancoreError, overrides: Sequence[str]) -> bool:
    """Whether ``exc`` is about a key one of the ``--set`` overrides assigns."""
    if exc.source == "--set":
        return True
    key = (exc.key or "").replace(" ", "")
    return bool(key) and any(
        o.partition("=")[0].strip() == key or key.startswith(o.partition("=")[0].strip() + ".")
        for o in overrides)


def _variant_error(exc: GancoreError, entry: Entry, study: Study | None,
                   overrides: Sequence[str] = ()) -> GancoreError:
    """``exc`` (from resolving or building ``entry``) located at the study file and variant."""
    from_set = _from_set(exc, overrides)
    if study is None:
        if from_set:
            exc.message = f"{entry.name}: {exc.message}"
            exc.args = (exc.format(),)
        return exc
    where = f"{exc.key}: " if exc.key else ""
    if from_set:
        where = f"--set {where}"
    elif exc.source and exc.source != str(study.path):
        where = f"{exc.source}: {where}"
    from gancore.errors import RecipeError

    return RecipeError(f"{where}{exc.message}", source=str(study.path),
                       key=f"{_table(entry)}.{entry.name}", hint=exc.hint)


def _table(entry: Entry) -> str:
    """The study-file table an entry comes from."""
    return "pretrain" if entry.train_only else "variants"


def validate(
    entries: Sequence[Entry],
    *,
    overrides: Sequence[str],
    seed: int | None,
    steps: int | None,
    settings: EvalSettings,
    registry: Registry,
    study: Study | None = None,
) -> dict[str, dict[str, Any]]:
    """Resolve and build every entry's recipe, check the metrics, the extractor and that the
    variants differ, all before any training; returns name -> resolved recipe (as a dict)."""
    from gancore.assembly.build import build
    from gancore.evaluation.evaluator import metric_names
    from gancore.recipe import load_recipe, resolve
    from gancore.recipe.diff import recipe_differences
    from gancore.recipe.refs import as_spec

    source = str(study.path) if study is not None else None
    if steps is not None and steps <= 0:
        raise GancoreError(f"the step count must be 1 or more (got {steps})",
                           key="--steps", hint="give a positive number of generator updates")
    resolved: dict[str, dict[str, Any]] = {}
    linked = {e.init_from for e in entries if e.init_from} | {
        e.name for e in entries if e.init_from}
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    for entry in entries:
        if entry.recipe is None:
            continue
        ovs = [*entry.overrides, *overrides, *_seed_overrides(seed),
               *([f"train.steps={steps}"] if steps else [])]
        try:
            recipe = resolve(load_recipe(entry.recipe, ovs), registry)
            gan = build(recipe, registry=registry)
            if not entry.train_only:
                specs = metric_names(settings.metrics, recipe.eval.metrics, gan.data.is_image)
                for spec in specs:
                    registry.get("metric", spec.type, key="--metrics" if settings.metrics
                                 else "eval.metrics")
        except GancoreError as exc:
            raise _variant_error(exc, entry, study, overrides) from None
        resolved[entry.name] = recipe.to_dict()
        if entry.name in linked:
            shapes[entry.name] = _weight_shapes(gan)
    _check_init_from(entries, shapes, source)
    if settings.extractor:
        ext = as_spec("feature_extractor", settings.extractor)
        if ext.type not in ("auto", "raw", "inception"):
            registry.get("feature_extractor", ext.type, key="--extractor")
    by_name = {e.name: e for e in entries}
    names = [n for n in resolved if not by_name[n].train_only]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if by_name[a].init_from != by_name[b].init_from:
                continue  # the same recipe from other starting weights
            if not recipe_differences(resolved[a], resolved[b]):
                what = "variants" if study is not None else "entries"
                raise GancoreError(
                    f"the {what} {a!r} and {b!r} do not differ: their resolved recipes are the "
                    "same, so the comparison would measure only noise",
                    source=source, key=f"variants.{b}" if study is not None else None,
                    hint="give each variant its own set = [...] or recipe = \"...\", or drop "
                         "one (several seeds of one recipe: use seeds = [...] or --seeds N)",
                )
    return resolved


def _weight_shapes(gan: Any) -> dict[str, tuple[int, ...]]:
    """``network.name -> shape`` of the weight tensors (2 dimensions or more) of both nets."""
    return {f"{prefix}.{k}": tuple(v.shape)
            for prefix, module in (("generator", gan.generator),
                                   ("discriminator", gan.discriminator))
            for k, v in module.state_dict().items() if v.dim() >= 2}


def _check_init_from(entries: Sequence[Entry], shapes: dict[str, dict[str, tuple[int, ...]]],
                     source: str | None) -> None:
    """Refuse ``init_from`` naming no entry, and sources none of whose weights would fit."""
    names = [e.name for e in entries]
    for entry in entries:
        if entry.init_from is None:
            continue
        key = f"{_table(entry)}.{entry.name}.init_from" if source else None
        if entry.init_from not in names or entry.init_from == entry.name:
            from gancore.errors import suggest

            raise GancoreError(f"{entry.name}: init_from {entry.init_from!r} is not another "
                               f"entry{suggest(entry.init_from, names)}", source=source,
                               key=key, hint="entries: " + ", ".join(names))
        own, theirs = shapes.get(entry.name), shapes.get(entry.init_from)
        if own is None or theirs is None:
            continue  # an existing checkpoint: checked when the run starts
        if not any(theirs.get(k) == shape for k, shape in own.items()):
            raise GancoreError(
                f"{entry.name}: no weight of {entry.init_from!r} fits its networks, so "
                "init_from would start it from scratch", source=source, key=key,
                hint="start from a run of the same or a compatible architecture (layers of "
                     "other shapes, e.g. for another number of channels, start fresh)")


def plan_runs(
    entries: Sequence[Entry], out: Path, *, seeds: Sequence[int] | None, seed: int | None,
    overrides: Sequence[str], steps: int | None, recipes: dict[str, dict[str, Any]],
) -> list[RunSpec]:
    """One :class:`RunSpec` per entry and seed (an existing run or checkpoint: one, as it is)."""
    specs = []
    by_name = {e.name: e for e in entries}
    for entry in entries:
        if entry.run is not None:
            ckpt = checkpoint_path(entry.run)
            specs.append(RunSpec(entry.name, entry.name, None, ckpt.parent, checkpoint=ckpt,
                                 study=out))
    entries = sorted(entries, key=lambda e: not e.train_only)  # [pretrain] runs first
    for s in (seeds if seeds else [seed]):  # seed by seed: a first pass covers every variant
        for entry in entries:
            if entry.run is not None:
                continue
            target = steps or int(recipes[entry.name]["train"]["steps"])
            run_id = f"{entry.name}/seed-{s}" if seeds else entry.name
            run = out / entry.name / f"seed-{s}" if seeds else out / entry.name
            init_from, after = None, []
            if entry.init_from is not None:
                src = by_name[entry.init_from]
                if src.run is not None:
                    init_from = checkpoint_path(src.run)
                else:
                    after = [f"{src.name}/seed-{s}" if seeds else src.name]
                    init_from = (out / src.name / f"seed-{s}" if seeds else out / src.name) / LAST
            specs.append(RunSpec(run_id, entry.name, s, run, entry.recipe,
                                 [*entry.overrides, *overrides, *_seed_overrides(s)],
                                 target, study=out, init_from=init_from, after=after,
                                 evaluate=not entry.train_only))
    order = {e.name: i for i, e in enumerate(entries)}
    if not seeds:
        specs.sort(key=lambda spec: order[spec.variant])
    return specs


def _check_existing(specs: Sequence[RunSpec], registry: Registry) -> None:
    """Refuse, before training, run folders trained from another recipe. (Runs another
    process is training are not refused: their folder lock decides, see
    :func:`gancore.evaluation.runs.run_task`.)"""
    for spec in specs:
        if spec.recipe is not None and (spec.run / LAST).is_file():
            diffs = stale(spec.run / LAST, spec.recipe, spec.overrides, registry)
            if diffs:
                raise stale_error(spec.id, spec.run, diffs)


def _reusable(spec: RunSpec, state: dict[str, Any] | None, settings: EvalSettings) -> bool:
    """Whether a run's recorded state holds a finished run evaluated under ``settings`` (a
    ``[pretrain]`` run: trained), started from the current checkpoint of its source."""
    if not state or state.get("status") != "done":
        return False
    if spec.evaluate and not state.get("evaluation"):
        return False
    ckpt = checkpoint_of(spec)
    if not ckpt.is_file():
        return False
    if spec.steps is not None and int(state.get("step") or 0) < spec.steps:
        return False
    if spec.init_from is not None and state.get("init_from") != fingerprint(spec.init_from):
        return False
    return not spec.evaluate or state.get("eval_key") == eval_key(settings, ckpt)


def run_waves(tasks: Sequence[Task]) -> list[list[Task]]:
    """The tasks in waves: each task comes after the tasks of the runs it starts from."""
    pending = {t.spec.id: t for t in tasks}
    placed: set[str] = set()
    waves: list[list[Task]] = []
    while pending:
        wave = [t for t in pending.values()
                if all(a in placed or a not in pending for a in t.spec.after)]
        if not wave:
            raise GancoreError("the runs' init_from form a cycle: " + ", ".join(pending),
                               hint="every run must start from one trained before it")
        waves.append(wave)
        for t in wave:
            del pending[t.spec.id]
        placed.update(t.spec.id for t in wave)
    return waves


# -- the comparison ---------------------------------------------------------------------------
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
) -> Comparison:
    """Train or load every entry under the same steps and seeds, evaluate alike, write files.

    ``seeds`` runs every entry once per seed (``seed`` is then only the evaluation seed, when
    ``settings`` gives none); ``baseline`` (default: the first entry) is what the other entries
    are tested against. ``executor`` runs the training runs (default: one after another in this
    process; see :mod:`gancore.evaluation.runs`). Every recipe, override and metric is checked
    before anything is trained; runs recorded as finished in ``out`` are reused, killed ones
    resumed, and runs another process holds (another command on ``out``) done after the
    others, once it lets go of them. Runs that fail are recorded and reported at the end
    (:class:`StudyFailed`) after the others were compared.
    """
    from gancore.io import check_writable_dir
    from gancore.plugins import get_registry

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
                       steps=steps, settings=settings, registry=registry, study=study)
    specs = plan_runs(entries, out, seeds=seeds, seed=seed, overrides=shared, steps=steps,
                      recipes=recipes)
    _check_existing(specs, registry)
    record_plan(out, {"name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                      "runs": [s.id for s in specs], "seeds": seeds, "steps": steps,
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
                        baseline=base, overrides=shared, recipes=recipes, settings=settings,
                        registry=registry, entries=entries, study=study)
    failure = summarize_failures(states.get(s.id, {"id": s.id, "status": "failed",
                                                   "error": "no result"}) for s in specs)
    if comparison.results:
        write_outputs(comparison, registry)
    if failure is not None:
        failure.comparison = comparison  # type: ignore[attr-defined]
        if comparison.results:
            failure.message += f" (the others are compared in {out})"
            failure.args = (failure.format(),)
        raise failure
    return comparison


def gather(
    specs: Sequence[RunSpec], states: dict[str, dict[str, Any]], *, name: str, out: Path,
    steps: int | None, seed: int | None, seeds: Sequence[int] | None, baseline: str,
    overrides: Sequence[str], recipes: dict[str, dict[str, Any]], settings: EvalSettings,
    registry: Registry, entries: Sequence[Entry], study: Study | None = None,
) -> Comparison:
    """The :class:`Comparison` of the finished runs: results, statistics, recipe differences."""
    from gancore.checkpoint import load
    from gancore.recipe.diff import recipe_differences
    from gancore.train.sample import sample_images

    by_name = {e.name: e for e in entries}
    results = []
    for spec in specs:
        state = states.get(spec.id)
        if not state or state.get("status") != "done" or not spec.evaluate:
            continue
        ckpt = Path(state["checkpoint"])
        gan = load(ckpt, registry=registry, ema=True)
        shown = GRID_SAMPLES if gan.data.is_image else SCATTER_SAMPLES
        samples, _ = sample_images(gan, shown, seed=settings.seed or 0)
        run = spec.run if spec.recipe is not None else ckpt.parent
        entry = by_name[spec.variant]
        results.append(EntryResult(
            entry, run, ckpt, bool(state.get("trained")), state["evaluation"],
            state.get("summary") or run_summary(read_records(run)),
            state.get("params") or parameter_counts(gan), read_records(run), samples,
            seed=spec.seed, run_id=spec.id,
        ))
    variants = list(dict.fromkeys(s.variant for s in specs if s.evaluate))
    by_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for r in results:
        by_variant[r.entry.name].append(
            {**r.scores, **{k: r.summary.get(k) for k in ("d_loss_final", "d_loss_mean",
                                                          "g_loss_final", "g_loss_mean")}})
    by_variant = {v: rows for v, rows in by_variant.items() if rows}
    stats = study_stats(by_variant, baseline, len(seeds) if seeds else 1)
    diffs = {}
    if baseline in recipes:
        for v, recipe in recipes.items():
            if v != baseline and not by_name[v].train_only:
                diffs[v] = recipe_differences(recipes[baseline], recipe)
                if by_name[v].init_from != by_name[baseline].init_from:
                    start = by_name[v].init_from
                    diffs[v].insert(0, f"starts from the final checkpoint of {start!r}"
                                    if start else "starts from scratch")
    first = results[0].evaluation if results else {}
    info = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "steps": steps,
        "seed": seed,
        "seeds": list(seeds) if seeds else None,
        "baseline": baseline,
        "overrides": list(overrides),
        "num_samples": first.get("num_samples"),
        "extractor": first.get("extractor"),
        "dataset": first.get("dataset"),
        "split": first.get("split"),
        "eval_seed": first.get("seed"),
        "study": str(study.path) if study is not None else None,
        "description": study.meta.description if study is not None else "",
    }
    failed = [{"id": s.id, "error": states.get(s.id, {}).get("error")}
              for s in specs if states.get(s.id, {}).get("status") != "done"]
    return Comparison(name, out, results, info, stats=stats, diffs=diffs, failed=failed)


def write_outputs(comparison: Comparison, registry: Registry | None = None) -> dict[str, Path]:
    """Write ``comparison.md``, ``comparison.json``, ``samples.png``, ``losses.png`` and
    ``report.html``."""
    from gancore.evaluation.report import write_report
    from gancore.io import atomic_write_bytes, atomic_write_text

    out = comparison.out
    files = {
        "json": out / "comparison.json",
        "markdown": out / "comparison.md",
        "samples": out / "samples.png",
        "losses": out / "losses.png",
        "html": out / "report.html",
    }
    atomic_write_text(
        files["json"],
        json.dumps(_finite(comparison.as_dict()), indent=2, default=json_default) + "\n",
        what="the comparison (JSON)",
    )
    atomic_write_text(files["markdown"], markdown(comparison), what="the comparison table")
    save_sample_panels(first_runs(comparison.results), files["samples"], registry)
    losses = loss_bands_png(comparison.results)
    atomic_write_bytes(files["losses"], losses, what="the comparison plot")
    write_report(comparison, files["html"], registry=registry, losses_png=losses)
    comparison.files = files
    return files


def first_runs(results: Sequence[EntryResult]) -> list[EntryResult]:
    """The first run of each variant."""
    seen: dict[str, EntryResult] = {}
    for r in results:
        seen.setdefault(r.entry.name, r)
    return list(seen.values())


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


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
    headers = ["variant", "step", *[c[0] for c in columns], "d_loss final / mean",
               "g_loss final / mean", "images/s", "params G + D"]
    rows = []
    for r in results:
        s, summary, scores = r.evaluation, r.summary, r.scores
        rows.append([
            r.id,
            fmt(s.get("step")),
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


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


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
                p = _p(test.p_holm)
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
                parts.append(f"{key}: no difference at this budget (p = {_p(test.p_holm)})")
            else:
                parts.append(f"{key}: **{test.verdict}** (p = {_p(test.p_holm)})")
        if parts:
            lines.append(f"- **{v}** vs {stats.baseline}: " + "; ".join(parts))
    return lines


def describe_settings(comparison: Comparison) -> str:
    """One sentence saying how the entries were evaluated."""
    s = comparison.settings
    first = comparison.results[0].evaluation
    real = first.get("num_real")
    held = "held-out " if first.get("held_out") else ""
    return (
        f"{fmt(s['num_samples'])} generated vs {fmt(real)} {held}real samples of "
        f"`{s['dataset']}` ({s['split']} split); features: `{s['extractor'] or 'none'}`; "
        f"evaluation seed {s['eval_seed']}; EMA generator weights where present."
    )


def describe_budget(comparison: Comparison) -> str:
    s = comparison.settings
    budget = f"{s['steps']} steps each" if s["steps"] else "each recipe's own train.steps"
    if s.get("seeds"):
        seeds = ", ".join(str(x) for x in s["seeds"])
        seed = f", seeds {seeds} ({len(s['seeds'])} runs per variant)"
    else:
        seed = f", seed {s['seed']}" if s["seed"] is not None else ""
    return f"Training budget: {budget}{seed}. Baseline: `{s.get('baseline')}`."


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown document."""
    headers, rows = comparison.table()
    s = comparison.settings
    lines = [f"# {comparison.name}", ""]
    lines.append(f"{describe_budget(comparison)} {describe_settings(comparison)}")
    if s["extractor"] and s["extractor"] != "inception":
        lines.append("")
        lines.append(f"Scores marked `/{s['extractor']}` use that extractor's features; they are "
                     "not comparable with Inception-based values.")
    if comparison.stats is not None:
        lines += ["", comparison.stats.method()]
    if comparison.multi_seed:
        lines += ["", "## Over seeds", ""]
        lines += _md_table(*comparison.stats_table())
        verdicts = verdict_lines(comparison)
        if verdicts:
            lines += ["", "Verdicts (adjusted p < 0.05 counts):", "", *verdicts]
        lines += ["", "## Runs", ""]
    lines += [""] if not comparison.multi_seed else []
    lines += _md_table(headers, rows)
    if comparison.failed:
        lines += ["", "Failed runs (not in the tables):", ""]
        lines += [f"- `{f['id']}`: {str(f.get('error')).splitlines()[0]}"
                  for f in comparison.failed]
    lines += ["", "Variants:", ""]
    for r in first_runs(comparison.results):
        what = r.entry.recipe or str(r.entry.run)
        sets = f" with `{'`, `'.join(r.entry.overrides)}`" if r.entry.overrides else ""
        note = f" — {r.entry.description}" if r.entry.description else ""
        lines.append(f"- **{r.entry.name}**: `{what}`{sets}{note} (run: `{r.run}`)")
        diff = comparison.diffs.get(r.entry.name)
        if diff:
            lines.append(f"  - differs from `{s.get('baseline')}` in: "
                         + "; ".join(f"`{d}`" for d in diff))
    lines += ["", "![samples](samples.png)", "", "![losses](losses.png)", "",
              "All of it, with the sample grids of every seed: [report.html](report.html)", ""]
    return "\n".join(lines)


# -- pictures ---------------------------------------------------------------------------------
def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _scatter_2d(ax: Any, x: Any, ref: Any) -> None:
    """Samples ``x`` [N, 2] in blue over the data's reference points (grey) when known."""
    if ref is not None:
        ax.scatter(ref[:, 0], ref[:, 1], s=2, c="#bbbbbb")
    ax.scatter(x[:, 0], x[:, 1], s=2, c="#1f77b4")
    ax.set_aspect("equal", adjustable="datalim")


def _reference_points(result: EntryResult, registry: Registry | None) -> torch.Tensor | None:
    """Real points of a 2D dataset to draw under the generated ones (None if unavailable)."""
    from gancore.checkpoint import read
    from gancore.plugins import get_registry

    registry = registry or get_registry()
    try:
        spec = dict(read(result.checkpoint, tensors=False).recipe["data"])
        for setting in ("filters", "inject_noise"):  # training-data settings, no parameters
            spec.pop(setting, None)
        entry = registry.get("dataset", spec.pop("type"))
        if "num_samples" in entry.params_model().model_fields:
            spec["num_samples"] = SCATTER_SAMPLES
        return entry.create(**spec).as_tensors()[0]
    except (GancoreError, KeyError, AttributeError, OSError):
        return None


def save_sample_panels(
    results: Sequence[EntryResult], path: Path, registry: Registry | None = None
) -> Path:
    """One panel per entry with its samples (a grid, or a scatter plot for 2D data)."""
    from gancore.train.plots import image_grid

    n = len(results)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = _figure(3.6 * cols, 3.9 * rows)
    for i, r in enumerate(results):
        ax = fig.add_subplot(rows, cols, i + 1)
        x = r.samples
        if x is not None and x.dim() == 4:
            grid = image_grid(x, nrow=8).numpy()
            ax.imshow(grid[:, :, 0] if grid.shape[2] == 1 else grid,
                      cmap="gray" if grid.shape[2] == 1 else None)
            ax.set_xticks([])
            ax.set_yticks([])
        elif x is not None:
            _scatter_2d(ax, x, _reference_points(r, registry))
        ax.set_title(f"{r.entry.name} (step {r.evaluation.get('step')})", fontsize=10)
    fig.tight_layout()
    from gancore.io import save_figure

    return save_figure(fig, path, what="the comparison plot")


def loss_bands_png(results: Sequence[EntryResult]) -> bytes:
    """D and G losses against the step, one colour per variant: the mean over its seeds and a
    band from the lowest to the highest seed (one seed: just its curve). PNG bytes."""
    import io

    fig = _figure(10.0, 4.0)
    panels = {"d_loss": fig.add_subplot(1, 2, 1), "g_loss": fig.add_subplot(1, 2, 2)}
    groups: dict[str, list[EntryResult]] = {}
    for r in results:
        groups.setdefault(r.entry.name, []).append(r)
    several = any(len(g) > 1 for g in groups.values())
    for key, ax in panels.items():
        for name, runs in groups.items():
            curves = [{rec["step"]: float(rec[key]) for rec in r.records
                       if isinstance(rec.get(key), int | float) and "step" in rec
                       and math.isfinite(rec[key])} for r in runs]
            curves = [c for c in curves if c]
            if not curves:
                continue
            steps = sorted(set.intersection(*(set(c) for c in curves)))
            if not steps:
                continue
            mean = [sum(c[x] for c in curves) / len(curves) for x in steps]
            label = f"{name} (mean of {len(curves)})" if len(curves) > 1 else name
            (line,) = ax.plot(steps, mean, label=label)
            if len(curves) > 1:
                ax.fill_between(steps, [min(c[x] for c in curves) for x in steps],
                                [max(c[x] for c in curves) for x in steps],
                                color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(key + (" (band: lowest to highest seed)" if several else ""), fontsize=10)
        ax.set_xlabel("step")
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no training log", ha="center", va="center",
                    transform=ax.transAxes)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def save_loss_overlay(results: Sequence[EntryResult], path: Path) -> Path:
    """D and G losses of every entry against the step (see :func:`loss_bands_png`)."""
    from gancore.io import atomic_write_bytes

    return atomic_write_bytes(path, loss_bands_png(results), what="the comparison plot")


def sample_png(result: EntryResult, registry: Registry | None = None) -> bytes:
    """One run's samples as PNG bytes: an image grid, or a scatter plot for 2D data."""
    import io

    x = result.samples
    buf = io.BytesIO()
    if x is not None and x.dim() == 4:
        from matplotlib import image as mpimg

        from gancore.train.plots import image_grid

        grid = image_grid(x, nrow=8).numpy()
        if grid.shape[2] == 1:
            mpimg.imsave(buf, grid[:, :, 0], cmap="gray", vmin=0, vmax=255, format="png")
        else:
            mpimg.imsave(buf, grid, format="png")
        return buf.getvalue()
    fig = _figure(3.6, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    if x is not None:
        _scatter_2d(ax, x, _reference_points(result, registry))
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()
