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

from gancore.core.errors import AmbiguousComponentError, GancoreError, UnknownComponentError
from gancore.core.kinds import KINDS as _KINDS
from gancore.core.kinds import get_kind

if typing.TYPE_CHECKING:
    from gancore.core.refs import ComponentSpec

#: Counts calls of :func:`validate_params` (resolution validates each reference once).
VALIDATIONS = {"count": 0}



def __getattr__(name: str) -> Any:
    """0.1's ``KINDS`` and ``BUILDER_ARGS``, derived from :data:`gancore.core.kinds.KINDS`."""
    views = {
        "KINDS": lambda: {k.name: k.summary for k in _KINDS.values()},
        "BUILDER_ARGS": lambda: {k.name: k.supplied for k in _KINDS.values()},
    }
    if name not in views:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    warnings.warn(
        f"gancore.core.registry.{name} is deprecated: read gancore.core.kinds.KINDS",
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
    #: the registry the entry belongs to (passed to a factory that declares ``registry``)
    registry: Any = field(default=None, repr=False, compare=False)

    @property
    def qualified(self) -> str:
        """``origin:name``: the name no other origin's component can take."""
        return f"{self.origin}:{self.name}"

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

        What it returns is checked against the kind's protocol (:mod:`gancore.core.contract`).
        """
        from gancore.core.contract import check_product

        factory = self.load()
        if self.registry is not None and "registry" not in params and declares(factory,
                                                                                "registry"):
            params["registry"] = self.registry  # a component that makes others (ACGAN's loss)
        product = check_product(self, factory(*args, **params))
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


#: Arguments the framework passes to any factory that declares them (never recipe parameters):
#: ``registry``, the registry making the component (to make the components it holds).
OFFERED_TO_ALL = ("registry",)


def declares(factory: Any, name: str) -> bool:
    """Whether ``factory`` (a class or function) takes a parameter called ``name``."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return name in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def model_from_signature(
    factory: Callable[..., Any], model_name: str, skip: tuple[str, ...] = ()
) -> type[BaseModel]:
    """Derive a pydantic model (extra keys forbidden) from a callable's typed signature
    (``skip`` and :data:`OFFERED_TO_ALL` are the framework's arguments, left out)."""
    skip = (*skip, *OFFERED_TO_ALL)
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


#: The origin of gancore's own components.
BUILTIN = "builtin"


def split_name(name: str) -> tuple[str | None, str]:
    """``"origin:name"`` -> ``("origin", "name")``; a bare ``"name"`` -> ``(None, "name")``."""
    origin, sep, bare = name.rpartition(":")
    return (origin or None, bare) if sep else (None, name)


class Registry:
    """Components by kind and qualified name (``origin:name``), filled by plugin hooks.

    >>> registry.add("block", "my_block", MyBlock, summary="...")
    >>> registry.get("block", "my_block").create(64, out_channels=32)
    >>> registry.get("penalty", "gancore-extras:lecam")          # one origin's, whatever else

    Several origins may register one name. A reference names a component by its qualified
    name (``builtin:lecam``, ``gancore-extras:lecam``), or by its bare name: that is the one
    origin's component when only one registers it; a pack's over gancore's own when one pack and
    the built-ins do (a pack keeps the meaning of its names as gancore grows; resolving says
    so, naming both); and an error listing the qualified names when several packs do.
    """

    def __init__(self) -> None:
        #: kind -> bare name -> the entries registering it, in registration order
        self._by_name: dict[str, dict[str, list[ComponentEntry]]] = {k: {} for k in _KINDS}
        self._origin: tuple[str, str | None] = ("unknown", None)
        self.recipe_dirs: list[tuple[str, str]] = []  # (origin, path)
        #: registrations refused because their origin registered the name already
        self.clashes: list[Clash] = []
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
        """Register ``factory`` as component ``kind``/``name`` of the current origin; return
        its entry.

        ``meta`` holds kind-specific facts (for example a block's ``role``). Another origin's
        component of the same name stays registered: both are reachable by qualified name
        (``origin:name``), and the bare name follows the rule of :class:`Registry`.
        ``override=True`` says a pack replaces gancore's component of that name on purpose:
        the bare name is then the pack's without a note. The same origin registering a name
        twice is a clash: the second is refused (``None``) and recorded in :attr:`clashes`.
        """
        if kind not in self._by_name:
            get_kind(kind)  # raises with a did-you-mean
        origin, version = self._origin
        if not isinstance(name, str) or not name or ":" in name:
            raise GancoreError(
                f"{kind} {name!r} from {origin}: a component name is a non-empty string "
                "without ':' (the qualified name origin:name is made from it)",
                hint="rename the component")
        _check_declarations(kind, name, origin, meta)
        same = self._by_name[kind].get(name, [])
        if any(e.origin == origin for e in same):
            self.clashes.append(Clash(kind, name, origin, origin, override))
            return None
        builtin = next((e for e in same if e.origin == BUILTIN), None)
        entry = ComponentEntry(
            kind,
            name,
            factory,
            summary=summary,
            origin=origin,
            origin_version=version,
            params=params,
            meta=dict(meta),
            overrides=BUILTIN if override and builtin is not None else None,
            registry=self,
        )
        self._by_name[kind].setdefault(name, []).append(entry)
        return entry

    def add_recipe_dir(self, path: str) -> None:
        """Make the ``*.toml`` recipes in ``path`` listable by ``gancore recipes``."""
        self.recipe_dirs.append((self._origin[0], str(path)))

    def _set_origin(self, origin: str, version: str | None) -> None:
        self._origin = (origin, version)

    def _remove_origin(self, origin: str) -> None:
        for names in self._by_name.values():
            for name in list(names):
                names[name] = [e for e in names[name] if e.origin != origin]
                if not names[name]:
                    del names[name]
        self.recipe_dirs = [(o, p) for o, p in self.recipe_dirs if o != origin]
        self.clashes = [c for c in self.clashes if c.rejected != origin]

    # -- lookup ---------------------------------------------------------------------------
    def candidates(self, kind: str, name: str) -> list[ComponentEntry]:
        """Every entry registering the bare ``name`` (in registration order)."""
        if kind not in self._by_name:
            get_kind(kind)
        return list(self._by_name[kind].get(name, []))

    def get(self, kind: str, name: str | ComponentSpec, *, origin: str | None = None,
            key: str | None = None) -> ComponentEntry:
        """The entry a name (``"name"``, ``"origin:name"``) or reference names.

        Raises :class:`UnknownComponentError` with suggestions, or
        :class:`AmbiguousComponentError` for a bare name several packs register.
        """
        if not isinstance(name, str):  # a reference: its name and its origin, if pinned
            origin = origin or getattr(name, "origin", None)
            name = name.type
        pinned, bare = split_name(name)
        origin = origin or pinned
        entries = self.candidates(kind, bare)
        if origin is not None:
            for entry in entries:
                if entry.origin == origin:
                    return entry
            known = [e.qualified for e in entries] or [e.qualified for e in self.entries(kind)]
            raise UnknownComponentError(kind, f"{origin}:{bare}", known, key=key)
        if not entries:
            raise UnknownComponentError(kind, bare, self._by_name[kind], key=key)
        return self.by_bare_name(kind, bare, entries, key=key)

    def by_bare_name(self, kind: str, name: str, entries: list[ComponentEntry] | None = None,
                     *, key: str | None = None) -> ComponentEntry:
        """The entry a bare name means (see :class:`Registry`)."""
        entries = self.candidates(kind, name) if entries is None else entries
        if len(entries) == 1:
            return entries[0]
        packs = [e for e in entries if e.origin != BUILTIN]
        if len(packs) == 1:
            return packs[0]
        raise AmbiguousComponentError(kind, name, [e.qualified for e in entries], key=key)

    def shadowed(self, kind: str, name: str) -> list[ComponentEntry]:
        """The entries a bare name does not mean (empty when one origin registers it)."""
        entries = self.candidates(kind, name)
        if len(entries) < 2:
            return []
        try:
            chosen = self.by_bare_name(kind, name, entries)
        except AmbiguousComponentError:
            return []
        return [e for e in entries if e is not chosen]

    def __contains__(self, item: tuple[str, str]) -> bool:
        kind, name = item
        origin, bare = split_name(name)
        entries = self._by_name.get(kind, {}).get(bare, [])
        return any(origin is None or e.origin == origin for e in entries)

    def names(self, kind: str, pattern: str = "*") -> list[str]:
        """Sorted bare names of ``kind`` matching an fnmatch ``pattern``."""
        return sorted(n for n in self._by_name.get(kind, {}) if fnmatch.fnmatchcase(n, pattern))

    def entries(self, kind: str | None = None, pattern: str = "*") -> Iterator[ComponentEntry]:
        """All entries (of one kind), sorted by kind, then name, built-ins first. A pattern
        with ``:`` matches qualified names."""
        for k in [kind] if kind else list(_KINDS):
            for name in sorted(self._by_name.get(k, {})):
                for entry in sorted(self._by_name[k][name],
                                    key=lambda e: (e.origin != BUILTIN, e.origin)):
                    target = entry.qualified if ":" in pattern else name
                    if fnmatch.fnmatchcase(target, pattern):
                        yield entry

    def ambiguous(self) -> list[tuple[str, str, list[str]]]:
        """``(kind, name, qualified names)`` of every bare name several origins register."""
        return [(k, n, [e.qualified for e in entries])
                for k, names in self._by_name.items() for n, entries in sorted(names.items())
                if len(entries) > 1]

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
        from gancore.core.refs import as_spec

        spec = as_spec(kind, spec)
        name_key = (key if spec.short else f"{key}.type") if key else None
        try:
            entry = self.get(kind, spec, key=name_key)
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
    from gancore.core.errors import suggest
    from gancore.core.kinds import POINTS

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
        from gancore.core.requirements import Requirement

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
    """A registration refused because its origin registered ``kind``/``name`` already."""

    kind: str
    name: str
    kept: str
    rejected: str
    override: bool = False

    def message(self) -> str:
        """One line naming the origin and what to do."""
        return (f"{self.kind} {self.name!r} is registered twice by {self.rejected}; the first "
                "registration is kept")


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
    from gancore.core.errors import RecipeError, suggest

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
