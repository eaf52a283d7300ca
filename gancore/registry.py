"""The component registry.

Every generator, discriminator, block, norm, loss, penalty, dataset, optimizer, schedule, metric,
feature extractor and augmentation is a :class:`ComponentEntry` in a :class:`Registry`. Plugins
(the built-in one included) fill the registry in their ``gancore_register_components`` hook.

A component's parameters are a pydantic model. Give one explicitly (``params=``, or a ``Params``
attribute on the factory) or let the registry derive it from the factory's typed signature.
Arguments the builder supplies itself (``in_channels`` for a block, ``num_features`` for a norm...)
are left out of the model.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model, model_validator

from gancore.errors import GancoreError, UnknownComponentError
from gancore.kinds import KINDS as _KINDS
from gancore.kinds import get_kind

if typing.TYPE_CHECKING:
    from gancore.recipe.refs import ComponentSpec

#: Counts calls of :func:`validate_params` (resolution validates each reference once).
VALIDATIONS = {"count": 0}



def __getattr__(name: str) -> Any:
    """0.1's ``KINDS`` and ``BUILDER_ARGS``, derived from :data:`gancore.kinds.KINDS`."""
    views = {
        "KINDS": lambda: {k.name: k.summary for k in _KINDS.values()},
        "BUILDER_ARGS": lambda: {k.name: k.supplied for k in _KINDS.values()},
    }
    if name not in views:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    warnings.warn(
        f"gancore.registry.{name} is deprecated: read gancore.kinds.KINDS",
        DeprecationWarning,
        stacklevel=2,
    )
    return views[name]()

#: What every parameter model shares: unknown keys forbidden, scalars strict (``true`` is not a
#: number and ``1`` not a boolean; an int is still a float), floats finite (no NaN/inf).
STRICT_PARAMS = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
_PARAMS_CONFIG = ConfigDict(
    STRICT_PARAMS, arbitrary_types_allowed=True, validate_default=True  # type: ignore[misc]
)


def _is_sequence_type(annotation: Any) -> bool:
    """Whether ``annotation`` (through ``Annotated``/``Optional``) is a tuple, set or frozenset."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_sequence_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence_type(a) for a in typing.get_args(annotation))
    return annotation in (tuple, set, frozenset) or origin in (tuple, set, frozenset)


class StrictModel(BaseModel):
    """A strict model that still takes TOML/JSON arrays for its tuple and set fields.

    Strict mode refuses a list where a tuple is declared; recipe data only has lists, so each
    list given to such a field is turned into a tuple first (its items stay strict).
    """

    model_config = STRICT_PARAMS

    @model_validator(mode="before")
    @classmethod
    def _arrays_for_tuples(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = None
        for name, value in data.items():
            field = cls.model_fields.get(name) if isinstance(name, str) else None
            if isinstance(value, list) and field is not None and _is_sequence_type(
                field.annotation
            ):
                out = dict(data) if out is None else out
                out[name] = tuple(value)
        return data if out is None else out


class Params(StrictModel):
    """Base class for explicit component parameter models (forbids unknown keys, strict)."""


@dataclass
class ComponentEntry:
    """One registered component.

    ``factory`` is a callable or a lazy ``"package.module:attribute"`` string, imported on
    first use so that plugin modules stay light.
    """

    kind: str
    name: str
    factory: Callable[..., Any] | str
    summary: str = ""
    origin: str = "unknown"
    origin_version: str | None = None
    params: type[BaseModel] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: the origin of the component this one deliberately replaces (``override=True``)
    overrides: str | None = None

    def load(self) -> Callable[..., Any]:
        """Return the factory, importing it if it was given as a string."""
        if isinstance(self.factory, str):
            module_name, _, attr = self.factory.partition(":")
            try:
                obj: Any = importlib.import_module(module_name)
                for part in attr.split("."):
                    obj = getattr(obj, part)
            except (ImportError, AttributeError) as exc:
                raise GancoreError(
                    f"{self.kind} {self.name!r} from {self.origin} cannot be imported "
                    f"({self.factory}): {exc}",
                    hint=f"reinstall the plugin pack {self.origin!r}",
                ) from exc
            self.factory = obj
        return self.factory

    def params_model(self) -> type[BaseModel]:
        """The pydantic model of this component's recipe parameters."""
        if self.params is None:
            factory = self.load()
            explicit = getattr(factory, "Params", None)
            if isinstance(explicit, type) and issubclass(explicit, BaseModel):
                self.params = explicit
            else:
                self.params = model_from_signature(
                    factory, f"{self.kind}:{self.name}", get_kind(self.kind).framework_args
                )
        return self.params

    def doc(self) -> str:
        """The summary, or the first line of the factory's docstring."""
        if self.summary:
            return self.summary
        factory = self.load()
        return (
            (inspect.getdoc(factory) or "").strip().splitlines()[0]
            if inspect.getdoc(factory)
            else ""
        )

    def validate(self, values: dict[str, Any]) -> BaseModel:
        """Validate recipe parameters (without ``type``) against the component's model."""
        return self.params_model().model_validate(values)

    def create(self, *args: Any, **params: Any) -> Any:
        """Call the factory with framework arguments and validated parameters.

        What it returns is checked against the kind's protocol (:mod:`gancore.contract`).
        """
        from gancore.contract import check_product

        product = check_product(self, self.load()(*args, **params))
        mark_made(product, self, getattr(params.get("ctx"), "key", None))
        return product


@dataclass(frozen=True)
class MadeBy:
    """Which component made a module: kind, name, origin (pack) and the recipe key.

    :meth:`ComponentEntry.create` records it on every ``nn.Module`` a factory returns (as the
    attribute named by :data:`MADE_BY`), so a tool working on a built network (the exporter,
    say) can name the component and pack behind any part of it.
    """

    kind: str
    name: str
    origin: str
    origin_version: str | None = None
    key: str | None = None

    def describe(self) -> str:
        """``block 'wiggle' from gancore-foo (generator.blocks[1])``."""
        where = f" ({self.key})" if self.key else ""
        return f"{self.kind} {self.name!r} from {self.origin}{where}"


#: The attribute of a built module that holds its :class:`MadeBy`.
MADE_BY = "gancore_made_by"


def mark_made(product: Any, entry: ComponentEntry, key: str | None = None) -> None:
    """Record ``entry`` on ``product`` when it is an ``nn.Module`` not marked yet."""
    if getattr(product, MADE_BY, None) is not None or not hasattr(product, "named_modules"):
        return
    try:
        object.__setattr__(product, MADE_BY, MadeBy(entry.kind, entry.name, entry.origin,
                                                     entry.origin_version, key or None))
    except (AttributeError, TypeError):  # a module with __slots__ or a frozen class
        pass


def made_by(module: Any) -> MadeBy | None:
    """The :class:`MadeBy` recorded on a built module, if any."""
    value = getattr(module, MADE_BY, None)
    return value if isinstance(value, MadeBy) else None


class _SignatureParams(Params):
    """The base of the models derived from factory signatures."""

    model_config = _PARAMS_CONFIG


def model_from_signature(
    factory: Callable[..., Any], model_name: str, skip: tuple[str, ...] = ()
) -> type[BaseModel]:
    """Derive a pydantic model (extra keys forbidden) from a callable's typed signature."""
    target = factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]
    sig = inspect.signature(target)
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:  # unresolved forward references: fall back to Any
        hints = {}
    fields: dict[str, Any] = {}
    for pname, p in sig.parameters.items():
        if pname in ("self",) or pname in skip:
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(pname, Any)
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[pname] = (annotation, default)
    model = create_model(  # type: ignore[call-overload]
        model_name.replace(":", "_").replace("-", "_"), __base__=_SignatureParams, **fields
    )
    model.__doc__ = inspect.getdoc(factory) or ""
    return model


class Registry:
    """Components by kind and name, filled by plugin hooks.

    >>> registry.add("block", "my_block", MyBlock, summary="...")
    >>> registry.get("block", "my_block").create(64, out_channels=32)
    """

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, ComponentEntry]] = {k: {} for k in _KINDS}
        self._origin: tuple[str, str | None] = ("unknown", None)
        self.recipe_dirs: list[tuple[str, str]] = []  # (origin, path)
        #: registrations refused because the name was taken (the first one is kept)
        self.clashes: list[Clash] = []
        self._replaced: dict[tuple[str, str], list[ComponentEntry]] = {}
        #: what happened to each plugin when this registry was built (``PluginInfo``)
        self.plugins: list[Any] = []

    # -- registration ---------------------------------------------------------------------
    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        *,
        summary: str = "",
        params: type[BaseModel] | None = None,
        override: bool = False,
        **meta: Any,
    ) -> ComponentEntry | None:
        """Register ``factory`` as component ``kind``/``name``; return its entry.

        ``meta`` holds kind-specific facts (for example a block's ``role``). A name that is
        already taken is a clash: the first registration is kept, this one is refused and
        recorded in :attr:`clashes` naming both origins (``None`` is returned), and the rest
        of the pack still loads. A pack replaces a built-in component only when it says so
        with ``override=True``; ``gancore plugins`` and ``gancore show`` report the override.
        """
        if kind not in self._entries:
            get_kind(kind)  # raises with a did-you-mean
        origin, version = self._origin
        _check_declarations(kind, name, origin, meta)
        existing = self._entries[kind].get(name)
        if existing is not None and not (override and existing.origin != origin):
            self.clashes.append(Clash(kind, name, existing.origin, origin, override))
            return None
        entry = ComponentEntry(
            kind,
            name,
            factory,
            summary=summary,
            origin=origin,
            origin_version=version,
            params=params,
            meta=dict(meta),
            overrides=existing.origin if existing is not None else None,
        )
        if existing is not None:
            self._replaced.setdefault((kind, name), []).append(existing)
        self._entries[kind][name] = entry
        return entry

    def add_recipe_dir(self, path: str) -> None:
        """Make the ``*.toml`` recipes in ``path`` listable by ``gancore recipes``."""
        self.recipe_dirs.append((self._origin[0], str(path)))

    def _set_origin(self, origin: str, version: str | None) -> None:
        self._origin = (origin, version)

    def _remove_origin(self, origin: str) -> None:
        for kind, entries in self._entries.items():
            for name in [n for n, e in entries.items() if e.origin == origin]:
                del entries[name]
                replaced = self._replaced.pop((kind, name), [])
                if replaced:  # an override rolled back: the replaced component returns
                    entries[name] = replaced[-1]
        self.recipe_dirs = [(o, p) for o, p in self.recipe_dirs if o != origin]
        self.clashes = [c for c in self.clashes if c.rejected != origin]

    # -- lookup ---------------------------------------------------------------------------
    def get(self, kind: str, name: str, *, key: str | None = None) -> ComponentEntry:
        """Return an entry, or raise :class:`UnknownComponentError` with suggestions."""
        if kind not in self._entries:
            get_kind(kind)
        try:
            return self._entries[kind][name]
        except KeyError:
            raise UnknownComponentError(kind, name, self._entries[kind], key=key) from None

    def __contains__(self, item: tuple[str, str]) -> bool:
        kind, name = item
        return name in self._entries.get(kind, {})

    def names(self, kind: str, pattern: str = "*") -> list[str]:
        """Sorted names of ``kind`` matching an fnmatch ``pattern``."""
        return sorted(n for n in self._entries.get(kind, {}) if fnmatch.fnmatchcase(n, pattern))

    def entries(self, kind: str | None = None, pattern: str = "*") -> Iterator[ComponentEntry]:
        """All entries (of one kind), sorted by kind then name."""
        for k in [kind] if kind else list(_KINDS):
            for n in self.names(k, pattern):
                yield self._entries[k][n]

    def create(
        self, kind: str, name: str, *args: Any, key: str | None = None, **params: Any
    ) -> Any:
        """Validate ``params`` and call the factory of ``kind``/``name``."""
        entry = self.get(kind, name, key=key)
        validated = validate_params(entry, params, key=key)
        return entry.create(*args, **params_to_kwargs(validated))

    def make(
        self,
        kind: str,
        spec: ComponentSpec | str | dict[str, Any],
        *args: Any,
        key: str | None = None,
        source: str | None = None,
        fill: dict[str, Any] | None = None,
        **supplied: Any,
    ) -> Any:
        """Create the component a reference names, with framework ``args``/``supplied``.

        A reference from a resolved recipe is not validated again. ``fill`` overrides those of
        the component's parameters it has (an activation's ``inplace``) and is ignored for
        the others.
        """
        from gancore.recipe.refs import as_spec

        spec = as_spec(kind, spec)
        name_key = (key if spec.short else f"{key}.type") if key else None
        try:
            entry = self.get(kind, spec.type, key=name_key)
        except GancoreError as exc:
            raise exc.located(source=source) from None
        params = params_of(entry, spec, key=key, source=source)
        fill = {n: v for n, v in (fill or {}).items() if n in type(params).model_fields}
        if fill:
            params = params.model_copy(update=fill)
        return entry.create(*args, **supplied, **params_to_kwargs(params))

    def origins(self) -> dict[str, str | None]:
        """Plugin name -> version for every plugin that registered something."""
        out: dict[str, str | None] = {}
        for entry in self.entries():
            out.setdefault(entry.origin, entry.origin_version)
        return out


def _check_declarations(kind: str, name: str, origin: str, meta: dict[str, Any]) -> None:
    """Refuse extension points that do not exist (``points=``) and requirements that are not
    :class:`~gancore.recipe.requirements.Requirement` s (``requires=``), naming the origin."""
    from gancore.errors import suggest
    from gancore.kinds import POINTS

    who = f"{kind} {name!r} from {origin}"
    points = meta.get("points")
    if points is not None:
        if kind != "technique":
            raise GancoreError(f"{who} declares extension points, but only techniques have them",
                               hint="register it as a technique, or leave points= out")
        if isinstance(points, str):
            points = meta["points"] = (points,)
        for point in points:
            if point not in POINTS:
                raise GancoreError(
                    f"{who} declares the unknown extension point {point!r}"
                    f"{suggest(str(point), list(POINTS))}",
                    hint="extension points: " + ", ".join(POINTS))
    requires = meta.get("requires")
    if requires is not None:
        from gancore.recipe.requirements import Requirement

        if isinstance(requires, Requirement):
            requires = meta["requires"] = (requires,)
        for req in requires:
            if not isinstance(req, Requirement):
                raise GancoreError(f"{who} declares a requirement that is not a Requirement: "
                                   f"{req!r}", hint="use gancore.plugin.Requirement(...)")
            problem = req.check_key()
            if problem is not None:
                raise GancoreError(f"{who} declares a requirement on {problem}",
                                   hint="a requirement names the recipe key at fault, e.g. "
                                   "discriminator.norm or train.n_critic")


@dataclass(frozen=True)
class Clash:
    """A registration refused because ``kind``/``name`` was already registered."""

    kind: str
    name: str
    kept: str
    rejected: str
    override: bool = False

    def message(self) -> str:
        """One line naming both origins and what to do."""
        text = (
            f"{self.kind} {self.name!r} is registered by {self.kept} and by {self.rejected}; "
            f"{self.kept}'s is used"
        )
        if self.kept == "builtin" and not self.override:
            text += (
                f" ({self.rejected} did not declare an override: "
                "registry.add(..., override=True) replaces a built-in on purpose)"
            )
        return text


def params_of(
    entry: ComponentEntry, spec: ComponentSpec, *, key: str | None = None,
    source: str | None = None,
) -> BaseModel:
    """The validated parameters of reference ``spec`` to ``entry``.

    A reference of a resolved recipe carries them already; any other is validated here.
    """
    validated = spec.validated
    if validated is not None and type(validated) is entry.params_model():
        return validated
    return validate_params(entry, spec.params_for(entry.params_model().model_fields), key=key,
                           source=source)


def params_to_kwargs(model: BaseModel) -> dict[str, Any]:
    """Keyword arguments from a validated params model (nested models kept as objects)."""
    return {name: getattr(model, name) for name in type(model).model_fields}


def validate_params(
    entry: ComponentEntry,
    values: dict[str, Any],
    *,
    key: str | None = None,
    source: str | None = None,
) -> BaseModel:
    """Validate ``values`` against ``entry``'s model; raise a located, readable error."""
    VALIDATIONS["count"] += 1
    try:
        return entry.validate(values)
    except ValidationError as exc:
        raise validation_error(
            exc,
            key=key,
            source=source,
            component=f"{entry.kind} {entry.name!r}",
            known=list(entry.params_model().model_fields),
            model=entry.params_model(),
        ) from None


def loc_to_key(loc: tuple[Any, ...], prefix: str | None = None) -> str:
    """``("generator", "blocks", 3, "type")`` -> ``generator.blocks[3].type``."""
    out = prefix or ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _field_description(model: Any, loc: tuple[Any, ...]) -> str:
    """The description of the field at ``loc`` in ``model`` (through nested models)."""
    description = ""
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or not fields or part not in fields:
            break
        info = fields[part]
        description = info.description or description
        model = info.annotation
    return description


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut short (a value may be a megabyte of text)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def validation_error(
    exc: ValidationError,
    *,
    key: str | None = None,
    source: str | None = None,
    component: str | None = None,
    known: list[str] | None = None,
    model: type[BaseModel] | None = None,
) -> GancoreError:
    """Turn a pydantic ValidationError into one actionable :class:`GancoreError`.

    ``model`` (the model validated) lets a value out of bounds be answered with the field's
    description, which states its bounds.
    """
    from gancore.errors import RecipeError, suggest

    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = loc_to_key(loc, key)
    etype = err["type"]
    what = f" of {component}" if component else ""
    if etype == "extra_forbidden" and component and not known and len(loc) == 1:
        bad = str(loc[-1])
        msg = f"{component} takes no parameters (got {bad!r})"
        hint = f'write it as a bare name, e.g. "{component.split(chr(39))[1]}"'
    elif etype == "extra_forbidden":
        bad = str(loc[-1]) if loc else "?"
        msg = f"unknown parameter {bad!r}{what}{suggest(bad, known or [])}"
        hint = ("valid parameters: " + ", ".join(known)) if known else "remove it"
    elif etype == "missing" and loc and loc[-1] == "type":
        msg = "this component reference has no type"
        hint = 'write "name" or { type = "name", param = value }'
    elif etype == "missing" and loc and isinstance(loc[-1], int):
        msg = f"too few items: item [{loc[-1]}] is missing{what}"
        described = _field_description(model, loc)
        hint = f"{loc_to_key(loc[:-1], key)}: {described}" if described else "add the item"
    elif etype == "missing":
        msg = f"missing required parameter{what}"
        hint = "add it to the recipe"
    else:
        got = err.get("input")
        text = str(err["msg"]).removeprefix("Value error, ")
        text = text[:1].lower() + text[1:]
        msg = f"{text} (got {_shown(got)})" + (f" for {component}" if component else "")
        hint = "fix the value"
        described = _field_description(model, loc)
        if described:
            hint = f"{loc_to_key(loc, key) or key}: {described}"
        if etype in ("int_type", "float_type") and isinstance(got, bool):
            hint = "write a number: true and false are booleans, not numbers"
        elif etype == "bool_type":
            hint = "write true or false (without quotes)"
        elif etype == "int_type" and isinstance(got, float):
            hint = "write a whole number (without a decimal point)"
        elif etype in ("int_type", "float_type", "int_from_float"):
            hint = "write a plain number (without quotes)"
        elif etype == "finite_number":
            hint = "nan and inf cannot be used: write a finite number"
        if etype == "literal_error" and isinstance(got, str):
            import re

            choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            msg += suggest(got, choices)
    extra = len(exc.errors()) - 1
    if extra:
        hint += f" ({extra} more problem{'s' if extra > 1 else ''} after this one)"
    return RecipeError(msg, key=where or key, source=source, hint=hint)
