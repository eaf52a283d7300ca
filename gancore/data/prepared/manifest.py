"""The prepared format: file names, the manifest, hashing and the checks made when one is opened.

A prepared dataset is a folder::

    images.npy      uint8 N×C×H×W, C-ordered (numpy .npy, memory-mappable)
    labels.npy      int64 N
    manifest.json   source, count, shape, classes, each image's origin, crop and resize used,
                    skipped files with reasons, sha256 of both arrays and the content hash

Opening one checks, in order: the manifest (present, JSON, this format, not a newer version),
the arrays against it (shape, dtype, size: a truncated or edited file is refused), and the
pixels against the hashes (:func:`verify`). Every failure is one
:class:`~gancore.core.errors.DataError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gancore.core.errors import DataError

FORMAT = "gancore-prepared"
#: The version this gancore writes and the newest it reads.
FORMAT_VERSION = 1
IMAGES = "images.npy"
LABELS = "labels.npy"
MANIFEST = "manifest.json"
#: ``OUT.partial`` holds an unfinished preparation of ``OUT``.
PARTIAL_SUFFIX = ".partial"
#: Bytes hashed per read.
CHUNK = 1 << 24

_REDO = "prepare it again with `gancore data prepare SOURCE {folder}` (--overwrite replaces it)"


def partial_folder(out: Path) -> Path:
    """Where the unfinished preparation of ``out`` lives."""
    return out.with_name(out.name + PARTIAL_SUFFIX)


def is_prepared(folder: Path) -> bool:
    """Whether ``folder`` holds a manifest (a prepared dataset, valid or not)."""
    return (folder / MANIFEST).is_file()


def content_hash(images_sha256: str, labels_sha256: str, shape: list[int], count: int) -> str:
    """The content hash: the pixels, the labels and their shape, in one sha256."""
    text = json.dumps([FORMAT, count, list(shape), images_sha256, labels_sha256])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def hash_array(array: np.ndarray, advance: Callable[[int], None] | None = None) -> str:
    """sha256 of a C-ordered array's bytes, read in chunks (memory maps stay unmapped)."""
    digest = hashlib.sha256()
    flat = array.reshape(-1).view(np.uint8) if array.flags.c_contiguous else None
    if flat is None:
        flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    for start in range(0, flat.shape[0], CHUNK):
        part = flat[start : start + CHUNK]
        digest.update(memoryview(part))
        if advance is not None:
            advance(part.shape[0])
    return digest.hexdigest()


def _problem(folder: Path, message: str, file: str = MANIFEST,
             hint: str | None = None) -> DataError:
    return DataError(message, source=str(folder / file),
                     hint=hint or _REDO.format(folder=folder))


def read_manifest(folder: Path) -> dict[str, Any]:
    """The checked manifest of the prepared dataset in ``folder``."""
    if not folder.exists():
        partial = partial_folder(folder)
        hint = ("an unfinished preparation is in " + str(partial) + "; run the same "
                "`gancore data prepare` command again to finish it") if partial.is_dir() else \
            "make it with `gancore data prepare SOURCE " + str(folder) + "`, or set data.root " \
            "to the folder of a prepared dataset"
        raise DataError("prepared dataset not found", source=str(folder), hint=hint)
    if not folder.is_dir():
        raise DataError("is a file, not the folder of a prepared dataset", source=str(folder),
                        hint="set data.root to the folder `gancore data prepare` wrote")
    path = folder / MANIFEST
    if not path.is_file():
        unfinished = folder.name.endswith(PARTIAL_SUFFIX)
        raise DataError(
            "not a prepared dataset (no manifest.json)"
            + (": it is an unfinished preparation" if unfinished else ""), source=str(folder),
            hint="run the same `gancore data prepare` command again to finish it" if unfinished
            else "give the folder `gancore data prepare` wrote (it holds manifest.json, "
                 "images.npy and labels.npy)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _problem(folder, f"the manifest cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _problem(folder, f"not a gancore prepared-dataset manifest (format is "
                       f"{manifest.get('format') if isinstance(manifest, dict) else None!r}, "
                       f"expected {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _problem(folder, f"the manifest has no valid format_version ({version!r})")
    if version > FORMAT_VERSION:
        raise _problem(folder, f"written by a newer gancore (format version {version}; this "
                       f"gancore reads up to {FORMAT_VERSION})",
                       hint="upgrade gancore (pip install -U gancore), or prepare the data "
                            "again with this version")
    _check_fields(folder, manifest)
    return manifest


def _check_fields(folder: Path, manifest: dict[str, Any]) -> None:
    count, shape = manifest.get("count"), manifest.get("shape")
    if not isinstance(count, int) or count < 1:
        raise _problem(folder, f"the manifest's count is {count!r}, not a positive number")
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(v, int) and v > 0 for v in shape) or shape[0] not in (1, 3)):
        raise _problem(folder, f"the manifest's shape is {shape!r}, not [channels, height, "
                       "width] with 1 or 3 channels")
    for key in ("content_hash", "images_sha256", "labels_sha256"):
        if not isinstance(manifest.get(key), str):
            raise _problem(folder, f"the manifest has no {key}")
    classes = manifest.get("classes", [])
    if not isinstance(classes, list):
        raise _problem(folder, "the manifest's classes are not a list")
    num_classes = manifest.get("num_classes", 0)
    if not isinstance(num_classes, int) or num_classes < 0:
        raise _problem(folder, f"the manifest's num_classes is {num_classes!r}")
    expected = content_hash(manifest["images_sha256"], manifest["labels_sha256"], shape, count)
    if manifest["content_hash"] != expected:
        raise _problem(folder, "the manifest's content_hash does not match its sha256 fields "
                       "(the manifest was edited)")


def open_arrays(folder: Path, manifest: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``images.npy`` memory-mapped (copy-on-write: writes never reach the file) and the
    labels, both checked against the manifest's count and shape."""
    count, shape = manifest["count"], list(manifest["shape"])
    images_path, labels_path = folder / IMAGES, folder / LABELS
    for path in (images_path, labels_path):
        if not path.is_file():
            raise _problem(folder, f"{path.name} is missing", file=path.name)
    try:
        images = np.load(images_path, mmap_mode="c", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        expected = count * int(np.prod(shape))
        raise _problem(folder, f"cannot map the images ({exc}); the manifest expects "
                       f"{count:,} images of {shape} ({expected:,} bytes): the file is "
                       "truncated or damaged", file=IMAGES) from None
    if images.dtype != np.uint8 or list(images.shape) != [count, *shape]:
        raise _problem(folder, f"holds {images.dtype} images of shape {list(images.shape)}, "
                       f"the manifest says uint8 {[count, *shape]} (edited, or from another "
                       "preparation)", file=IMAGES)
    try:
        labels = np.load(labels_path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _problem(folder, f"cannot read the labels ({exc})", file=LABELS) from None
    if labels.dtype != np.int64 or labels.shape != (count,):
        raise _problem(folder, f"holds {labels.dtype} labels of shape {list(labels.shape)}, "
                       f"the manifest says int64 [{count}]", file=LABELS)
    classes = int(manifest.get("num_classes", 0))
    if count and (labels.min() < 0 or (classes and labels.max() >= classes)):
        raise _problem(folder, f"labels outside 0..{max(classes - 1, 0)}", file=LABELS)
    return images, labels


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _stamps(folder: Path) -> dict[str, list[int]]:
    return {name: _stamp(folder / name) for name in (IMAGES, LABELS, MANIFEST)}


def _verified_path() -> Path:
    from gancore.metrics.stats_cache import cache_dir

    return cache_dir() / "prepared-verified.json"


def _read_verified() -> dict[str, Any]:
    try:
        data = json.loads(_verified_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def verify(folder: Path, manifest: dict[str, Any], images: np.ndarray, labels: np.ndarray, *,
           mode: str = "auto", advance: Callable[[int], None] | None = None) -> bool:
    """Check the pixels and labels against the manifest's sha256; True when hashed now.

    ``mode``: ``"always"`` hashes every time; ``"auto"`` hashes once per state of the files
    (size, modification time, inode), remembered in ``$GANCORE_CACHE/prepared-verified.json``,
    so a dataset is hashed again only after its files change; ``"never"`` skips the hash
    (the shape and size checks of :func:`open_arrays` still apply).
    """
    if mode == "never":
        return False
    key = str(folder.resolve())
    stamps = _stamps(folder)
    if mode == "auto":
        seen = _read_verified().get(key)
        if seen == {"stamps": stamps, "content_hash": manifest["content_hash"]}:
            return False
    if hash_array(labels) != manifest["labels_sha256"]:
        raise _problem(folder, "the labels do not match the manifest's sha256 (edited or "
                       "damaged)", file=LABELS)
    if hash_array(images, advance) != manifest["images_sha256"]:
        raise _problem(folder, "the pixels do not match the manifest's sha256 (edited or "
                       "damaged)", file=IMAGES)
    if mode == "auto":
        _remember(key, {"stamps": stamps, "content_hash": manifest["content_hash"]})
    return True


def _remember(key: str, entry: dict[str, Any]) -> None:
    """Record a verified state (best effort: a cache that cannot be written is skipped)."""
    from gancore.core.errors import WriteError
    from gancore.storage.io import atomic_write_text

    data = _read_verified()
    data[key] = entry
    if len(data) > 1000:  # keep the file small: drop the oldest entries
        data = dict(list(data.items())[-1000:])
    try:
        atomic_write_text(_verified_path(), json.dumps(data), what="the verification cache")
    except WriteError:
        pass


def describe_manifest(manifest: dict[str, Any]) -> str:
    """``"3,000 images of 3x64x64, 10 classes"``."""
    c, h, w = manifest["shape"]
    text = f"{manifest['count']:,} images of {c}x{h}x{w}"
    if manifest.get("num_classes"):
        text += f", {manifest['num_classes']} classes"
    return text
