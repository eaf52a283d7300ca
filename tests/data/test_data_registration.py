import subprocess
import sys
from typing import Any

import pytest

from gancore.core.errors import RecipeError
from gancore.core.protocols import DataSpec
from gancore.core.registry import Registry
from gancore.data.registration import DATASETS, register

NAMES = ["celeba", "cifar10", "fashion_mnist", "folder", "grid", "mnist", "prepared", "ring",
         "shapes"]
#: What describe() needs of the datasets that read a folder of the user's.
NEEDS = {"folder": {"root": "unused"},
         "prepared": {"root": "/nonexistent/prepared", "image_size": 64, "channels": 3}}


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry()
    register(reg)
    return reg


def test_all_datasets_registered(registry: Registry) -> None:
    assert registry.names("dataset") == NAMES == sorted(DATASETS)
    assert all(entry.summary for entry in registry.entries("dataset"))


@pytest.mark.parametrize("name", NAMES)
def test_params_and_describe(registry: Registry, name: str) -> None:
    entry = registry.get("dataset", name)
    fields = entry.params_model().model_fields
    assert all(field.annotation is not Any for field in fields.values()), name
    cls = entry.load()
    spec = cls.describe(**NEEDS.get(name, {}))
    assert isinstance(spec, DataSpec)
    if spec.is_image:
        for key in ("image_size", "split", "flip", "rotate", "shift"):
            assert key in fields, (name, key)
        bigger = cls.describe(**{**NEEDS.get(name, {}), "image_size": 48})
        assert bigger.shape[1:] == (48, 48)


def test_create_through_registry(registry: Registry) -> None:
    ds = registry.create("dataset", "shapes", num_samples=8, image_size=16)
    assert len(ds) == 8 and ds[0][0].shape == (3, 16, 16)
    ring = registry.create("dataset", "ring", num_samples=10)
    assert ring[0][0].shape == (2,)
    with pytest.raises(RecipeError, match="did you mean 'num_samples'"):
        registry.create("dataset", "shapes", num_sample=8)
    with pytest.raises(RecipeError):
        registry.create("dataset", "shapes", split="validation")


def test_registration_does_not_import_torch() -> None:
    code = ("import sys, gancore.data, gancore.data.registration as r; "
            "from gancore.core.registry import Registry; r.register(Registry()); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
