"""Train (or load) several recipes under one budget, evaluate them alike, write a comparison.

Each entry trains into ``OUT/<name>/``; a run folder whose ``last.safetensors`` already has the
requested steps (and the same recipe) is loaded instead, and one with fewer steps is resumed.
Existing run folders and checkpoints may be given as entries too. The comparison is
``comparison.md`` and ``comparison.json`` (scores, final and mean losses, images/s, parameter
counts), ``samples.png`` (the sample grids side by side) and ``losses.png`` (the loss curves).
"""

from __future__ import annotations

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
    evaluate_gan,
    has_ema,
    score_keys,
)
from gancore.evaluation.study import Entry, Study, is_study_file, load_study

if TYPE_CHECKING:
    import torch

    from gancore.assembly.build import GAN
    from gancore.registry import Registry

LAST = "last.safetensors"
#: Samples shown per variant in ``samples.png`` (2D data: points in the scatter plot).
GRID_SAMPLES = 64
SCATTER_SAMPLES = 1000
#: Scores kept in the JSON but left out of the tables.
HIDDEN_SCORES = ("d_real_accuracy", "d_fake_accuracy", "modes_total")


@dataclass
class EntryResult:
    """One compared entry: where its run is, whether it was trained now, its scores."""

    entry: Entry
    run: Path
    checkpoint: Path
    trained: bool
    evaluation: dict[str, Any]
    summary: dict[str, Any]
    params: dict[str, int]
    records: list[dict[str, Any]] = field(default_factory=list)
    samples: torch.Tensor | None = None

    @property
    def scores(self) -> dict[str, float]:
        return {k: self.evaluation[k] for k in score_keys(self.evaluation)}

    def as_dict(self) -> dict[str, Any]:
        """The entry's row of ``comparison.json``."""
        return {
            "name": self.entry.name,
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

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.settings,
                "entries": [r.as_dict() for r in self.results]}

    def table(self, compact: bool = False) -> tuple[list[str], list[list[str]]]:
        """Column headers and formatted rows of the Markdown (or compact terminal) table."""
        return comparison_table(self.results, compact)


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
def _stale(last: Path, recipe: str, overrides: list[str], registry: Registry) -> list[str]:
    """Differences between a finished run's recipe and the requested one."""
    from gancore.checkpoint import read
    from gancore.recipe import load_recipe, resolve
    from gancore.train.trainer import recipe_differences

    wanted = resolve(load_recipe(recipe, overrides), registry).to_dict()
    return recipe_differences(read(last, tensors=False).recipe, wanted)


def train_or_load(
    entry: Entry,
    run: Path,
    *,
    steps: int | None,
    overrides: Sequence[str],
    data_root: str | None,
    registry: Registry,
    progress: bool,
    echo: Callable[[str], None],
) -> tuple[Path, bool]:
    """Train ``entry`` into ``run`` unless a finished run is there; ``(checkpoint, trained)``."""
    from gancore.checkpoint import read
    from gancore.recipe import load_recipe
    from gancore.train.trainer import Trainer

    assert entry.recipe is not None
    ovs = [*entry.overrides, *overrides]
    target = steps or load_recipe(entry.recipe, ovs).train.steps
    last = run / LAST
    resume = False
    if last.is_file():
        diffs = _stale(last, entry.recipe, ovs, registry)
        if diffs:
            raise GancoreError(
                f"the run of {entry.name!r} was trained from a different recipe: "
                + "; ".join(diffs[:3]) + (" ..." if len(diffs) > 3 else ""),
                source=str(run), hint="choose another --out, or delete that run folder",
            )
        done = read(last, tensors=False).step
        if done >= target:
            echo(f"{entry.name}: loading the finished run in {run} (step {done})")
            return last, False
        echo(f"{entry.name}: resuming {run} from step {done} to {target}")
        resume = True
    else:
        echo(f"{entry.name}: training {target} steps -> {run}")
    trainer = Trainer(entry.recipe, overrides=ovs, steps=target, out=run, resume=resume,
                      data_root=data_root, registry=registry, progress=progress, echo=echo)
    try:
        result = trainer.fit()
    finally:
        trainer.close()
    return result.checkpoint or last, True


# -- summaries --------------------------------------------------------------------------------
def run_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Final and mean ``d_loss``/``g_loss`` and the images per second of a run's log."""
    out: dict[str, Any] = {}
    for key in ("d_loss", "g_loss"):
        values = [float(r[key]) for r in records
                  if isinstance(r.get(key), int | float) and math.isfinite(r[key])]
        out[f"{key}_final"] = values[-1] if values else None
        out[f"{key}_mean"] = sum(values) / len(values) if values else None
    last = records[-1] if records else {}
    seen, seconds = last.get("images_seen"), last.get("elapsed_s")
    out["images_per_s"] = (
        float(seen) / float(seconds) if isinstance(seen, int | float) and seconds else None
    )
    out["train_seconds"] = float(seconds) if isinstance(seconds, int | float) else None
    return out


def parameter_counts(gan: GAN) -> dict[str, int]:
    """Parameters of the generator and the discriminator."""
    return {
        "generator": sum(p.numel() for p in gan.generator.parameters()),
        "discriminator": sum(p.numel() for p in gan.discriminator.parameters()),
    }


def _records(run: Path) -> list[dict[str, Any]]:
    from gancore.train.runlog import read_metrics

    path = run / "metrics.jsonl"
    return read_metrics(path) if path.is_file() else []


# -- the comparison ---------------------------------------------------------------------------
def compare(
    entries: Sequence[Entry],
    out: str | Path,
    *,
    steps: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    settings: EvalSettings | None = None,
    name: str = "comparison",
    registry: Registry | None = None,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
) -> Comparison:
    """Train or load every entry under the same steps and seed, evaluate alike, write files."""
    from gancore.checkpoint import load
    from gancore.plugins import get_registry
    from gancore.train.sample import sample_images

    registry = registry or get_registry()
    echo = echo or (lambda text: None)
    settings = settings or EvalSettings()
    out = Path(out)
    entries = unique_names(list(entries))
    if not entries:
        raise GancoreError("nothing to compare", hint="give recipes, run folders or a study file")
    from gancore.io import check_writable_dir

    check_writable_dir(out, what="the comparison folder")  # before any training
    shared = [*overrides, *([f"seed={seed}"] if seed is not None else [])]
    results = []
    for entry in entries:
        if entry.run is not None:
            ckpt = checkpoint_path(entry.run)
            run, trained = ckpt.parent, False
        else:
            run = out / entry.name
            ckpt, trained = train_or_load(
                entry, run, steps=steps, overrides=shared, data_root=settings.data_root,
                registry=registry, progress=progress, echo=echo,
            )
        echo(f"{entry.name}: evaluating {ckpt}")
        gan = load(ckpt, registry=registry, ema=True)
        evaluation = {
            "checkpoint": str(ckpt), "step": int(getattr(gan, "step", 0)), "ema": has_ema(ckpt),
            **evaluate_gan(gan, settings, registry=registry),
        }
        shown = GRID_SAMPLES if gan.data.is_image else SCATTER_SAMPLES
        samples, _ = sample_images(gan, shown, seed=settings.seed or 0)
        records = _records(run)
        results.append(EntryResult(entry, run, ckpt, trained, evaluation, run_summary(records),
                                   parameter_counts(gan), records, samples))
    first = results[0].evaluation
    info = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "steps": steps,
        "seed": seed,
        "overrides": list(overrides),
        "num_samples": first.get("num_samples"),
        "extractor": first.get("extractor"),
        "dataset": first.get("dataset"),
        "split": first.get("split"),
        "eval_seed": first.get("seed"),
    }
    comparison = Comparison(name, out, results, info)
    write_outputs(comparison, registry)
    return comparison


def write_outputs(comparison: Comparison, registry: Registry | None = None) -> dict[str, Path]:
    """Write ``comparison.md``, ``comparison.json``, ``samples.png`` and ``losses.png``."""
    from gancore.io import atomic_write_text

    out = comparison.out
    files = {
        "json": out / "comparison.json",
        "markdown": out / "comparison.md",
        "samples": out / "samples.png",
        "losses": out / "losses.png",
    }
    atomic_write_text(
        files["json"],
        json.dumps(comparison.as_dict(), indent=2, default=_json_default) + "\n",
        what="the comparison (JSON)",
    )
    atomic_write_text(files["markdown"], markdown(comparison), what="the comparison table")
    save_sample_panels(comparison.results, files["samples"], registry)
    save_loss_overlay(comparison.results, files["losses"])
    comparison.files = files
    return files


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


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
    """Headers and rows: variant, step, scores, losses (final / mean), images/s, parameters.

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
            r.entry.name,
            fmt(s.get("step")),
            *[fn(scores) for _, fn in columns],
            f"{fmt(summary['d_loss_final'], digits)}{sep}{fmt(summary['d_loss_mean'], digits)}",
            f"{fmt(summary['g_loss_final'], digits)}{sep}{fmt(summary['g_loss_mean'], digits)}",
            fmt(summary["images_per_s"], digits),
            f"{count(r.params['generator'])}{sep.replace('/', '+')}"
            f"{count(r.params['discriminator'])}",
        ])
    return headers, rows


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


def markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown document."""
    headers, rows = comparison.table()
    s = comparison.settings
    lines = [f"# {comparison.name}", ""]
    budget = f"{s['steps']} steps each" if s["steps"] else "each recipe's own train.steps"
    seed = f", seed {s['seed']}" if s["seed"] is not None else ""
    lines.append(f"Training budget: {budget}{seed}. {describe_settings(comparison)}")
    if s["extractor"] and s["extractor"] != "inception":
        lines.append("")
        lines.append(f"Scores marked `/{s['extractor']}` use that extractor's features; they are "
                     "not comparable with Inception-based values.")
    lines += ["", "| " + " | ".join(headers) + " |",
              "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    lines += ["", "Variants:", ""]
    for r in comparison.results:
        what = r.entry.recipe or str(r.entry.run)
        sets = f" with `{'`, `'.join(r.entry.overrides)}`" if r.entry.overrides else ""
        note = f" — {r.entry.description}" if r.entry.description else ""
        lines.append(f"- **{r.entry.name}**: `{what}`{sets}{note} (run: `{r.run}`)")
    lines += ["", "![samples](samples.png)", "", "![losses](losses.png)", ""]
    return "\n".join(lines)


# -- pictures ---------------------------------------------------------------------------------
def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _reference_points(result: EntryResult, registry: Registry | None) -> torch.Tensor | None:
    """Real points of a 2D dataset to draw under the generated ones (None if unavailable)."""
    from gancore.checkpoint import read
    from gancore.plugins import get_registry

    registry = registry or get_registry()
    try:
        spec = dict(read(result.checkpoint, tensors=False).recipe["data"])
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
            ref = _reference_points(r, registry)
            if ref is not None:
                ax.scatter(ref[:, 0], ref[:, 1], s=2, c="#bbbbbb")
            ax.scatter(x[:, 0], x[:, 1], s=2, c="#1f77b4")
            ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(f"{r.entry.name} (step {r.evaluation.get('step')})", fontsize=10)
    fig.tight_layout()
    from gancore.io import save_figure

    return save_figure(fig, path, what="the comparison plot")


def save_loss_overlay(results: Sequence[EntryResult], path: Path) -> Path:
    """D and G losses of every entry against the step, overlaid (one panel each)."""
    fig = _figure(10.0, 4.0)
    panels = {"d_loss": fig.add_subplot(1, 2, 1), "g_loss": fig.add_subplot(1, 2, 2)}
    for key, ax in panels.items():
        for r in results:
            points = [(rec["step"], rec[key]) for rec in r.records
                      if isinstance(rec.get(key), int | float) and "step" in rec]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], label=r.entry.name)
        ax.set_title(key)
        ax.set_xlabel("step")
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no training log", ha="center", va="center",
                    transform=ax.transAxes)
    fig.tight_layout()
    from gancore.io import save_figure

    return save_figure(fig, path, what="the comparison plot")
