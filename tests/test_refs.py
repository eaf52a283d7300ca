"""Every component reference takes "name" or { type = "name", ...params }, validated once."""

from __future__ import annotations

import json

import pytest
from torch import nn

import gancore
from gancore.core.errors import GancoreError
from gancore.core.refs import NormSpec
from gancore.recipe import load_recipe, resolve
from gancore.recipe.resolve import iter_references

from .conftest import run_cli


def test_a_norm_with_parameters_builds_group_norms():
    gan = gancore.build("sagan", overrides=['generator.norm={type="group", groups=8}'])
    groups = [m for m in gan.generator.modules() if isinstance(m, nn.GroupNorm)]
    assert groups and all(m.num_groups == 8 for m in groups)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in gan.generator.modules())


def test_build_cli_summary_shows_the_group_norms():
    res = run_cli("build", "recipes/sagan.toml", "--set",
                  'generator.norm={type="group", groups=8}', env={"COLUMNS": "250"})
    assert res.returncode == 0, res.stderr
    assert "GroupNorm(8, 256)" in res.stdout and "GroupNorm(8, 128)" in res.stdout
    assert "BatchNorm2d" not in res.stdout


@pytest.mark.parametrize(("override", "check"), [
    ('generator.activation={type="leaky_relu", negative_slope=0.1}',
     lambda g: any(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.1
                   for m in g.generator.modules())),
    ('discriminator.weight_norm={type="spectral", n_power_iterations=3}',
     lambda g: any(getattr(p, "n_power_iterations", 0) == 3
                   for m in g.discriminator.modules()
                   for p in getattr(getattr(m, "parametrizations", None) or {}, "weight", []))),
    ('generator.blocks[0].norm={type="group", groups=4}',
     lambda g: isinstance(g.generator.blocks[0][2], nn.GroupNorm)
     and g.generator.blocks[0][2].num_groups == 4),
    ('loss={type="hinge", margin=2.0}', lambda g: g.loss.margin == 2.0),
    ('loss="least_squares"', lambda g: type(g.loss).__name__ == "LeastSquares"),
])
def test_parameters_on_every_kind_of_reference(override, check):
    assert check(gancore.build("sagan", overrides=[override]))


def test_penalties_augments_optimizers_and_metrics_take_both_forms():
    recipe = resolve(load_recipe("sagan", [
        'penalty="r1"',
        'train.g_optimizer="rmsprop"',
        'train.d_schedule={type="cosine", min_factor=0.1}',
        'eval.metrics=["fid", {type="kid", subset_size=100}]',
        'eval.extractor={type="classifier", epochs=1}',
    ]))
    assert [p.type for p in recipe.penalty] == ["r1"]
    assert recipe.penalty[0].validated.weight == 10.0
    assert recipe.train.g_optimizer.validated.lr == 5e-5
    assert recipe.train.d_schedule.validated.min_factor == 0.1
    assert [m.type for m in recipe.eval.metrics] == ["fid", "kid"]
    assert recipe.eval.metrics[1].validated.subset_size == 100
    assert recipe.eval.extractor.validated.epochs == 1


def test_a_bare_name_is_written_back_as_one_and_tables_get_their_defaults():
    recipe = resolve(load_recipe("sagan", ['generator.norm={type="group", groups=8}']))
    data = recipe.to_dict()
    assert data["generator"]["weight_norm"] == "builtin:spectral"  # resolved: qualified
    assert data["generator"]["norm"] == {"type": "builtin:group", "groups": 8}
    assert data["loss"]["type"] == "builtin:hinge"
    assert json.loads(recipe.to_json())["generator"]["activation"] == "builtin:relu"
    again = resolve(load_recipe(data))
    assert again.to_dict() == data


def test_the_resolved_recipe_is_immutable():
    recipe = resolve(load_recipe("sagan"))
    with pytest.raises(Exception, match="frozen"):
        recipe.seed = 4
    with pytest.raises(Exception, match="frozen"):
        recipe.train.steps = 4
    with pytest.raises(Exception, match="frozen"):
        recipe.generator.type = "other"


@pytest.mark.parametrize(("override", "key", "message"), [
    ('generator.norm={type="group", grops=8}', "generator.norm",
     "unknown parameter 'grops' of norm 'group'; did you mean 'groups'?"),
    ('generator.norm={type="none", groups=8}', "generator.norm",
     "norm 'none' takes no parameters"),
    ('generator.norm={type="grup"}', "generator.norm.type", "did you mean 'group'"),
    ('generator.activation="relux"', "generator.activation", "did you mean 'relu'"),
    ('penalty=[{type="r1", wieght=1.0}]', "penalty[0]", "did you mean 'weight'"),
    ('eval.metrics=["fid", {type="kid", subset_sise=10}]', "eval.metrics[1]",
     "did you mean 'subset_size'"),
    ('train.g_schedule={type="cosine", min_factr=0.1}', "train.g_schedule",
     "did you mean 'min_factor'"),
    ('generator.norm={groups=8}', "generator.norm.type", "reference has no type"),
])
def test_bad_references_are_one_located_message(override, key, message):
    with pytest.raises(GancoreError) as info:
        gancore.build("sagan", overrides=[override])
    assert info.value.key.startswith(key), info.value.key
    assert message in info.value.message


def test_bad_reference_on_the_command_line_exits_2():
    res = run_cli("build", "sagan", "--set", 'generator.norm={type="group", grops=8}')
    assert res.returncode == 2
    assert "sagan: generator.norm.grops: unknown parameter 'grops'" in res.stderr
    assert "did you mean 'groups'" in res.stderr and "Traceback" not in res.stderr


def test_references_are_found_at_every_depth():
    recipe = resolve(load_recipe("sagan", ['generator.blocks[0].norm="instance"']))
    refs = {key: (kind, spec.type) for kind, key, spec in iter_references(recipe)}
    assert refs["generator.blocks[0].norm"] == ("norm", "instance")
    assert refs["generator.norm"] == ("norm", "batch")
    assert refs["generator.stem"][0] == "block"
    assert refs["train.g_optimizer"] == ("optimizer", "adam")
    assert refs["eval.metrics[0]"] == ("metric", "fid")


def test_references_parse_by_kind():
    assert NormSpec.model_validate("batch").short
    spec = NormSpec.model_validate({"type": "group", "groups": 8})
    assert not spec.short and spec.params() == {"groups": 8}
    assert spec.model_dump() == {"type": "group", "groups": 8}
    assert NormSpec.model_validate("batch").model_dump() == "batch"


def test_schema_describes_every_kind_in_both_forms(builtin_registry):
    from gancore.recipe import json_schema

    schema = json_schema(builtin_registry)
    defs = schema["$defs"]
    norm = defs["NormSpec"]
    names = norm["oneOf"][0]
    assert names["type"] == "string" and {"batch", "group", "none"} <= set(names["enum"])
    assert {"$ref": "#/$defs/norm__group"} in norm["oneOf"]
    assert defs["norm__group"]["properties"]["groups"]["default"] == 32
    for kind in ("MetricSpec", "OptimizerSpec", "LossSpec", "PenaltySpec", "DatasetSpec",
                 "ActivationSpec", "InitSpec", "WeightNormSpec", "FeatureExtractorSpec"):
        assert defs[kind]["oneOf"][0]["type"] == "string", kind
    assert "auto" in defs["FeatureExtractorSpec"]["oneOf"][0]["enum"]


def test_the_schema_accepts_both_forms_and_refuses_typos(builtin_registry):
    jsonschema = pytest.importorskip("jsonschema")
    from gancore.recipe import json_schema

    schema = json_schema(builtin_registry)
    good = load_recipe("sagan", ['generator.norm={type="group", groups=8}',
                                 'eval.metrics=["fid", {type="kid", subset_size=100}]']).to_dict()
    jsonschema.validate(good, schema)
    bad = json.loads(json.dumps(good))
    bad["generator"]["norm"] = {"type": "group", "grops": 8}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_metrics_run_once_each_in_the_order_given():
    from gancore.evaluation.evaluator import metric_names

    specs = metric_names(["kid", "fid", {"type": "kid", "subset_size": 10}, "pr"], [], True)
    assert [s.type for s in specs] == ["kid", "fid", "pr"]
    assert specs[0].short  # the first reference of a name is the one kept
