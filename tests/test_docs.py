"""The documentation in docs/ is current and complete."""

from __future__ import annotations

import inspect
import re

import pytest

from gancore.kit.catalogue import components_markdown, hooks_markdown, hookspecs, type_name

from .conftest import ROOT, run_cli

DOCS = ROOT / "docs"


def test_components_catalogue_is_current(builtin_registry):
    committed = (DOCS / "components.md").read_text(encoding="utf-8")
    generated = components_markdown(builtin_registry, ["builtin"])
    assert committed == generated, (
        "docs/components.md is out of date: run "
        "`gancore docs components --origin builtin > docs/components.md`"
    )


def test_catalogue_lists_every_builtin_component(builtin_registry):
    text = components_markdown(builtin_registry, ["builtin"])
    for entry in builtin_registry.entries():
        assert f"### `{entry.name}`" in text


@pytest.mark.parametrize("spec", hookspecs(), ids=lambda s: s.__name__)
def test_every_hookspec_is_documented(spec):
    assert (inspect.getdoc(spec) or "").strip(), f"{spec.__name__} has no docstring"
    guide = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert spec.__name__ in guide, f"{spec.__name__} is not described in docs/plugins.md"


def test_hookspecs_are_found():
    names = {s.__name__ for s in hookspecs()}
    assert {"gancore_register_components", "gancore_recipe_dirs"} <= names
    assert all(f"`{n}(" in hooks_markdown() for n in names)


def test_docs_exist_and_link_to_each_other():
    for name in ("getting-started.md", "recipes.md", "components.md", "plugins.md"):
        assert (DOCS / name).is_file(), name
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([\w.-]+\.md)(?:#[\w-]+)?\)", page.read_text()):
            assert (DOCS / target).is_file(), f"{page.name} links to missing {target}"


def test_recipe_reference_covers_every_key():
    from gancore.recipe import EvalSection, Recipe, RecipeMeta, TrainSection

    text = (DOCS / "recipes.md").read_text(encoding="utf-8")
    for model in (Recipe, RecipeMeta, TrainSection, EvalSection):
        for key in model.model_fields:
            assert f"`{key}`" in text, f"docs/recipes.md does not describe {key!r}"
    assert "`extends`" in text and "--set" in text and "gancore schema" in text


def test_type_names():
    from typing import Annotated, Literal

    from pydantic import Field

    assert type_name(Annotated[int, Field(gt=0)] | None) == "int | None"
    assert type_name(Literal["a", "b"]) == '"a" | "b"'
    assert type_name(list[int]) == "list[int]"


def test_docs_cli_prints_markdown():
    out = run_cli("docs", "components", "--origin", "builtin")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Components")
    hooks = run_cli("docs", "hooks")
    assert "gancore_register_components" in hooks.stdout


def test_kinds_reference_in_the_plugin_guide_is_current():
    from gancore.kit.catalogue import with_kinds_reference

    committed = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert committed == with_kinds_reference(committed), (
        "the kinds reference in docs/plugins.md is out of date: run "
        "`gancore docs kinds --update docs/plugins.md`"
    )


def test_the_kinds_reference_covers_every_kind():
    from gancore.core.kinds import KINDS
    from gancore.kit.catalogue import kinds_markdown

    text = kinds_markdown()
    for kind in KINDS.values():
        assert f"### `{kind.name}`" in text
        assert kind.verifies in text
        for arg in kind.supplied:
            assert f"`{arg}`" in text
