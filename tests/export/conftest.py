"""Fixtures of the export tests: trained checkpoints, a registry with the test pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.bad_input.conftest import tiny_recipe
from tests.export.pack import PACK, ExportTestPack, train_checkpoint


@pytest.fixture(autouse=True)
def _two_threads() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny recipe (16x16, latent 8) trained for 2 steps, with EMA weights."""
    return train_checkpoint(tiny_recipe(), tmp_path_factory.mktemp("tiny") / "run")


@pytest.fixture(scope="session")
def pack_registry() -> Any:
    """The built-in components and the test pack (as ``gancore-exporttest``)."""
    from gancore.packs.loader import load_plugins

    return load_plugins(autoload=False, warn=False, extra=[(PACK, ExportTestPack())]).registry
