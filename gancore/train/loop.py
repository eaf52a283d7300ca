"""The training loop: the update, the events, the log; it reads like the algorithm.

::

    on_run_start
    while step < total and nobody asked to stop:
        update.step()                      # n_critic D phases, the G phase (gancore.train.update)
        on_step_end(step)                  # callbacks, in order: the recipe's, packs', gancore's
        at a log step: on_log(record), then metrics.jsonl
        on_step_done(step)                 # the writers: checkpoints, samples, evaluation
        Ctrl-C: on_finish("interrupt"), then stop with Interrupted
    on_finish("end" or "stop")             # last checkpoint, final grid, plots
    on_run_end(result)

A callback ends a run early with ``run.stop(reason)`` (or by raising
:class:`~gancore.train.events.StopTraining`): the run ends as a normal one, with the reason in
the log. A callback that raises anything else stops the run with its checkpoint saved.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.train import distributed as dist_mod
from gancore.train import runstate
from gancore.train.events import CallbackError
from gancore.train.records import check_finite, log_record
from gancore.train.runlog import ProgressBar

if TYPE_CHECKING:
    from gancore.train.run import Run


class Interrupted(GancoreError):
    """Training stopped by Ctrl-C after saving a checkpoint."""

    exit_code = 130


@dataclass
class TrainResult:
    """What a run did; ``stopped`` is the reason a callback gave for ending it early."""

    step: int
    out: Path | None
    checkpoint: Path | None
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    images_per_s: float = 0.0
    stopped: str | None = None


@contextmanager
def sigint_flag() -> Iterator[list[bool]]:
    """Within the block, Ctrl-C sets ``flag[0]`` instead of raising (main thread only)."""
    flag = [False]
    try:
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if flag[0]:  # a second Ctrl-C stops at once
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            flag[0] = True

        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def fit(run: Run, stop_at: int | None = None) -> TrainResult:
    """Train up to ``train.steps`` generator updates (see the module docstring); ``stop_at``
    ends earlier, as a run killed at that step would (the recipe keeps its total, so
    schedules tied to it stay where a full run has them)."""
    run.lock.acquire()  # held since set-up; taken again by a second fit()
    try:
        if run.out is not None and run.is_main:
            runstate.write_recipe(run)
        return _fit(run, run.cfg.steps if stop_at is None else min(stop_at, run.cfg.steps))
    except CallbackError as exc:
        saved = runstate.save_quietly(run)
        run.events.fail_quietly(run.view, exc)
        where = f"; the run stopped at step {run.clock.step}"
        where += f" with the checkpoint saved to {saved}" if saved else ""
        raise CallbackError(exc.message + where, hint=exc.hint) from exc.__cause__
    except BaseException as exc:
        run.events.fail_quietly(run.view, exc)
        raise
    finally:
        run.lock.release()  # the run folder is complete


def _fit(run: Run, target: int) -> TrainResult:
    cfg, events, clock, view = run.cfg, run.events, run.clock, run.view
    clock.d_updates = clock.step * cfg.n_critic
    check_each_step = run.device.type == "cpu"  # reading a loss costs nothing there
    start_step, seconds_at_start = clock.step, clock.seconds
    events.start(view)
    t_start = t_log = time.perf_counter()
    paused_at_start = paused_at_log = clock.paused_s
    images_at_log = clock.images_seen
    run.G_train.train()
    run.D_train.train()
    bar = ProgressBar(cfg.steps, clock.step, enabled=run.progress and run.is_main)
    with bar, sigint_flag() as interrupt:
        while clock.step < target and run.stop_reason is None:
            d_loss, g_loss = run.update.step()
            now = time.perf_counter()
            clock.seconds = seconds_at_start + now - t_start - (clock.paused_s - paused_at_start)
            if events.step:
                events.step_end(view, clock.step)
            at_log = clock.step % cfg.log_every == 0 or clock.step == target
            if check_each_step or at_log:
                check_finite(run, d_loss, g_loss)
            record = None
            if at_log:
                spent = now - t_log - (clock.paused_s - paused_at_log)
                record = log_record(run, clock.images_seen - images_at_log, spent)
                t_log, images_at_log, paused_at_log = now, clock.images_seen, clock.paused_s
                events.emit("on_log", view, record)
                if run.is_main:
                    run.metrics.write(record)
            bar.advance(clock.step, record)
            events.emit("on_step_done", view, clock.step)
            stop = interrupt[0]
            if run.dist.enabled:
                stop = at_log and dist_mod.any_flag(interrupt[0], run.dist, run.device)
            if stop:
                events.emit("on_finish", view, "interrupt")
                saved = run.last_checkpoint if run.out is not None and run.is_main else None
                raise Interrupted(
                    f"interrupted at step {clock.step}"
                    + (f"; checkpoint saved to {saved}" if saved else ""),
                    hint="continue with --resume" if saved else None)
    if run.stop_reason is not None and run.is_main:
        by = {"by": run.stop_by} if run.stop_by else {}
        run.metrics.write({"step": clock.step, "event": "stop", "reason": run.stop_reason, **by})
        run.echo(f"stopped at step {clock.step}: {run.stop_reason}"
                 + (f" ({run.stop_by})" if run.stop_by else ""))
    events.emit("on_finish", view, "end" if run.stop_reason is None else "stop")
    elapsed = max(clock.seconds - seconds_at_start, 1e-9)
    done = (clock.step - start_step) * cfg.n_critic * cfg.batch_size * run.dist.world_size
    result = TrainResult(step=clock.step, out=run.out, checkpoint=run.last_checkpoint,
                         records=list(run.metrics.records), seconds=elapsed,
                         images_per_s=done / elapsed, stopped=run.stop_reason)
    events.emit("on_run_end", view, result)
    return result
