"""The runs of a study: their recorded state, the work of one run, and the executors.

A study folder ``OUT`` holds one run folder per variant and seed (``OUT/<variant>`` with one
seed, ``OUT/<variant>/seed-<s>`` with several) and one state file per run in ``OUT/state/``,
written atomically whenever the run changes state::

    {"id": "bce/seed-1", "status": "done", "step": 800, "target_steps": 800,
     "evaluation": {...}, "eval_key": "...", "summary": {...}, "error": null, ...}

``status`` is ``running`` (with the process id and host), ``done``, ``failed`` (with the error)
or ``interrupted``; a run without a state file is pending. ``OUT/study.json`` lists every run of
the commands given on that folder (merged, under a lock), so ``gancore compare --status OUT``
can show the pending ones too.

One writer per run: :func:`run_task` holds the run folder's lock
(:func:`gancore.storage.lock.folder_lock`, the one ``gancore train`` takes) from before it
reads the run's state until the state is recorded, and a run's state file is written only by
the holder of that lock. A run whose lock another process holds (another study command, a
hand-started ``gancore train --out`` on that folder) is not touched: :func:`run_task` returns
it as ``held`` without writing anything, and :func:`gancore.evaluation.compare.compare` does the
other runs first, then waits for the holder (``Task.wait``) and takes the run up from there
(reusing it when the holder finished it).

:func:`run_task` does one run's work in whichever process runs it (this one, a local worker
process, a Slurm job-array task): train or resume it (:func:`train_or_load`), evaluate it
unless its state already holds the scores of the same checkpoint under the same settings, and
record the state. It never raises for a failed run: the failure is recorded and returned, so the
other runs go on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError
from gancore.train.runlog import last_log_record

if TYPE_CHECKING:
    from gancore.assembly.build import GAN
    from gancore.core.registry import Registry
    from gancore.evaluation.evaluator import EvalSettings
    from gancore.evaluation.study import Entry

LAST = "last.safetensors"
STATE_DIR = "state"
PLAN = "study.json"
PENDING, RUNNING, DONE, FAILED, INTERRUPTED = "pending", "running", "done", "failed", "interrupted"
#: A run a callback ended early (:class:`gancore.train.events.StopTraining`): not evaluated.
STOPPED = "stopped"
#: What :func:`run_task` returns (never records) for a run another process holds.
HELD = "held"


class StudyFailed(GancoreError):
    """Some runs of a study failed; the others finished and were compared."""

    exit_code = 1


@dataclass
class RunSpec:
    """One training run of a study: a variant under one seed."""

    id: str
    variant: str
    seed: int | None
    run: Path
    recipe: str | None = None  # None: an existing run folder or checkpoint, evaluated only
    overrides: list[str] = field(default_factory=list)
    steps: int | None = None
    checkpoint: Path | None = None  # for existing checkpoints given as entries
    study: Path = Path(".")  # the study folder that holds ``state/``
    init_from: Path | None = None  # the checkpoint a fresh run starts from (fine-tuning)
    after: list[str] = field(default_factory=list)  # runs that must finish first
    evaluate: bool = True  # False: a [pretrain] run, trained only

    @property
    def state_file(self) -> Path:
        return state_path(self.study, self.id)


def state_path(study: Path, run_id: str) -> Path:
    """``study/state/<id>.json`` (``/`` in the id becomes ``@``)."""
    return study / STATE_DIR / (run_id.replace("/", "@") + ".json")


@dataclass
class Task:
    """What a worker needs to do one run (picklable)."""

    spec: RunSpec
    settings: EvalSettings
    data_root: str | None = None
    threads: int | None = None
    gpu: str | None = None
    wait: bool = False  # wait for another process holding the run's folder (else: "held")


# -- state files ------------------------------------------------------------------------------
def read_state(path: Path) -> dict[str, Any] | None:
    """A run's recorded state, or None (no file, or one that cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_state(path: Path, state: dict[str, Any]) -> None:
    from gancore.storage.io import atomic_write_text

    atomic_write_text(path, json.dumps(state, indent=2, default=json_default) + "\n",
                      what="the run's state")


def record_plan(study: Path, plan: dict[str, Any]) -> dict[str, Any]:
    """Merge ``plan`` into ``study/study.json`` under that file's update lock: the runs are
    those recorded there and ``plan``'s (a command never drops another command's runs), the
    other keys ``plan``'s. Returns what was written."""
    from gancore.storage.lock import update_lock

    path = study / PLAN
    with update_lock(path, what="the study's plan"):
        old = read_state(path) or {}
        recorded = [r for r in old.get("runs") or [] if isinstance(r, str)]
        merged = {**plan, "runs": list(dict.fromkeys([*recorded, *plan.get("runs", [])]))}
        write_state(path, merged)
    return merged


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback: paths as text, non-finite floats as null, others by ``str``."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def pid_alive(pid: Any, host: Any, since: Any = None) -> bool:
    """Whether process ``pid`` on ``host`` still runs (unknown hosts count as alive).

    With ``since`` (a ``time.time()`` the process was already running at), a process on this
    host that started later is another one that reuses the id, and does not count.
    """
    if not isinstance(pid, int):
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    began = process_start(pid)
    return not (isinstance(since, (int, float)) and began is not None and began > since + 2.0)


def process_start(pid: int) -> float | None:
    """When process ``pid`` of this host started (``time.time()`` scale), where ``/proc``
    tells; None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: start time after boot
        boot = next(float(line.split()[1]) for line in
                    Path("/proc/stat").read_text(encoding="ascii").splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def recorded_process_alive(state: dict[str, Any]) -> bool:
    """Whether the process a run's state names (its pid, host and start) still runs."""
    return pid_alive(state.get("pid"), state.get("host"), state.get("started"))


def watch_parent(parent: int, grace: float = 60.0, poll: float = 0.5) -> None:
    """Worker-process initializer: when the study process ``parent`` is gone (killed, say),
    interrupt this worker (its trainer saves a checkpoint and records the run as interrupted),
    and end it ``grace`` seconds later if it is still there; so no orphan trains on into the
    study folder that the next command would use."""
    import signal
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="gancore-watch-parent", daemon=True).start()


def fingerprint(checkpoint: Path) -> list[Any] | None:
    """``[path, size, mtime_ns]`` of a checkpoint file, or None when there is none."""
    try:
        st = checkpoint.stat()
    except OSError:
        return None
    return [str(checkpoint), st.st_size, st.st_mtime_ns]


def source_failed(spec: RunSpec, source: str) -> dict[str, Any]:
    """Record ``spec`` as failed because the run it starts from did not finish (unless another
    process holds the run, whose record that is)."""
    state = {**_base_state(spec), "status": FAILED, "finished": time.time(),
             "error": f"not trained: the run it starts from (init_from), {source!r}, did not "
                      "finish"}
    _write_unless_held(spec, state)
    return state


def run_lock(spec: RunSpec) -> Any:
    """The lock of ``spec``'s run folder (one guarding nothing for a run only evaluated)."""
    from gancore.storage.lock import folder_lock

    return folder_lock(spec.run if spec.recipe is not None else None,
                       what=f"the run folder of {spec.id!r}")


def _write_unless_held(spec: RunSpec, state: dict[str, Any]) -> bool:
    """Write ``state`` as ``spec``'s record if no other process holds the run; whether it did."""
    from gancore.core.errors import BusyError

    try:
        with run_lock(spec).acquire(wait=0):
            write_state(spec.state_file, state)
    except BusyError:
        return False
    return True


def eval_key(settings: EvalSettings, checkpoint: Path | None) -> str:
    """A fingerprint of the evaluation settings and the checkpoint file they apply to."""
    fields = {k: v for k, v in dataclasses.asdict(settings).items()
              if k not in ("progress", "device", "batch_size", "cache", "cache_dir")}
    if checkpoint is not None and checkpoint.is_file():
        st = checkpoint.stat()
        fields["checkpoint"] = [str(checkpoint), st.st_size, st.st_mtime_ns]
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- training, loading, summaries --------------------------------------------------------------
def stale(last: Path, recipe: str, overrides: list[str], registry: Registry) -> list[str]:
    """Differences between a run's recorded recipe and the requested one."""
    from gancore.assembly.checkpoint import read
    from gancore.recipe import load_recipe, resolve
    from gancore.recipe.diff import recipe_differences

    wanted = resolve(load_recipe(recipe, overrides), registry).to_dict()
    return recipe_differences(read(last, tensors=False).recipe, wanted)


def stale_error(name: str, run: Path, diffs: list[str]) -> GancoreError:
    return GancoreError(
        f"the run of {name!r} was trained from a different recipe: "
        + "; ".join(diffs[:3]) + (" ..." if len(diffs) > 3 else ""),
        source=str(run), hint="choose another --out, or delete that run folder",
    )


def train_or_load(
    entry: Entry | RunSpec,
    run: Path,
    *,
    steps: int | None,
    overrides: Sequence[str],
    data_root: str | None,
    registry: Registry,
    progress: bool,
    echo: Callable[[str], None],
    init_from: Path | None = None,
) -> tuple[Path, bool]:
    """Train ``entry`` into ``run`` unless a finished run is there; ``(checkpoint, trained)``.

    A run folder with fewer steps (a killed or shorter run) is resumed from its last checkpoint;
    a fresh one starts from the weights of ``init_from`` when given.
    """
    from gancore.train import RecipeMismatch, train_run

    assert entry.recipe is not None
    name = getattr(entry, "id", None) or getattr(entry, "name", "")
    try:
        outcome = train_run(entry.recipe, run, steps=steps,
                            overrides=[*entry.overrides, *overrides], init_from=init_from,
                            registry=registry, echo=echo, name=name, data_root=data_root,
                            progress=progress)
    except RecipeMismatch as exc:
        raise stale_error(name, run, exc.differences) from None
    return outcome.checkpoint, outcome.trained


def run_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Final and mean ``d_loss``/``g_loss`` and the images per second of a run's log."""
    out: dict[str, Any] = {}
    for key in ("d_loss", "g_loss"):
        values = [float(r[key]) for r in records
                  if isinstance(r.get(key), int | float) and math.isfinite(r[key])]
        out[f"{key}_final"] = values[-1] if values else None
        out[f"{key}_mean"] = sum(values) / len(values) if values else None
    logged = [r for r in records if r.get("event") is None]  # not eval/stop records
    last = logged[-1] if logged else {}
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


def read_records(run: Path) -> list[dict[str, Any]]:
    from gancore.train.runlog import read_metrics

    path = run / "metrics.jsonl"
    return read_metrics(path) if path.is_file() else []


def stop_reason(run: Path) -> str | None:
    """Why a callback ended the run in ``run`` early (its ``stop`` record at the checkpoint's
    step), or None when it ran to its end."""
    stops = [r for r in read_records(run) if r.get("event") == "stop"]
    if not stops:
        return None
    from gancore.assembly.checkpoint import read

    try:
        step = read(run / LAST, tensors=False).step
    except (GancoreError, OSError):
        return None
    last = stops[-1]
    return str(last.get("reason") or "stopped") if last.get("step") == step else None


def checkpoint_of(spec: RunSpec) -> Path:
    if spec.checkpoint is not None:
        return spec.checkpoint
    return spec.run / LAST


# -- one run ---------------------------------------------------------------------------------
def _base_state(spec: RunSpec) -> dict[str, Any]:
    return {"id": spec.id, "variant": spec.variant, "seed": spec.seed, "run": str(spec.run),
            "recipe": spec.recipe, "overrides": spec.overrides, "target_steps": spec.steps}


def error_text(exc: BaseException) -> str:
    if isinstance(exc, GancoreError):
        return exc.format()
    return f"{type(exc).__name__}: {exc}"


def run_task(task: Task, echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train (or resume) and evaluate one run; record and return its state. Never raises for a
    failed run (a Ctrl-C is recorded as ``interrupted`` and re-raised).

    The run folder's lock is held throughout. When another process holds it, the run is
    returned as ``held`` (nothing read or written), or waited for with ``task.wait``.
    """
    from gancore.core.errors import BusyError

    echo = echo or (lambda text: None)
    lock = run_lock(task.spec)
    try:
        lock.acquire(wait=None if task.wait else 0, on_wait=echo)
    except BusyError as exc:
        return {**_base_state(task.spec), "status": HELD, "holder": exc.holder,
                "error": exc.message}
    except GancoreError as exc:  # the run folder cannot be made
        state = {**_base_state(task.spec), "status": FAILED, "error": error_text(exc),
                 "finished": time.time()}
        return state
    try:
        return _run_locked(task, echo)
    finally:
        lock.release()


def _run_locked(task: Task, echo: Callable[[str], None]) -> dict[str, Any]:
    from gancore.train.trainer import Interrupted

    spec = task.spec
    if task.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = task.gpu
    previous = read_state(spec.state_file) or {}
    state = {**_base_state(spec), "status": RUNNING, "pid": os.getpid(),
             "host": socket.gethostname(), "started": time.time(), "error": None,
             "evaluation": previous.get("evaluation"), "eval_key": previous.get("eval_key"),
             "init_from": previous.get("init_from")}
    write_state(spec.state_file, state)
    start = time.perf_counter()
    try:
        if task.threads is not None:
            import torch

            torch.set_num_threads(task.threads)
        state.update(_work(task, state, echo))
        state["status"] = STOPPED if state.get("stopped") else DONE
        if state.get("stopped"):
            state["error"] = f"stopped early at step {state.get('step')}: {state['stopped']}"
    except (Interrupted, KeyboardInterrupt) as exc:
        state.update(status=INTERRUPTED, error=error_text(exc), step=_step(spec))
        write_state(spec.state_file, {**state, "finished": time.time()})
        raise
    except Exception as exc:  # any failure of one run is recorded
        state.update(status=FAILED, error=error_text(exc), step=_step(spec))
        if not isinstance(exc, GancoreError):
            state["traceback"] = traceback.format_exc()
    state["finished"] = time.time()
    state["seconds"] = round(time.perf_counter() - start, 3)
    write_state(spec.state_file, state)
    return state


def _check_source(spec: RunSpec, state: dict[str, Any]) -> None:
    """Before a run that starts from another one's checkpoint: the checkpoint must be there,
    and a run folder begun earlier must have begun from this very file (recorded in the state,
    which a fresh start updates)."""
    assert spec.init_from is not None
    current = fingerprint(spec.init_from)
    if current is None:
        raise GancoreError(f"the checkpoint {spec.id!r} starts from (init_from) is missing",
                           source=str(spec.init_from),
                           hint="train the run it names first (a study trains it before)")
    if (spec.run / LAST).is_file():
        if state.get("init_from") != current:
            raise GancoreError(
                f"the run {spec.id!r} was started from an earlier checkpoint of its init_from "
                "run, which has been trained again since", source=str(spec.run),
                hint="delete this run folder and run the command again to fine-tune it anew")
        return
    state["init_from"] = current
    write_state(spec.state_file, state)


def _step(spec: RunSpec) -> int | None:
    from gancore.assembly.checkpoint import read

    try:
        return read(checkpoint_of(spec), tensors=False).step
    except (GancoreError, OSError):
        return None


def _work(task: Task, state: dict[str, Any], echo: Callable[[str], None]) -> dict[str, Any]:
    from gancore.evaluation.evaluator import evaluate_gan
    from gancore.evaluation.weights import load_for_scoring
    from gancore.packs.loader import get_registry

    spec = task.spec
    registry = get_registry()
    trained = False
    if spec.recipe is not None:
        if spec.init_from is not None:
            _check_source(spec, state)
        ckpt, trained = train_or_load(spec, spec.run, steps=spec.steps, overrides=(),
                                      data_root=task.data_root, registry=registry,
                                      progress=False, echo=echo, init_from=spec.init_from)
        ckpt = spec.run / LAST
    else:
        ckpt = checkpoint_of(spec)
    stopped = stop_reason(spec.run) if spec.recipe is not None else None
    if not spec.evaluate or stopped:
        from gancore.assembly.checkpoint import read

        return {"checkpoint": str(ckpt), "step": read(ckpt, tensors=False).step,
                "trained": trained, "summary": run_summary(read_records(spec.run)),
                "stopped": stopped}
    key = eval_key(task.settings, ckpt)
    gan, weights = load_for_scoring(ckpt, ema=task.settings.ema, registry=registry)
    out: dict[str, Any] = {"checkpoint": str(ckpt), "step": int(getattr(gan, "step", 0)),
                           "trained": trained, "params": parameter_counts(gan)}
    if state.get("eval_key") == key and state.get("evaluation"):
        out["evaluated"] = False
    else:
        echo(f"{spec.id}: evaluating {ckpt}")
        write_state(spec.state_file, {**state, "phase": "evaluating", "step": out["step"]})
        out["evaluation"] = {
            "checkpoint": str(ckpt), "step": out["step"], **weights.as_dict(),
            **evaluate_gan(gan, task.settings, registry=registry),
        }
        out["eval_key"] = key
        out["evaluated"] = True
        for note in [weights.note, *out["evaluation"].get("notes", [])]:
            if note:
                echo(f"{spec.id}: note: {note}")
    run = spec.run if spec.recipe is not None else ckpt.parent
    out["summary"] = run_summary(read_records(run))
    return out


# -- executors --------------------------------------------------------------------------------
Done = Callable[[Task, dict[str, Any]], None]


class InlineExecutor:
    """Runs the tasks one after another in this process."""

    name = "local"
    jobs = 1

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo

    def run(self, tasks: Sequence[Task], done: Done) -> None:
        for task in tasks:
            done(task, run_task(task, self.echo))


def visible_gpus() -> list[str]:
    """The GPUs a worker may be given (``CUDA_VISIBLE_DEVICES`` entries or indices)."""
    try:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # no usable CUDA
        count = 0
    if count == 0:
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        names = [g.strip() for g in listed.split(",") if g.strip()]
        return names[:count]
    return [str(i) for i in range(count)]


class LocalExecutor:
    """Runs up to ``jobs`` tasks at once, each in a fresh process on this machine.

    Each process gets ``default_threads(jobs=jobs)`` torch threads, and one GPU through
    ``CUDA_VISIBLE_DEVICES`` when the machine has GPUs (shared round-robin when there are fewer
    GPUs than jobs).
    """

    name = "local"

    def __init__(self, jobs: int, echo: Callable[[str], None] | None = None) -> None:
        from gancore.core.threads import default_threads

        self.jobs = jobs
        self.threads = default_threads(jobs=jobs)
        self.gpus = visible_gpus()
        self.echo = echo or (lambda text: None)

    def _pool(self) -> Any:
        """Fresh spawned workers, one task each, that stop when this process is gone."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self.jobs, max_tasks_per_child=1,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=watch_parent, initargs=(os.getpid(),))

    def run(self, tasks: Sequence[Task], done: Done) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        queue = list(tasks)
        free = list(range(self.jobs))
        running: dict[Any, tuple[Task, int]] = {}
        pool = self._pool()
        try:
            while queue or running:
                while queue and free:
                    slot = free.pop(0)
                    task = dataclasses.replace(
                        queue.pop(0), threads=self.threads,
                        gpu=self.gpus[slot % len(self.gpus)] if self.gpus else None)
                    self.echo(f"{task.spec.id}: started (job slot {slot + 1}/{self.jobs}"
                              + (f", GPU {task.gpu}" if task.gpu is not None else
                                 f", {self.threads} threads") + ")")
                    running[pool.submit(run_task, task)] = (task, slot)
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    task, slot = running.pop(future)
                    free.append(slot)
                    try:
                        state = future.result()
                    except BrokenProcessPool:
                        state = _lost(task, "the worker process died (killed, or out of memory)")
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = self._pool()
                    except Exception as exc:  # recorded as the run's failure
                        state = _lost(task, error_text(exc))
                    done(task, state)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _lost(task: Task, error: str) -> dict[str, Any]:
    """Record a run whose process ended without recording its own state (unless another
    process holds the run by now: the record is its to write)."""
    from gancore.core.errors import BusyError

    try:
        with run_lock(task.spec).acquire(wait=0):
            state = read_state(task.spec.state_file) or _base_state(task.spec)
            if state.get("status") != DONE:
                state.update(status=FAILED, error=error, finished=time.time())
                write_state(task.spec.state_file, state)
    except BusyError:
        state = read_state(task.spec.state_file) or _base_state(task.spec)
    return state


@dataclass
class SlurmOptions:
    """Resources of each job-array task (``None``: the cluster's default)."""

    partition: str | None = None
    gpus: int | None = None
    cpus: int | None = None
    time_min: int | None = None
    parallelism: int | None = None
    cluster: str | None = None  # None: Slurm when available; "local" or "debug" for tests


SLURM_HINT = 'install the extra: pip install "gancore[slurm]" (it installs submitit)'


class SlurmExecutor:
    """One Slurm job-array task per run through submitit; the states are gathered as the tasks
    finish. ``cluster="local"`` or ``"debug"`` runs the same code path without Slurm."""

    name = "slurm"

    def __init__(self, folder: Path, options: SlurmOptions,
                 echo: Callable[[str], None] | None = None) -> None:
        try:
            import submitit
        except ImportError:
            raise GancoreError("--executor slurm needs submitit, which is not installed",
                               key="--executor", hint=SLURM_HINT) from None
        self.submitit = submitit
        self.folder = folder
        self.options = options
        self.echo = echo or (lambda text: None)
        self.jobs = options.parallelism or 0

    def parameters(self) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = {"name": "gancore-study"}
        if o.time_min is not None:
            params["timeout_min"] = o.time_min
        if o.gpus is not None:
            params["gpus_per_node"] = o.gpus
        if o.cpus is not None:
            params["cpus_per_task"] = o.cpus
        if o.partition is not None:
            params["slurm_partition"] = o.partition
        if o.parallelism is not None:
            params["slurm_array_parallelism"] = o.parallelism
        return params

    def run(self, tasks: Sequence[Task], done: Done) -> None:
        if not tasks:
            return
        executor = self.submitit.AutoExecutor(folder=str(self.folder / "%j"),
                                              cluster=self.options.cluster)
        executor.update_parameters(**self.parameters())
        threads = self.options.cpus
        ready = [dataclasses.replace(t, threads=threads) for t in tasks]
        jobs = executor.map_array(run_task, ready)
        self.echo(f"submitted {len(jobs)} runs as job array {jobs[0].job_id.split('_')[0]}")
        pending = dict(zip(jobs, ready, strict=True))
        while pending:
            for job in [j for j in pending if j.done()]:
                task = pending.pop(job)
                try:
                    state = job.result()
                except Exception as exc:  # a task that died (time limit, node)
                    state = _lost(task, f"the Slurm task {job.job_id} ended without a result: "
                                  + str(exc).strip().splitlines()[-1][:300])
                done(task, state)
            if pending:
                time.sleep(2.0)


# -- the status table ---------------------------------------------------------------------------
def status_rows(folder: Path) -> list[dict[str, Any]]:
    """One row per run of the study folder: id, status, step, target, seconds, error, and
    ``losses`` (the latest logged ``d_loss`` and ``g_loss`` of its ``metrics.jsonl``, or None)."""
    plan = read_state(folder / PLAN) or {}
    ids: list[str] = list(plan.get("runs", []))
    states: dict[str, dict[str, Any]] = {}
    for path in sorted((folder / STATE_DIR).glob("*.json")):
        state = read_state(path)
        if state and isinstance(state.get("id"), str):
            states[state["id"]] = state
            if state["id"] not in ids:
                ids.append(state["id"])
    if not ids:
        raise GancoreError("not a study folder: it holds no study.json and no run states",
                           source=str(folder),
                           hint="give the --out folder of a `gancore compare` command")
    rows = []
    for run_id in ids:
        state = states.get(run_id)
        if state is None:
            rows.append({"id": run_id, "status": PENDING, "step": None,
                         "target": None, "seconds": None, "error": None, "losses": None})
            continue
        status = state.get("status", PENDING)
        note = state.get("error")
        if status == RUNNING and not recorded_process_alive(state):
            status, note = "killed", "its process is gone; re-running the command resumes it"
        elif status == RUNNING:
            note = state.get("phase") or "training"
        step = state.get("step")
        if status in (RUNNING, "killed", INTERRUPTED) and state.get("run"):
            step = _step(RunSpec(run_id, "", None, Path(state["run"]))) or step
        logged = last_log_record(Path(state["run"]) / "metrics.jsonl") if state.get(
            "run") else None
        losses = None
        if logged is not None:
            losses = {k: logged[k] for k in ("d_loss", "g_loss") if k in logged}
            if status in (RUNNING, "killed", INTERRUPTED) and isinstance(logged["step"], int):
                step = max(step or 0, logged["step"])  # a log record after the checkpoint
        rows.append({"id": run_id, "status": status, "step": step,
                     "target": state.get("target_steps"), "seconds": state.get("seconds"),
                     "error": note, "losses": losses})
    return rows


def summarize_failures(states: Iterable[dict[str, Any]]) -> StudyFailed | None:
    failed = [s for s in states if s.get("status") == FAILED]
    if not failed:
        return None
    lines = [f"{s['id']}: {str(s.get('error') or '?').splitlines()[0]}" for s in failed]
    return StudyFailed(
        f"{len(failed)} run(s) failed: " + "; ".join(lines),
        hint="the other runs are compared; fix the cause and run the same command again "
             "(finished runs are reused), or see `gancore compare --status OUT`",
    )
