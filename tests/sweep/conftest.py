"""Fixtures for the sweep tests: a tiny shapes recipe and sweep files around it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.evaluation.conftest import TINY

#: The evaluation tests' tiny recipe with a quick classifier for every evaluation.
RECIPE: dict[str, Any] = {
    **copy.deepcopy(TINY),
    "train": {**TINY["train"], "checkpoint_every": 2, "log_every": 2,
              "g_optimizer": {"type": "adam", "lr": 2e-4, "betas": [0.5, 0.999]},
              "d_optimizer": {"type": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}},
    "eval": {"num_samples": 64, "extractor": {"type": "classifier", "max_train": 512,
                                               "epochs": 1}},
}

SPACE = """
[objective]
metric = "fid"

[space."train.g_optimizer.lr"]
low = 1e-4
high = 1e-2
log = true
"""


def write_sweep(folder: Path, head: str = "", body: str = SPACE, *, steps: int = 4,
                trials: int = 2, recipe: dict[str, Any] | None = None) -> Path:
    """``folder/sweep.toml`` over ``folder/tiny.toml``: ``head`` goes into ``[sweep]``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(tomli_w.dumps(recipe or RECIPE), encoding="utf-8")
    path = folder / "sweep.toml"
    path.write_text(f'[sweep]\nname = "tiny"\nbase = "tiny.toml"\nsteps = {steps}\n'
                    f"trials = {trials}\nnum_samples = 64\n{head}\n{body}", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, eval_cache: Path) -> None:
    monkeypatch.setenv("GANCORE_CACHE", str(eval_cache))
    monkeypatch.delenv("GANCORE_SWEEP_STORAGE", raising=False)


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gancore-cache")
