"""Every file gancore writes goes through here: checked up front, written atomically.

:func:`check_writable` refuses a destination that cannot be written *before* any expensive
work (a folder, a parent that is a file, a read-only or impossible location). The writers
(:func:`atomic_write_bytes`, :func:`atomic_write_text`, :func:`save_figure`,
:func:`save_image`, :func:`save_npy`) write to a temporary file in the destination's folder,
``fsync`` it, give it the ordinary ``0o666 & ~umask`` permissions and ``os.replace`` it over
the target: a crash or a full disk leaves the previous file intact and no partial file behind.
Failures raise one :class:`~gancore.core.errors.WriteError` naming the file.

This module imports neither torch nor numpy nor matplotlib at import time.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gancore.core.errors import WriteError

#: Prefix of the temporary files (``.<name>.<random>.tmp``); a reader may remove torn ones.
TMP_SUFFIX = ".tmp"


def umask() -> int:
    """The process's current umask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode an ordinary new file gets: ``0o666 & ~umask``."""
    return 0o666 & ~umask()


def _hint(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free disk space or choose another location; any previous file there is intact"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "choose a writable location; any previous file there is intact"
    return "choose another location; any previous file there is intact"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (``.`` for a relative path)."""
    probe = path
    while not probe.exists() and not probe.is_symlink():
        parent = probe.parent
        if parent == probe:
            break
        probe = parent
    return probe


def _probe_folder(folder: Path) -> None:
    """Create and remove a temporary file in ``folder``; raises ``OSError`` if that fails."""
    fd, tmp = tempfile.mkstemp(prefix=".gancore-probe-", suffix=TMP_SUFFIX, dir=folder)
    os.close(fd)
    os.unlink(tmp)


def check_writable(path: str | Path, what: str = "the output file") -> Path:
    """Refuse, with one :class:`WriteError`, a file destination that cannot be written.

    Checks, without creating anything: ``path`` is not a folder; no existing ancestor of it is
    a file; the closest existing folder accepts new files (a read-only folder or file system,
    or a place such as ``/proc`` where files cannot exist, is refused). Returns ``path``.
    """
    path = Path(path).expanduser()
    if str(path) in ("", ".") or path.is_dir():
        raise WriteError(
            f"{what} is a folder, not a file",
            source=str(path),
            hint="give a file name (the folder it is in is created if missing)",
        )
    _check_folder(path.parent, what, target=path)
    return path


def check_writable_dir(path: str | Path, what: str = "the output folder") -> Path:
    """Refuse a folder destination that cannot be created or written; creates nothing."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise WriteError(
            f"{what} is a file, not a folder",
            source=str(path),
            hint="give a folder name (it is created if missing)",
        )
    _check_folder(path, what, target=path)
    return path


def _check_folder(folder: Path, what: str, *, target: Path) -> None:
    existing = _nearest_existing(folder if str(folder) else Path("."))
    if not existing.is_dir():
        raise WriteError(
            f"cannot write {what}: {existing} is a file, not a folder",
            source=str(target),
            hint="choose a path whose folders exist or can be created",
        )
    try:
        _probe_folder(existing)
    except OSError as exc:
        raise WriteError(
            f"cannot write {what}: the folder {existing} does not accept new files "
            f"({_reason(exc)})",
            source=str(target),
            hint="choose a writable location",
        ) from None


def make_folders(folder: str | Path) -> list[Path]:
    """Create ``folder`` and its missing ancestors; return those created (outermost first).

    Raises ``OSError``; :func:`remove_empty` undoes it.
    """
    folder = Path(folder)
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    created: list[Path] = []
    try:
        for p in reversed(missing):
            p.mkdir()
            created.append(p)
    except OSError:
        remove_empty(created)
        raise
    return created


def remove_empty(folders: list[Path]) -> None:
    """Remove the folders :func:`make_folders` created, innermost first, while empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            break


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any], *,
                 what: str = "the file") -> Path:
    """Write ``path`` atomically: ``write(fh)`` fills a temporary file, which replaces ``path``.

    Missing parent folders are created (and removed again if the write fails). Any
    ``OSError`` becomes a :class:`WriteError` naming ``path``; the previous file is intact.
    """
    path = Path(path).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    created: list[Path] = []
    tmp: str | None = None
    done = False
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        created = make_folders(folder)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=folder)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
        done = True
    except OSError as exc:
        raise WriteError(f"cannot write {what}: {_reason(exc)}", source=str(path),
                         hint=_hint(exc)) from None
    finally:
        if not done:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            remove_empty(created)
    return path


def atomic_write_bytes(path: str | Path, data: bytes, *, what: str = "the file") -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda fh: fh.write(data), what=what)


def atomic_write_text(path: str | Path, text: str, *, what: str = "the file",
                      encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, text.encode(encoding), what=what)


def save_figure(fig: Any, path: str | Path, *, what: str = "the plot", **kwargs: Any) -> Path:
    """Save a matplotlib figure as PNG (unless ``format`` is given), atomically."""
    kwargs.setdefault("format", "png")
    return atomic_write(path, lambda fh: fig.savefig(fh, **kwargs), what=what)


def save_image(image: Any, path: str | Path, *, what: str = "the image",
               format: str = "PNG") -> Path:
    """Save a PIL image (PNG by default), atomically."""
    return atomic_write(path, lambda fh: image.save(fh, format=format), what=what)


def save_npy(path: str | Path, array: Any, *, what: str = "the .npy file") -> Path:
    """Save a numpy array (or anything ``np.save`` takes) as ``.npy``, atomically."""
    import numpy as np

    return atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False), what=what)


def append_text(path: str | Path, text: str, *, what: str = "the log") -> None:
    """Append ``text`` (whole lines) to the line log ``path`` in one ``write`` call.

    The file is opened ``O_APPEND`` for each call and written with no buffering, so a crash
    leaves at most one torn last line (which readers skip and the log's one writer repairs
    when it starts again: see :class:`gancore.train.runlog.MetricsLog`).
    """
    path = Path(path)
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                     0o666)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
    except OSError as exc:
        raise WriteError(f"cannot write {what}: {_reason(exc)}", source=str(path),
                         hint=_hint(exc)) from None


@contextmanager
def staged_folder(path: str | Path, *, what: str = "the folder") -> Iterator[Path]:
    """Fill a new folder atomically: yields a temporary sibling renamed to ``path`` at the end.

    ``path`` must not exist or be an empty folder. If the block fails, the temporary folder is
    removed and ``path`` is left as it was.
    """
    path = Path(path).expanduser()
    parent = path.parent if str(path.parent) else Path(".")
    created: list[Path] = []
    tmp: Path | None = None
    try:
        created = make_folders(parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=parent))
        os.chmod(tmp, 0o777 & ~umask())
    except OSError as exc:
        remove_empty(created)
        raise WriteError(f"cannot create {what}: {_reason(exc)}", source=str(path),
                         hint=_hint(exc)) from None
    ok = False
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise WriteError(f"cannot create {what}: {_reason(exc)}", source=str(path),
                             hint=_hint(exc)) from None
        ok = True
    finally:
        if not ok:
            shutil.rmtree(tmp, ignore_errors=True)
            remove_empty(created)
