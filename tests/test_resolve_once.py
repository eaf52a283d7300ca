"""Resolve once: a recipe is validated into one immutable object that nothing re-validates."""

from __future__ import annotations

import copy

import gancore
from gancore.core import registry as registry_mod
from gancore.recipe import load_recipe, resolve
from gancore.recipe.resolve import iter_references

from .train.conftest import TINY


def _validations() -> int:
    return registry_mod.VALIDATIONS["count"]


def test_resolution_validates_each_reference_exactly_once():
    recipe = load_recipe(copy.deepcopy(TINY), ['generator.norm={type="group", groups=4}',
                                               'penalty="r1"'])
    before = _validations()
    resolved = resolve(recipe)
    refs = [spec for _, _, spec in iter_references(resolved) if spec.validated is not None]
    assert _validations() - before == len(refs)
    # the references include the nested ones: the network defaults and each block's
    assert len(refs) >= 15
    assert resolve(resolved) is resolved
    assert _validations() - before == len(refs)


def test_building_and_training_a_resolved_recipe_validate_nothing_again(tmp_path):
    from gancore.train import Trainer

    # (the packs' default callbacks are made from their defaults when a run starts: they are
    # not references of the recipe, so they are left out here)
    resolved = resolve(load_recipe(copy.deepcopy(TINY), ['penalty="r1"', 'augment="flip"',
                                                         "train.steps=2",
                                                         "train.default_callbacks=false"]))
    before = _validations()
    gan = gancore.build(resolved)
    gancore.save(gan, tmp_path / "init.safetensors")
    trainer = Trainer(resolved, out=tmp_path / "run")
    trainer.fit()
    assert _validations() == before
    assert trainer.recipe is resolved


def test_loading_a_file_validates_each_reference_once(tmp_path):
    before = _validations()
    gan = gancore.build("sagan")
    refs = [s for _, _, s in iter_references(gan.recipe) if s.validated is not None]
    assert _validations() - before == len(refs)
