"""gancore's caches: one home, named kinds, and entries that cannot go stale.

The home is ``$GANCORE_CACHE`` (default ``~/.cache/gancore``), resolved by :func:`cache_home`
and nowhere else. Each kind of cache has a place there (:data:`CACHE_KINDS`, listed and cleared
by ``gancore cache``):

========== ===================== =========================================================
kind       place                 what
========== ===================== =========================================================
numerics   ``numerics.json``     the precision and memory format measured for a recipe
stats      ``stats/``            real-data features and statistics of the evaluation
classifiers ``classifiers/``     the ``classifier`` feature extractor's trained networks
filters    ``filters/``          ``autoencoder_outliers`` networks and scores
========== ===================== =========================================================

A kind added later (prepared data, say) calls :func:`register_kind` where its module is
imported by ``gancore cache`` (add the module to :data:`KIND_MODULES`), stores its entries
with :func:`write_tensors`/:func:`read_tensors` (or its own format, checked the same way) under
:func:`entry_key`, and fills them under :func:`fill_lock`.

The rules every entry follows:

- **Keyed by everything that changes it.** :func:`entry_key` adds the gancore and torch
  versions to the caller's parts (data hash, parameters, device where it matters); the file
  name carries a hash of the whole key and the file itself the key, checked on reading.
- **Written atomically** (:mod:`gancore.storage.io`): a crash leaves the previous entry or none.
- **Checked when read**: an entry that cannot be read (truncated), was written for another
  key or version, or whose contents fail their checksum (flipped bytes) is never used: a
  one-line note says so and the caller computes it again (and replaces it).
- **Filled once**: :func:`fill_lock` lets one process compute an entry while another that
  wants the same one waits and then reads it; without it the last of two writers wins, and
  either way one valid entry is left.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import WriteError
from gancore.storage.lock import FileLock, note, update_lock

if TYPE_CHECKING:
    import torch

#: The environment variable naming gancore's cache folder.
CACHE_ENV = "GANCORE_CACHE"
#: Metadata keys of a tensor entry: its key (canonical JSON) and the checksum of its tensors.
KEY_FIELD = "gancore_key"
DIGEST_FIELD = "gancore_digest"


def default_home() -> Path:
    """``~/.cache/gancore``: the cache's default place (and that of downloaded datasets)."""
    return Path.home() / ".cache" / "gancore"


def cache_home() -> Path:
    """gancore's cache folder: ``$GANCORE_CACHE`` or ``~/.cache/gancore``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else default_home()


@dataclass(frozen=True)
class CacheKind:
    """A kind of cache: its name, its place in the home (a folder, or one file), what it holds."""

    name: str
    place: str
    description: str
    single_file: bool = False

    def path(self, home: Path | None = None) -> Path:
        return (home or cache_home()) / self.place


CACHE_KINDS: dict[str, CacheKind] = {}
#: Modules that register more kinds when imported (``gancore cache`` imports them).
KIND_MODULES: list[str] = []


def register_kind(kind: CacheKind) -> CacheKind:
    """Add a kind of cache (listed and cleared by ``gancore cache``)."""
    CACHE_KINDS[kind.name] = kind
    return kind


for _kind in (
    CacheKind("numerics", "numerics.json", "precision and memory format measured per recipe, "
              "device and version", single_file=True),
    CacheKind("stats", "stats", "real-data features and statistics of the evaluation"),
    CacheKind("classifiers", "classifiers", "networks of the classifier feature extractor"),
    CacheKind("filters", "filters", "autoencoder_outliers networks and scores"),
    CacheKind("reference", "reference", "real-vs-real scores shown beside each evaluation"),
):
    register_kind(_kind)


def kind_path(name: str, home: Path | None = None) -> Path:
    """Where the cache kind ``name`` lives."""
    return CACHE_KINDS[name].path(home)


# -- keys ---------------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    """The versions every entry is keyed by: gancore's and torch's."""
    import torch

    from gancore.core.version import __version__

    return {"gancore": __version__, "torch": str(torch.__version__)}


def device_id(device: Any) -> str:
    """A device as it changes computed values: ``cpu``, or ``cuda (<GPU model>)``."""
    import torch

    device = torch.device(device if device is not None else "cpu")
    if device.type == "cuda" and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def _update(digest: Any, t: torch.Tensor, label: str = "") -> None:
    import torch

    t = t.detach().cpu().contiguous()
    digest.update(f"{label}|{list(t.shape)}|{t.dtype}|".encode())
    if t.numel():
        digest.update(t.reshape(-1).view(torch.uint8).numpy())  # hashed in place, no copy


def fingerprint(*tensors: torch.Tensor) -> str:
    """A hash of tensors' shapes, dtypes and values (the data an entry was computed from)."""
    digest = hashlib.sha256()
    for t in tensors:
        _update(digest, t)
    return digest.hexdigest()[:24]


def canonical(data: Any) -> str:
    """``data`` as canonical JSON (sorted keys, no spaces)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def entry_key(**parts: Any) -> dict[str, Any]:
    """An entry's key: ``parts`` and :func:`versions` (JSON-able values)."""
    return json.loads(canonical({**parts, **versions()}))


def key_hash(key: Mapping[str, Any], length: int = 16) -> str:
    return hashlib.sha256(canonical(key).encode()).hexdigest()[:length]


def slug(text: str) -> str:
    """``text`` reduced to file-name characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def entry_file(folder: Path, prefix: str, key: Mapping[str, Any],
               suffix: str = ".safetensors") -> Path:
    """``folder/<prefix>-<hash of key><suffix>``."""
    return folder / f"{slug(prefix)}-{key_hash(key)}{suffix}"


def _mismatch(stored: Mapping[str, Any], key: Mapping[str, Any]) -> str:
    """Why an entry written under ``stored`` is not the one for ``key``."""
    mine = {k: key.get(k) for k in ("gancore", "torch")}
    theirs = {k: stored.get(k) for k in ("gancore", "torch")}
    if mine != theirs:
        return (f"it was written by gancore {theirs['gancore']} / torch {theirs['torch']} "
                f"(this is gancore {mine['gancore']} / torch {mine['torch']})")
    differ = sorted(k for k in {*stored, *key} if stored.get(k) != key.get(k))
    return "it was written for other settings (" + ", ".join(differ[:4]) + ")"


# -- tensor entries -----------------------------------------------------------------------------
def tensors_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """A checksum of named tensors (names, dtypes, shapes and values)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        _update(digest, tensors[name], name)
    return digest.hexdigest()


def write_tensors(path: Path, tensors: Mapping[str, torch.Tensor], key: Mapping[str, Any], *,
                  extra: Mapping[str, str] | None = None, what: str = "the cache entry") -> Path:
    """Write a safetensors entry holding ``tensors``, its ``key`` (whole, and each part as
    readable metadata) and their checksum (and the string metadata ``extra``), atomically."""
    from safetensors.torch import save

    from gancore.storage.io import atomic_write_bytes

    cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    readable = {k: v if isinstance(v, str) else canonical(v) for k, v in key.items()}
    meta = {**readable, **(extra or {}), KEY_FIELD: canonical(key),
            DIGEST_FIELD: tensors_digest(cpu)}
    return atomic_write_bytes(path, save(cpu, meta), what=what)


def read_tensors(path: Path, key: Mapping[str, Any], *, what: str = "cache entry",
                 again: str = "computing it again",
                 ) -> tuple[dict[str, torch.Tensor], dict[str, str]] | None:
    """The tensors and metadata of the entry at ``path`` if it is sound and written under
    ``key``; None when there is none, or (with a one-line note) when it cannot be used."""
    if not path.is_file():
        return None
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
        tensors = load_file(str(path))
    except (OSError, SafetensorError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return _unusable(path, what, f"it cannot be read (truncated or damaged: {detail})",
                         again)
    try:
        stored = json.loads(meta[KEY_FIELD])
    except (KeyError, ValueError):
        return _unusable(path, what, "it carries no key (written by an earlier gancore)", again)
    if not isinstance(stored, dict) or stored != json.loads(canonical(key)):
        return _unusable(path, what, _mismatch(stored if isinstance(stored, dict) else {}, key),
                         again)
    if meta.get(DIGEST_FIELD) != tensors_digest(tensors):
        return _unusable(path, what, "its contents fail their checksum (corrupted)", again)
    return tensors, meta


def _unusable(path: Path, what: str, why: str, again: str = "computing it again") -> None:
    if again:  # an empty ``again``: quietly
        note(f"the {what} {path} is not used: {why}; {again}")
    return None


# -- JSON entries -------------------------------------------------------------------------------
def seal(entry: Mapping[str, Any], key: Any) -> dict[str, Any]:
    """``entry`` with the versions and a checksum over it and ``key`` (see :func:`unseal`)."""
    body = {k: v for k, v in entry.items() if k != "digest"}
    body.update(versions())
    return {**body, "digest": key_hash({"key": key, "entry": body}, 64)}


def unseal(entry: Any, key: Any, *, what: str, where: Path | str,
           again: str = "computing it again", quiet: bool = False) -> dict[str, Any] | None:
    """The sealed JSON ``entry`` of ``key`` if intact and of these versions; else None, with a
    one-line note (unless ``quiet``)."""
    if quiet:
        again = ""
    where = Path(where)
    if not isinstance(entry, dict):
        return _unusable(where, what, "it is not an entry", again)
    body = {k: v for k, v in entry.items() if k != "digest"}
    if entry.get("digest") != key_hash({"key": key, "entry": body}, 64):
        if "digest" not in entry:
            return _unusable(where, what, "it carries no checksum (written by an earlier "
                             "gancore)", again)
        return _unusable(where, what, "its contents fail their checksum (corrupted)", again)
    mine = versions()
    if any(body.get(k) != v for k, v in mine.items()):
        return _unusable(where, what, _mismatch(body, mine), again)
    return body


# -- filling ------------------------------------------------------------------------------------
def fill_lock(path: Path, what: str = "the cache entry") -> FileLock:
    """The lock of filling the entry ``path`` (``.<name>.lock`` beside it): ``with
    fill_lock(p):`` look the entry up, compute and write it if missing. A second process wanting
    the same entry waits (saying once for whom), then finds it written."""
    return _FillLock(path.parent / f".{path.name}.lock", what=what, wait=None, source=path,
                     on_wait=note)


class _FillLock(FileLock):
    """A fill lock that gives way where the cache cannot be written: the entry is computed
    unguarded (and its write then fails, or is skipped, as the caller handles it)."""

    def acquire(self, wait: float | str | None = "default",
                on_wait: Callable[[str], None] | None = None) -> FileLock:
        try:
            return super().acquire(wait, on_wait)
        except WriteError:
            return self


# -- listing and clearing -----------------------------------------------------------------------
@dataclass
class KindUsage:
    """What a kind of cache holds: its entries and their size in bytes."""

    kind: CacheKind
    path: Path
    entries: int
    size: int


def _entries(kind: CacheKind, home: Path) -> Iterator[Path]:
    path = kind.path(home)
    if kind.single_file:
        if path.is_file():
            yield path
        return
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                yield p


def usage(home: Path | None = None) -> list[KindUsage]:
    """Every kind of cache with its entries and size (single-file kinds: the keys in it)."""
    import_kind_modules()
    home = home or cache_home()
    out = []
    for kind in CACHE_KINDS.values():
        files = list(_entries(kind, home))
        count = len(files)
        if kind.single_file and files:
            try:
                data = json.loads(files[0].read_text(encoding="utf-8"))
                count = len(data) if isinstance(data, dict) else 0
            except (OSError, ValueError):
                count = 0
        size = sum(_size(p) for p in files)
        out.append(KindUsage(kind, kind.path(home), count, size))
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def clear(names: list[str] | None = None, home: Path | None = None) -> list[KindUsage]:
    """Remove the entries of the kinds ``names`` (all when None); returns what was removed.
    Lock files of entries being filled are left to their holders."""
    import_kind_modules()
    home = home or cache_home()
    removed = []
    for use in usage(home):
        if names is not None and use.kind.name not in names:
            continue
        if use.kind.single_file:  # one file of merged entries: not while it is updated
            with update_lock(use.path, what=f"the {use.kind.name} cache"):
                use.path.unlink(missing_ok=True)
        for path in _entries(use.kind, home):
            try:
                path.unlink()
            except OSError:
                continue
        if not use.kind.single_file and use.path.is_dir():
            for folder in sorted((p for p in use.path.rglob("*") if p.is_dir()),
                                 key=lambda p: -len(p.parts)):
                try:
                    folder.rmdir()
                except OSError:
                    pass
        removed.append(use)
    return removed


def import_kind_modules() -> None:
    """Import the modules of :data:`KIND_MODULES` (they register their kinds)."""
    import importlib

    for module in KIND_MODULES:
        importlib.import_module(module)
