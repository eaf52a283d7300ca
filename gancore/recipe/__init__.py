"""Recipes: TOML files that name registered components and their parameters.

The pipeline, one module a stage: :mod:`~gancore.recipe.schema` (the static models),
:mod:`~gancore.core.refs` (component references), :mod:`~gancore.recipe.load` (TOML,
``extends``, ``--set``, stage-one validation), :mod:`~gancore.recipe.resolve` (stage two: each
component validated once against the registry) and :mod:`~gancore.recipe.jsonschema`.
"""

from __future__ import annotations

from gancore.core.refs import SPEC_KINDS, SPECS, ComponentSpec, as_spec
from gancore.recipe.jsonschema import json_schema
from gancore.recipe.load import (
    apply_override,
    deep_merge,
    find_recipe,
    load_raw,
    load_recipe,
    parse_key_path,
    parse_value,
    read_toml,
    recipe_dirs,
    validate_recipe,
)
from gancore.recipe.resolve import check_requires, resolve, resolve_spec
from gancore.recipe.schema import EvalSection, Recipe, RecipeMeta, TrainSection

__all__ = [
    "SPECS", "SPEC_KINDS", "ComponentSpec", "EvalSection", "Recipe", "RecipeMeta",
    "TrainSection", "apply_override", "as_spec", "check_requires", "deep_merge", "find_recipe",
    "json_schema", "load_raw", "load_recipe", "parse_key_path", "parse_value", "read_toml",
    "recipe_dirs", "resolve", "resolve_spec", "validate_recipe",
]
