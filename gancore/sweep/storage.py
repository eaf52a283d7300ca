"""The sweep folder, its Optuna storage and studies, and the claiming of trials.

::

    OUT/sweep.json            the sweep as first run (a changed file is refused), the storage
    OUT/optuna.db             the default storage (SQLite); or any RDB URL (--storage)
    OUT/trials/state/         one state file per trial run (the study engine's)
    OUT/trials/[<variant>/]trial-<n>/   the run folders
    OUT/confirm/              the confirmation study (see :mod:`gancore.sweep.confirm`)

Every worker (this process, ``--jobs N`` processes, Slurm tasks, other machines sharing the
storage) takes its next trial in :func:`claim` under an exclusive lock on ``OUT/.sweep.lock``,
so no trial runs twice and the budget is never overrun: first a killed trial (its process is
gone, or on another host its state file has had no heartbeat for :data:`STALE_AFTER` seconds)
is resumed from its checkpoint, once; killed again, or failed, it is marked failed and retried
once as a new trial with the same parameters; then a new trial is asked of the sampler while
the budget lasts.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError, RecipeError
from gancore.evaluation import runs

if TYPE_CHECKING:
    from gancore.sweep.spec import Sweep, Target

RECORD = "sweep.json"
LOCK = ".sweep.lock"
TRIALS = "trials"
CONFIRM = "confirm"
DB = "optuna.db"
#: Seconds without a heartbeat after which a trial of another host counts as killed.
STALE_AFTER = 600.0
HEARTBEAT = 30.0
#: Times a trial is started (the first run and one resume) before it is marked failed.
ATTEMPTS = 2
STORAGE_ENV = "GANCORE_SWEEP_STORAGE"


class SweepChanged(GancoreError):
    """The sweep file differs from the one the folder was started with."""


# -- the folder ------------------------------------------------------------------------------
@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the sweep folder, across processes (and hosts sharing it)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def default_storage(folder: Path) -> str:
    return f"sqlite:///{(folder / DB).resolve()}"


def shown_url(url: str) -> str:
    """``url`` with any password masked."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL: shown as given
        return url


def open_storage(url: str, key: str = "--storage") -> Any:
    """An Optuna RDB storage for ``url``, or one error naming the URL."""
    import optuna

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs = {"connect_args": {"timeout": 120}}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GancoreError(f"the storage {shown_url(url)!r} cannot be opened: {text[:300]}",
                           key=key, hint="give an SQLAlchemy URL that this machine can reach "
                           "(sqlite:///path.db, postgresql://user@host/db, ...), with its "
                           "driver installed; or leave --storage out for SQLite in the sweep "
                           "folder") from None


def prepare(sweep: Sweep, folder: Path, storage: str | None) -> str:
    """Record the sweep in ``folder`` (or refuse a changed one), create its studies in the
    storage; returns the storage URL."""
    import optuna

    url = storage or sweep.meta.storage or default_storage(folder)
    key = "--storage" if storage else "sweep.storage"
    record = sweep.record()
    with locked(folder):
        path = folder / RECORD
        old = runs.read_state(path)
        if old is not None:
            diffs = differences(old.get("definition", {}), record)
            if diffs:
                raise SweepChanged(
                    "the sweep file differs from the one this folder was started with: "
                    + "; ".join(diffs[:4]) + (" ..." if len(diffs) > 4 else ""),
                    source=str(sweep.path), key=diffs[0].split(":")[0],
                    hint=f"restore the file, or give another --out (the folder {folder} holds "
                         "the trials of the earlier file)")
            if old.get("storage") not in (shown_url(url), None):
                raise SweepChanged(
                    f"this folder's trials are in {old['storage']!r}, not {shown_url(url)!r}",
                    source=str(folder), key=key,
                    hint="give the same --storage as before, or another --out")
        rdb = open_storage(url, key)
        for target in sweep.targets:
            study = optuna.create_study(
                storage=rdb, study_name=sweep.study_name(target), load_if_exists=True,
                directions=[o.direction for o in sweep.objectives])
            wanted = [o.direction for o in sweep.objectives]
            have = [d.name.lower() for d in study.directions]
            if have != wanted:
                raise SweepChanged(f"the storage holds a study {study.study_name!r} that "
                                   f"{' and '.join(have)}s, not {' and '.join(wanted)}",
                                   source=shown_url(url), key="objective.direction",
                                   hint="give another --out or storage")
        if old is None:
            runs.write_state(path, {"name": sweep.name, "file": str(sweep.path),
                                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                    "storage": shown_url(url), "definition": record})
    return url


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for each setting that differs."""
    from gancore.recipe.diff import flatten_dict

    a = flatten_dict(json.loads(json.dumps(old, default=str)))
    b = flatten_dict(json.loads(json.dumps(new, default=str)))
    out = []
    for key in list(dict.fromkeys([*a, *b])):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            out.append(f"{key}: {_short(a.get(key, '<absent>'))} -> "
                       f"{_short(b.get(key, '<absent>'))}")
    return out


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def storage_of(folder: Path, storage: str | None = None) -> str:
    """The storage URL of an existing sweep folder (``storage`` when its password is masked)."""
    record = runs.read_state(folder / RECORD)
    if record is None:
        raise GancoreError("not a sweep folder: it holds no sweep.json", source=str(folder),
                           hint="give the --out folder of a `gancore sweep` command")
    url = storage or os.environ.get(STORAGE_ENV) or str(record.get("storage") or "")
    if "***" in url:
        raise GancoreError("this sweep's storage URL has a password, which is not recorded",
                           source=str(folder), key="--storage",
                           hint="give the URL again with --storage")
    return url


def load_study(sweep: Sweep, target: Target, url: str, pruner: Any = None) -> Any:
    import optuna

    return optuna.load_study(study_name=sweep.study_name(target), storage=open_storage(url),
                             pruner=pruner)


# -- the trials' runs ---------------------------------------------------------------------------
def trial_id(target: Target, number: int) -> str:
    return f"{target.name}/trial-{number}" if target.name else f"trial-{number}"


def trial_run(folder: Path, target: Target, number: int) -> Path:
    return folder / TRIALS / trial_id(target, number)


def trial_state(folder: Path, target: Target, number: int) -> dict[str, Any] | None:
    return runs.read_state(runs.state_path(folder / TRIALS, trial_id(target, number)))


def _stale(folder: Path, target: Target, number: int) -> bool:
    """Whether the RUNNING trial ``number`` has lost its worker."""
    path = runs.state_path(folder / TRIALS, trial_id(target, number))
    state = runs.read_state(path)
    if state is None:
        return True  # claimed states are written under the lock: the claimer is gone
    # whatever the run's status says, its worker may still be about to tell Optuna: only a
    # worker that is gone leaves its trial to others
    if state.get("host") == socket.gethostname():
        return not runs.recorded_process_alive(state)
    try:
        return time.time() - path.stat().st_mtime > STALE_AFTER
    except OSError:
        return True


@dataclass
class Claim:
    """A trial a worker is to run: new, or ``resumed`` after its worker was killed."""

    trial: Any  # an optuna.trial.Trial
    params: dict[str, Any]
    resumed: bool = False
    previous: dict[str, Any] | None = None  # the run's state before this claim


def claim(sweep: Sweep, target: Target, study: Any, folder: Path, sampler: Any) -> Claim | None:
    """The next trial of ``target`` for this worker (see the module docstring), or None when
    its budget is spent. ``sampler(number)`` makes the sampler of a new trial."""
    import optuna
    from optuna.trial import TrialState

    with locked(folder):
        trials = study.get_trials(deepcopy=False)
        for t in trials:
            if t.state != TrialState.RUNNING or not _stale(folder, target, t.number):
                continue
            attempts = int(t.user_attrs.get("attempts", 1))
            if attempts >= ATTEMPTS:
                study.tell(t.number, state=TrialState.FAIL)
                _note(folder, target, t.number, "killed twice; marked failed")
                continue
            trial = optuna.trial.Trial(study, t._trial_id)
            trial.set_user_attr("attempts", attempts + 1)
            previous = _claimed(folder, target, t.number)
            return Claim(trial, dict(t.params), resumed=True, previous=previous)
        trials = study.get_trials(deepcopy=False)
        retried = {t.user_attrs.get("retry_of") for t in trials}
        for t in trials:
            if t.state == TrialState.FAIL and "retry_of" not in t.user_attrs \
                    and t.number not in retried:
                study.enqueue_trial(dict(t.params), user_attrs={"retry_of": t.number})
        trials = study.get_trials(deepcopy=False)
        waiting = any(t.state == TrialState.WAITING for t in trials)
        counted = sum(1 for t in trials if "retry_of" not in t.user_attrs)
        if not waiting and counted >= budget(sweep, target):
            return None
        study.sampler = sampler(len(trials))
        trial = study.ask()
        from gancore.sweep.spec import suggest_values as suggest

        params = suggest(trial, target.space)
        trial.set_user_attr("attempts", 1)
        _claimed(folder, target, trial.number)
        return Claim(trial, params)


def budget(sweep: Sweep, target: Target) -> int:
    """Trials of ``target`` (a grid: at most its size)."""
    if sweep.meta.sampler.type == "grid":
        from gancore.sweep.spec import grid_space

        size = 1
        for values in grid_space(target).values():
            size *= len(values)
        return min(sweep.meta.trials, size)
    return sweep.meta.trials


def _claimed(folder: Path, target: Target, number: int) -> dict[str, Any] | None:
    """Record under the lock that this process runs the trial (the run rewrites it); returns
    the state it had."""
    path = runs.state_path(folder / TRIALS, trial_id(target, number))
    old = runs.read_state(path)
    runs.write_state(path, {**(old or {}), "id": trial_id(target, number),
                            "status": runs.RUNNING, "pid": os.getpid(),
                            "host": socket.gethostname(), "started": time.time(),
                            "phase": "claimed", "previous_status": (old or {}).get("status")})
    return old


def _note(folder: Path, target: Target, number: int, text: str) -> None:
    path = runs.state_path(folder / TRIALS, trial_id(target, number))
    state = runs.read_state(path) or {"id": trial_id(target, number)}
    state.update(status=runs.FAILED, error=text, finished=time.time())
    runs.write_state(path, state)


def beat(folder: Path, target: Target, number: int) -> None:
    """Touch the trial's state file (the heartbeat that workers of other hosts read)."""
    path = runs.state_path(folder / TRIALS, trial_id(target, number))
    try:
        os.utime(path)
    except OSError:
        pass


# -- status ---------------------------------------------------------------------------------------
STATES = {"COMPLETE": "done", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
          "WAITING": "pending"}


def status_rows(folder: Path, storage: str | None = None) -> list[dict[str, Any]]:
    """One row per trial of the sweep folder: target, number, state, values, params, step,
    note; then the confirmation runs (``confirm/<id>``)."""
    import optuna

    from gancore.sweep.spec import require_optuna

    require_optuna()
    url = storage_of(folder, storage)
    rdb = open_storage(url)
    rows: list[dict[str, Any]] = []
    summaries = optuna.get_all_study_summaries(rdb, include_best_trial=False)
    record = runs.read_state(folder / RECORD) or {}
    name = record.get("name")
    for summary in summaries:
        sname = summary.study_name
        if sname != name and not sname.startswith(f"{name}/"):
            continue
        variant = sname.partition("/")[2]
        study = optuna.load_study(study_name=sname, storage=rdb)
        for t in study.get_trials(deepcopy=False):
            run_id = f"{variant}/trial-{t.number}" if variant else f"trial-{t.number}"
            state = runs.read_state(runs.state_path(folder / TRIALS, run_id)) or {}
            status = STATES.get(t.state.name, t.state.name.lower())
            note = state.get("error") if status in ("failed", "pruned") else None
            if t.state.name == "RUNNING":
                gone = state.get("host") == socket.gethostname() and \
                    not runs.recorded_process_alive(state)
                if gone or not state:
                    status, note = "killed", "its worker is gone; re-running the sweep " \
                        "resumes it"
                else:
                    note = state.get("phase") or "training"
            if "retry_of" in t.user_attrs:
                note = f"retry of trial {t.user_attrs['retry_of']}" + (f"; {note}" if note
                                                                         else "")
            step = state.get("step")
            if status in ("running", "killed") and state.get("run"):
                step = runs._step(runs.RunSpec(run_id, "", None, Path(state["run"]))) or step
            rows.append({"id": run_id, "status": status, "step": step,
                         "target": state.get("target_steps"), "values": t.values,
                         "params": dict(t.params), "seconds": state.get("seconds"),
                         "error": note})
    if (folder / CONFIRM / runs.PLAN).is_file():
        for row in runs.status_rows(folder / CONFIRM):
            rows.append({**row, "id": f"{CONFIRM}/{row['id']}", "values": None, "params": {}})
    if not rows:
        raise RecipeError("the sweep has no trials yet", source=str(folder),
                          hint="run `gancore sweep SWEEP.toml --out DIR` first")
    return rows


# -- samplers and pruners -------------------------------------------------------------------------
def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number``: reproducible, and distinct across workers."""
    return (seed * 1_000_003 + number * 7919) % (2**32)


def make_sampler(sweep: Sweep, target: Target, number: int) -> Any:
    """The sampler of the trial asked as ``number``-th of ``target`` (Optuna's samplers keep
    no state beyond their random stream, so a fresh one per trial is the same sampler)."""
    import optuna

    spec = sweep.meta.sampler
    seed = trial_seed(sweep.meta.seed, number)
    if spec.type == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.type == "grid":
        from gancore.sweep.spec import grid_space

        return optuna.samplers.GridSampler(grid_space(target), seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.startup_trials,
                                      constant_liar=True)


def make_pruner(pruner: dict[str, Any], eval_every: int) -> Any:
    """Optuna's pruner for a ``[sweep] pruner`` (as a dict)."""
    import optuna

    kind = pruner.get("type", "none")
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=pruner.get("startup_trials", 2),
                                           n_warmup_steps=pruner.get("warmup_steps", 0))
    if kind == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=pruner.get("min_resource") or max(eval_every, 1),
            reduction_factor=pruner.get("reduction_factor", 3))
    return optuna.pruners.NopPruner()


def load_pruner(definition: dict[str, Any]) -> Any:
    """The pruner of a recorded sweep definition (``sweep.json``)."""
    meta = definition.get("sweep") or {}
    return make_pruner(meta.get("pruner") or {}, int(meta.get("eval_every") or 0))


def remaining(sweep: Sweep, folder: Path, url: str) -> int:
    """Trials still to run (new, waiting, killed, failed and not yet retried): an upper bound
    on the workers worth starting."""
    from optuna.trial import TrialState

    left = 0
    for target in sweep.targets:
        study = load_study(sweep, target, url)
        trials = study.get_trials(deepcopy=False)
        retried = {t.user_attrs.get("retry_of") for t in trials}
        counted = sum(1 for t in trials if "retry_of" not in t.user_attrs)
        left += max(0, budget(sweep, target) - counted)
        for t in trials:
            if t.state == TrialState.WAITING:
                left += 1
            elif t.state == TrialState.RUNNING and _stale(folder, target, t.number):
                left += 1
            elif t.state == TrialState.FAIL and "retry_of" not in t.user_attrs \
                    and t.number not in retried:
                left += 1
    return left
