"""Workers: each pulls trials from the shared storage until every budget is spent.

:func:`work` is one worker (any process: this one, one of ``--jobs N`` local processes, a Slurm
array task through submitit, or ``gancore sweep --worker`` on another machine sharing the
storage and the folder). :func:`run_workers` starts them with the study engine's conventions:
local processes are spawned fresh, get ``default_threads(jobs=N)`` torch threads (or one GPU
each), and stop as Ctrl-C would when the command that started them is killed.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.evaluation import runs
from gancore.sweep import storage as st
from gancore.sweep.objective import TrialContext, recipe_callbacks, run_trial

if TYPE_CHECKING:
    from gancore.sweep.spec import Sweep


def _printer(worker: int) -> Callable[[str], None]:
    def echo(text: str) -> None:
        print(f"[worker {worker}] {text}", file=sys.stderr, flush=True)

    return echo


def work(ctx: TrialContext, worker: int = 0,
         echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run trials of every tuned target (in order) until their budgets are spent; returns
    ``{"worker", "pid", "host", "trials": [{"id", "status"}]}``."""
    from gancore.packs.loader import get_registry
    from gancore.sweep.spec import require_optuna

    require_optuna()
    echo = echo or _printer(worker)
    os.environ[st.STORAGE_ENV] = ctx.storage  # for the trials' sweep_trial callback
    registry = get_registry()
    done: list[dict[str, Any]] = []
    for target in ctx.sweep.targets:
        study = st.load_study(ctx.sweep, target, ctx.storage)
        callbacks = recipe_callbacks(target, registry)
        while True:
            claim = st.claim(ctx.sweep, target, study, ctx.folder,
                             lambda n, t=target: st.make_sampler(ctx.sweep, t, n))
            if claim is None:
                break
            state = run_trial(ctx, target, claim, callbacks, echo)
            done.append({"id": st.trial_id(target, claim.trial.number),
                         "status": state.get("status")})
    return {"worker": worker, "pid": os.getpid(), "host": socket.gethostname(), "trials": done}


def run_workers(ctx: TrialContext, *, jobs: int, executor: str = "local",
                slurm: runs.SlurmOptions | None = None,
                echo: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run ``jobs`` workers to the end: in this process (one local job), in spawned local
    processes, or as a Slurm job array."""
    echo = echo or (lambda text: None)
    if executor == "slurm":
        return _slurm(ctx, jobs, slurm or runs.SlurmOptions(), echo)
    if jobs == 1:
        return [work(ctx, 0, echo)]
    return _local(ctx, jobs, echo)


def _local(ctx: TrialContext, jobs: int, echo: Callable[[str], None]) -> list[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from gancore.core.threads import default_threads

    threads = default_threads(jobs=jobs)
    gpus = runs.visible_gpus()
    results: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=runs.watch_parent, initargs=(os.getpid(),)) as pool:
        futures = []
        for i in range(jobs):
            gpu = gpus[i % len(gpus)] if gpus else None
            echo(f"worker {i}: started (" + (f"GPU {gpu}" if gpu is not None else
                                             f"{threads} threads") + ")")
            futures.append(pool.submit(work, dataclasses.replace(ctx, threads=threads, gpu=gpu),
                                       i))
        for i, future in enumerate(futures):
            try:
                results.append(future.result())
            except BrokenProcessPool:
                echo(f"worker {i}: its process died (killed, or out of memory); its trial is "
                     "resumed by the next command")
            except GancoreError:
                raise
            except Exception as exc:
                echo(f"worker {i}: ended with {runs.error_text(exc)}")
    return results


def _slurm(ctx: TrialContext, jobs: int, options: runs.SlurmOptions,
           echo: Callable[[str], None]) -> list[dict[str, Any]]:
    slurm = runs.SlurmExecutor(ctx.folder / "slurm", options, echo=echo)  # names the extra
    if ctx.storage.startswith("sqlite") and options.cluster not in ("local", "debug"):
        echo("warning: SQLite on a shared file system is slow and may lock under many Slurm "
             "workers; give --storage postgresql://... (or mysql://...) to share one database")
    executor = slurm.submitit.AutoExecutor(folder=str(ctx.folder / "slurm" / "%j"),
                                           cluster=options.cluster)
    executor.update_parameters(**{**slurm.parameters(), "name": "gancore-sweep"})
    ready = [dataclasses.replace(ctx, threads=options.cpus) for _ in range(jobs)]
    submitted = executor.map_array(work, ready, list(range(jobs)))
    echo(f"submitted {len(submitted)} workers as job array "
         f"{submitted[0].job_id.split('_')[0]}")
    results = []
    pending = list(submitted)
    while pending:
        for job in [j for j in pending if j.done()]:
            pending.remove(job)
            try:
                results.append(job.result())
            except Exception as exc:  # a task that died (time limit, node): trials resume
                echo(f"Slurm worker {job.job_id} ended without a result: "
                     + str(exc).strip().splitlines()[-1][:300])
        if pending:
            time.sleep(2.0)
    return results


# -- watching -----------------------------------------------------------------------------------
def counts(sweep: Sweep, url: str) -> tuple[int, int, int]:
    """``(finished, running, budget)`` over every target's trials (retries not counted)."""
    from optuna.trial import TrialState

    finished = running = total = 0
    for target in sweep.targets:
        study = st.load_study(sweep, target, url)
        for t in study.get_trials(deepcopy=False):
            if "retry_of" in t.user_attrs and t.state != TrialState.RUNNING:
                continue
            if t.state == TrialState.RUNNING:
                running += 1
            elif t.state.is_finished() and not _retried(study, t.number):
                finished += 1
        total += st.budget(sweep, target)
    return min(finished, total), running, total


def _retried(study: Any, number: int) -> bool:
    return any(t.user_attrs.get("retry_of") == number for t in study.get_trials(deepcopy=False))


class Monitor:
    """A rich progress bar of the finished trials, read from the storage every few seconds."""

    def __init__(self, sweep: Sweep, url: str, enabled: bool, every: float = 2.0) -> None:
        self.sweep, self.url, self.enabled, self.every = sweep, url, enabled, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Monitor:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="gancore-sweep-monitor",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[running]} running"), console=Console(stderr=True),
                      transient=True) as bar:
            task = bar.add_task("trials", total=None, running=0)
            while not self._stop.wait(self.every):
                try:
                    done, running, total = counts(self.sweep, self.url)
                except Exception:  # a busy storage: try again at the next tick
                    continue
                bar.update(task, completed=done, total=total, running=running)


def wait_for_others(sweep: Sweep, url: str, folder: Any, echo: Callable[[str], None],
                    poll: float = 5.0) -> None:
    """Wait while trials run in workers elsewhere (other commands, machines) that are alive."""
    from optuna.trial import TrialState

    said = False
    while True:
        live = []
        for target in sweep.targets:
            study = st.load_study(sweep, target, url)
            live += [t.number for t in study.get_trials(deepcopy=False)
                     if t.state == TrialState.RUNNING and not st._stale(folder, target, t.number)]
        if not live:
            return
        if not said:
            echo(f"waiting for {len(live)} trial(s) that other workers are running")
            said = True
        time.sleep(poll)
