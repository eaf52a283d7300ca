"""Fixtures for the evaluation tests: tiny recipes, a tiny trained run, fast settings."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.train.conftest import TINY as TRAIN_TINY

#: The training tests' tiny recipe, with a [train] table for evaluation runs.
TINY: dict[str, Any] = {
    **copy.deepcopy(TRAIN_TINY),
    "train": {
        "batch_size": 8,
        "steps": 3,
        # horizon 1/(1 - 0.5) = 2 updates: 3 steps make an EMA evaluation scores
        "techniques": [{"type": "ema", "decay": 0.5}],
        "log_every": 1,
        "sample_every": 100,
        "checkpoint_every": 100,
        "grid_size": 8,
        "precision": "fp32",
    },
    "eval": {"num_samples": 64},
}

RING: dict[str, Any] = {
    "recipe": {"name": "tiny-ring"},
    "data": {"type": "ring", "num_samples": 2000},
    "generator": {
        "type": "stack",
        "latent_dim": 4,
        "stem": {"type": "linear", "out_channels": 32},
        "head": {"type": "to_vector"},
    },
    "discriminator": {"type": "stack", "blocks": [{"type": "linear", "out_channels": 32}]},
    "train": {"batch_size": 32, "steps": 3, "log_every": 1, "sample_every": 100},
    "eval": {"num_samples": 500},
}

#: A small, quick domain classifier for the tests.
FAST_CLASSIFIER = {"max_train": 512, "epochs": 1}


@pytest.fixture
def make_tiny() -> Any:
    """``make_tiny(data={...})``: a copy of the tiny image recipe with sections updated."""

    def make(**changes: Any) -> dict[str, Any]:
        recipe = copy.deepcopy(TINY)
        for section, values in changes.items():
            recipe[section] = {**recipe.get(section, {}), **values}
        return recipe

    return make


@pytest.fixture
def ring_recipe() -> dict[str, Any]:
    """A copy of the tiny ring recipe."""
    return copy.deepcopy(RING)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, eval_cache: Path) -> Any:
    monkeypatch.delenv("GANCORE_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("GANCORE_CACHE", str(eval_cache))
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder (classifiers, real statistics) for the whole session."""
    return tmp_path_factory.mktemp("gancore-cache")


@pytest.fixture
def quick_cli(monkeypatch: pytest.MonkeyPatch, eval_cache: Path) -> None:
    """The CLI's evaluation settings with the quick classifier and the session's cache."""
    from gancore.commands import evaluate as evaluate_cmd

    make = evaluate_cmd._settings

    def quick(*args: Any, **kwargs: Any) -> Any:
        settings = make(*args, **kwargs)
        settings.extractor_options = dict(FAST_CLASSIFIER)
        settings.cache_dir = str(eval_cache)
        return settings

    monkeypatch.setattr(evaluate_cmd, "_settings", quick)


@pytest.fixture
def settings(eval_cache: Path) -> Any:
    """Evaluation settings with a quick classifier and the session's cache."""
    from gancore.evaluation import EvalSettings

    return EvalSettings(num_samples=64, extractor_options=dict(FAST_CLASSIFIER),
                        cache_dir=str(eval_cache))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of the tiny shapes recipe trained for 3 steps (with EMA weights)."""
    from gancore.train import train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(copy.deepcopy(TINY), out=out)
    return out


@pytest.fixture(scope="session")
def ring_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of the tiny ring recipe trained for 3 steps."""
    from gancore.train import train

    out = tmp_path_factory.mktemp("runs") / "ring"
    train(copy.deepcopy(RING), out=out)
    return out
