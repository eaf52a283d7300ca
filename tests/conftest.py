"""Shared fixtures for gancore's tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "gancore" / "recipes"


@pytest.fixture
def builtin_registry():
    """A registry with the built-in plugin only (installed packs left out)."""
    from gancore.packs.loader import load_plugins

    return load_plugins(autoload=False).registry


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def make_dist(root: Path, dist: str, version: str, module: str, code: str,
              entry_name: str | None = None) -> Path:
    """Install a tiny plugin pack into ``root`` (a folder to put on sys.path).

    It is a real distribution as far as importlib.metadata is concerned: a module plus a
    ``.dist-info`` folder declaring the ``gancore`` entry point.
    """
    write(root / f"{module}.py", code)
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    write(info / "entry_points.txt", f"[gancore]\n{entry_name or module} = {module}\n")
    return root


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            python: str = sys.executable):
    """Run the installed ``gancore`` CLI in a subprocess (of ``python``)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([python, "-m", "gancore", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=300)
