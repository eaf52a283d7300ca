"""Plan: a study's entries checked (every recipe, override and metric, before anything is
trained), its runs laid out (one per entry and seed, with their folders and order) and the
runs already finished found."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.evaluation.during_training import BEST
from gancore.evaluation.evaluator import EvalSettings, checkpoint_path
from gancore.evaluation.runs import (
    LAST,
    RunSpec,
    Task,
    checkpoint_of,
    eval_key,
    fingerprint,
    stale,
    stale_error,
)
from gancore.evaluation.study import Entry, Study, is_study_file, load_study

if TYPE_CHECKING:
    from gancore.core.registry import Registry


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
                path.parent.name if path.name == LAST
                else f"{path.parent.name}-best" if path.name == BEST else path.stem)
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


# -- checking everything before training anything -----------------------------------------------
def pick_baseline(entries: Sequence[Entry], baseline: str | None,
                  source: str | None = None) -> str:
    """The baseline entry's name: ``baseline`` (which must be an entry) or the first one
    (``[pretrain]`` runs are not compared, so never the baseline)."""
    names = [e.name for e in entries if not e.train_only]
    if baseline is None:
        return names[0]
    if baseline not in names:
        from gancore.core.errors import suggest

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
    from gancore.core.errors import RecipeError

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
    allow_mixed_data: bool = False,
) -> dict[str, dict[str, Any]]:
    """Resolve and build every entry's recipe, check the metrics, the extractor, that the
    variants differ and that they train and are scored on one data set (unless
    ``allow_mixed_data``), all before any training; returns name -> resolved recipe (as a
    dict)."""
    from gancore.assembly.build import build
    from gancore.core.refs import as_spec
    from gancore.evaluation.evaluator import metric_names
    from gancore.recipe import load_recipe, resolve
    from gancore.recipe.diff import recipe_differences

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
        own = entry.steps or steps
        ovs = [*entry.overrides, *overrides, *_seed_overrides(seed),
               *([f"train.steps={own}"] if own else [])]
        try:
            recipe = resolve(load_recipe(entry.recipe, ovs), registry)
            gan = build(recipe, registry=registry)
            if not entry.train_only:
                specs = metric_names(settings.metrics, recipe.eval.metrics, gan.data.is_image)
                for spec in specs:
                    registry.get("metric", spec, key="--metrics" if settings.metrics
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
            registry.get("feature_extractor", ext, key="--extractor")
    by_name = {e.name: e for e in entries}
    names = [n for n in resolved if not by_name[n].train_only]
    if not allow_mixed_data:
        check_same_data(entries, resolved, settings, study)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if by_name[a].init_from != by_name[b].init_from:
                continue  # the same recipe from other starting weights
            if resolved[a]["train"]["steps"] != resolved[b]["train"]["steps"]:
                continue  # the same recipe at another budget (a variant's own steps)
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


def _compared_recipes(entries: Sequence[Entry],
                      resolved: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Name -> recipe of every compared entry (an existing run's from its checkpoint)."""
    from gancore.assembly.checkpoint import read

    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.train_only:
            continue
        if entry.name in resolved:
            out[entry.name] = resolved[entry.name]
        elif entry.run is not None:
            out[entry.name] = read(checkpoint_path(entry.run), tensors=False).recipe
    return out


def check_same_data(entries: Sequence[Entry], resolved: dict[str, dict[str, Any]],
                    settings: EvalSettings, study: Study | None = None) -> None:
    """Refuse compared entries that train or are scored on different data (data set, image
    size, split, limit, generated sample count or data seed), or are scored on different
    sample counts, naming each entry's data and the setting that aligns them."""
    from gancore.recipe.data_identity import align_setting, data_identity, describe_data

    recipes = _compared_recipes(entries, resolved)
    if len(recipes) < 2:
        return
    names = list(recipes)
    first = names[0]
    source = str(study.path) if study is not None else None
    if len({repr(sorted(data_identity(r).items())) for r in recipes.values()}) > 1:
        listing = "; ".join(f"{n}: {describe_data(r)}" for n, r in recipes.items())
        fix = align_setting(recipes[first])
        if study is not None:
            how = (f"add '{fix}' to set = [...] in [study] (shared by every variant)")
            allow = "set allow_mixed_data = true in [study]"
        else:
            how = f"add --set '{fix}'"
            allow = "add --allow-mixed-data"
        raise GancoreError(
            f"the compared {'variants' if study else 'entries'} train and are scored on "
            f"different data ({listing}), so their scores are not comparable",
            source=source, key="study.set" if study is not None else "data",
            hint=f"give them one data set: {how} to use {first}'s data "
                 f"({describe_data(recipes[first])}) everywhere; to compare across data sets "
                 f"on purpose, {allow}")
    if settings.num_samples is None:
        counts = {n: int((r.get("eval") or {}).get("num_samples") or 0)
                  for n, r in recipes.items()}
        if len(set(counts.values())) > 1:
            listing = ", ".join(f"{n}: {c:,}" for n, c in counts.items())
            raise GancoreError(
                f"the compared recipes are scored on different sample counts ({listing}); "
                "FID and KID depend on the sample count", source=source,
                key="study.num_samples" if study is not None else "eval.num_samples",
                hint=(f"give num_samples = {counts[first]} in [study]" if study is not None
                      else f"give -n {counts[first]} (or --set eval.num_samples="
                           f"{counts[first]})")
                + (", or allow_mixed_data = true in [study]" if study is not None
                   else ", or --allow-mixed-data"))


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
            from gancore.core.errors import suggest

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
    overrides: Sequence[str], recipes: dict[str, dict[str, Any]],
) -> list[RunSpec]:
    """One :class:`RunSpec` per entry and seed (an existing run or checkpoint: one, as it is),
    each trained to its resolved recipe's ``train.steps`` (:func:`validate` sets the study's,
    the command line's or the variant's own there)."""
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
            target = int(recipes[entry.name]["train"]["steps"])
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
