"""The export folder: what makes a folder an export, and writing one without half-written files.

An export folder holds ``export.json`` (the manifest: format and version, the files, the
interface, the checks), ``model.safetensors`` (the generator's weights as a gancore checkpoint),
the exported graphs, the model card ``README.md``, ``samples.png`` and ``recipe.toml``.

Everything is written into a temporary folder beside the destination first. A new destination
is that folder renamed; an existing one (an earlier export, an empty folder, or any folder with
``--force``) gets the new files moved in one by one, its old manifest removed first and the new
one moved in last, so a folder with a manifest always holds a complete export. Files of an
earlier export that the new one does not write are removed; other files are left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gancore.assembly.exported import (  # noqa: F401  (the reading side, below the writer)
    CARD,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    RECIPE,
    SAMPLES,
    WEIGHTS,
    is_export,
    read_manifest,
    weights_file,
)
from gancore.core.errors import ExportError, WriteError
from gancore.storage.io import TMP_SUFFIX, check_writable_dir, make_folders, remove_empty, umask


def check_destination(out: str | Path, *, force: bool) -> Path:
    """Refuse, before any work, a destination that is a file, cannot be written, or is a
    folder holding other things than an earlier export (unless ``force``)."""
    out = check_writable_dir(out, what="the export folder")
    if out.is_dir() and not force and not is_export(out):
        entries = sorted(p.name for p in out.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (f" (+{len(entries) - 3} more)"
                                              if len(entries) > 3 else "")
            raise ExportError(
                f"the folder exists and is not an earlier export (it holds {shown})",
                source=str(out), key="--out",
                hint="choose a new folder, or add --force to write the export into this one "
                "(files of the same names are replaced, others are kept)",
            )
    return out


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` (removed again, whatever happens)."""
    parent = out.parent if str(out.parent) else Path(".")
    created = []
    try:
        created = make_folders(parent)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=TMP_SUFFIX, dir=parent))
    except OSError as exc:
        remove_empty(created)
        raise WriteError(f"cannot write the export folder: {exc.strerror or exc}",
                         source=str(out), hint="choose a writable location") from None
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not out.exists():
            remove_empty(created)


def publish(stage: Path, out: Path) -> None:
    """Move the staged export to ``out`` (see the module docstring)."""
    try:
        if not out.exists():
            os.rename(stage, out)
            os.chmod(out, 0o777 & ~umask())
            return
        old: set[str] = set()
        if is_export(out):
            old = {str(f) for f in read_manifest(out).get("files", {}).values()}
        (out / MANIFEST).unlink(missing_ok=True)
        new = sorted(p.name for p in stage.iterdir() if p.name != MANIFEST)
        for name in new:
            target = out / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(stage / name, target)
        for name in old - set(new) - {MANIFEST}:
            if Path(name).name == name:  # only plain file names the manifest listed
                (out / name).unlink(missing_ok=True)
        os.replace(stage / MANIFEST, out / MANIFEST)
    except OSError as exc:
        raise WriteError(f"cannot write the export folder: {exc.strerror or exc}",
                         source=str(out), hint="choose a writable location; nothing was "
                         "claimed as an export there") from None

