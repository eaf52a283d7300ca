"""The augment components: parameters, policies, registration and use from a recipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gancore_augment
import pytest
import torch
from gancore_augment import plugin

import gancore
from gancore.plugin import RecipeError


@pytest.fixture
def registry():
    return gancore.load_plugins(extra=[("gancore-augment", plugin)], autoload=False).registry


def test_policy_order_and_effect(registry):
    aug = registry.create("augment", "diffaugment", policy="cutout, color")
    assert aug.ops == ["color", "cutout"]
    x = torch.rand(2, 3, 16, 16)
    torch.manual_seed(0)
    a = aug(x)
    torch.manual_seed(0)
    assert torch.equal(a, aug(x)) and not torch.equal(a, x)
    assert torch.equal(registry.create("augment", "diffaugment", policy="")(x), x)


def test_same_augmentation_for_real_and_fake_batches_passes_gradients(registry):
    aug = registry.create("augment", "diffaugment")
    fake = torch.rand(4, 3, 16, 16, requires_grad=True)
    real = torch.rand(4, 3, 16, 16)
    out_fake, out_real = aug(fake), aug(real)
    assert out_fake.shape == fake.shape and out_real.shape == real.shape
    out_fake.mean().backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_unknown_policy_operation_is_a_located_error(registry):
    with pytest.raises(RecipeError, match="did you mean 'color'") as info:
        registry.create("augment", "diffaugment", key="augment[0]", policy="colour")
    assert info.value.key == "augment[0].policy"
    with pytest.raises(RecipeError, match="translation_ratio"):
        registry.create("augment", "diffaugment", translation_ratio=2.0)


def test_every_component_builds_and_runs(check_pack):
    checked = check_pack(plugin, "gancore-augment")
    assert set(checked) == {
        "augment:diffaugment",
        "augment:color",
        "augment:translation",
        "augment:cutout",
        "augment:ada",
        "callback:ada",
    }


def test_bundled_recipe_resolves_with_defaults():
    gan = gancore.build("sagan-diffaugment")
    (augment,) = gan.recipe.augment
    assert augment.type == "diffaugment"
    assert augment.params()["translation_ratio"] == 0.125


def test_registered_through_the_entry_point():
    env = {**os.environ}
    env.pop("GANCORE_DISABLE_PLUGIN_AUTOLOAD", None)
    out = subprocess.run(
        [sys.executable, "-m", "gancore", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
        check=True,
    )
    rows = {p["name"]: p for p in json.loads(out.stdout)}
    assert rows["gancore-augment"]["status"] == "loaded"
    assert rows["gancore-augment"]["version"] == gancore_augment.__version__
    assert "augment:diffaugment" in rows["gancore-augment"]["components"]
