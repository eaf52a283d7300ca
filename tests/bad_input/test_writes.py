"""Every file gancore writes: unwritable destinations refused up front, atomic writes.

Each case: one message (exit status 2, ``error:``, no traceback) naming the path, and nothing
destroyed, created or left half-written (the test folder is byte-for-byte as before).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from gancore.core.errors import GancoreError
from gancore.storage import io as gancore_io

from .conftest import cli_error, cli_ok, snapshot, tiny_recipe, write_recipe

Args = Callable[[Path, Path, Path], list[str]]  # (checkpoint, recipe file, destination)

FILE_COMMANDS: dict[str, Args] = {
    "sample --grid": lambda c, r, d: ["sample", str(c), "-n", "4", "--grid", str(d)],
    "sample --npy": lambda c, r, d: ["sample", str(c), "-n", "4", "--npy", str(d)],
    "eval --json": lambda c, r, d: ["eval", str(c), "-n", "64", "--json", str(d), "-q"],
    "schema -o": lambda c, r, d: ["schema", "-o", str(d)],
    "docs hooks -o": lambda c, r, d: ["docs", "hooks", "-o", str(d)],
    "docs components -o": lambda c, r, d: ["docs", "components", "-o", str(d)],
    "build -o": lambda c, r, d: ["build", str(r), "-o", str(d)],
}
FOLDER_COMMANDS: dict[str, Args] = {
    "train --out": lambda c, r, d: ["train", str(r), "--out", str(d), "--steps", "1", "-q"],
    "compare --out": lambda c, r, d: ["compare", str(r), "--out", str(d), "--steps", "1", "-q"],
    "new-plugin --dir": lambda c, r, d: ["new-plugin", "demo", "--dir", str(d)],
    "export --out": lambda c, r, d: ["export", str(c), "--out", str(d)],
}


def _folder(tmp: Path) -> Path:
    (tmp / "existing").mkdir()
    return tmp / "existing"


def _under_file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("keep me")
    return tmp / "a-file" / "sub" / "out.bin"


def _a_file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("keep me")
    return tmp / "a-file"


def _proc(tmp: Path) -> Path:
    return Path("/proc/gancore-cannot-exist/out.bin")


def _sys(tmp: Path) -> Path:
    return Path("/sys/out.bin")


def _read_only(tmp: Path) -> Path:
    return tmp / "ro" / "out.bin"  # with new files refused (see the monkeypatch below)


DESTINATIONS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "folder": (_folder, "is a folder, not a file"),
    "under-file": (_under_file, "a-file is a file, not a folder"),
    "proc": (_proc, "/proc does not accept new files"),
    "sys": (_sys, "does not accept new files"),
    "read-only": (_read_only, "does not accept new files (Read-only file system)"),
}
FOLDER_DESTINATIONS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "file": (_a_file, "is a file, not a folder"),
    "under-file": (_under_file, "a-file is a file, not a folder"),
    "proc": (_proc, "/proc does not accept new files"),
    "read-only": (_read_only, "does not accept new files (Read-only file system)"),
}

WRITE_CASES = [
    ("sample --grid", "folder"), ("sample --grid", "under-file"), ("sample --grid", "proc"),
    ("sample --grid", "read-only"), ("sample --npy", "folder"), ("sample --npy", "under-file"),
    ("sample --npy", "proc"), ("sample --npy", "sys"), ("sample --npy", "read-only"),
    ("eval --json", "folder"), ("eval --json", "under-file"), ("eval --json", "proc"),
    ("eval --json", "read-only"), ("schema -o", "folder"), ("schema -o", "under-file"),
    ("schema -o", "proc"), ("schema -o", "read-only"), ("docs hooks -o", "folder"),
    ("docs hooks -o", "under-file"), ("docs hooks -o", "sys"),
    ("docs components -o", "folder"), ("docs components -o", "read-only"),
    ("build -o", "folder"), ("build -o", "under-file"), ("build -o", "proc"),
    ("build -o", "read-only"),
]
FOLDER_CASES = [
    ("train --out", "file"), ("train --out", "under-file"), ("train --out", "proc"),
    ("train --out", "read-only"), ("compare --out", "file"), ("compare --out", "under-file"),
    ("compare --out", "read-only"), ("new-plugin --dir", "file"),
    ("new-plugin --dir", "under-file"), ("new-plugin --dir", "proc"),
    ("new-plugin --dir", "read-only"), ("export --out", "file"), ("export --out", "under-file"),
    ("export --out", "proc"), ("export --out", "read-only"),
]


def _no_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make computing scores fail loudly: destinations must be refused before it."""
    from gancore.evaluation import evaluator

    def computed(*_a, **_k):
        raise AssertionError("scores were computed before the destination was checked")

    monkeypatch.setattr(evaluator, "evaluate_checkpoint", computed)


def _refuse_new_files(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Simulate a read-only file system at ``folder`` (root ignores chmod)."""
    real = gancore_io.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(gancore_io.tempfile, "mkstemp", mkstemp)
    real_mkdtemp = gancore_io.tempfile.mkdtemp

    def mkdtemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(gancore_io.tempfile, "mkdtemp", mkdtemp)


def _prepare(kind, table, tmp_path, monkeypatch):
    make, message = table[kind]
    dest = make(tmp_path)
    if kind == "read-only":
        (tmp_path / "ro").mkdir()
        _refuse_new_files(monkeypatch, tmp_path / "ro")
    return dest, message


@pytest.mark.parametrize("command, kind", WRITE_CASES)
def test_unwritable_file_destination_is_refused_up_front(
    ckpt, tmp_path, capsys, monkeypatch, command, kind
):
    recipe = write_recipe(tmp_path / "tiny.toml")
    dest, message = _prepare(kind, DESTINATIONS, tmp_path, monkeypatch)
    _no_scores(monkeypatch)
    before = snapshot(tmp_path)
    err = cli_error(capsys, *FILE_COMMANDS[command](ckpt, recipe, dest))
    assert message in err and str(dest) in err and "hint:" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command, kind", FOLDER_CASES)
def test_unwritable_folder_destination_is_refused_up_front(
    ckpt, tmp_path, capsys, monkeypatch, command, kind
):
    recipe = write_recipe(tmp_path / "tiny.toml")
    dest, message = _prepare(kind, FOLDER_DESTINATIONS, tmp_path, monkeypatch)
    before = snapshot(tmp_path)
    err = cli_error(capsys, *FOLDER_COMMANDS[command](ckpt, recipe, dest))
    assert message in err and str(dest) in err
    assert snapshot(tmp_path) == before


def _fake_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    from gancore.evaluation import evaluator

    def scores(checkpoint, *_a, **_k):
        return {"ema": True, "held_out": True, "recipe": "tiny", "step": 2, "num_samples": 64,
                "num_real": 64, "dataset": "shapes", "split": "test", "extractor": "raw",
                "fid/raw": 1.5, "checkpoint": str(checkpoint)}

    monkeypatch.setattr(evaluator, "evaluate_checkpoint", scores)


def _full_disk(monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    def no_space(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gancore_io.os, call, no_space)


FULL_DISK_CASES = [
    # (command, the file it writes, the call that fails)
    ("sample --grid", "grid.png", "replace"),
    ("sample --grid", "grid.png", "fsync"),
    ("sample --npy", "samples.npy", "replace"),
    ("sample --npy", "samples.npy", "fsync"),
    ("eval --json", "scores.json", "replace"),
    ("eval --json", "scores.json", "fsync"),
    ("schema -o", "schema.json", "replace"),
    ("docs hooks -o", "hooks.md", "fsync"),
    ("docs components -o", "components.md", "replace"),
    ("build -o", "init.safetensors", "replace"),
    ("build -o", "init.safetensors", "fsync"),
]


@pytest.mark.parametrize("command, name, call", FULL_DISK_CASES)
def test_full_disk_keeps_the_previous_file(
    ckpt, tmp_path, capsys, monkeypatch, command, name, call
):
    recipe = write_recipe(tmp_path / "tiny.toml")
    dest = tmp_path / name
    dest.write_bytes(b"the previous file")
    _fake_scores(monkeypatch)
    before = snapshot(tmp_path)
    _full_disk(monkeypatch, call)
    err = cli_error(capsys, *FILE_COMMANDS[command](ckpt, recipe, dest))
    assert "No space left on device" in err and str(dest) in err and "intact" in err
    assert snapshot(tmp_path) == before  # previous bytes kept, no temporary file left


FULL_DISK_FOLDER_CASES = [
    # (command, call that fails): a new run / pack folder is not left behind half made
    ("train --out", "replace"),
    ("train --out", "fsync"),
    ("new-plugin --dir", "replace"),
    ("new-plugin --dir", "fsync"),
    ("export --out", "replace"),
    ("export --out", "fsync"),
]


@pytest.mark.parametrize("command, call", FULL_DISK_FOLDER_CASES)
def test_full_disk_leaves_no_partial_folder(ckpt, tmp_path, capsys, monkeypatch, command, call):
    recipe = write_recipe(tmp_path / "tiny.toml")
    before = snapshot(tmp_path)
    _full_disk(monkeypatch, call)
    err = cli_error(capsys, *FOLDER_COMMANDS[command](ckpt, recipe, tmp_path / "new" / "x"))
    assert "No space left on device" in err
    assert snapshot(tmp_path) == before  # neither the folder nor its parents remain


def test_full_disk_on_force_keeps_every_previous_pack_file(tmp_path, capsys, monkeypatch):
    cli_ok(capsys, "new-plugin", "demo", "--dir", str(tmp_path))
    before = snapshot(tmp_path)
    _full_disk(monkeypatch, "replace")
    err = cli_error(capsys, "new-plugin", "demo", "--dir", str(tmp_path), "--force")
    assert "No space left on device" in err
    assert snapshot(tmp_path) == before


def _idx(path: Path) -> None:
    import numpy as np

    from gancore.data.idx import write_idx

    write_idx(path, np.zeros((2, 3), np.uint8))


def _stats(path: Path) -> None:
    import torch

    from gancore.metrics.stats_cache import save_atomic

    save_atomic({"mu": torch.zeros(3)}, path, {"k": "v"})


def _metrics_log(path: Path) -> None:
    from gancore.train.runlog import MetricsLog

    log = MetricsLog(path)
    log.truncate_after(0)


def _loss_curves(path: Path) -> None:
    from gancore.plotting.figures import save_loss_curves

    save_loss_curves([{"step": 1, "d_loss": 1.0, "g_loss": 2.0}], path)


def _scatter(path: Path) -> None:
    import torch

    from gancore.plotting.figures import save_samples

    save_samples(torch.zeros(10, 2), path)


def _text(path: Path) -> None:
    gancore_io.atomic_write_text(path, "new text")


LIBRARY_CASES = [
    # (writer, file name, failing call)
    (_idx, "x.idx", "replace"),
    (_idx, "x.idx.gz", "fsync"),
    (_stats, "stats.safetensors", "replace"),
    (_metrics_log, "metrics.jsonl", "replace"),
    (_loss_curves, "loss_curves.png", "fsync"),
    (_scatter, "scatter.png", "replace"),
    (_text, "notes.txt", "fsync"),
]


@pytest.mark.parametrize("write, name, call", LIBRARY_CASES)
def test_library_writers_keep_the_previous_file(tmp_path, monkeypatch, write, name, call):
    path = tmp_path / "sub" / name
    path.parent.mkdir()
    path.write_bytes(b'{"step": 0}\n')
    before = snapshot(tmp_path)
    _full_disk(monkeypatch, call)
    with pytest.raises(GancoreError, match="No space left on device") as info:
        write(path)
    assert str(path) in str(info.value)
    assert snapshot(tmp_path) == before


def test_a_failed_write_removes_the_folders_it_made(tmp_path, monkeypatch):
    _full_disk(monkeypatch, "replace")
    with pytest.raises(GancoreError, match="No space left"):
        gancore_io.atomic_write_text(tmp_path / "a" / "b" / "c.txt", "x")
    assert snapshot(tmp_path) == {}


@pytest.fixture
def mask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


PERMISSION_CASES = [
    # (command, files it writes (relative to the destination folder), umask)
    ("build -o", ["out.safetensors"], 0o022),
    ("build -o", ["out.safetensors"], 0o077),
    ("schema -o", ["out.json"], 0o002),
    ("docs hooks -o", ["out.md"], 0o027),
    ("sample --grid", ["out.png"], 0o022),
    ("sample --npy", ["out.npy"], 0o007),
    ("train --out", ["last.safetensors", "recipe.toml", "metrics.jsonl", "samples/final.png",
                     "loss_curves.png"], 0o022),
    ("train --out", ["last.safetensors", "recipe.toml"], 0o002),
    ("new-plugin --dir", ["demo/pyproject.toml", "demo/README.md"], 0o022),
]


@pytest.mark.parametrize("command, files, mask", PERMISSION_CASES, indirect=["mask"])
def test_files_get_ordinary_umask_permissions(ckpt, tmp_path, capsys, command, files, mask):
    recipe = write_recipe(tmp_path / "tiny.toml")
    folder = tmp_path / "dest"
    table = {**FILE_COMMANDS, **FOLDER_COMMANDS}
    dest = folder if command in FOLDER_COMMANDS else folder / files[0]
    cli_ok(capsys, *table[command](ckpt, recipe, dest))
    for name in files:
        mode = stat.S_IMODE((folder / name).stat().st_mode)
        assert mode == 0o666 & ~mask, f"{name}: {oct(mode)}"
    if command == "new-plugin --dir":
        assert stat.S_IMODE((folder / "demo").stat().st_mode) == 0o777 & ~mask
    assert not list(folder.rglob(".*.tmp"))


STARTUP_FAILURES = [
    # (--set overrides or extra arguments, what the message must say)
    (["--set", 'data={type="folder", root="/nonexistent/images", image_size=16}'],
     "/nonexistent/images: image folder not found"),
    (["--set", 'loss.type="hinj"'], "did you mean 'hinge'"),
    (["--steps", "0"], "--steps"),
    (["--steps", "-4"], "--steps"),
    (["--resume"], "nothing to resume"),
    (["--init-from", "/nonexistent/last.safetensors"], "checkpoint file not found"),
    (["--set", "train.batch_size=0"], "train.batch_size"),
    (["--set", "generator.latent_dim=-1"], "generator.latent_dim"),
]


@pytest.mark.parametrize("extra, message", STARTUP_FAILURES)
def test_failed_start_leaves_no_run_folder(tmp_path, capsys, extra, message):
    recipe = write_recipe(tmp_path / "tiny.toml", tiny_recipe())
    before = snapshot(tmp_path)
    out = tmp_path / "runs" / "deep" / "run"
    err = cli_error(capsys, "train", str(recipe), "--out", str(out), "-q", *extra)
    assert message in err
    assert snapshot(tmp_path) == before  # not even runs/ was created
