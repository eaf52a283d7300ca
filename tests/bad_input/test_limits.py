"""Recursion and size limits on recipes, and user text in rich output (class 3).

``extends`` chains, arrays and tables nested thousands deep (in a file, in ``--set``, in a dict
given to the API), megabyte strings and keys, huge arrays and files: each is refused with one
message naming the bound, before anything recursive or slow runs. Names holding rich markup
print literally and never break a command after it wrote its files. A mistake in an ``extends``
parent is reported against the parent's file.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import tomli_w

import gancore
from gancore.core.errors import RecipeError
from gancore.recipe import load_recipe
from gancore.recipe.load import MAX_DEPTH, MAX_EXTENDS, MAX_ITEMS, MAX_STRING

from .conftest import cli_error, cli_ok, snapshot, tiny_recipe, write_recipe

DEEP = 5000  # far beyond Python's recursion limit


def _build_fails(capsys, tmp_path: Path, recipe: Path, *args: str) -> str:
    """``gancore build RECIPE ARGS -o x``: one message, exit 2, nothing written, quickly."""
    before = snapshot(tmp_path)
    start = time.perf_counter()
    msg = cli_error(capsys, "build", str(recipe), *args, "-o", str(tmp_path / "x.safetensors"))
    assert time.perf_counter() - start < 30
    assert snapshot(tmp_path) == before
    return msg


def _chain(folder: Path, length: int) -> Path:
    """``c0.toml`` extends ``c1.toml`` ... extends ``c{length-1}.toml``, the tiny recipe."""
    write_recipe(folder / f"c{length - 1}.toml")
    for i in range(length - 1):
        (folder / f"c{i}.toml").write_text(f'extends = "c{i + 1}.toml"\n')
    return folder / "c0.toml"


# -- extends -----------------------------------------------------------------------------

@pytest.mark.parametrize("length", [1200, 5000, MAX_EXTENDS + 2])
def test_a_long_extends_chain_is_refused(capsys, tmp_path, length):
    top = _chain(tmp_path, length)
    msg = _build_fails(capsys, tmp_path, top)
    assert f"the `extends` chain is longer than {MAX_EXTENDS} parents" in msg
    assert f"c{MAX_EXTENDS + 1}.toml: extends:" in msg  # the first file beyond the bound


def test_the_longest_allowed_chain_builds(capsys, tmp_path):
    top = _chain(tmp_path, MAX_EXTENDS + 1)  # the recipe and its 32 parents
    out = cli_ok(capsys, "build", str(top), "--json")
    assert '"recipe": "tiny"' in out


def test_a_long_chain_given_to_the_api_is_refused(tmp_path):
    top = _chain(tmp_path, 1200)
    with pytest.raises(RecipeError, match="longer than 32 parents"):
        load_recipe({"extends": str(top)})


# -- nesting -----------------------------------------------------------------------------

def _nested_array(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def _nested_table(depth: int) -> str:
    return "{a = " * depth + "1" + "}" * depth


NESTED_FILES = [
    # (TOML appended to a recipe that extends the tiny one, what the message says)
    (f"[recipe]\ndescription = {_nested_array(DEEP)}\n", "nested too deeply to read"),
    (f"[recipe]\ndescription = {_nested_table(DEEP)}\n", "nested too deeply to read"),
    (f"[generator]\nstem = {_nested_table(DEEP)}\n", "nested too deeply to read"),
    (f"[train]\nx = {_nested_array(MAX_DEPTH + 5)}\n", "nested more than 32 levels deep"),
    (f"[train]\nx = {_nested_table(MAX_DEPTH + 5)}\n", "nested more than 32 levels deep"),
    ("[generator]\n" + "a." * DEEP + "a = 1\n", "nested more than 32 levels deep"),
    ("[" + ".".join(["t"] * DEEP) + "]\nx = 1\n", "nested more than 32 levels deep"),
    ("[[" + ".".join(["t"] * (MAX_DEPTH + 3)) + "]]\nx = 1\n", "nested more than 32 levels deep"),
    (f"x = {_nested_array(DEEP * 4)}\n", "nested too deeply to read"),
]


@pytest.mark.parametrize("toml, fragment", NESTED_FILES,
                         ids=[f"{i}:{c[0][:24]}" for i, c in enumerate(NESTED_FILES)])
def test_deeply_nested_files_are_refused(capsys, tmp_path, toml, fragment):
    write_recipe(tmp_path / "base.toml")
    path = tmp_path / "deep.toml"
    path.write_text('extends = "base.toml"\n' + toml)
    msg = _build_fails(capsys, tmp_path, path)
    assert fragment in msg and "deep.toml" in msg
    assert f"at most {MAX_DEPTH} arrays or tables" in msg


NESTED_SETS = [
    (f"train.x={_nested_array(DEEP)}", "nested too deeply to read"),
    (f"train.x={_nested_table(DEEP)}", "nested too deeply to read"),
    (f"generator.stem={_nested_table(MAX_DEPTH + 1)}", "nested more than 32 levels deep"),
    (f"generator.blocks[0]={_nested_array(MAX_DEPTH + 1)}", "nested more than 32 levels deep"),
    (".".join(["a"] * 40) + "=1", "the key path has 40 parts (at most 32)"),
    ("generator" + "[0]" * 40 + "=1", "the key path has 41 parts (at most 32)"),
    (".".join(["a"] * DEEP) + "=1", "a key path of 9,999 characters is too long"),
    ("generator" + "[0]" * DEEP + "=1", "a key path of 15,009 characters is too long"),
    ("a" * (MAX_STRING + 1) + "=1", "a key path of 4,097 characters is too long"),
    ("recipe.name=" + '"' + "n" * 10**6 + '"', "a string of 1,000,000 characters is too long"),
]


@pytest.mark.parametrize("override, fragment", NESTED_SETS,
                         ids=[f"{i}:{c[0][:24]}" for i, c in enumerate(NESTED_SETS)])
def test_deeply_nested_overrides_are_refused(capsys, tmp_path, override, fragment):
    path = write_recipe(tmp_path / "tiny.toml")
    msg = _build_fails(capsys, tmp_path, path, "--set", override)
    assert fragment in msg and "--set" in msg


def _deep_dict(depth: int, leaf: object = 1) -> dict:
    node: object = leaf
    for _ in range(depth):
        node = {"a": node}
    return node  # type: ignore[return-value]


def _deep_list(depth: int) -> list:
    node: object = 1
    for _ in range(depth):
        node = [node]
    return node  # type: ignore[return-value]


@pytest.mark.parametrize("section, value", [
    ("recipe", {"description": _deep_dict(DEEP)}),
    ("train", {"x": _deep_list(DEEP)}),
    ("generator", {"type": "stack", "stem": _deep_dict(10 * DEEP)}),
    ("penalty", _deep_list(MAX_DEPTH + 1)),
])
def test_deeply_nested_dicts_given_to_the_api_are_refused(section, value):
    recipe = tiny_recipe()
    recipe[section] = value
    with pytest.raises(RecipeError, match="nested more than 32 levels deep"):
        gancore.build(recipe)


# -- sizes -------------------------------------------------------------------------------

MB = 10**6

SIZES = [
    ({"recipe": {"name": "n" * MB}}, "recipe.name", "a string of 1,000,000 characters"),
    ({"recipe": {"name": "n" * 300}}, "recipe.name", "at most 200 characters"),
    ({"recipe": {"description": "d" * 5000}}, "recipe.description", "a string of 5,000"),
    ({"recipe": {"requires": ["p" * MB]}}, "recipe.requires[0]", "1,000,000 characters"),
    ({"data": {"type": "shapes" * 200_000}}, "data.type", "a string of 1,200,000 characters"),
    ({"data": {"type": "folder", "root": "/" * MB}}, "data.root", "1,000,000 characters"),
    ({"generator": {"norm": "b" * MB}}, "generator.norm", "1,000,000 characters"),
    ({"train": {"device": "c" * MB}}, "train.device", "1,000,000 characters"),
    ({"train": {"k" * MB: 1}}, "train", "a key of 1,000,000 characters"),
    ({"train": {"x": list(range(MAX_ITEMS + 1))}}, "train.x", "an array of 10,001 items"),
    ({"generator": {"blocks": [{"type": "upsample"}] * 20_000}}, "generator.blocks",
     "an array of 20,000 items"),
    ({"train": {f"k{i}": i for i in range(MAX_ITEMS + 1)}}, "train", "a table of 10,008 items"),
    ({"penalty": ["r1"] * 100}, "penalty", "at most 64 items"),
    ({"eval": {"metrics": ["fid"] * 100}}, "eval.metrics", "at most 64 items"),
]


@pytest.mark.parametrize("sections, key, fragment", SIZES,
                         ids=[f"{c[1]}:{c[2][:20]}" for c in SIZES])
def test_oversized_strings_and_arrays_are_refused(capsys, tmp_path, sections, key, fragment):
    recipe = tiny_recipe()
    for name, values in sections.items():
        recipe[name] = {**recipe.get(name, {}), **values} if isinstance(values, dict) else values
    path = write_recipe(tmp_path / "big.toml", recipe)
    msg = _build_fails(capsys, tmp_path, path)
    assert f"big.toml: {key}" in msg and fragment in msg
    assert len(msg) < 2000  # the megabyte is not echoed


def test_an_oversized_file_is_refused_before_parsing(capsys, tmp_path):
    path = write_recipe(tmp_path / "huge.toml")
    with path.open("a") as fh:
        fh.write("# " + "x" * (5 * MB) + "\n")
    msg = _build_fails(capsys, tmp_path, path)
    assert "huge.toml" in msg and "a recipe may be at most 4,194,304" in msg


def test_a_megabyte_name_does_not_hang_the_summary(capsys, tmp_path):
    recipe = tiny_recipe(recipe={"name": "n" * MB})
    path = write_recipe(tmp_path / "big.toml", recipe)
    msg = _build_fails(capsys, tmp_path, path)
    assert "recipe.name" in msg and "at most 4,096" in msg


def test_a_megabyte_extends_name_is_refused(capsys, tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('extends = "' + "e" * MB + '"\n')
    msg = _build_fails(capsys, tmp_path, path)
    assert "extends" in msg and "1,000,000 characters" in msg


# -- markup in user text ---------------------------------------------------------------------

MARKUP_NAMES = [
    "[/]",
    "[/bold]",
    "[bold red]loud",
    "[link=file:///etc/passwd]click[/link]",
    "a[/]b[/]c",
    "[not a style]",
    "\\[escaped]",
    "[[/]]",
    "[",
    "]",
    "[red",
    "💥[/]",
]


@pytest.mark.parametrize("name", MARKUP_NAMES)
def test_markup_in_a_recipe_name_prints_literally(capsys, tmp_path, name):
    path = write_recipe(tmp_path / "m.toml", tiny_recipe(recipe={"name": name}))
    out = tmp_path / "init.safetensors"
    text = cli_ok(capsys, "build", str(path), "-o", str(out))
    assert f"ok {name}: data shapes" in " ".join(text.split())
    assert gancore.load(out).recipe.recipe.name == name  # the whole checkpoint, readable


@pytest.mark.parametrize("name", ["[red]", "[bold]x", "[link=x]y", "]x[", "a[b"])
def test_markup_in_paths_prints_literally(capsys, tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    path = write_recipe(folder / f"{name}.toml")
    out = folder / f"{name}.safetensors"
    text = cli_ok(capsys, "build", str(path), "-o", str(out))
    assert f"saved initial weights to {out}" in "".join(text.split("\n"))
    assert out.is_file()


@pytest.mark.parametrize("pattern", ["[/]", "[bold]*", "*[/red]"])
def test_markup_in_a_list_pattern_prints_literally(capsys, pattern):
    text = cli_ok(capsys, "list", "block", pattern)
    assert pattern in text


def test_markup_in_an_error_prints_literally(capsys, tmp_path):
    path = write_recipe(tmp_path / "e.toml", tiny_recipe(data={"type": "[/]shapes[bold]"}))
    msg = _build_fails(capsys, tmp_path, path)
    assert "unknown dataset '[/]shapes[bold]'" in msg


# -- mistakes in extends parents -----------------------------------------------------------

def _family(tmp_path: Path, parent: dict, child: str, grandparent: dict | None = None) -> Path:
    if grandparent is not None:
        (tmp_path / "grand.toml").write_text(tomli_w.dumps(grandparent))
        parent = {"extends": "grand.toml", **parent}
    (tmp_path / "parent.toml").write_text(tomli_w.dumps(parent))
    path = tmp_path / "child.toml"
    path.write_text('extends = "parent.toml"\n' + child)
    return path


def _typo(section: str, old: str, new: str) -> dict:
    recipe = tiny_recipe()
    values = dict(recipe[section])
    values[new] = values.pop(old)
    recipe[section] = values
    return recipe


PARENT_MISTAKES = [
    # (parent recipe, child TOML, file at fault, key, fragment)
    (_typo("train", "steps", "stpes"), "[train]\nbatch_size = 4\n", "parent", "train.stpes",
     "did you mean 'steps'"),
    (_typo("generator", "latent_dim", "latent_dimm"), '[generator]\nnorm = "batch"\n', "parent",
     "generator.latent_dimm", "did you mean 'latent_dim'"),
    (tiny_recipe(train={"grad_clip": True}), "[train]\nsteps = 2\n", "parent",
     "train.grad_clip", "valid number"),
    (tiny_recipe(data={"image_size": 0}), "seed = 1\n", "parent", "data.image_size",
     "greater than or equal to 4"),
    (tiny_recipe(data={"type": "shapez"}), "seed = 1\n", "parent", "data.type",
     "did you mean 'shapes'"),
    (tiny_recipe(), "[train]\nstpes = 2\n", "child", "train.stpes", "did you mean 'steps'"),
    (tiny_recipe(), "[generator]\nlatent_dimm = 2\n", "child", "generator.latent_dimm",
     "did you mean 'latent_dim'"),
    (_typo("train", "steps", "stpes"), "[train]\nstpes = 2\n", "child", "train.stpes",
     "did you mean"),  # the child wrote the key last
]


@pytest.mark.parametrize("parent, child, culprit, key, fragment", PARENT_MISTAKES,
                         ids=[f"{c[2]}:{c[3]}" for c in PARENT_MISTAKES])
def test_a_mistake_is_reported_against_the_file_that_holds_it(
    capsys, tmp_path, parent, child, culprit, key, fragment
):
    path = _family(tmp_path, parent, child)
    msg = _build_fails(capsys, tmp_path, path)
    assert f"{tmp_path / (culprit + '.toml')}: {key}:" in msg and fragment in msg, msg


@pytest.mark.parametrize("grandparent, key", [
    (_typo("train", "steps", "stpes"), "train.stpes"),
    (_typo("discriminator", "norm", "nrom"), "discriminator.nrom"),
    ({**tiny_recipe(), "seed": -1}, "seed"),
])
def test_a_mistake_in_a_grandparent_is_reported_against_it(capsys, tmp_path, grandparent, key):
    path = _family(tmp_path, {"recipe": {"name": "middle"}}, "seed = 2\n" if key != "seed" else "",
                   grandparent)
    msg = _build_fails(capsys, tmp_path, path)
    assert f"{tmp_path / 'grand.toml'}: {key}:" in msg, msg
