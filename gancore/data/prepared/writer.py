"""``gancore data prepare``: convert a :class:`~.sources.Source` into a prepared dataset.

The work is split into shards of ``shard_size`` images, converted in parallel (a pool of
worker processes, one per available core) into ``OUT.partial/shard-NNNNN.npy``, each written
atomically and followed by its record ``shard-NNNNN.json``, the mark of a finished shard. A
run that is interrupted (Ctrl-C, a crash, a full disk) leaves only finished shards and the
plan behind; running the same command again converts the missing shards only. A run whose
source or settings differ from the plan starts over. At the end the shards are merged into
``images.npy`` (hashed while written), ``labels.npy`` and ``manifest.json`` in a folder that is
renamed to ``OUT`` in one step: ``OUT`` exists only when it is complete.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from gancore.core.errors import DataError, GancoreError, WriteError
from gancore.data.prepared import manifest as fmt
from gancore.data.prepared.imaging import (
    Settings,
    ShardResult,
    ShardTask,
    as_bytes,
    npy_header,
    read_shard_record,
    run_shard,
    shard_names,
)
from gancore.data.prepared.sources import Source

#: Images per shard: the unit of parallel work and of resumption.
DEFAULT_SHARD_SIZE = 1024
PLAN = "plan.json"
#: Version of the plan file (a plan of another version is discarded).
PLAN_VERSION = 1
#: At most this many skipped files are printed (all are in the manifest).
SHOWN_SKIPPED = 5


class PrepareInterrupted(GancoreError):
    """``prepare`` stopped by Ctrl-C; the finished shards are kept for the next run."""

    exit_code = 130


@dataclass
class PrepareResult:
    """What a preparation did."""

    out: Path
    manifest: dict[str, Any]
    shards: int
    shards_reused: int
    shards_run: int
    seconds: float
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Images in the prepared dataset."""
        return int(self.manifest["count"])

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "out": str(self.out), "count": self.count, "shape": self.manifest["shape"],
            "num_classes": self.manifest["num_classes"], "skipped": len(self.skipped),
            "skipped_files": self.skipped, "content_hash": self.manifest["content_hash"],
            "shards": self.shards, "shards_reused": self.shards_reused,
            "shards_run": self.shards_run, "seconds": round(self.seconds, 3),
        }


def default_workers() -> int:
    """Worker processes: the CPUs this process may use (affinity and cgroup quota)."""
    from gancore.core.threads import available_cpus

    return available_cpus()


# -- the target -------------------------------------------------------------------------------
def check_target(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, a target that is a file, a folder that is not a prepared
    dataset, or a prepared dataset without ``overwrite``; and an unwritable location."""
    from gancore.storage.io import check_writable_dir

    if out.exists() and not out.is_dir():
        raise WriteError("the target exists and is a file, not a prepared dataset",
                         source=str(out), hint="choose another OUT folder")
    if out.is_dir():
        if fmt.is_prepared(out):
            if not overwrite:
                raise WriteError("the target is already a prepared dataset", source=str(out),
                                 hint="pass --overwrite to replace it, or choose another OUT")
        elif any(out.iterdir()):
            count = sum(1 for _ in out.iterdir())
            raise WriteError(f"the target exists and is not a prepared dataset (it holds "
                             f"{count:,} entries and no manifest.json)", source=str(out),
                             hint="choose a new or empty OUT folder; gancore never writes "
                                  "into a folder it did not make")
    check_writable_dir(out.parent if str(out.parent) else Path("."), what="the OUT folder")


def _plan(source: Source, settings: Settings, shard_size: int) -> dict[str, Any]:
    return {"version": PLAN_VERSION, "settings": settings.as_dict(), "shard_size": shard_size,
            "count": len(source), "source": source.info, "digest": source.digest()}


def _open_partial(partial: Path, plan: dict[str, Any], echo: Callable[[str], None]) -> bool:
    """Make ``partial`` hold ``plan``; True when an earlier run's shards can be reused."""
    from gancore.storage.io import atomic_write_text, make_folders

    if partial.is_dir():
        try:
            old = json.loads((partial / PLAN).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if old == plan:
            for tmp in partial.glob(".*.tmp"):  # torn writes of a killed run
                tmp.unlink(missing_ok=True)
            shutil.rmtree(partial / "final", ignore_errors=True)
            return True
        echo(f"{partial} holds an unfinished preparation of another source or other "
             "settings; starting over")
        shutil.rmtree(partial)
    elif partial.exists():
        raise WriteError("is in the way of the unfinished-work folder", source=str(partial),
                         hint="remove or rename it")
    try:
        make_folders(partial)
    except OSError as exc:
        raise WriteError(f"cannot create the work folder: {exc.strerror or exc}",
                         source=str(partial), hint="choose a writable location") from None
    atomic_write_text(partial / PLAN, json.dumps(plan), what="the preparation plan")
    return False


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise WriteError(f"not enough disk space: the preparation needs about "
                         f"{needed / 2**30:,.2f} GiB more (its shards, then the merged file), "
                         f"{free / 2**30:,.2f} GiB are free", source=str(folder),
                         hint="free disk space or choose an OUT on another disk")


# -- running the shards -----------------------------------------------------------------------
def _ignore_sigint() -> None:
    """Workers finish their shard on Ctrl-C; the main process stops handing out new ones."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_shards(tasks: list[ShardTask], workers: int,
               on_done: Callable[[ShardResult], None]) -> None:
    """Run ``tasks`` (in this process when ``workers <= 1``), calling ``on_done`` in order of
    completion. At most ``2 * workers`` shards are handed out at once."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            on_done(run_shard(task))
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                               initializer=_ignore_sigint)
    queue = iter(tasks)
    running: set[Future[ShardResult]] = set()
    try:
        for task in queue:
            running.add(pool.submit(run_shard, task))
            if len(running) >= 2 * workers:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                on_done(future.result())
                task = next(queue, None)
                if task is not None:
                    running.add(pool.submit(run_shard, task))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _bar(total: int, done: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda k: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("preparing"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("images"), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    with bar:
        task = bar.add_task("prepare", total=total, completed=done)
        yield lambda k: bar.advance(task, k)


def _write_error(exc: OSError, where: Path, partial: Path) -> WriteError:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    reason = "the disk is full" if full else (exc.strerror or str(exc))
    return WriteError(f"cannot write the prepared data: {reason}",
                      source=str(exc.filename or where),
                      hint=("free disk space and run the same command again: the finished "
                            f"shards in {partial} are kept and not redone") if full else
                      f"run the same command again to continue from the shards in {partial}")


# -- merging ----------------------------------------------------------------------------------
def _merge(partial: Path, records: list[ShardResult], source: Source, settings: Settings,
           kept: list[int], skipped: list[dict[str, str]], modes: dict[str, int],
           rotated: int) -> Path:
    """Write the final folder ``partial/final`` from the shards; returns it."""
    from gancore.core.version import __version__
    from gancore.data.prepared.imaging import write_file_atomic

    final = partial / "final"
    shutil.rmtree(final, ignore_errors=True)
    final.mkdir()
    shape = [settings.channels, settings.size, settings.size]
    count = len(kept)
    digest = hashlib.sha256()
    with open(final / fmt.IMAGES, "wb") as fh:
        fh.write(npy_header((count, *shape)))
        for record in records:
            npy_name, _ = shard_names(record.index)
            pixels = np.load(partial / npy_name, mmap_mode="r", allow_pickle=False)
            data = as_bytes(pixels)
            if hashlib.sha256(data).hexdigest() != record.sha256:
                raise DataError("a finished shard does not match its record (damaged while "
                                "the preparation was stopped)", source=str(partial / npy_name),
                                hint=f"remove {partial} and run the command again")
            fh.write(data)
            digest.update(data)
            del pixels, data
        fh.flush()
        os.fsync(fh.fileno())
    labels = np.ascontiguousarray(source.labels[kept], dtype=np.int64)
    write_file_atomic(final / fmt.LABELS, as_bytes(labels), prefix=npy_header(labels.shape, "<i8"))
    images_sha, labels_sha = digest.hexdigest(), fmt.hash_array(labels)
    manifest = {
        "format": fmt.FORMAT,
        "format_version": fmt.FORMAT_VERSION,
        "gancore_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {**source.info, "images_listed": len(source) + len(source.skipped)},
        "count": count,
        "shape": shape,
        "dtype": "uint8",
        "layout": "NCHW",
        "files": {"images": fmt.IMAGES, "labels": fmt.LABELS},
        "num_classes": source.num_classes,
        "classes": list(source.classes),
        **settings.describe(),
        "modes": dict(sorted(modes.items())),
        "exif_rotated": rotated,
        "skipped": skipped,
        "images_sha256": images_sha,
        "labels_sha256": labels_sha,
        "content_hash": fmt.content_hash(images_sha, labels_sha, shape, count),
        "origins": [source.origins[i] for i in kept],
    }
    write_file_atomic(final / fmt.MANIFEST, json.dumps(manifest, indent=1).encode())
    return final


def _install(final: Path, out: Path) -> None:
    """Rename ``final`` to ``out`` (an existing prepared ``out`` is replaced)."""
    old = None
    if out.is_dir() and any(out.iterdir()):
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    elif out.is_dir():
        out.rmdir()
    try:
        os.replace(final, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# -- the whole run ----------------------------------------------------------------------------
def prepare(
    source: Source,
    out: str | Path,
    settings: Settings,
    *,
    workers: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    strict: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
) -> PrepareResult:
    """Prepare ``source`` into the folder ``out`` (see the module docstring)."""
    start = time.perf_counter()
    echo = echo or (lambda text: None)
    out = Path(out).expanduser()
    check_target(out, overwrite)
    if len(source) == 0:
        first = source.skipped[0] if source.skipped else None
        raise DataError("the source holds no image to prepare"
                        + (f" ({len(source.skipped):,} left out, e.g. {first[0]}: {first[1]})"
                           if first else ""), source=str(source.info.get("path", "")) or None,
                        hint="check the source and --labels")
    if strict and source.skipped:
        origin, reason = source.skipped[0]
        raise DataError(f"--strict: {len(source.skipped):,} image(s) cannot be used, the first "
                        f"is {origin}: {reason}", source=origin,
                        hint="fix or remove them, or leave --strict out to skip them")
    workers = default_workers() if workers is None else max(1, workers)
    shard_size = max(1, int(shard_size))
    partial = fmt.partial_folder(out)
    plan = _plan(source, settings, shard_size)
    resumed = _open_partial(partial, plan, echo)
    n = len(source)
    bounds = [(s, min(s + shard_size, n)) for s in range(0, n, shard_size)]
    records: dict[int, ShardResult] = {}
    if resumed:
        for k in range(len(bounds)):
            record = read_shard_record(partial, k)
            if record is not None:
                records[k] = record
        if records:
            echo(f"resuming: {len(records)} of {len(bounds)} shards were finished by an "
                 f"earlier run ({partial})")
    reused = len(records)
    pending = [k for k in range(len(bounds)) if k not in records]
    per_image = settings.channels * settings.size**2
    todo = sum(bounds[k][1] - bounds[k][0] for k in pending)
    _check_space(partial, (todo + n) * per_image)
    tasks = [ShardTask(k, str(partial), settings,
                       [(i, source.item(i)) for i in range(*bounds[k])]) for k in pending]
    done_images = n - todo

    def finished(record: ShardResult, advance: Callable[[int], None]) -> None:
        records[record.index] = record
        advance(bounds[record.index][1] - bounds[record.index][0])
        if strict and record.skipped:
            position, reason = record.skipped[0]
            raise DataError(f"--strict: cannot read {source.origins[position]}: {reason}",
                            source=source.item(position) if source.root else
                            source.origins[position],
                            hint="fix or remove the file, or leave --strict out to skip "
                                 "unreadable images (they are listed in the manifest)")

    try:
        with _bar(n, done_images, progress and bool(tasks)) as advance:
            run_shards(tasks, workers, lambda record: finished(record, advance))
    except KeyboardInterrupt:  # the workers finish the shards they hold before this point
        finished = sum(read_shard_record(partial, k) is not None for k in range(len(bounds)))
        raise PrepareInterrupted(
            f"interrupted: {finished} of {len(bounds)} shards are finished", source=str(out),
            hint=f"run the same command again to continue; the finished shards are in {partial}"
        ) from None
    except OSError as exc:
        raise _write_error(exc, partial, partial) from None
    except GancoreError:
        raise
    except Exception as exc:  # a worker process that died (BrokenProcessPool) and the like
        raise DataError(f"a worker process failed: {type(exc).__name__}: {exc}",
                        source=str(partial), hint="run the same command again to continue; "
                        "--workers 1 converts in this process") from None
    ordered = [records[k] for k in range(len(bounds))]
    kept = [p for r in ordered for p in r.kept]
    skipped = [{"origin": o, "reason": r} for o, r in source.skipped]
    skipped += [{"origin": source.origins[p], "reason": r} for rec in ordered
                for p, r in rec.skipped]
    if not kept:
        shutil.rmtree(partial, ignore_errors=True)
        example = skipped[0] if skipped else {"origin": "?", "reason": "?"}
        raise DataError(f"none of the {len(skipped):,} images could be read (e.g. "
                        f"{example['origin']}: {example['reason']})",
                        source=str(source.info.get("path") or source.info.get("name") or ""),
                        hint="check that the files are images PIL can open")
    modes: dict[str, int] = {}
    for rec in ordered:
        for mode, k in rec.modes.items():
            modes[mode] = modes.get(mode, 0) + k
    rotated = sum(rec.rotated for rec in ordered)
    try:
        final = _merge(partial, ordered, source, settings, kept, skipped, modes, rotated)
        _install(final, out)
    except OSError as exc:
        shutil.rmtree(partial / "final", ignore_errors=True)
        raise _write_error(exc, out, partial) from None
    manifest = json.loads((out / fmt.MANIFEST).read_text(encoding="utf-8"))
    shutil.rmtree(partial, ignore_errors=True)
    return PrepareResult(out, manifest, len(bounds), reused, len(pending),
                         time.perf_counter() - start, skipped)
