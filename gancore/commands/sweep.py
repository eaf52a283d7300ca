"""``gancore sweep``: tune a recipe (or each variant of a study) with Optuna, then confirm the
best settings over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from gancore.commands.common import console, err_console, registry
from gancore.commands.evaluate import DataRootOption, ExtractorOption, WeightsOption


def sweep_cmd(
    sweep_file: Annotated[
        Path | None, typer.Argument(metavar="SWEEP.toml", help="the sweep file")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="sweep folder (default: runs/<sweep>)")
    ] = None,
    storage: Annotated[
        str | None, typer.Option("--storage", metavar="URL",
                                 help="Optuna storage shared by the workers: an SQLAlchemy URL "
                                 "(default: SQLite in the sweep folder)")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="workers pulling trials (local processes, or "
                          "Slurm array tasks)")
    ] = 1,
    executor: Annotated[
        str, typer.Option("--executor", help="where workers run: local or slurm")
    ] = "local",
    worker: Annotated[
        bool, typer.Option("--worker", help="only run trials (join a sweep another command "
                           "confirms)")
    ] = False,
    status: Annotated[
        Path | None, typer.Option("--status", metavar="DIR",
                                  help="print the state of each trial of a sweep folder and "
                                  "exit")
    ] = None,
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
    cluster: Annotated[
        str | None, typer.Option("--cluster", hidden=True,
                                 help="submitit cluster: slurm, local or debug (tests)")
    ] = None,
    extractor: ExtractorOption = None,
    inception_weights: WeightsOption = None,
    data_root: DataRootOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Tune with Optuna (TPE, random or grid; pruning), then re-run the best settings over
    seeds and report intervals and Holm-corrected verdicts."""
    from gancore.core.errors import GancoreError

    if status is not None:
        if sweep_file is not None:
            raise GancoreError("--status takes only the sweep folder", key="--status",
                               hint="gancore sweep --status runs/my-sweep")
        print_status(status, storage)
        return
    if sweep_file is None:
        raise GancoreError("no sweep file", hint="gancore sweep sweeps/x.toml (or --status DIR)")
    from gancore.evaluation.runs import SlurmOptions
    from gancore.sweep.run import SweepFailed, run_sweep
    from gancore.sweep.spec import load_sweep, require_optuna

    require_optuna()  # before reading anything: one message naming gancore[sweep]
    if executor not in ("local", "slurm"):
        from gancore.core.errors import suggest

        raise GancoreError(f"unknown executor {executor!r}{suggest(executor, ['local', 'slurm'])}",
                           key="--executor", hint="--executor local (default) or slurm")
    slurm_given = {k: v for k, v in {"partition": partition, "gpus": gpus, "cpus": cpus,
                                     "time": time_min, "cluster": cluster}.items()
                   if v is not None}
    if executor == "local" and slurm_given:
        raise GancoreError(f"--{next(iter(slurm_given))} is a Slurm option", key="--executor",
                           hint="add --executor slurm, or leave it out")
    sweep = load_sweep(sweep_file)
    folder = out or Path("runs") / sweep.name
    from gancore.commands.evaluate import _settings

    settings = _settings(None, None, extractor, inception_weights, None, data_root, False)
    echo = lambda text: err_console.print(text, markup=False, highlight=False)  # noqa: E731
    err_console.print(f"sweep {sweep.name}: {sweep.meta.trials} trials of {sweep.meta.steps} "
                      f"steps" + (f" for each of {len(sweep.targets)} variants"
                                  if sweep.variants else "")
                      + f", {jobs} worker(s) -> {folder}", highlight=False)
    slurm = SlurmOptions(partition=partition, gpus=gpus, cpus=cpus, time_min=time_min,
                         parallelism=jobs, cluster=cluster) if executor == "slurm" else None
    try:
        result = run_sweep(sweep, folder, storage=storage, jobs=jobs, executor=executor,
                           slurm=slurm, settings=settings, registry=registry(), echo=echo,
                           progress=not quiet, worker_only=worker)
    except SweepFailed as exc:
        partial = getattr(exc, "result", None)
        if partial is not None:
            print_result(partial)
        raise
    if worker:
        console.print(f"[green]worker done[/]: {len(result.trained)} trial(s) run",
                      highlight=False)
        return
    print_result(result)


def print_result(result: object) -> None:
    """The confirmation table and the files written."""
    from gancore.commands.evaluate import print_comparison

    trained = getattr(result, "trained", [])
    console.print(f"{len(trained)} trial(s) run by this command", highlight=False)
    comparison = getattr(result, "comparison", None)
    if comparison is not None and comparison.results:
        print_comparison(comparison)
    files = getattr(result, "files", {})
    if files:
        console.print("[green]wrote[/] " + escape(", ".join(str(p) for p in files.values())),
                      highlight=False)


def print_status(folder: Path, storage: str | None) -> None:
    """Each trial: state, objective values, parameters, step; then the confirmation runs."""
    from gancore.evaluation.tables import fmt
    from gancore.sweep.storage import status_rows

    rows = status_rows(folder, storage)
    colours = {"done": "green", "running": "cyan", "failed": "red", "killed": "yellow",
               "pruned": "magenta", "interrupted": "yellow", "pending": "dim",
               "stopped": "magenta"}
    table = Table(title=f"trials in {folder}", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("trial", "status", "value", "step", "seconds", "params / note"):
        table.add_column(header, justify="right" if header in ("step", "seconds", "value")
                         else "left", overflow="fold")
    for row in rows:
        step = "-" if row["step"] is None else (
            f"{row['step']}/{row['target']}" if row["target"] else str(row["step"]))
        values = "/".join(fmt(v) for v in row["values"]) if row["values"] else "-"
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in row["params"].items())
        note = str(row["error"]).splitlines()[0] if row["error"] else ""
        colour = colours.get(row["status"], "white")
        table.add_row(escape(row["id"]), f"[{colour}]{row['status']}[/]", values, step,
                      fmt(row["seconds"], 3), escape("; ".join(x for x in (params, note) if x)))
    console.print(table)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the CLI."""
    app.command("sweep")(sweep_cmd)
