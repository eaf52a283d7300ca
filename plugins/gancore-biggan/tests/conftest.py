"""Tiny BigGAN networks for the pack's tests."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from gancore_biggan import plugin

import gancore


@pytest.fixture(autouse=True)
def _two_threads() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def registry():
    return gancore.load_plugins(extra=[("gancore-biggan", plugin)], autoload=False).registry


@pytest.fixture
def build(registry):
    """``build(kind, size=16, classes=3, **params)``: a BigGAN network with ch = 4."""

    def _build(kind: str, size: int = 16, classes: int = 3, **params: Any) -> torch.nn.Module:
        torch.manual_seed(0)
        spec = {"type": "biggan", "ch": 4, **params}
        data = {"shape": (3, size, size), "num_classes": classes}
        return gancore.build_network(kind, spec, data, registry)

    return _build
