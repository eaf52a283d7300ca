"""One writer at a time: an exclusive OS file lock that the kernel drops when its holder dies.

A process that writes a run folder (``gancore train``, ``--resume``, a study's run), fills a
cache entry or updates a shared state file first takes a :class:`FileLock` on a small lock file
(:func:`folder_lock`: ``<folder>/.gancore.lock``). A second writer is refused at once with a
:class:`~gancore.core.errors.BusyError` naming the folder and the holder (process id, host, command,
start time, written into the lock file by the holder), or waits when asked to. Readers
(``sample``, ``eval``, ``compare --status``, the report) never take it: every file is written
atomically, so they never see a half-written one.

The lock is ``fcntl.flock`` on a file opened ``O_CLOEXEC``: the kernel releases it when the
holder exits in any way (``SIGKILL`` included), so a killed run never blocks the next one and
nothing like a stale PID file exists. Children forked by the holder (data-loader workers)
close their copy at once, so they never keep a dead run's folder locked; children started with
``exec`` never get it. On Linux NFS clients ``flock`` is carried by NFS byte-range locks, so
the lock also holds between machines sharing a file system. Where the OS or file system has no
locks, a note says so once and writing goes on unguarded.

The lock file is removed when the lock is released (a run folder that finished holds none; one
whose holder was killed holds one with that holder's details, which the next writer replaces).
A taker checks after locking that the path still names the file it locked, so removing it is
safe. Within one process the lock is re-entrant for the thread that holds it (a study's run
holds its run folder and the trainer it starts takes the same lock); another thread is refused.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import shlex
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gancore.core.errors import BusyError, WriteError
from gancore.storage.io import make_folders, remove_empty

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system
    fcntl = None  # type: ignore[assignment]

#: The lock file of a folder (see :func:`folder_lock`).
LOCK_NAME = ".gancore.lock"
#: The hint of a refused second writer of a run folder.
RUN_FOLDER_HINT = ("wait for that run to finish, or stop it (then `gancore train --resume` "
                   "continues it); or write this run to another folder (--out)")
#: Seconds between two tries of a waiting taker.
POLL_S = 0.2
#: How long a refused taker re-reads a holder record that is empty or names a dead process
#: (the holder has locked the file but not yet written its details).
GRACE_S = 1.0

_BUSY = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK}
_UNSUPPORTED = {errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}


@dataclass(frozen=True)
class Holder:
    """The process that holds a lock, as it wrote itself into the lock file."""

    pid: int
    host: str
    command: str
    started: float  # time.time() when it took the lock

    @classmethod
    def this_process(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), _command(), time.time())

    def to_text(self) -> str:
        return json.dumps(asdict(self)) + "\n"

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        """The holder recorded in ``text``, or None (empty, torn or foreign content)."""
        try:
            data = json.loads(text)
            holder = cls(int(data["pid"]), str(data["host"]), str(data["command"]),
                         float(data["started"]))
        except (ValueError, TypeError, KeyError):
            return None
        return holder

    def alive(self) -> bool:
        """False when the process is on this host and gone; True otherwise (other hosts too)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"process {self.pid} on {self.host} (`{self.command}`, since {since})"


def _command() -> str:
    """This process's command line, ``gancore ...`` for ``python -m gancore ...``."""
    argv = list(sys.argv) or ["python"]
    first = Path(argv[0])
    if first.name == "__main__.py":
        argv[0] = first.parent.name
    elif first.name:
        argv[0] = first.name
    text = shlex.join(argv)
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass
class _Held:
    """A lock this process holds: its file descriptor and who took it."""

    fd: int
    path: Path
    thread: int
    pid: int
    count: int = 1
    created: list[Path] = field(default_factory=list)  # folders made for it, removed if empty


_TABLE: dict[str, _Held] = {}
_TABLE_LOCK = threading.Lock()
_NOTED: set[str] = set()


def _forget_in_child() -> None:
    """After ``fork``: the child closes its copies of the held locks' descriptors (the parent
    keeps its locks) and forgets them, so a forked worker never holds a dead run's folder."""
    global _TABLE_LOCK
    _TABLE_LOCK = threading.Lock()
    for held in _TABLE.values():
        try:
            os.close(held.fd)
        except OSError:
            pass
    _TABLE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _try_lock(fd: int) -> bool | None:
    """Take the lock without waiting: True, False (held elsewhere), None (no locks here)."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        if exc.errno in _UNSUPPORTED:
            return None
        raise
    return True


def read_holder(path: str | os.PathLike[str]) -> Holder | None:
    """The holder recorded in the lock file ``path`` (None: none, or unreadable). A reader;
    it says nothing about whether the lock is held now."""
    try:
        return Holder.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def note(text: str) -> None:
    """Print a one-line note on stderr."""
    print(f"note: {text}", file=sys.stderr, flush=True)


class FileLock:
    """An exclusive lock on the file ``path`` (created if missing, removed on release).

    ``what`` names what the lock guards in messages (``"the run folder"``); ``hint`` is the
    refusal's hint; ``source`` the path named in it (default: the lock file's folder).
    ``check(folder)`` runs before anything is created (to refuse an unusable place with the
    caller's own error). ``path=None`` gives a lock that guards nothing (a run without a
    folder). ``wait`` and ``on_wait`` are :meth:`acquire`'s defaults. Use :meth:`acquire` and
    :meth:`release`, or ``with``.
    """

    def __init__(self, path: str | os.PathLike[str] | None, *, what: str = "the file",
                 hint: str | None = None, source: str | os.PathLike[str] | None = None,
                 check: Callable[[Path], Any] | None = None, wait: float | None = 0.0,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = None if path is None else Path(path).expanduser()
        self.what = what
        self.hint = hint
        if source is None and self.path is not None:
            source = self.path.parent
        self.source = None if source is None else str(source)
        self.check = check
        self.wait = wait
        self.on_wait = on_wait
        self._held: _Held | None = None
        self._finalizer: Any = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (always False for ``path=None``)."""
        return self._held is not None

    def acquire(self, wait: float | str | None = "default",
                on_wait: Callable[[str], None] | None = None) -> FileLock:
        """Take the lock; returns ``self``. ``wait``: seconds to wait for a holder to let go
        (0: refuse at once, None: as long as it takes; default: the constructor's); on a wait,
        ``on_wait`` gets one line naming the holder. Raises :class:`BusyError` when refused,
        :class:`WriteError` when the lock file cannot be made. Taking it again is a no-op."""
        if self.path is None or self._held is not None:
            return self
        limit: float | None = self.wait if wait == "default" else wait  # type: ignore[assignment]
        key = os.path.abspath(self.path)
        with _TABLE_LOCK:
            held = _TABLE.get(key)
            if held is not None and held.pid == os.getpid():
                if held.thread != threading.get_ident():
                    raise self._busy(Holder.this_process().describe() + " (another thread)")
                held.count += 1
                self._adopt(held)
                return self
        held = self._take(limit, on_wait or self.on_wait)
        with _TABLE_LOCK:
            _TABLE[key] = held
        self._adopt(held)
        return self

    def release(self) -> None:
        """Let go (once per :meth:`acquire`); the last release removes the lock file and the
        folders made for it while they are empty. Releasing a lock not held is a no-op."""
        held, self._held = self._held, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if held is not None:
            _release(held)

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- internals ----------------------------------------------------------------------------
    def _adopt(self, held: _Held) -> None:
        self._held = held
        self._finalizer = weakref.finalize(self, _release, held)

    def _busy(self, holder: str) -> BusyError:
        err = BusyError(f"{self.what} is being written by another process: {holder}",
                        source=self.source, hint=self.hint or "wait for that process to "
                        "finish, or stop it, then try again")
        err.holder = holder
        return err

    def _take(self, limit: float | None, on_wait: Callable[[str], None] | None) -> _Held:
        assert self.path is not None
        if self.check is not None:
            self.check(self.path.parent)
        start = time.monotonic()
        created: list[Path] = []
        told = False
        while True:
            try:
                created += make_folders(self.path.parent)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                             0o666)
            except FileNotFoundError:  # a releasing holder removed the folder: make it again
                continue
            except OSError as exc:
                remove_empty(created)
                raise WriteError(f"cannot create the lock file of {self.what}: "
                                 f"{exc.strerror or exc}", source=str(self.path),
                                 hint="choose a writable location") from None
            try:
                got = _try_lock(fd)
            except OSError as exc:
                os.close(fd)
                remove_empty(created)
                raise WriteError(f"cannot lock {self.what}: {exc.strerror or exc}",
                                 source=str(self.path), hint="choose another location") from None
            if got is None:
                self._unguarded()
            elif not got:
                os.close(fd)
                holder = read_holder(self.path)
                waited = time.monotonic() - start
                known = holder is not None and holder.alive()
                if limit is not None and waited >= limit and (known or waited >= GRACE_S):
                    remove_empty(created)
                    raise self._busy(holder.describe() if known and holder else
                                     "a process whose details could not be read")
                if on_wait is not None and known and holder and not told and limit != 0:
                    on_wait(f"{self.what} is being written by {holder.describe()}; waiting "
                            "for it to finish")
                    told = True
                time.sleep(min(POLL_S, 0.05 if not known else POLL_S))
                continue
            if got and not _same_file(fd, self.path):  # removed by its last holder: again
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, Holder.this_process().to_text().encode("utf-8"), 0)
            except OSError:  # the details are a courtesy; the lock is what counts
                pass
            return _Held(fd, self.path, threading.get_ident(), os.getpid(), created=created)

    def _unguarded(self) -> None:
        where = str(self.path.parent) if self.path else "?"
        if where not in _NOTED:
            _NOTED.add(where)
            note(f"{where}: this file system takes no file locks, so another process writing "
                 f"{self.what} at the same time is not detected")


def _release(held: _Held) -> None:
    if held.pid != os.getpid():  # a forked child: its copy was closed at the fork
        return
    key = os.path.abspath(held.path)
    with _TABLE_LOCK:
        held.count -= 1
        if held.count > 0:
            return
        if _TABLE.get(key) is held:
            del _TABLE[key]
    if _same_file(held.fd, held.path):
        try:
            os.unlink(held.path)
        except OSError:
            pass
    remove_empty(held.created)
    try:
        os.close(held.fd)  # drops the lock
    except OSError:
        pass


def folder_lock(folder: str | os.PathLike[str] | None, *, what: str = "the run folder",
                hint: str | None = None, check: Callable[[Path], Any] | None = None,
                wait: float | None = 0.0) -> FileLock:
    """The one-writer lock of ``folder`` (``<folder>/.gancore.lock``; made with the folder if
    missing, both removed again on release while empty). ``None``: a lock guarding nothing."""
    path = None if folder is None else Path(folder) / LOCK_NAME
    return FileLock(path, what=what, hint=hint, check=check, wait=wait,
                    source=None if folder is None else folder)


def update_lock(path: str | os.PathLike[str], *, what: str = "the file") -> FileLock:
    """A lock for read-merge-write updates of the shared file ``path``
    (``<folder>/.<name>.lock``); ``with update_lock(p):`` waits for the other updater."""
    path = Path(path)
    return FileLock(path.parent / f".{path.name}.lock", what=what, wait=None, source=path)


_T = TypeVar("_T", bound=Callable[..., None])


def releases_on_error(attribute: str) -> Callable[[_T], _T]:
    """Decorate an ``__init__`` that stores a :class:`FileLock` in ``self.<attribute>``: when
    it raises, that lock is released before the error goes on (the half-made object may live
    on in a traceback; its lock must not)."""

    def decorate(init: _T) -> _T:
        @functools.wraps(init)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                init(self, *args, **kwargs)
            except BaseException:
                lock = self.__dict__.get(attribute)
                if isinstance(lock, FileLock):
                    lock.release()
                raise

        return wrapper  # type: ignore[return-value]

    return decorate
