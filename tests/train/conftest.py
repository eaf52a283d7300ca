"""Fixtures for the training tests: a tiny recipe that trains in a fraction of a second."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

TINY: dict[str, Any] = {
    "recipe": {"name": "tiny"},
    "seed": 3,
    "data": {"type": "shapes", "image_size": 16, "num_samples": 64},
    "generator": {
        "type": "stack",
        "latent_dim": 8,
        "stem": {"type": "dense", "out_channels": 16, "resolution": 4},
        "blocks": [
            {"type": "upsample", "out_channels": 8},
            {"type": "upsample", "out_channels": 8},
        ],
    },
    "discriminator": {
        "type": "stack",
        "norm": "batch",
        "blocks": [
            {"type": "down", "out_channels": 8, "norm": "none"},
            {"type": "down", "out_channels": 16},
        ],
    },
    "train": {
        "batch_size": 8,
        "steps": 4,
        "techniques": [{"type": "ema", "decay": 0.9}],
        "log_every": 2,
        "sample_every": 2,
        "checkpoint_every": 2,
        "grid_size": 8,
    },
}


@pytest.fixture(autouse=True)
def _two_threads() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny() -> dict[str, Any]:
    """A fresh copy of the tiny recipe (edit it freely)."""
    return copy.deepcopy(TINY)
