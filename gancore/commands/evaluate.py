"""``gancore eval`` and ``gancore compare``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from gancore.commands.common import console, err_console, registry

if TYPE_CHECKING:
    from gancore.evaluation.evaluator import EvalSettings

MetricsOption = Annotated[
    str | None,
    typer.Option("--metrics", "-m",
                 help="comma-separated metrics: fid,kid,is,pr,dc,f1,modes,class_coverage "
                 "(default: the recipe's \\[eval].metrics)"),
]
SamplesOption = Annotated[
    int | None,
    typer.Option("--num-samples", "-n", help="generated (and real) samples (default: recipe's)"),
]
ExtractorOption = Annotated[
    str | None,
    typer.Option("--extractor",
                 help="features: auto, inception, classifier or raw (default: recipe's, auto)"),
]
WeightsOption = Annotated[
    str | None,
    typer.Option("--inception-weights", metavar="FILE",
                 help="FID Inception-v3 weights file (else $GANCORE_INCEPTION_WEIGHTS)"),
]
SeedOption = Annotated[int | None, typer.Option("--seed", help="evaluation seed")]
DataRootOption = Annotated[
    str | None, typer.Option("--data-root", help="folder holding the dataset's files")
]


_SHORT = {"precision": "prec", "recall": "rec", "d_accuracy": "d_acc", "density": "dens",
          "coverage": "cov", "high_quality_pct": "hq%"}


def _settings(metrics: str | None, n: int | None, extractor: str | None, weights: str | None,
              seed: int | None, data_root: str | None, progress: bool) -> EvalSettings:
    from gancore.evaluation.evaluator import EvalSettings, parse_metrics

    if weights is not None and not Path(weights).expanduser().is_file():
        from gancore.metrics.inception import missing_weights_error

        raise missing_weights_error(f"the file {weights!r} does not exist")
    return EvalSettings(metrics=parse_metrics(metrics), num_samples=n, extractor=extractor,
                        inception_weights=weights, seed=seed, data_root=data_root,
                        progress=progress)


def _source(key: str) -> str:
    base, _, ext = key.partition("/")
    if ext:
        return ext
    if base.startswith("d_"):
        return "discriminator"
    if base.startswith(("modes", "high_quality")):
        return "raw samples"
    return "-"


def eval_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="a .safetensors checkpoint or a run folder")],
    metrics: MetricsOption = None,
    num_samples: SamplesOption = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="also write the scores as JSON")
    ] = None,
    extractor: ExtractorOption = None,
    inception_weights: WeightsOption = None,
    seed: SeedOption = None,
    data_root: DataRootOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Score CHECKPOINT (EMA weights when present) against its recipe's real data."""
    from gancore.evaluation.compare import fmt
    from gancore.evaluation.evaluator import evaluate_checkpoint, score_keys

    if json_file is not None:
        from gancore.io import check_writable

        check_writable(json_file, what="the --json file")  # before computing any score
    settings = _settings(metrics, num_samples, extractor, inception_weights, seed, data_root,
                         not quiet)
    result = evaluate_checkpoint(checkpoint, settings, registry=registry())
    weights = "EMA" if result["ema"] else "raw"
    held = "held-out " if result["held_out"] else ""
    table = Table(
        title=f"{result['recipe'] or checkpoint} step {result['step']} ({weights} G weights)",
        title_justify="left",
    )
    table.add_column("score")
    table.add_column("value", justify="right")
    table.add_column("features from")
    for key in score_keys(result):
        table.add_row(key.partition("/")[0], fmt(result[key]), _source(key))
    console.print(table)
    console.print(
        f"{result['num_samples']:,} generated vs {result['num_real']:,} {held}real samples of "
        f"{result['dataset']} ({result['split']} split); extractor: "
        f"{result['extractor'] or 'none'}", highlight=False,
    )
    if "extractor_accuracy" in result:
        console.print(f"{result['extractor']} accuracy on held-out training images: "
                      f"{result['extractor_accuracy']:.3f}", highlight=False)
    if json_file is not None:
        from gancore.io import atomic_write_text

        atomic_write_text(json_file, json.dumps(result, indent=2) + "\n",
                          what="the --json file")
        console.print(f"wrote {json_file}")


def compare_cmd(
    sources: Annotated[
        list[str],
        typer.Argument(metavar="RECIPE_OR_STUDY...",
                       help="recipes, run folders, checkpoints, or one study .toml file"),
    ],
    steps: Annotated[
        int | None, typer.Option("--steps", help="generator updates of every entry")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="override a key of every recipe (repeatable)"),
    ] = None,
    metrics: MetricsOption = None,
    num_samples: SamplesOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o",
                     help="output folder (default: runs/<study> or runs/compare-<time>)"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="training and evaluation seed of every entry")
    ] = None,
    extractor: ExtractorOption = None,
    inception_weights: WeightsOption = None,
    data_root: DataRootOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Train (or load) each recipe under the same budget and seed, evaluate, compare."""
    from gancore.evaluation.compare import compare, entries_from_args

    entries, study = entries_from_args(sources)
    meta = study.meta if study is not None else None
    if meta is not None:
        steps = steps if steps is not None else meta.steps
        seed = seed if seed is not None else meta.seed
        num_samples = num_samples if num_samples is not None else meta.num_samples
        if metrics is None and meta.metrics:
            metrics = ",".join(meta.metrics)
    if out is None:
        out = Path("runs") / (study.name if study else f"compare-{time.strftime('%Y%m%d-%H%M%S')}")
    from gancore.io import check_writable_dir

    check_writable_dir(out, what="the comparison folder")  # before training anything
    settings = _settings(metrics, num_samples, extractor, inception_weights, seed, data_root,
                         not quiet)
    name = study.name if study else "comparison"
    err_console.print(f"comparing {len(entries)} entries -> {out}", highlight=False)
    result = compare(
        entries, out, steps=steps, seed=seed, overrides=overrides or [], settings=settings,
        name=name, registry=registry(), progress=not quiet,
        echo=lambda text: err_console.print(text, markup=False, highlight=False),
    )
    print_comparison(result)


def print_comparison(comparison: Any) -> None:
    """The comparison table and the files written."""
    from gancore.evaluation.compare import describe_settings

    headers, rows = comparison.table(compact=True)
    extractor = comparison.settings.get("extractor")
    table = Table(title=comparison.name, title_justify="left", box=box.SIMPLE_HEAD)
    for i, header in enumerate(headers):
        short = header.removesuffix(f"/{extractor}") if extractor else header
        short = short.replace(" final / mean", "").replace("params G + D", "params G+D")
        short = _SHORT.get(short, short)
        width = max([len(short), *(len(row[i]) for row in rows)])
        table.add_column(short, justify="left" if i == 0 else "right", no_wrap=True,
                         min_width=width)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(describe_settings(comparison).replace("`", "")
                  + " Losses: final/mean over the run's log.", highlight=False)
    files = ", ".join(str(p) for p in comparison.files.values())
    console.print(f"[green]wrote[/] {files}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``eval`` and ``compare`` to the CLI."""
    app.command("eval")(eval_cmd)
    app.command("compare")(compare_cmd)
