"""``run_sweep``: check everything, run the trials with workers, confirm the best, report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.evaluation import runs
from gancore.sweep import storage as st
from gancore.sweep.spec import check_sweep, require_optuna

if TYPE_CHECKING:
    from gancore.core.registry import Registry
    from gancore.evaluation.evaluator import EvalSettings
    from gancore.evaluation.gather import Comparison
    from gancore.sweep.confirm import Choice
    from gancore.sweep.spec import Sweep


class SweepFailed(GancoreError):
    """The sweep ended without a confirmed result (no finished trial, or failed runs)."""

    exit_code = 1


@dataclass
class SweepResult:
    """What :func:`run_sweep` did and wrote."""

    sweep: Sweep
    folder: Path
    storage: str
    trained: list[dict[str, Any]]  # the trials this command's workers ran
    choices: list[Choice] = field(default_factory=list)
    comparison: Comparison | None = None
    files: dict[str, Path] = field(default_factory=dict)


def run_sweep(
    sweep: Sweep,
    folder: str | Path,
    *,
    storage: str | None = None,
    jobs: int = 1,
    executor: str = "local",
    slurm: runs.SlurmOptions | None = None,
    settings: EvalSettings | None = None,
    registry: Registry | None = None,
    echo: Callable[[str], None] | None = None,
    progress: bool = False,
    worker_only: bool = False,
) -> SweepResult:
    """Run ``sweep`` into ``folder``: check it, record it (a changed file is refused), run
    ``jobs`` workers until every budget is spent, wait for workers elsewhere, confirm the best
    settings over seeds and write the report. ``worker_only`` stops after the trials (a worker
    joining a sweep that another command confirms)."""
    from gancore.evaluation.evaluator import EvalSettings
    from gancore.packs.loader import get_registry
    from gancore.storage.io import check_writable_dir
    from gancore.sweep import confirm as confirm_mod
    from gancore.sweep.objective import TrialContext
    from gancore.sweep.workers import Monitor, run_workers, wait_for_others

    require_optuna()
    registry = registry or get_registry()
    echo = echo or (lambda text: None)
    folder = Path(folder)
    if jobs < 1:
        raise GancoreError(f"--jobs must be 1 or more (got {jobs})", key="--jobs",
                           hint="--jobs 2 runs two workers")
    check_sweep(sweep, registry)  # every recipe, key, bound, choice and metric
    confirm_mod.check_baseline(sweep)
    check_writable_dir(folder, what="the sweep folder")
    url = st.prepare(sweep, folder, storage)
    base = settings or EvalSettings()
    trial_settings = dataclasses.replace(base, metrics=sweep.metrics(),
                                         num_samples=sweep.meta.num_samples, progress=False)
    ctx = TrialContext(sweep, folder.resolve(), url, trial_settings, data_root=base.data_root)
    left = st.remaining(sweep, folder.resolve(), url)
    trained: list[dict[str, Any]] = []
    if left:
        workers = min(jobs, left)
        echo(f"{left} trial(s) to run, {workers} worker(s)")
        with Monitor(sweep, url, enabled=progress):
            trained = run_workers(ctx, jobs=workers, executor=executor, slurm=slurm,
                                  echo=echo)
    else:
        echo("every trial has finished earlier")
    result = SweepResult(sweep, folder, url, [t for w in trained for t in w["trials"]])
    if worker_only:
        return result
    wait_for_others(sweep, url, folder.resolve(), echo)
    result.choices = confirm_mod.choose(sweep, url)
    note = ""
    failure: GancoreError | None = None
    if not result.choices:
        note = "no trial finished, so there is nothing to confirm"
        failure = SweepFailed(note, source=str(folder),
                              hint="see `gancore sweep --status OUT`; fix the cause and run "
                                   "the command again (failed trials are retried once)")
    else:
        echo(f"confirming {len(result.choices)} setting(s) over seeds "
             f"{', '.join(map(str, sweep.confirm_seeds))}")
        runner = _confirm_executor(executor, jobs, folder, slurm, echo)
        try:
            result.comparison = confirm_mod.confirm(sweep, folder, result.choices, base,
                                                    registry=registry, executor=runner,
                                                    echo=echo)
        except runs.StudyFailed as exc:
            result.comparison = getattr(exc, "comparison", None)
            failure = SweepFailed(exc.message, source=str(folder / st.CONFIRM), hint=exc.hint)
    from gancore.sweep.report import write_reports

    result.files = write_reports(sweep, folder, url, result.choices, result.comparison,
                                 registry, note)
    if failure is not None:
        failure.result = result  # type: ignore[attr-defined]
        raise failure
    return result


def _confirm_executor(kind: str, jobs: int, folder: Path, slurm: runs.SlurmOptions | None,
                      echo: Callable[[str], None]) -> Any:
    if kind == "slurm":
        options = dataclasses.replace(slurm or runs.SlurmOptions(),
                                      parallelism=(slurm.parallelism if slurm else None) or jobs)
        return runs.SlurmExecutor(folder / st.CONFIRM / "slurm", options, echo=echo)
    if jobs > 1:
        return runs.LocalExecutor(jobs, echo=echo)
    return runs.InlineExecutor(echo=echo)
