"""`gancore schema`: a valid JSON Schema that accepts every bundled recipe."""

from __future__ import annotations

import json

import jsonschema
import pytest

from gancore.recipe import json_schema, load_raw

from .conftest import RECIPES


@pytest.fixture(scope="module")
def schema():
    from gancore.packs.loader import get_registry

    s = json_schema(get_registry())
    jsonschema.Draft202012Validator.check_schema(s)
    return s


def test_bundled_recipes_validate(schema):
    for path in RECIPES.glob("*.toml"):
        jsonschema.validate(load_raw(path), schema)


def test_schema_catches_typos_and_unknown_components(schema):
    recipe = load_raw(RECIPES / "sagan.toml")
    recipe["generator"]["blocks"][0]["type"] = "upsampel"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(recipe, schema)
    recipe = load_raw(RECIPES / "sagan.toml")
    recipe["generator"]["blocks"][0]["out_chanels"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(recipe, schema)


def test_schema_lists_block_parameters(schema):
    up = schema["$defs"]["block__upsample"]
    assert up["properties"]["type"] == {"enum": ["upsample", "builtin:upsample"]}
    assert "out_channels" in up["properties"] and "mode" in up["properties"]


def test_cli_writes_the_schema(tmp_path):
    from .conftest import run_cli

    res = run_cli("schema", "-o", str(tmp_path / "s.json"))
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "s.json").read_text())["title"] == "gancore recipe"
