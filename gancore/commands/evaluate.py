"""``gancore eval`` and ``gancore compare``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

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
NoEmaOption = Annotated[
    bool, typer.Option("--no-ema", help="score the raw generator weights, not the EMA copy "
                       "(an EMA younger than its horizon 1/(1-decay) is never scored)")
]


_SHORT = {"precision": "prec", "recall": "rec", "d_accuracy": "d_acc", "density": "dens",
          "coverage": "cov", "high_quality_pct": "hq%"}


def _settings(metrics: str | None, n: int | None, extractor: str | None, weights: str | None,
              seed: int | None, data_root: str | None, progress: bool,
              ema: bool = True) -> EvalSettings:
    from gancore.evaluation.evaluator import EvalSettings, parse_metrics

    if weights is not None and not Path(weights).expanduser().is_file():
        from gancore.metrics.inception import missing_weights_error

        raise missing_weights_error(f"the file {weights!r} does not exist")
    return EvalSettings(metrics=parse_metrics(metrics), num_samples=n, extractor=extractor,
                        inception_weights=weights, seed=seed, data_root=data_root,
                        progress=progress, ema=ema)


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
    no_ema: NoEmaOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    best: Annotated[bool, typer.Option(
        "--best", help="the run folder's best.safetensors (kept by train.keep_best)")] = False,
) -> None:
    """Score CHECKPOINT against its recipe's real data (its EMA generator weights when it keeps
    them and they have seen their horizon of updates, else the raw weights; the table says
    which)."""
    from gancore.evaluation.evaluator import evaluate_checkpoint, score_keys
    from gancore.evaluation.tables import fmt, weights_label

    if json_file is not None:
        from gancore.storage.io import check_writable

        check_writable(json_file, what="the --json file")  # before computing any score
    settings = _settings(metrics, num_samples, extractor, inception_weights, seed, data_root,
                         not quiet, ema=not no_ema)
    result = evaluate_checkpoint(checkpoint, settings, registry=registry(), best=best)
    weights = weights_label(result)
    for note in [result.get("weights_note"), *result.get("notes", [])]:
        if note:
            err_console.print(f"note: {note}", highlight=False, markup=False)
    held = "held-out " if result["held_out"] else ""
    table = Table(
        title=f"{result['recipe'] or checkpoint} step {result['step']} ({weights} G weights)",
        title_justify="left",
    )
    reference = result.get("reference") or {}
    table.add_column("score")
    table.add_column("value", justify="right")
    if reference:
        table.add_column("real vs real", justify="right")
    table.add_column("features from")
    for key in score_keys(result):
        ref = [fmt(reference.get(key))] if reference else []
        table.add_row(key.partition("/")[0], fmt(result[key]), *ref, _source(key))
    console.print(table)
    console.print(
        f"{result['num_samples']:,} generated vs {result['num_real']:,} {held}real samples of "
        f"{result['dataset']} ({result['split']} split); extractor: "
        f"{result['extractor'] or 'none'}", highlight=False,
    )
    if reference:
        console.print(f"real vs real: the same metrics on {result['num_samples']:,} "
                      f"{result['reference_set']} images in place of the generated ones (the "
                      "floor of FID/KID, the ceiling of precision/recall/coverage)",
                      highlight=False)
    from gancore.metrics.scores import unit_legend

    console.print(unit_legend(score_keys(result), result["extractor"]), highlight=False)
    if "extractor_accuracy" in result:
        console.print(f"{result['extractor']} accuracy on held-out training images: "
                      f"{result['extractor_accuracy']:.3f}", highlight=False)
    if json_file is not None:
        from gancore.storage.io import atomic_write_text

        atomic_write_text(json_file, json.dumps(result, indent=2) + "\n",
                          what="the --json file")
        console.print(f"wrote {json_file}")


def compare_cmd(
    sources: Annotated[
        list[str] | None,
        typer.Argument(metavar="RECIPE_OR_STUDY...",
                       help="recipes, run folders, checkpoints, or one study .toml file"),
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", help="generator updates of every entry (in place "
                                   "of the study's; a variant's own steps scale with it)")
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
        int | None, typer.Option("--seed", help="training and evaluation seed of every entry "
                                 "(with --seeds: the evaluation seed)")
    ] = None,
    seeds: Annotated[
        int | None, typer.Option("--seeds", metavar="N",
                                 help="train every entry under seeds 0..N-1 and report means, "
                                 "95% intervals and tests against the baseline")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="entry the others are tested against "
                                 "(default: the study's baseline, else the first)")
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="where runs train: local or slurm")
    ] = "local",
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="local executor: training runs at once")
    ] = 1,
    partition: Annotated[
        str | None, typer.Option("--partition", help="slurm: partition", rich_help_panel="Slurm")
    ] = None,
    gpus: Annotated[
        int | None, typer.Option("--gpus", help="slurm: GPUs per task", rich_help_panel="Slurm")
    ] = None,
    cpus: Annotated[
        int | None, typer.Option("--cpus", help="slurm: CPUs per task", rich_help_panel="Slurm")
    ] = None,
    time_min: Annotated[
        int | None, typer.Option("--time", metavar="MINUTES", help="slurm: time limit per task",
                                 rich_help_panel="Slurm")
    ] = None,
    parallelism: Annotated[
        int | None, typer.Option("--parallelism", help="slurm: array tasks running at once",
                                 rich_help_panel="Slurm")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", hidden=True,
                                 help="submitit cluster: slurm, local or debug (tests)")
    ] = None,
    status: Annotated[
        Path | None, typer.Option("--status", metavar="DIR",
                                  help="print the state of each run of a study folder and exit")
    ] = None,
    extractor: ExtractorOption = None,
    inception_weights: WeightsOption = None,
    data_root: DataRootOption = None,
    check: Annotated[
        bool, typer.Option("--check", help="say per variant whether it scores inside the band "
                           "its \\[expect] table records; exit 1 when one is not")
    ] = False,
    record_bands: Annotated[
        bool, typer.Option("--record-bands", help="write each variant's band into the study "
                           "file from its finished seeds (3 or more)")
    ] = False,
    no_ema: NoEmaOption = False,
    allow_mixed_data: Annotated[
        bool, typer.Option("--allow-mixed-data",
                           help="compare entries that train or are scored on different data "
                           "(refused by default)")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Train (or load) each recipe under the same budget and seeds, evaluate, compare.

    With --check, then say per variant whether it scores inside its band (exit 1 when one is
    not); with --record-bands, write the bands of the finished runs into the study file."""
    from gancore.core.errors import GancoreError
    from gancore.evaluation.compare import compare, entries_from_args
    from gancore.evaluation.runs import StudyFailed

    if status is not None:
        if sources:
            raise GancoreError("--status takes only the study folder", key="--status",
                               hint="gancore compare --status runs/losses")
        print_status(status)
        return
    entries, study = entries_from_args(sources or [])
    meta = study.meta if study is not None else None
    seed_list = _seed_list(seeds, meta, study)
    if record_bands:
        _check_recordable(study, seed_list)
    if steps is not None:
        _scale_own_steps(entries, steps, meta.steps if meta is not None else None)
    if meta is not None:
        steps = steps if steps is not None else meta.steps
        seed = seed if seed is not None else meta.seed
        num_samples = num_samples if num_samples is not None else meta.num_samples
        if metrics is None and meta.metrics:
            metrics = ",".join(meta.metrics)
        baseline = baseline if baseline is not None else meta.baseline
        no_ema = no_ema or not meta.ema
    if out is None:
        out = Path("runs") / (study.name if study else f"compare-{time.strftime('%Y%m%d-%H%M%S')}")
    from gancore.storage.io import check_writable_dir

    check_writable_dir(out, what="the comparison folder")  # before training anything
    settings = _settings(metrics, num_samples, extractor, inception_weights, seed, data_root,
                         not quiet, ema=not no_ema)
    echo = lambda text: err_console.print(text, markup=False, highlight=False)  # noqa: E731
    runner = make_executor(executor, jobs, out, echo=echo, partition=partition, gpus=gpus,
                           cpus=cpus, time_min=time_min, parallelism=parallelism,
                           cluster=cluster)
    name = study.name if study else "comparison"
    runs = len(entries) * (len(seed_list) if seed_list else 1)
    err_console.print(f"comparing {len(entries)} entries ({runs} runs) -> {out}",
                      highlight=False)
    try:
        result = compare(
            entries, out, steps=steps, seed=seed, seeds=seed_list, baseline=baseline,
            overrides=overrides or [], settings=settings, name=name, registry=registry(),
            progress=not quiet and jobs == 1 and executor == "local", echo=echo,
            executor=runner, study=study, allow_mixed_data=allow_mixed_data,
        )
    except StudyFailed as exc:
        partial = getattr(exc, "comparison", None)
        if partial is not None and partial.results:
            print_comparison(partial)
            if check:
                _check(partial, study)
        raise
    print_comparison(result)
    if record_bands:
        _record(result, study, sources or [])
    if check and not _check(result, study):
        raise typer.Exit(1)


def _scale_own_steps(entries: list[Any], steps: int, study_steps: int | None) -> None:
    """``--steps`` changes every entry's budget: a variant's own ``steps`` in proportion to the
    study's (an equal-wall-time variant stays one), else it is replaced; either is said."""
    for entry in entries:
        if entry.steps is None:
            continue
        own = entry.steps
        if study_steps:
            entry.steps = max(1, round(own * steps / study_steps))
            how = f"its own {own} scaled as --steps {steps} is to the study's {study_steps}"
        else:
            entry.steps = steps
            how = f"--steps {steps} in place of its own {own}"
        if entry.steps != own:
            err_console.print(f"note: variant {entry.name} trains {entry.steps} steps ({how})",
                              highlight=False)


def _check_recordable(study: Any, seed_list: list[int] | None) -> None:
    """Refuse ``--record-bands`` before training: a study file, 3 seeds or more."""
    from gancore.core.errors import GancoreError
    from gancore.evaluation.bands import MIN_SEEDS

    if study is None:
        raise GancoreError("--record-bands writes into a study file", key="--record-bands",
                           hint="give one study .toml file (a recipe's [expect] is written "
                                "by hand from a study's bands)")
    if not seed_list or len(seed_list) < MIN_SEEDS:
        raise GancoreError(
            f"a band is recorded from {MIN_SEEDS} seeds or more (got "
            f"{len(seed_list) if seed_list else 1})", source=str(study.path), key="study.seeds",
            hint=f"set seeds = [0, 1, 2] in the study file, or pass --seeds {MIN_SEEDS}")


def _record(comparison: Any, study: Any, sources: list[str]) -> None:
    """Write the bands of the finished runs into the study file and show them."""
    from gancore.evaluation.bands import record_bands, write_bands
    from gancore.evaluation.tables import fmt

    bands = record_bands(comparison, study,
                         command="gancore compare " + " ".join(sources) + " --record-bands")
    write_bands(study.path, bands)
    for name, band in bands.items():
        console.print(f"{name}: {band.metric} band [{fmt(band.low)}, {fmt(band.high)}] "
                      f"({band.steps} steps, seeds {band.seeds})", highlight=False)
    console.print(f"[green]wrote[/] the bands of {len(bands)} variants into {study.path}",
                  highlight=False)


def _check(comparison: Any, study: Any) -> bool:
    """Print each variant's band check, write ``bands.json``; whether all banded are inside."""
    from gancore.evaluation.bands import INSIDE, NO_BAND, OUTSIDE, check_bands, passed
    from gancore.evaluation.tables import fmt
    from gancore.storage.io import atomic_write_text

    checks = check_bands(comparison, study)
    ok = passed(checks)
    atomic_write_text(comparison.out / "bands.json", json.dumps(
        {"passed": ok, "variants": [c.as_dict() for c in checks]}, indent=2) + "\n",
        what="the band check")
    table = Table(title=f"{comparison.name}: expected bands", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for header in ("variant", "band", "metric", "mean", "interval"):
        table.add_column(header)
    colours = {INSIDE: "green", OUTSIDE: "red", NO_BAND: "dim"}
    for c in checks:
        interval = "-" if c.low is None else f"[{fmt(c.low)}, {fmt(c.high)}]"
        table.add_row(c.variant, f"[{colours.get(c.status, 'yellow')}]{c.status}[/]",
                      (c.metric or "-").partition("/")[0], fmt(c.mean), interval)
    console.print(table)
    keys = sorted({c.metric for c in checks if c.metric and "/" in c.metric})
    if keys:  # the full score keys once, not in a column that would not fit 80 columns
        console.print("scores: " + ", ".join(keys), highlight=False)
    for c in checks:  # each detail as a paragraph below the table, wrapped, never cut
        if c.detail:
            console.print(f"  {c.variant}: {c.detail}", highlight=False)
    banded = [c for c in checks if c.status != NO_BAND]
    if not banded:
        console.print("no variant records a band: nothing to check", highlight=False)
    else:
        inside = sum(c.status == INSIDE for c in banded)
        console.print(f"{inside} of {len(banded)} banded variants inside their bands"
                      + ("" if ok else ": check failed"), highlight=False)
    return ok


def _seed_list(seeds: int | None, meta: Any, study: Any) -> list[int] | None:
    """The seeds to run: ``--seeds N`` (0..N-1) or the study's ``seeds``; never both."""
    from gancore.core.errors import GancoreError

    if seeds is not None and seeds < 1:
        raise GancoreError(f"--seeds must be 1 or more (got {seeds})", key="--seeds",
                           hint="e.g. --seeds 3 runs seeds 0, 1 and 2")
    if seeds is not None and meta is not None and meta.seeds is not None:
        raise GancoreError(
            f"the seeds are given twice: seeds = {meta.seeds} in the study file and --seeds "
            f"{seeds}", source=str(study.path), key="study.seeds",
            hint="drop --seeds to use the file's seeds, or remove seeds from the study file",
        )
    if seeds is not None:
        return list(range(seeds))
    return list(meta.seeds) if meta is not None and meta.seeds else None


def make_executor(kind: str, jobs: int, out: Path, *, echo: Any = None, **slurm: Any) -> Any:
    """The executor ``--executor`` names (``local`` with ``--jobs``, or ``slurm``)."""
    from gancore.core.errors import GancoreError
    from gancore.evaluation import runs

    if jobs < 1:
        raise GancoreError(f"--jobs must be 1 or more (got {jobs})", key="--jobs",
                           hint="--jobs 2 trains two runs at once")
    if kind == "local":
        given = {k: v for k, v in slurm.items() if v is not None}
        if given:
            raise GancoreError(
                "--" + next(iter(given)).replace("time_min", "time") + " is a Slurm option",
                key="--executor", hint="add --executor slurm, or leave it out")
        if jobs == 1:
            return runs.InlineExecutor(echo=echo)
        from gancore.core.threads import available_cpus

        cpus = available_cpus()
        if jobs > cpus:
            err_console.print(
                f"[yellow]warning:[/] --jobs {jobs} is more than the {cpus} CPU core(s) this "
                "process may use; the runs will share them (each gets 1 thread) and go slower "
                "one by one", highlight=False)
        return runs.LocalExecutor(jobs, echo=echo)
    if kind == "slurm":
        if jobs != 1:
            raise GancoreError("--jobs is for --executor local", key="--jobs",
                               hint="with Slurm, --parallelism caps the array tasks at once")
        return runs.SlurmExecutor(out / "slurm", runs.SlurmOptions(**slurm), echo=echo)
    from gancore.core.errors import suggest

    raise GancoreError(f"unknown executor {kind!r}{suggest(kind, ['local', 'slurm'])}",
                       key="--executor", hint="--executor local (default) or --executor slurm")


def print_status(folder: Path) -> None:
    """The table of a study folder's runs: done, running, failed, pending, with each run's
    step and its latest logged losses; what went wrong with a run is said below the table, one
    line a run, so that the table fits 80 columns."""
    from gancore.evaluation.runs import status_rows
    from gancore.evaluation.tables import fmt

    rows = status_rows(folder)
    colours = {"done": "green", "running": "cyan", "failed": "red", "killed": "yellow",
               "interrupted": "yellow", "pending": "dim", "stopped": "magenta"}
    table = Table(title=f"runs in {folder}", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("run", "status", "step", "D loss", "G loss", "seconds"):
        table.add_column(header, justify="left" if header in ("run", "status") else "right",
                         overflow="fold")
    from rich.markup import escape

    for row in rows:
        step = "-" if row["step"] is None else (
            f"{row['step']}/{row['target']}" if row["target"] else str(row["step"]))
        colour = colours.get(row["status"], "white")
        losses = row.get("losses") or {}
        table.add_row(escape(row["id"]), f"[{colour}]{row['status']}[/]", step,
                      fmt(losses.get("d_loss"), 4), fmt(losses.get("g_loss"), 4),
                      fmt(row["seconds"], 3))
    console.print(table)
    for row in rows:
        if row["error"]:
            console.print(f"{escape(row['id'])} ({row['status']}): "
                          f"{escape(str(row['error']).splitlines()[0])}", highlight=False,
                          soft_wrap=True)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)


def fit_columns(headers: list[str], rows: list[list[str]], width: int,
                drop: list[str]) -> tuple[list[str], list[list[str]], list[str]]:
    """Leave out the columns named in ``drop``, in that order, until the table fits ``width``
    terminal columns with its first column whole and the others wrapped between words (a
    word is never split: see :func:`_widest`)."""
    def need(hs: list[str], rs: list[list[str]]) -> int:
        cols = [max(_widest(rs, i, whole=i == 0), *(len(w) for w in h.split()))
                for i, h in enumerate(hs)]
        return sum(c + 3 for c in cols) + 1  # padding 1 + 1, one rule or edge per column

    dropped = []
    for name in drop:
        if need(headers, rows) <= width:
            break
        if name in headers:
            i = headers.index(name)
            headers = headers[:i] + headers[i + 1:]
            rows = [r[:i] + r[i + 1:] for r in rows]
            dropped.append(name)
    return headers, rows, dropped


def _widest(rows: list[list[str]], i: int, whole: bool = False) -> int:
    """The widest cell of column ``i`` (``whole``) or its longest word, so that a cell wraps
    between words and a word is never split."""
    if whole:
        return max((len(r[i]) for r in rows), default=0)
    return max((len(w) for r in rows for w in r[i].split()), default=0)


def _left_out(dropped: list[str], width: int) -> None:
    if dropped:
        console.print(f"(left out at {width} columns: {', '.join(dropped)}; every column is in "
                      "comparison.md and report.html)", highlight=False)


def print_comparison(comparison: Any) -> None:
    """The comparison table and the files written."""
    from gancore.evaluation.tables import (
        describe_settings,
        ranking_lines,
        reference_line,
        units_line,
    )

    width = console.width
    if comparison.multi_seed:
        headers, rows = comparison.stats_table(compact=True)
        headers, rows, dropped = fit_columns(
            headers, rows, width,
            ["better", f"Δ vs {comparison.stats.baseline}", "95% interval", "p (Holm)"])
        table = Table(title=f"{comparison.name}: over seeds", title_justify="left",
                      box=box.SIMPLE_HEAD)
        for i, header in enumerate(headers):
            table.add_column(header, justify="left" if i < 2 else "right", overflow="fold",
                             no_wrap=i == 0, min_width=_widest(rows, i, whole=i == 0))
        for row in rows:
            colour = {"better": "green", "worse": "red"}.get(row[-1])
            table.add_row(*row[:-1], f"[{colour}]{row[-1]}[/]" if colour else row[-1])
        console.print(table)
        _left_out(dropped, width)
        console.print(comparison.stats.method().replace("`", "")
                      + ' (terminal: "no difference" = no difference at this budget)',
                      highlight=False)
        for line in ranking_lines(comparison):
            console.print(f"ranking: {line}", highlight=False)
    headers, rows = comparison.table(compact=True)
    extractor = comparison.settings.get("extractor")
    shorts = []
    for header in headers:
        short = header.removesuffix(f"/{extractor}") if extractor else header
        short = short.replace(" final / mean", "").replace("params G + D", "params G+D")
        shorts.append(_SHORT.get(short, short))
    shorts, rows, dropped = fit_columns(shorts, rows, width,
                                        ["params G+D", "images/s", "g_loss", "d_loss", "step",
                                         "dens", "cov"])
    table = Table(title=comparison.name, title_justify="left", box=box.SIMPLE_HEAD)
    for i, short in enumerate(shorts):
        table.add_column(short, justify="left" if i == 0 else "right", overflow="fold",
                         no_wrap=i == 0, min_width=_widest(rows, i, whole=i == 0))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    _left_out(dropped, width)
    console.print(describe_settings(comparison).replace("`", "")
                  + " Losses: final/mean over the run's log.", highlight=False)
    for extra in (reference_line(comparison), units_line(comparison)):
        if extra:
            console.print(extra, highlight=False)
    if comparison.stats is not None and not comparison.multi_seed:
        console.print(comparison.stats.method().replace("`", ""), highlight=False)
    print_published(comparison)
    files = ", ".join(str(p) for p in comparison.files.values())
    console.print(f"[green]wrote[/] {files}", highlight=False)


def print_published(comparison: Any) -> None:
    """Each variant's published direction beside the measured verdict (when any has one): a
    paragraph per variant, wrapped to the terminal, so nothing is cut at 80 columns."""
    from gancore.evaluation.tables import fmt_p, published_rows

    rows = published_rows(comparison)
    if not rows:
        return
    console.print(f"{comparison.name}: published directions", highlight=False)
    for r in rows:
        colour = {"reproduced": "green", "contradicted": "red"}.get(r["verdict"], "yellow")
        delta = ("" if r["delta"] is None
                 else f"Δ {r['delta']:+.4g}, p (Holm) {fmt_p(r['p_holm'])}; ")
        text = Text(f"  {r['variant']} vs {r['against'] or '-'} on {r['metric']}: published "
                    f"{r['published']} ({r['source']}); measured: {delta}"
                    f"{r['measured'] or '-'}: ")
        text.append(r["verdict"], style=colour)
        console.print(text, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``eval`` and ``compare`` to the CLI."""
    app.command("eval")(eval_cmd)
    app.command("compare")(compare_cmd)
