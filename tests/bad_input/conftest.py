"""Shared helpers of the adversarial tests: one CLI error, snapshots, damaged checkpoints."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from gancore.cli import main
from tests.train.conftest import TINY


def cli_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``gancore ARGS`` in-process; assert exit status 2, ``error:``, no traceback.

    Progress lines printed before the failure are allowed; the message starts a line. Returns
    the message with rich's line breaks unwrapped.
    """
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    assert info.value.code == 2, out.err + out.out
    assert "Traceback" not in out.err + out.out
    assert out.err.count("error:") == 1, out.err
    message = out.err[out.err.index("error:"):]
    assert out.err.startswith("error:") or "\nerror:" in out.err, out.err  # a line of its own
    return " ".join(message.split())


def cli_ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``gancore ARGS`` in-process and assert it succeeds; returns stdout."""
    try:
        main(list(args))
    except SystemExit as exc:
        assert not exc.code, capsys.readouterr().err
    return capsys.readouterr().out


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (hidden ones too) and folder under ``folder``: relative path -> bytes."""
    out: dict[str, bytes | None] = {}
    if not folder.exists():
        return out
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            out[os.path.relpath(os.path.join(root, name), folder) + "/"] = None
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = Path(path).read_bytes()
    return out


def tiny_recipe(**sections: dict[str, Any]) -> dict[str, Any]:
    """A copy of the training tests' tiny recipe with ``sections`` merged in."""
    recipe = copy.deepcopy(TINY)
    for name, values in sections.items():
        recipe[name] = {**recipe.get(name, {}), **values}
    return recipe


def write_recipe(path: Path, recipe: dict[str, Any] | None = None) -> Path:
    """Write ``recipe`` (default: the tiny one) as TOML."""
    import tomli_w

    path.write_text(tomli_w.dumps(recipe or tiny_recipe()))
    return path


def rewrite_checkpoint(
    src: Path,
    dst: Path,
    *,
    meta: Callable[[dict[str, str]], None] | None = None,
    tensors: Callable[[dict[str, torch.Tensor]], None] | None = None,
) -> Path:
    """Copy checkpoint ``src`` to ``dst`` with its raw metadata and/or tensors edited."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as fh:
        raw_meta = dict(fh.metadata() or {})
        data = {k: fh.get_tensor(k) for k in fh.keys()}
    if meta is not None:
        meta(raw_meta)
    if tensors is not None:
        tensors(data)
    save_file(data, str(dst), metadata=raw_meta)
    return dst


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of the tiny recipe trained for 2 steps (EMA, optimizer and RNG state)."""
    from gancore.train import train

    root = tmp_path_factory.mktemp("bad-input-run")
    out = root / "run"
    recipe = tiny_recipe(train={"checkpoint_every": 100, "sample_every": 100})
    write_recipe(root / "tiny.toml", recipe)
    train(recipe, out=out, steps=2)
    return out


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`trained_run` (and its recipe file beside it)."""
    out = tmp_path / "run"
    shutil.copytree(trained_run, out)
    shutil.copy(trained_run.parent / "tiny.toml", tmp_path / "tiny.toml")
    return out


@pytest.fixture
def ckpt(trained_run: Path) -> Path:
    """The trained run's ``last.safetensors`` (read-only by convention: copy before editing)."""
    return trained_run / "last.safetensors"
