"""One data set per comparison: entries on different data are refused before training."""

from __future__ import annotations

import json
import textwrap

import pytest

from gancore.core.errors import GancoreError
from gancore.evaluation.evaluator import EvalSettings
from gancore.evaluation.plan import validate
from gancore.evaluation.study import load_study
from gancore.recipe.data_identity import align_setting, data_identity, describe_data
from tests.conftest import run_cli


def test_a_mixed_data_compare_is_refused_naming_both_data_sets(tmp_path):
    out = tmp_path / "cmp"
    result = run_cli("compare", "dcgan-32", "sagan", "--steps", "2", "-o", str(out))
    assert result.returncode == 2, result.stderr
    err = result.stderr
    assert "Traceback" not in err
    assert "different data" in err
    assert "dcgan-32: fashion_mnist 32×32" in err
    assert "sagan: shapes 32×32" in err
    assert """--set 'data={ type = "fashion_mnist", image_size = 32 }'""" in err
    assert "--allow-mixed-data" in err
    assert not (out / "dcgan-32").exists()  # refused before any training


def _study(tmp_path, extra: str = ""):
    path = tmp_path / "study.toml"
    path.write_text(textwrap.dedent(f"""
        [study]
        base = "dcgan-32"
        steps = 2
        {extra}

        [variants.fashion]
        set = []

        [variants.small]
        set = ["data.limit=500"]
    """), encoding="utf-8")
    return load_study(path)


def test_a_study_with_variants_on_different_data_is_refused(tmp_path, builtin_registry):
    study = _study(tmp_path)
    with pytest.raises(GancoreError) as info:
        validate(study.entries, overrides=[], seed=None, steps=2, settings=EvalSettings(),
                 registry=builtin_registry, study=study)
    exc = info.value
    assert exc.source == str(study.path) and exc.key == "study.set"
    assert "fashion: fashion_mnist 32×32, train split;" in exc.message
    assert "small: fashion_mnist 32×32, train split, limit 500" in exc.message
    assert "[study]" in exc.hint and "allow_mixed_data = true" in exc.hint


def test_allow_mixed_data_lets_the_study_through(tmp_path, builtin_registry):
    study = _study(tmp_path, "allow_mixed_data = true")
    assert study.meta.allow_mixed_data
    recipes = validate(study.entries, overrides=[], seed=None, steps=2, settings=EvalSettings(),
                       registry=builtin_registry, study=study, allow_mixed_data=True)
    assert recipes["small"]["data"]["limit"] == 500


def test_the_aligning_setting_gives_the_same_data(builtin_registry):
    from gancore.evaluation.plan import entries_from_args

    entries, _ = entries_from_args(["dcgan-32", "sagan"])
    fashion = validate(entries[:1], overrides=[], seed=None, steps=2, settings=EvalSettings(),
                       registry=builtin_registry)["dcgan-32"]
    fix = align_setting(fashion)
    recipes = validate(entries, overrides=[fix], seed=None, steps=2, settings=EvalSettings(),
                       registry=builtin_registry)
    assert data_identity(recipes["sagan"]) == data_identity(recipes["dcgan-32"])
    assert describe_data(recipes["sagan"]) == "fashion_mnist 32×32, train split"


def test_different_sample_counts_are_refused(builtin_registry):
    from gancore.evaluation.plan import entries_from_args

    entries, _ = entries_from_args(["dcgan-32", "lsgan"])
    entries[1].overrides = ["eval.num_samples=1000"]
    with pytest.raises(GancoreError, match=r"dcgan-32: 5,000, lsgan: 1,000") as info:
        validate(entries, overrides=[], seed=None, steps=2, settings=EvalSettings(),
                 registry=builtin_registry)
    assert "-n 5000" in info.value.hint
    validate(entries, overrides=[], seed=None, steps=2, settings=EvalSettings(num_samples=500),
             registry=builtin_registry)  # one count given for all: accepted


def test_recipes_lists_data_size_and_steps():
    result = run_cli("recipes", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert (rows["sagan"]["data"], rows["sagan"]["image_size"]) == ("shapes", 32)
    assert rows["dcgan-32"]["data"] == "fashion_mnist"
    assert rows["dcgan-32"]["steps"] == 5000
