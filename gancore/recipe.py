"""Recipes: TOML files that name registered components and their parameters.

Loading goes in two stages. :func:`load_recipe` reads the TOML (following ``extends``), applies
``--set`` overrides and validates the static shape (:class:`Recipe`, unknown keys forbidden).
:func:`resolve` then validates each component's parameters against the model registered for
it (plugins are loaded by then) and fills in defaults.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gancore.errors import GancoreError, RecipeError, suggest
from gancore.spec import (
    SPEC_KINDS,
    AugmentSpec,
    ComponentSpec,
    DatasetSpec,
    DiscriminatorSpec,
    GeneratorSpec,
    LossSpec,
    OptimizerSpec,
    PenaltySpec,
    ScheduleSpec,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_STRICT = ConfigDict(extra="forbid")


class RecipeMeta(BaseModel):
    """``[recipe]``: name, description and the plugin packs the recipe needs."""

    model_config = _STRICT
    name: str = ""
    description: str = ""
    requires: list[str] = Field(
        default_factory=list, description='plugin packs, e.g. ["gancore-stylegan>=0.1"]'
    )


class TrainSection(BaseModel):
    """``[train]``: the training loop's settings."""

    model_config = _STRICT
    batch_size: int = Field(64, gt=0, le=65536)
    steps: int = Field(10000, gt=0, description="generator updates")
    n_critic: int = Field(1, gt=0, description="discriminator updates per generator update")
    g_optimizer: OptimizerSpec = OptimizerSpec(type="adam", lr=2e-4, betas=[0.5, 0.999])
    d_optimizer: OptimizerSpec = OptimizerSpec(type="adam", lr=2e-4, betas=[0.5, 0.999])
    g_schedule: ScheduleSpec = ScheduleSpec(type="constant")
    d_schedule: ScheduleSpec = ScheduleSpec(type="constant")
    ema: float = Field(0.0, ge=0.0, lt=1.0, description="EMA decay of G weights; 0 disables")
    ema_start: int = Field(0, ge=0, description="step from which the EMA is updated")
    label_smoothing: float = Field(0.0, ge=0.0, lt=0.5, description="one-sided: real target 1-s")
    instance_noise: float = Field(0.0, ge=0.0, description="std of noise on D inputs, annealed")
    grad_clip: float = Field(0.0, ge=0.0, description="max grad norm; 0 disables")
    clip_weights: float = Field(0.0, ge=0.0, description="WGAN weight clipping of D; 0 disables")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: Literal["auto", "on", "off"] = "auto"
    compile: bool = False
    device: str = "auto"
    num_workers: int = Field(0, ge=0)
    threads: int = Field(0, ge=0, description="CPU threads of torch; 0 keeps torch's default")
    log_every: int = Field(50, gt=0)
    sample_every: int = Field(500, gt=0)
    checkpoint_every: int = Field(1000, gt=0)
    grid_size: int = Field(64, gt=0, le=1024)


class EvalSection(BaseModel):
    """``[eval]``: which metrics ``gancore eval`` computes by default and on how many samples."""

    model_config = _STRICT
    metrics: list[str] = Field(default_factory=lambda: ["fid", "kid", "pr", "f1"])
    num_samples: int = Field(5000, gt=0)
    extractor: str = "auto"
    seed: int = 0


class Recipe(BaseModel):
    """A whole recipe: data, networks, loss, penalties, augmentations, training, evaluation."""

    model_config = _STRICT
    recipe: RecipeMeta = RecipeMeta()
    seed: int = 0
    data: DatasetSpec
    generator: GeneratorSpec
    discriminator: DiscriminatorSpec
    loss: LossSpec = LossSpec(type="bce")
    penalty: list[PenaltySpec] = Field(default_factory=list)
    augment: list[AugmentSpec] = Field(default_factory=list)
    train: TrainSection = TrainSection()
    eval: EvalSection = EvalSection()

    @field_validator("penalty", "augment", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    # set by the loader, not part of the data
    _source: str | None = None

    @property
    def source(self) -> str | None:
        """The file the recipe was read from, if any."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON- and TOML-ready apart from None values)."""
        return self.model_dump(mode="json")

    def to_toml(self) -> str:
        """The recipe as TOML (None values left out)."""
        import tomli_w

        return tomli_w.dumps(_drop_none(self.to_dict()))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


# -- loading ------------------------------------------------------------------------------
def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


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


# -- stage two: components ------------------------------------------------------------------
def _resolve_spec(
    spec: ComponentSpec, kind: str, key: str, registry: Any, source: str | None
) -> ComponentSpec:
    from gancore.registry import validate_params

    try:
        entry = registry.get(kind, spec.type, key=f"{key}.type")
    except GancoreError as exc:
        raise exc.located(source=source) from None
    params = validate_params(entry, spec.params(), key=key, source=source)
    values = {}
    for name in type(params).model_fields:
        value = getattr(params, name)
        if isinstance(value, ComponentSpec):
            value = _resolve_spec(
                value, SPEC_KINDS.get(type(value), "block"), f"{key}.{name}", registry, source
            )
        elif isinstance(value, list) and value and isinstance(value[0], ComponentSpec):
            value = [
                _resolve_spec(
                    v, SPEC_KINDS.get(type(v), "block"), f"{key}.{name}[{i}]", registry, source
                )
                for i, v in enumerate(value)
            ]
        values[name] = (
            value.as_dict()
            if isinstance(value, ComponentSpec)
            else (
                [v.as_dict() for v in value]
                if isinstance(value, list) and value and isinstance(value[0], ComponentSpec)
                else value
            )
        )
    dumped = type(params).model_validate(values).model_dump(mode="json")
    for name, value in values.items():  # keep nested specs as given (already complete)
        if isinstance(value, dict | list):
            dumped[name] = value
    return type(spec).model_validate({"type": spec.type, **dumped})


def resolve(recipe: Recipe, registry: Any = None) -> Recipe:
    """Stage two: validate every component against the registry and fill in its defaults."""
    from gancore.plugins import get_registry

    registry = registry or get_registry()
    src = recipe.source
    check_requires(recipe, registry)
    out = recipe.model_copy(deep=True)
    out.data = _resolve_spec(recipe.data, "dataset", "data", registry, src)
    out.generator = _resolve_spec(recipe.generator, "generator", "generator", registry, src)
    out.discriminator = _resolve_spec(
        recipe.discriminator, "discriminator", "discriminator", registry, src
    )
    out.loss = _resolve_spec(recipe.loss, "loss", "loss", registry, src)
    out.penalty = [
        _resolve_spec(p, "penalty", f"penalty[{i}]", registry, src)
        for i, p in enumerate(recipe.penalty)
    ]
    out.augment = [
        _resolve_spec(a, "augment", f"augment[{i}]", registry, src)
        for i, a in enumerate(recipe.augment)
    ]
    t = out.train
    for name, kind in (
        ("g_optimizer", "optimizer"),
        ("d_optimizer", "optimizer"),
        ("g_schedule", "schedule"),
        ("d_schedule", "schedule"),
    ):
        spec = getattr(t, name)
        if (kind, spec.type) in registry or registry.names(kind):
            setattr(t, name, _resolve_spec(spec, kind, f"train.{name}", registry, src))
    out._source = src
    return out


def check_requires(recipe: Recipe, registry: Any) -> None:
    """Refuse a recipe whose ``requires`` names a plugin pack that is not installed."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    for i, req_text in enumerate(recipe.recipe.requires):
        try:
            req = Requirement(req_text)
        except InvalidRequirement:
            raise RecipeError(
                f"invalid requirement {req_text!r}",
                source=recipe.source,
                key=f"recipe.requires[{i}]",
                hint='write a pip requirement, e.g. "gancore-stylegan>=0.1"',
            ) from None
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise RecipeError(
                f"this recipe needs the plugin pack {req.name!r}, which is not installed",
                source=recipe.source, key=f"recipe.requires[{i}]",
                hint=_install_hint(req.name, req_text),
            ) from None
        version = dist.version
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            raise RecipeError(
                f"this recipe needs {req_text}, but {req.name} {version} is installed",
                source=recipe.source, key=f"recipe.requires[{i}]",
                hint=_install_hint(req.name, req_text, upgrade=True),
            )
        names = {ep.name for ep in dist.entry_points if ep.group == "gancore"}
        if names and not names & set(registry.origins()):
            raise RecipeError(
                f"the plugin pack {req.name!r} is installed but not loaded (blocked, or it "
                "failed to load)", source=recipe.source, key=f"recipe.requires[{i}]",
                hint="`gancore plugins` shows why; unset GANCORE_BLOCK_PLUGINS / "
                "GANCORE_DISABLE_PLUGIN_AUTOLOAD or drop --block-plugin",
            )


def _install_hint(name: str, req_text: str, upgrade: bool = False) -> str:
    """How to install a plugin pack, mentioning a copy in a gancore checkout's plugins/."""
    hint = f"install it: pip install {'-U ' if upgrade else ''}'{req_text}'"
    local = Path(__file__).resolve().parent.parent / "plugins" / name
    if (local / "pyproject.toml").is_file():
        hint += f" (from this checkout: pip install -e {local})"
    return hint


# -- JSON Schema ----------------------------------------------------------------------------
def json_schema(registry: Any = None) -> dict[str, Any]:
    """JSON Schema of recipes, with every registered component's parameters.

    Component tables become ``oneOf`` the registered components of their kind, told apart by
    ``type``, so an editor completes both component names and their parameters.
    """
    from gancore.plugins import get_registry

    registry = registry or get_registry()
    schema = Recipe.model_json_schema()
    defs = schema.setdefault("$defs", {})
    kind_refs: dict[str, list[dict[str, str]]] = {}
    pending = [*SPEC_KINDS.values()]
    done: set[str] = set()
    while pending:
        kind = pending.pop()
        if kind in done:
            continue
        done.add(kind)
        refs = []
        for entry in registry.entries(kind):
            try:
                sub = entry.params_model().model_json_schema(ref_template="#/$defs/{model}")
            except Exception:  # a parameter type with no JSON form: allow anything
                sub = {"type": "object"}
            for name, d in sub.pop("$defs", {}).items():
                defs.setdefault(name, d)
            sub.setdefault("properties", {})
            sub["properties"] = {"type": {"const": entry.name}, **sub["properties"]}
            sub["required"] = ["type", *sub.get("required", [])]
            sub["additionalProperties"] = False
            sub["title"] = f"{kind} {entry.name}"
            sub["description"] = entry.summary or sub.get("description", "")
            def_name = f"{kind}__{entry.name}".replace(".", "_")
            defs[def_name] = sub
            refs.append({"$ref": f"#/$defs/{def_name}"})
        kind_refs[kind] = refs
    for d in defs.values():
        kind = d.get("x-gancore-kind")
        if kind and kind_refs.get(kind):
            d.clear()
            d["oneOf"] = kind_refs[kind]
    schema["title"] = "gancore recipe"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
