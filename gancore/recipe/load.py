"""Reading recipes: TOML files, ``extends`` chains, ``--set`` overrides, stage-one validation."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gancore.errors import GancoreError, RecipeError, suggest
from gancore.recipe.schema import Recipe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``: tables merge key by key, everything else replaces.

    A component table whose ``type`` changes replaces the base table whole, so the old
    component's parameters (Adam's ``betas`` under an RMSprop optimizer) are not inherited.
    """
    out = copy.deepcopy(base)
    for key, value in over.items():
        old = out.get(key)
        retyped = (
            isinstance(value, dict)
            and isinstance(old, dict)
            and "type" in value
            and value["type"] != old.get("type", value["type"])
        )
        if isinstance(value, dict) and isinstance(old, dict) and not retyped:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def recipe_dirs() -> list[Path]:
    """Folders of the recipes bundled with gancore and plugin packs."""
    from gancore.plugins import get_registry

    return [Path(p) for _, p in get_registry().recipe_dirs]


def find_recipe(name: str, relative_to: Path | None = None) -> Path:
    """Resolve a recipe path or a bundled recipe's name (``sagan`` or ``sagan.toml``)."""
    candidate = Path(name)
    if relative_to is not None and not candidate.is_absolute():
        candidate = relative_to / candidate
    if candidate.is_file():
        return candidate
    stem = Path(name).name.removesuffix(".toml")
    if ("/" not in name and "\\" not in name) or not Path(name).parent.exists():
        for folder in recipe_dirs():
            path = folder / f"{stem}.toml"
            if path.is_file():
                return path
    if candidate.is_dir():
        raise RecipeError(f"{name} is a folder, not a recipe file", source=str(candidate))
    known = sorted({p.stem for d in recipe_dirs() for p in d.glob("*.toml")})
    raise RecipeError(
        f"recipe file not found{suggest(stem, known)}",
        source=name,
        hint="give a path to a .toml file or a bundled recipe name "
        f"({', '.join(known[:12])}{'...' if len(known) > 12 else ''})",
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise RecipeError("not a text file (invalid UTF-8)", source=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(
            f"invalid TOML: {exc}",
            source=str(path),
            hint="check the quoting, brackets and `key = value` syntax there",
        ) from None


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a recipe file and the files it ``extends`` (deep-merged, cycles refused)."""
    file = find_recipe(str(path)) if not _chain else Path(path)
    resolved = file.resolve()
    if resolved in _chain:
        cycle = " -> ".join(str(p.name) for p in (*_chain, resolved))
        raise RecipeError(
            f"`extends` cycle: {cycle}",
            source=str(file),
            key="extends",
            hint="remove one of the `extends` lines",
        )
    data = read_toml(file)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise RecipeError("`extends` must be a file name string", source=str(file), key="extends")
    try:
        parent_path = find_recipe(parent, relative_to=file.parent)
    except RecipeError as exc:
        raise RecipeError(
            f"extends a recipe that does not exist: {parent!r}",
            source=str(file),
            key="extends",
            hint=exc.hint,
        ) from None
    return deep_merge(load_raw(parent_path, (*_chain, resolved)), data)


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key_path(path: str) -> list[str | int]:
    """``generator.blocks[2].out_channels`` -> ``["generator", "blocks", 2, "out_channels"]``."""
    parts: list[str | int] = []
    pos = 0
    for m in _SEGMENT.finditer(path):
        gap = path[pos : m.start()]
        if gap not in ("", "."):
            raise RecipeError(
                f"bad key path {path!r}", key=path, hint="use dotted keys with [n] for list items"
            )
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not parts or pos != len(path):
        raise RecipeError(
            f"bad key path {path!r}",
            key=path,
            hint="use dotted keys with [n] for list items, e.g. train.steps=100",
        )
    return parts


def parse_value(text: str) -> Any:
    """A ``--set`` value parsed as TOML (``100``, ``true``, ``[0.5, 0.9]``), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``key.path=value`` override in place."""
    if "=" not in assignment:
        raise RecipeError(
            f"override {assignment!r} has no '='",
            key=assignment,
            hint="write --set key.path=value, e.g. --set train.steps=100",
        )
    path, _, raw = assignment.partition("=")
    parts = parse_key_path(path.strip())
    value = parse_value(raw.strip())
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise RecipeError(
                    f"no item [{part}] to set",
                    key=path,
                    hint="the list is shorter; add the item in the recipe",
                )
            node = node[part]
            continue
        if part not in node or node[part] is None:
            node[part] = [] if isinstance(nxt, int) else {}
        node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last > len(node):
            raise RecipeError(f"no item [{last}] to set", key=path)
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    else:
        if not isinstance(node, dict):
            raise RecipeError("cannot set a key inside a non-table value", key=path)
        node[last] = value


def validate_recipe(data: dict[str, Any], source: str | None = None) -> Recipe:
    """Stage one: the static recipe model (sections, types, unknown keys)."""
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        from gancore.registry import validation_error

        known = list(Recipe.model_fields)
        err = exc.errors()[0]
        if err["type"] == "missing" and len(err["loc"]) == 1:
            section = err["loc"][0]
            raise RecipeError(
                f"missing required section [{section}]",
                source=source,
                key=str(section),
                hint=f'add a [{section}] table with a type = "..." line, or extend a recipe',
            ) from None
        if err["type"] == "extra_forbidden" and len(err["loc"]) > 1:
            parent = err["loc"][0]
            model = Recipe.model_fields[parent].annotation
            known = list(getattr(model, "model_fields", {}) or [])
        raise validation_error(exc, source=source, known=known) from None
    recipe._source = source
    return recipe


def load_recipe(
    source: str | Path | dict[str, Any] | Recipe, overrides: list[str] | tuple[str, ...] = ()
) -> Recipe:
    """Load a recipe from a path, bundled name, dict or :class:`Recipe`, with overrides."""
    if isinstance(source, Recipe):
        if not overrides:
            return source
        data, origin = source.to_dict(), source.source
    elif isinstance(source, dict):
        data, origin = copy.deepcopy(source), None
        parent = data.pop("extends", None)
        if parent:
            data = deep_merge(load_raw(parent), data)
    else:
        path = find_recipe(str(source))
        data, origin = load_raw(path), str(source)
    for assignment in overrides:
        try:
            apply_override(data, assignment)
        except GancoreError as exc:
            raise exc.located(source="--set") from None
    return validate_recipe(data, origin)
