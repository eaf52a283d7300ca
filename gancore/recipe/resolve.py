"""Stage two: every component reference validated once against the registry.

:func:`resolve` turns a loaded :class:`~gancore.recipe.schema.Recipe` into the resolved recipe
the builder, trainer, evaluator and checkpoints consume: each reference's parameters are
validated by its component's own model exactly once, defaults are filled in (references written
as a bare name stay bare), and the validated parameters travel with the reference
(:attr:`ComponentSpec.validated`), so nothing downstream validates again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gancore.core.errors import GancoreError, RecipeError
from gancore.core.kinds import KINDS, top_places
from gancore.core.refs import ComponentSpec, spec_kind
from gancore.core.requirements import Finding
from gancore.recipe.requirements import check_requirements
from gancore.recipe.schema import Recipe
from gancore.recipe.walk import iter_references

#: References of these types are not registry components but choices made at run time.
_DEFERRED = {("feature_extractor", "auto")}


#: ``pin(kind, name)`` -> the origin a bare name stands for (a checkpoint's), or None.
Pin = Callable[[str, str], "str | None"]


def resolve_spec(
    spec: ComponentSpec, kind: str, key: str, registry: Any, source: str | None = None,
    pin: Pin | None = None,
) -> ComponentSpec:
    """Validate one reference (and the references among its parameters) against the registry;
    the result records the origin of the component it names."""
    from gancore.core.registry import validate_params

    if spec.validated is not None:
        return spec
    origin = spec.origin or (pin(kind, spec.type) if pin is not None else None)
    try:
        entry = registry.get(kind, spec, origin=origin, key=f"{key}.type")
    except GancoreError as exc:
        raise exc.located(source=source) from None
    model = validate_params(entry, spec.params_for(entry.params_model().model_fields), key=key,
                            source=source)
    model = _resolve_nested(model, key, registry, source, pin)
    if (spec.short and not spec.params()) or not KINDS[kind].fill_defaults:
        out = spec.model_copy()
    else:
        # settings the reference type itself declares (``data.filters``) are kept as they are
        own = {f: getattr(spec, f) for f in type(spec).model_fields if f != "type"}
        out = type(spec).model_validate(
            {"type": spec.type, **own, **model.model_dump(mode="json")}
        )
    out._short = spec.short
    out._validated = model
    out._origin = entry.origin
    out._chosen = spec.origin is None  # the registry chose the origin of a bare name
    return out


def _resolve_nested(model: BaseModel, key: str, registry: Any, source: str | None,
                    pin: Pin | None = None) -> BaseModel:
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, ComponentSpec):
            updates[name] = resolve_spec(value, spec_kind(value), f"{key}.{name}", registry,
                                         source, pin)
        elif isinstance(value, list) and any(isinstance(v, ComponentSpec) for v in value):
            updates[name] = [
                resolve_spec(v, spec_kind(v), f"{key}.{name}[{i}]", registry, source, pin)
                if isinstance(v, ComponentSpec)
                else v
                for i, v in enumerate(value)
            ]
    return model.model_copy(update=updates) if updates else model


def resolve(recipe: Recipe, registry: Any = None, *, pin: Pin | None = None) -> Recipe:
    """The resolved recipe: every component validated once, defaults filled in, and every
    reference's origin recorded (it is written ``origin:name``).

    A bare name several origins register follows :class:`~gancore.core.registry.Registry`'s
    rule, and the recipe gets a warning naming both (its findings); ``pin`` chooses the origin
    of bare names instead (a checkpoint's recipe: the origins it was made with). A recipe that
    is already resolved is returned as it is.
    """
    from gancore.packs.loader import get_registry

    if recipe.resolved:
        return recipe
    registry = registry or get_registry()
    src = recipe.source
    check_requires(recipe, registry)
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for kind, place, is_list in top_places():
        section, _, field = place.partition(".")
        owner = getattr(recipe, section) if field else recipe
        value = getattr(owner, field or section)
        if not registry.names(kind) and kind in ("optimizer", "schedule"):
            continue  # a registry without training components (building only)
        try:
            if is_list:
                new: Any = [
                    _maybe(v, kind, f"{place}[{i}]", registry, src, pin)
                    for i, v in enumerate(value)
                ]
            else:
                new = _maybe(value, kind, place, registry, src, pin)
        except GancoreError as exc:
            raise _in_its_file(_at_legacy_key(exc, recipe), recipe) from None
        if field:
            nested.setdefault(section, {})[field] = new
        else:
            top[section] = new
    for section, updates in nested.items():
        # a section that is itself a reference (``data``) keeps its resolved form
        top[section] = top.get(section, getattr(recipe, section)).model_copy(update=updates)
    out = recipe.model_copy(update=top)
    out._source = src
    out._resolved = True
    out._origins = recipe._origins
    out._legacy_keys = recipe._legacy_keys
    out._findings = recipe.findings + shadowed_names(out, registry) + check_requirements(
        out, registry)
    return out


def shadowed_names(recipe: Recipe, registry: Any) -> list[Finding]:
    """A warning for each bare name the recipe uses that several origins register."""
    out = []
    for kind, key, spec in iter_references(recipe):
        if not getattr(spec, "_chosen", False) or (kind, spec.type) not in registry:
            continue
        others = registry.shadowed(kind, spec.type)
        chosen = registry.get(kind, spec)
        if not others or chosen.overrides:  # one origin, or a pack's override on purpose
            continue
        names = ", ".join(e.qualified for e in others)
        out.append(Finding(
            "warning", f"{key} ({spec.type})", f"{key}.type",
            f"{spec.type!r} is registered by {chosen.origin} and by {names}; the recipe gets "
            f"{chosen.qualified} (a pack's component keeps its name as gancore grows)",
            f"write {chosen.qualified!r} to keep this one, or "
            + " or ".join(repr(e.qualified) for e in others) + " for the other",
            recipe.source))
    return out


def _at_legacy_key(exc: GancoreError, recipe: Recipe) -> GancoreError:
    """An error in a technique that an old ``[train]`` flag made, reported at the flag."""
    key = exc.key or ""
    for i, flag in recipe.legacy_keys.items():
        prefix = f"train.techniques[{i}]"
        if key == prefix or key.startswith(prefix + "."):
            rest = key[len(prefix):]
            if flag == "train.top_k":
                exc.key = flag + rest
            elif flag == "train.ema" and rest == ".start":
                exc.key = "train.ema_start"
            else:
                exc.key = flag
            if exc.hint:
                exc.hint = exc.hint.replace(prefix + rest, exc.key)
            exc.args = (exc.format(),)
    return exc


def _in_its_file(exc: GancoreError, recipe: Recipe) -> GancoreError:
    """``exc`` reported against the file that wrote its key (an ``extends`` parent)."""
    from gancore.recipe.load import source_of

    if exc.source == recipe.source and exc.key:
        found = source_of(recipe._origins, exc.key, exc.source)
        if found != exc.source:
            exc.source = found
            exc.args = (exc.format(),)
    return exc


def _maybe(spec: ComponentSpec, kind: str, key: str, registry: Any, src: str | None,
           pin: Pin | None = None) -> Any:
    if (kind, spec.type) in _DEFERRED:
        return spec
    return resolve_spec(spec, kind, key, registry, src, pin)


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
            from gancore.packs.loader import pack_problem

            why = pack_problem(registry, req.name) or "is installed but not loaded"
            raise RecipeError(
                f"this recipe needs the plugin pack {req.name!r}, which {why}",
                source=recipe.source, key=f"recipe.requires[{i}]",
                hint="`gancore plugins` shows each pack's status; fix or reinstall the pack, "
                "or unset GANCORE_BLOCK_PLUGINS / GANCORE_DISABLE_PLUGIN_AUTOLOAD",
            )


def _install_hint(name: str, req_text: str, upgrade: bool = False) -> str:
    """How to install a plugin pack, mentioning a copy in a gancore checkout's plugins/."""
    hint = f"install it: pip install {'-U ' if upgrade else ''}'{req_text}'"
    local = Path(__file__).resolve().parents[2] / "plugins" / name
    if (local / "pyproject.toml").is_file():
        hint += f" (from this checkout: pip install -e {local})"
    return hint
