"""``gancore check``: what components need from each other, each hazard named with its key and
fix; nothing on the bundled recipes."""

from __future__ import annotations

import json

import pytest

from gancore.core.errors import RecipeError
from gancore.recipe import load_recipe, resolve
from gancore.recipe.requirements import RequirementWarning

from .conftest import RECIPES, run_cli

SHAPES = 'data={ type = "shapes", image_size = 32 }'
UNLABELLED = 'data={ type = "shapes", image_size = 32, labels = "none" }'


def findings(recipe: str, *overrides: str) -> list:
    return resolve(load_recipe(recipe, [SHAPES, *overrides])).findings


@pytest.mark.parametrize(("overrides", "component", "words"), [
    (['penalty="lecam"'], "penalty[0] (lecam)", "LeCam regularisation with a batch-norm"),
    (['penalty="cr"'], "penalty[0] (cr)", "consistency regularisation with a batch-norm"),
    (['penalty=["r1", "bcr"]'], "penalty[1] (bcr)", "balanced consistency regularisation"),
    (['loss="least_squares"'], "loss (least_squares)", "least squares with a batch-norm"),
    (['penalty="gradient_penalty"'], "penalty[0] (gradient_penalty)",
     "Gulrajani et al. 2017, section 4"),
    (['train.techniques=[{ type = "zcr" }]'], "train.techniques[0] (zcr)",
     "latent consistency regularisation (zCR) with a batch-norm"),
])
def test_batch_norm_hazards_are_warnings(overrides, component, words):
    found = findings("dcgan-32", *overrides)
    assert [(f.level, f.component, f.key) for f in found] == [
        ("warning", component, "discriminator.norm")]
    assert words in found[0].message
    assert 'discriminator.norm = "none"' in found[0].fix
    # the same recipe without batch norm in D is fine
    assert findings("dcgan-32", *overrides, 'discriminator.norm="none"') == []


def test_class_parts_on_unlabelled_data_are_errors():
    found = findings("acgan", UNLABELLED)
    assert {(f.level, f.component) for f in found} == {
        ("error", "loss (acgan)"), ("error", "generator (stack)")}
    assert [f.level for f in findings("cgan", UNLABELLED)] == ["error", "error"]  # G and D
    with pytest.raises(RecipeError) as info:
        import gancore

        gancore.build("acgan", overrides=[UNLABELLED])
    assert info.value.key == "loss.type"
    assert "have no class labels" in info.value.message
    assert "also: generator.conditioning" in info.value.hint


def test_build_gives_warnings_to_python_and_the_command_line():
    import gancore

    with pytest.warns(RequirementWarning, match=r"penalty\[0\] \(lecam\): LeCam"):
        gancore.build("dcgan-32", overrides=[SHAPES, 'penalty="lecam"'])
    res = run_cli("build", "dcgan-32", "--set", SHAPES, "--set", 'penalty="lecam"')
    assert res.returncode == 0, res.stderr
    assert "warning: dcgan-32: penalty[0] (lecam): LeCam regularisation" in res.stderr


def test_check_prints_each_finding_and_exits_1_on_an_error():
    res = run_cli("check", "dcgan-32", "--set", SHAPES, "--set", 'penalty="lecam"')
    assert res.returncode == 0, res.stderr
    assert "warning: dcgan-32: discriminator.norm: penalty[0] (lecam):" in res.stdout
    assert 'fix: set discriminator.norm = "none"' in res.stdout
    res = run_cli("check", "acgan", "--set", UNLABELLED, "--json")
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert {f["level"] for f in report[0]["findings"]} == {"error"}


def test_check_is_quiet_on_every_bundled_recipe_and_study():
    res = run_cli("check", *sorted(str(p) for p in RECIPES.glob("*.toml")), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert [r for r in report if r["findings"]] == []
    assert len(report) == len(list(RECIPES.glob("*.toml")))


def test_check_names_bcrs_deprecated_weights_and_refuses_both_spellings():
    no_bn = 'discriminator.norm="none"'
    (found,) = findings("dcgan-32", no_bn, 'penalty={ type = "bcr", weight = 2, real_weight = 3 }')
    assert (found.level, found.component, found.key) == ("warning", "penalty[0] (bcr)", "penalty")
    assert found.message.startswith("deprecated: bcr's real_weight and fake_weight are "
                                    "multiplied by weight (here λ_real = 6, λ_fake = 20)")
    assert 'write { type = "bcr", lambda_real = 6, lambda_fake = 20 }' in found.message
    # the old meaning with equal sides reads as one weight; the new spelling says nothing
    found = findings("dcgan-32", no_bn, 'penalty={ type = "bcr", real_weight = 1.0, '
                     'fake_weight = 1.0 }')
    assert [f.level for f in found] == ["warning"]
    assert 'write { type = "bcr", weight = 1 }' in found[0].message
    assert findings("dcgan-32", no_bn, 'penalty={ type = "bcr", weight = 10 }') == []
    res = run_cli("check", "dcgan-32", "--set", SHAPES, "--set", no_bn, "--set",
                  'penalty={ type = "bcr", lambda_real = 1, fake_weight = 2 }')
    assert res.returncode == 1
    assert "error: dcgan-32: penalty: bcr sets both real_weight/fake_weight" in res.stdout
