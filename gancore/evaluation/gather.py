"""Gather: the finished runs of a study into one :class:`Comparison` (scores, logs, samples,
statistics over seeds, recipe differences), which every output is rendered from."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.evaluation.evaluator import EvalSettings, score_keys
from gancore.evaluation.runs import RunSpec, parameter_counts, read_records, run_summary
from gancore.evaluation.stats import StudyStats, study_stats
from gancore.evaluation.study import Entry, Study

if TYPE_CHECKING:
    import torch

    from gancore.core.registry import Registry

#: Samples kept per run (2D data: points in the scatter plot).
GRID_SAMPLES = 64
SCATTER_SAMPLES = 1000


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
    #: real points of 2D data, drawn under the samples (None for images)
    reference: torch.Tensor | None = None
    #: the run's loss type (``recipe.loss.type``; its family sets the scale of its losses)
    loss: str = ""

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
            "weights": "EMA" if self.evaluation.get("ema") else "raw",
            "weights_note": self.evaluation.get("weights_note"),
            "scores": self.scores,
            **self.summary,
            "params_generator": self.params["generator"],
            "params_discriminator": self.params["discriminator"],
        }


@dataclass
class Comparison:
    """A study's results: every run's scores, logs and samples, the statistics over seeds, the
    recipe differences and the failures. Every output is rendered from it alone
    (:mod:`gancore.evaluation.render`)."""

    name: str
    out: Path
    results: list[EntryResult]
    settings: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    stats: StudyStats | None = None
    diffs: dict[str, list[str]] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: variant -> its resolved recipe (as a dict), for the band checks
    recipes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(r.entry.name for r in self.results))

    @property
    def multi_seed(self) -> bool:
        return bool(self.settings.get("seeds")) and len(self.settings["seeds"]) > 1

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.settings,
                "statistics": self.stats.as_dict() if self.stats else None,
                "published": self.published(),
                "differences": self.diffs,
                "failed": self.failed,
                "entries": [r.as_dict() for r in self.results]}

    def table(self, compact: bool = False) -> tuple[list[str], list[list[str]]]:
        """Column headers and formatted rows of the per-run (Markdown or terminal) table."""
        from gancore.evaluation.tables import comparison_table

        return comparison_table(self.results, compact)

    def stats_table(self, compact: bool = False) -> tuple[list[str], list[list[str]]]:
        """Headers and rows of the table over seeds (one row per variant and quantity)."""
        from gancore.evaluation.tables import statistics_table

        return statistics_table(self, compact)

    def first_runs(self) -> list[EntryResult]:
        """The first run of each variant."""
        return first_runs(self.results)

    def published(self) -> list[dict[str, Any]]:
        """Per variant with a ``published`` direction: it beside the measured verdict."""
        from gancore.evaluation.tables import published_rows

        return published_rows(self)




def gather(
    specs: Sequence[RunSpec], states: dict[str, dict[str, Any]], *, name: str, out: Path,
    steps: int | None, seed: int | None, seeds: Sequence[int] | None, baseline: str,
    overrides: Sequence[str], recipes: dict[str, dict[str, Any]], settings: EvalSettings,
    registry: Registry, entries: Sequence[Entry], study: Study | None = None,
) -> Comparison:
    """The :class:`Comparison` of the finished runs: results, statistics, recipe differences."""
    from gancore.assembly.checkpoint import load
    from gancore.recipe.diff import recipe_differences
    from gancore.train.sample import sample_images

    by_name = {e.name: e for e in entries}
    results = []
    for spec in specs:
        state = states.get(spec.id)
        if not state or state.get("status") != "done" or not spec.evaluate:
            continue
        ckpt = Path(state["checkpoint"])
        gan = load(ckpt, registry=registry, ema=bool(state["evaluation"].get("ema")))
        shown = GRID_SAMPLES if gan.data.is_image else SCATTER_SAMPLES
        samples, _ = sample_images(gan, shown, seed=settings.seed or 0)
        run = spec.run if spec.recipe is not None else ckpt.parent
        entry = by_name[spec.variant]
        results.append(EntryResult(
            entry, run, ckpt, bool(state.get("trained")), state["evaluation"],
            state.get("summary") or run_summary(read_records(run)),
            state.get("params") or parameter_counts(gan), read_records(run), samples,
            seed=spec.seed, run_id=spec.id,
            reference=None if gan.data.is_image else reference_points(ckpt, registry),
            loss=gan.recipe.loss.type,
        ))
    variants = list(dict.fromkeys(s.variant for s in specs if s.evaluate))
    by_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for r in results:
        by_variant[r.entry.name].append(
            {**r.scores, **{k: r.summary.get(k) for k in ("d_loss_final", "d_loss_mean",
                                                          "g_loss_final", "g_loss_mean")}})
    by_variant = {v: rows for v, rows in by_variant.items() if rows}
    stats = study_stats(by_variant, baseline, len(seeds) if seeds else 1,
                        against={e.name: e.against for e in entries if e.against})
    diffs = {}  # each variant against the variant it is tested against
    for v, recipe in recipes.items():
        ref = stats.reference(v)
        if v != baseline and not by_name[v].train_only and ref in recipes:
            diffs[v] = recipe_differences(recipes[ref], recipe)
            if by_name[v].init_from != by_name[ref].init_from:
                start = by_name[v].init_from
                diffs[v].insert(0, f"starts from the final checkpoint of {start!r}"
                                if start else "starts from scratch")
            mine, theirs = recipe["train"]["steps"], recipes[ref]["train"]["steps"]
            if (by_name[v].steps or by_name[ref].steps) and mine != theirs:
                diffs[v].insert(0, f"train.steps: {theirs} -> {mine} (its own budget)")
    first = results[0].evaluation if results else {}
    info = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "steps": steps,
        "variant_steps": {e.name: e.steps for e in entries if e.steps and not e.train_only},
        "seed": seed,
        "seeds": list(seeds) if seeds else None,
        "baseline": baseline,
        "overrides": list(overrides),
        "num_samples": first.get("num_samples"),
        "extractor": first.get("extractor"),
        "dataset": first.get("dataset"),
        "split": first.get("split"),
        "eval_seed": first.get("seed"),
        "ema": settings.ema,
        "reference": first.get("reference") or {},
        "reference_set": first.get("reference_set"),
        "study": str(study.path) if study is not None else None,
        "description": study.meta.description if study is not None else "",
    }
    failed = [{"id": s.id, "error": states.get(s.id, {}).get("error")}
              for s in specs if states.get(s.id, {}).get("status") != "done"]
    return Comparison(name, out, results, info, stats=stats, diffs=diffs, failed=failed,
                      recipes=dict(recipes))



def first_runs(results: Sequence[EntryResult]) -> list[EntryResult]:
    """The first run of each variant."""
    seen: dict[str, EntryResult] = {}
    for r in results:
        seen.setdefault(r.entry.name, r)
    return list(seen.values())



def reference_points(checkpoint: Path, registry: Registry) -> torch.Tensor | None:
    """Real points of a 2D dataset to draw under the generated ones (None if unavailable)."""
    from gancore.assembly.checkpoint import read

    try:
        spec = dict(read(checkpoint, tensors=False).recipe["data"])
        for setting in ("filters", "inject_noise"):  # training-data settings, no parameters
            spec.pop(setting, None)
        entry = registry.get("dataset", spec.pop("type"))
        if "num_samples" in entry.params_model().model_fields:
            spec["num_samples"] = SCATTER_SAMPLES
        return entry.create(**spec).as_tensors()[0]
    except (GancoreError, KeyError, AttributeError, OSError):
        return None


