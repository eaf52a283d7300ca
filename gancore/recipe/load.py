"""Reading recipes: TOML files, ``extends`` chains, ``--set`` overrides, stage-one validation."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gancore.core.errors import GancoreError, RecipeError, suggest
from gancore.recipe.expect import check_expect
from gancore.recipe.schema import Recipe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: The most ``extends`` parents behind a recipe (its parent, its parent's parent...).
MAX_EXTENDS = 32
#: How deeply arrays and tables may nest inside each other (a recipe needs about 5).
MAX_DEPTH = 32
#: The longest string (a value or a key), in characters.
MAX_STRING = 4096
#: The most items in one array or table.
MAX_ITEMS = 10_000
#: The largest recipe file, in bytes.
MAX_FILE_BYTES = 4 * 2**20

#: key path (as a tuple) -> the file that wrote it
Origins = dict[tuple[str | int, ...], str]


def _shown(path: tuple[str | int, ...]) -> str | None:
    from gancore.core.registry import loc_to_key

    key = loc_to_key(tuple(p if isinstance(p, int) else _clip(str(p), 40) for p in path))
    return key or None


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def check_data(
    data: Any, source: str | None = None, origins: Origins | None = None
) -> Origins:
    """Refuse recipe data nested too deeply or holding over-long strings or arrays.

    Runs without recursion (so data nested thousands deep is refused, not a RecursionError),
    before anything recursive (merging, copying, validation) touches the data. Returns every
    key path in ``data`` mapped to ``source`` (where each key was written).
    """
    found: Origins = {}
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if path:
            found[path] = source or ""
        if len(path) > MAX_DEPTH:
            raise RecipeError(
                f"arrays/tables are nested more than {MAX_DEPTH} levels deep",
                source=source, key=_shown(path[:MAX_DEPTH]),
                hint=f"a recipe nests at most {MAX_DEPTH} arrays or tables inside each other",
            )
        if isinstance(node, str) and len(node) > MAX_STRING:
            raise RecipeError(
                f"a string of {len(node):,} characters is too long (at most {MAX_STRING:,})",
                source=source, key=_shown(path),
                hint=f"shorten it to {MAX_STRING:,} characters or fewer",
            )
        if isinstance(node, dict | list) and len(node) > MAX_ITEMS:
            what = "a table" if isinstance(node, dict) else "an array"
            raise RecipeError(
                f"{what} of {len(node):,} items is too large (at most {MAX_ITEMS:,})",
                source=source, key=_shown(path), hint="shorten it",
            )
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and len(k) > MAX_STRING:
                    raise RecipeError(
                        f"a key of {len(k):,} characters is too long (at most {MAX_STRING:,})",
                        source=source, key=_shown(path), hint="shorten the key",
                    )
                stack.append((v, (*path, k)))
        elif isinstance(node, list | tuple):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    if origins is not None:
        origins.update(found)
    return found


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
    from gancore.packs.loader import get_registry

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
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RecipeError(
                f"the file is {size:,} bytes; a recipe may be at most {MAX_FILE_BYTES:,}",
                source=str(path), hint="is this really a recipe?",
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise RecipeError("not a text file (invalid UTF-8)", source=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(
            f"invalid TOML: {exc}",
            source=str(path),
            hint="check the quoting, brackets and `key = value` syntax there",
        ) from None
    except RecursionError:
        raise _too_deep(str(path)) from None
    check_data(data, str(path))
    return data


def _too_deep(source: str | None, key: str | None = None) -> RecipeError:
    return RecipeError(
        f"arrays/tables are nested too deeply to read (a recipe nests at most {MAX_DEPTH})",
        source=source, key=key,
        hint=f"a recipe nests at most {MAX_DEPTH} arrays or tables inside each other",
    )


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a recipe file and the files it ``extends`` (deep-merged, cycles refused)."""
    return load_with_origins(path, _chain)[0]


def load_with_origins(
    path: str | Path, _chain: tuple[Path, ...] = ()
) -> tuple[dict[str, Any], Origins]:
    """:func:`load_raw`, and which file wrote each key path (an ``extends`` parent or the
    recipe itself), so a mistake is reported against the file that holds it."""
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
    if len(_chain) > MAX_EXTENDS:
        raise RecipeError(
            f"the `extends` chain is longer than {MAX_EXTENDS} parents",
            source=str(file),
            key="extends",
            hint=f"a recipe may extend at most {MAX_EXTENDS} recipes in a row; "
            "merge some of the parents",
        )
    data = read_toml(file)
    own = check_data(data, str(file))
    parent = data.pop("extends", None)
    own.pop(("extends",), None)
    if parent is None:
        return data, own
    if not isinstance(parent, str):
        raise RecipeError("`extends` must be a file name string", source=str(file), key="extends")
    try:
        parent_path = find_recipe(parent, relative_to=file.parent)
    except RecipeError as exc:
        raise RecipeError(
            f"extends a recipe that does not exist: {_clip(parent)!r}",
            source=str(file),
            key="extends",
            hint=exc.hint,
        ) from None
    base, origins = load_with_origins(parent_path, (*_chain, resolved))
    # a parent's bands hold for the parent: this recipe changes it, so they are not inherited
    if base.pop("expect", None) is not None:
        origins = {k: v for k, v in origins.items() if k[:1] != ("expect",)}
    origins.update(own)
    return deep_merge(base, data), origins


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key_path(path: str) -> list[str | int]:
    """``generator.blocks[2].out_channels`` -> ``["generator", "blocks", 2, "out_channels"]``."""
    parts: list[str | int] = []
    pos = 0
    if len(path) > MAX_STRING:
        raise RecipeError(f"a key path of {len(path):,} characters is too long "
                          f"(at most {MAX_STRING:,})", key=_clip(path))
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
    if len(parts) > MAX_DEPTH:
        raise RecipeError(
            f"the key path has {len(parts):,} parts (at most {MAX_DEPTH})", key=_clip(path),
            hint=f"a recipe nests at most {MAX_DEPTH} arrays or tables inside each other",
        )
    return parts


def parse_value(text: str) -> Any:
    """A ``--set`` value parsed as TOML (``100``, ``true``, ``[0.5, 0.9]``), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise _too_deep("--set") from None


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


def validate_recipe(
    data: dict[str, Any], source: str | None = None, origins: Origins | None = None
) -> Recipe:
    """Stage one: the static recipe model (sections, types, unknown keys).

    ``origins`` (key path -> file, from :func:`load_with_origins`) sends an error in a key that
    an ``extends`` parent wrote to that parent's file.
    """
    check_data(data, source)
    if "expect" in data:  # its own checks: each band and setting named with its fix
        check_expect(data["expect"], source=source_of(origins, ("expect",), source))
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        from gancore.core.registry import validation_error

        loc = tuple(exc.errors()[0]["loc"])
        source = source_of(origins, loc, source)

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
        error = validation_error(exc, source=source, known=known, model=Recipe)
        if err["type"] == "extra_forbidden" and "did you mean" not in error.message:
            nested = nested_matches(data, tuple(err["loc"]))
            if nested:
                shown = " or ".join(repr(k) for k in nested[:3])
                error = RecipeError(
                    f"{error.message}; did you mean {shown}?", source=error.source,
                    key=error.key, hint=f"write the whole key path, e.g. {nested[0]}; "
                    f"{error.hint}" if error.hint else None)
        raise error from None
    recipe._source = source
    recipe._origins = origins
    return recipe


def nested_matches(data: dict[str, Any], loc: tuple[str | int, ...]) -> list[str]:
    """Key paths of the recipe ``data`` that end in the unknown key at ``loc``
    (``train.lr`` -> ``train.g_optimizer.lr``): those under the same table first, then the rest
    of the recipe. Defaults count: the data is read with the key left out."""
    from gancore.core.registry import loc_to_key

    name = loc[-1]
    rest = copy.deepcopy(data)
    node: Any = rest
    try:
        for part in loc[:-1]:
            node = node[part]
        node.pop(name, None)
    except (KeyError, IndexError, TypeError, AttributeError):
        return []  # a location that is not a path of the data (a union's tag, say)
    try:
        rest = Recipe.model_validate(rest).to_dict()
    except (ValidationError, TypeError, ValueError):
        pass
    found: list[tuple[str | int, ...]] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        items = (value.items() if isinstance(value, dict)
                 else enumerate(value) if isinstance(value, list) else ())
        for k, v in items:
            if k == name:
                found.append((*path, k))
            walk(v, (*path, k))

    walk(rest, ())
    parent = loc[:-1]
    found.sort(key=lambda p: (p[:len(parent)] != parent, len(p)))
    return [loc_to_key(p) for p in found]


def source_of(
    origins: Origins | None, key: str | tuple[str | int, ...] | None, default: str | None
) -> str | None:
    """The file that wrote ``key`` (its longest written prefix), else ``default``."""
    if not origins or not key:
        return default
    if isinstance(key, str):
        try:
            parts: tuple[str | int, ...] = tuple(parse_key_path(key))
        except GancoreError:
            return default
    else:
        parts = key
    for n in range(len(parts), 0, -1):
        found = origins.get(parts[:n])
        if found:
            return found
    return default


def load_recipe(
    source: str | Path | dict[str, Any] | Recipe, overrides: list[str] | tuple[str, ...] = ()
) -> Recipe:
    """Load a recipe from a path, bundled name, dict or :class:`Recipe`, with overrides."""
    origins: Origins | None = None
    carried: tuple[list[Any], dict[int, str]] = ([], {})
    if isinstance(source, Recipe):
        if not overrides:
            return source
        data, origin, origins = source.to_dict(), source.source, source._origins
        for key in source.train.derived:  # derived again, from the overridden settings
            data["train"].pop(key, None)
        carried = ([f for f in source.findings if f.level == "deprecated"],
                   source.legacy_keys)
    elif isinstance(source, dict):
        check_data(source)  # before the copy: data nested thousands deep is refused here
        data, origin = copy.deepcopy(source), None
        parent = data.pop("extends", None)
        if parent:
            base = load_raw(parent)
            base.pop("expect", None)  # a parent's bands are not inherited
            data = deep_merge(base, data)
    else:
        path = find_recipe(str(source))
        (data, origins), origin = load_with_origins(path), str(source)
        # the recipe's own keys are reported against the name it was given by
        origins = {k: origin if v == str(path) else v for k, v in origins.items()}
    for assignment in overrides:
        try:
            apply_override(data, assignment)
        except GancoreError as exc:
            raise exc.located(source="--set") from None
    if overrides:
        try:
            check_data(data)
        except GancoreError as exc:
            raise exc.located(source="--set") from None
    return _migrated(data, origin, origins, carried)


def _migrated(data: dict[str, Any], origin: str | None, origins: Origins | None,
              carried: tuple[list[Any], dict[int, str]]) -> Recipe:
    """Stage one after the old ``[train]`` flags became techniques (with notes on them)."""
    from gancore.core.requirements import Finding
    from gancore.recipe.migrate import migrate_dict, pop_deprecations

    legacy_source = source_of(origins, ("train",), origin) if origins else origin
    data = migrate_dict(data, source=legacy_source)
    found, legacy = pop_deprecations(data)
    recipe = validate_recipe(data, origin, origins)
    notes = list(carried[0]) + [
        Finding("deprecated", d.key, d.key, d.message(), d.hint(),
                source_of(origins, d.key, origin) if origins else origin)
        for d in found]
    recipe._findings = notes
    recipe._legacy_keys = {**carried[1], **legacy}
    return recipe
