"""Recipe loading: TOML, extends, overrides, two-stage validation, TOML round trip."""

from __future__ import annotations

import pytest

from gancore.core.errors import RecipeError
from gancore.recipe import (
    apply_override,
    deep_merge,
    load_recipe,
    parse_key_path,
    resolve,
    validate_recipe,
)

from .conftest import RECIPES, write


def test_deep_merge_merges_tables_and_replaces_lists():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    out = deep_merge(base, {"a": {"y": [3], "z": 2}})
    assert out == {"a": {"x": 1, "y": [3], "z": 2}, "b": 1}
    assert base["a"]["y"] == [1, 2]  # inputs untouched


def test_extends_deep_merges_parent(tmp_path):
    child = write(tmp_path / "child.toml", f"""
        extends = "{RECIPES / 'dcgan-32.toml'}"
        [generator]
        latent_dim = 64
        [train]
        steps = 7
    """)
    recipe = load_recipe(child)
    assert recipe.generator.params()["latent_dim"] == 64
    assert recipe.generator.params()["norm"] == "batch"  # kept from the parent
    assert recipe.train.steps == 7
    assert recipe.train.batch_size == 64


def test_extends_by_bundled_name_and_relative(tmp_path):
    write(tmp_path / "base.toml", 'extends = "dcgan-32"\n[recipe]\nname = "base"\n')
    child = write(tmp_path / "sub" / "c.toml", 'extends = "../base.toml"\nextends_ok = 1\n')
    with pytest.raises(RecipeError, match="extends_ok"):  # merged, then unknown key refused
        load_recipe(child)
    write(child, 'extends = "../base.toml"\n[train]\nsteps = 3\n')
    recipe = load_recipe(child)
    assert (recipe.recipe.name, recipe.train.steps) == ("base", 3)
    assert recipe.data.type == "fashion_mnist"
    assert load_recipe("lsgan").loss.type == "least_squares"


def test_key_paths_and_typed_overrides():
    assert parse_key_path("generator.blocks[2].out_channels") == [
        "generator", "blocks", 2, "out_channels"]
    data = {"generator": {"blocks": [{"type": "a"}, {"type": "b"}]}}
    apply_override(data, "generator.blocks[1].out_channels=64")
    apply_override(data, "train.betas=[0.0, 0.9]")
    apply_override(data, "data.type=shapes")
    apply_override(data, "train.ema=true")
    assert data["generator"]["blocks"][1]["out_channels"] == 64
    assert data["train"] == {"betas": [0.0, 0.9], "ema": True}
    assert data["data"]["type"] == "shapes"
    with pytest.raises(RecipeError, match="no '='"):
        apply_override(data, "train.steps")
    with pytest.raises(RecipeError, match=r"no item \[5\]"):
        apply_override(data, "generator.blocks[5].type=x")


def test_overrides_apply_to_loaded_recipe():
    r = load_recipe("dcgan-32", ["data.type=shapes", "train.steps=12", "seed=3"])
    assert (r.data.type, r.train.steps, r.seed) == ("shapes", 12, 3)


def test_resolve_fills_defaults_and_round_trips_through_toml(tmp_path, builtin_registry):
    resolved = resolve(load_recipe("sagan"), builtin_registry)
    g = resolved.generator.params()
    assert g["conditioning"] == "none"  # default filled in
    assert g["blocks"][0]["mode"] == "nearest"  # block defaults too
    path = tmp_path / "resolved.toml"
    path.write_text(resolved.to_toml())
    again = resolve(load_recipe(path), builtin_registry)
    assert again.to_dict() == resolved.to_dict()


def test_stage_one_rejects_unknown_keys_with_key_path():
    with pytest.raises(RecipeError) as exc:
        validate_recipe({"data": {"type": "shapes"}, "generator": {"type": "stack"},
                         "discriminator": {"type": "stack"}, "train": {"stepz": 3}}, "r.toml")
    assert exc.value.key == "train.stepz"
    assert "did you mean 'steps'" in exc.value.message


def test_stage_two_rejects_unknown_block_parameter(builtin_registry):
    r = load_recipe("sagan", ["generator.blocks[0].out_chanels=3"])
    with pytest.raises(RecipeError) as exc:
        resolve(r, builtin_registry)
    assert exc.value.key == "generator.blocks[0].out_chanels"
    assert "did you mean 'out_channels'" in exc.value.message


def _lrs(recipe):
    return recipe.train.g_optimizer.params()["lr"], recipe.train.d_optimizer.params()["lr"]


def test_d_optimizer_left_out_follows_g_optimizer_overrides(builtin_registry):
    """docs/recipes.md: d_optimizer defaults to "same as g_optimizer", --set included."""
    r = load_recipe("dcgan-32", ["train.g_optimizer.lr=1e-4"])
    assert r.train.d_follows_g
    assert _lrs(r) == (1e-4, 1e-4)
    assert r.train.d_optimizer.params()["betas"] == [0.5, 0.999]
    # also when the overrides come after loading and resolving (as the trainer applies them)
    resolved = resolve(load_recipe("wgan-gp"), builtin_registry)
    again = load_recipe(resolved, ["train.g_optimizer={ type = \"sgd\", lr = 0.5 }"])
    assert again.train.d_optimizer.type == "sgd"
    assert _lrs(again) == (0.5, 0.5)
    # a d_optimizer table without a type changes only those settings of g_optimizer's
    r = load_recipe("dcgan-32", ["train.g_optimizer.lr=1e-4", "train.d_optimizer.lr=4e-4"])
    assert _lrs(r) == (1e-4, 4e-4)
    assert r.train.d_optimizer.params()["betas"] == [0.5, 0.999]
    assert not r.train.d_follows_g


def test_d_optimizer_set_in_the_recipe_keeps_its_settings(tmp_path):
    assert not load_recipe("sagan").train.d_follows_g
    r = load_recipe("sagan", ["train.g_optimizer.lr=5e-5"])
    assert _lrs(r) == (5e-5, 4e-4)  # sagan's two time-scale rule kept
    child = write(tmp_path / "child.toml", f"""
        extends = "{RECIPES / 'dcgan-32.toml'}"
        [train]
        d_optimizer = {{ type = "sgd", lr = 0.01 }}
        """)
    r = load_recipe(child, ["train.g_optimizer.lr=1e-3"])
    assert r.train.d_optimizer.type == "sgd"
    assert _lrs(r) == (1e-3, 0.01)


def test_unknown_key_suggests_the_nested_keys_of_that_name():
    with pytest.raises(RecipeError) as exc:
        load_recipe("dcgan-32", ["train.lr=1e-4"])
    assert exc.value.key == "train.lr"
    assert exc.value.message == ("unknown parameter 'lr'; did you mean "
                                 "'train.g_optimizer.lr' or 'train.d_optimizer.lr'?")
    assert exc.value.hint.startswith("write the whole key path, e.g. train.g_optimizer.lr; ")
    # keys elsewhere in the recipe too, the same table's first
    with pytest.raises(RecipeError) as exc:
        load_recipe("sagan", ["train.latent_dim=3"])
    assert "did you mean 'generator.latent_dim'?" in exc.value.message
    with pytest.raises(RecipeError) as exc:  # a close spelling keeps its own suggestion
        load_recipe("sagan", ["train.stepz=3"])
    assert exc.value.message == "unknown parameter 'stepz'; did you mean 'steps'?"
    with pytest.raises(RecipeError) as exc:  # nothing of that name: no suggestion
        load_recipe("sagan", ["train.qqq=3"])
    assert "did you mean" not in exc.value.message


def test_log_every_left_out_gives_about_100_records_a_run(builtin_registry):
    assert load_recipe("dcgan-32").train.log_every == 50  # 5,000 steps
    assert load_recipe("dcgan-32", ["train.steps=200"]).train.log_every == 2
    assert load_recipe("dcgan-32", ["train.steps=150"]).train.log_every == 1
    assert load_recipe("dcgan-32", ["train.steps=7"]).train.log_every == 1  # at least 1
    # derived again when a loaded, resolved recipe is given another step count
    resolved = resolve(load_recipe("dcgan-32"), builtin_registry)
    assert "log_every" in resolved.train.derived
    assert load_recipe(resolved, ["train.steps=1000"]).train.log_every == 10
    # a value the recipe sets is kept
    assert load_recipe("ring", ["train.steps=200"]).train.log_every == 500
    r = load_recipe("dcgan-32", ["train.log_every=7", "train.steps=5000"])
    assert r.train.log_every == 7 and "log_every" not in r.train.derived
    assert load_recipe(r, ["train.steps=100"]).train.log_every == 7
