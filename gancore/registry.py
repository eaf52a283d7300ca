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
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from gancore.errors import DuplicateComponentError, GancoreError, UnknownComponentError

#: The kinds of component, with a one-line description each.
KINDS: dict[str, str] = {
    "generator": "whole generator networks: forward(z, y=None) -> images",
    "discriminator": "whole discriminator networks: forward(x, y=None) -> logits[B]",
    "block": "layers a stack network is assembled from: Factory(in_channels, **params)",
    "norm": "feature normalizations made from num_features (batch, instance, ...)",
    "weight_norm": "weight normalizations applied to a layer (spectral, weight, none)",
    "activation": "activation functions",
    "init": "weight initialisation schemes",
    "loss": "adversarial losses: d_loss(real, fake), g_loss(fake, real)",
    "penalty": "discriminator regularisers (gradient penalty, R1, ...)",
    "dataset": "training data",
    "optimizer": "optimizers made from parameters",
    "schedule": "learning-rate schedules",
    "augment": "differentiable augmentations applied to the discriminator's inputs",
    "metric": "evaluation metrics",
    "feature_extractor": "networks mapping images to features for FID/KID/PR",
}

#: Arguments the framework supplies for each kind; they never appear in a recipe.
BUILDER_ARGS: dict[str, tuple[str, ...]] = {
    "block": ("in_channels", "ctx"),
    "norm": ("num_features", "dims", "num_classes"),
    "weight_norm": ("module",),
    "generator": ("ctx",),
    "discriminator": ("ctx",),
    "optimizer": ("params",),
    "schedule": ("optimizer", "total_steps"),
    "feature_extractor": ("ctx",),
    "metric": ("ctx",),
}

_PARAMS_CONFIG = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class Params(BaseModel):
    """Base class for explicit component parameter models (forbids unknown keys)."""

    model_config = ConfigDict(extra="forbid")


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
                    factory, f"{self.kind}:{self.name}", BUILDER_ARGS.get(self.kind, ())
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
        """Call the factory with framework arguments and validated parameters."""
        return self.load()(*args, **params)


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
        model_name.replace(":", "_").replace("-", "_"), __config__=_PARAMS_CONFIG, **fields
    )
    model.__doc__ = inspect.getdoc(factory) or ""
    return model


class Registry:
    """Components by kind and name, filled by plugin hooks.

    >>> registry.add("block", "my_block", MyBlock, summary="...")
    >>> registry.get("block", "my_block").create(64, out_channels=32)
    """

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, ComponentEntry]] = {k: {} for k in KINDS}
        self._origin: tuple[str, str | None] = ("unknown", None)
        self.recipe_dirs: list[tuple[str, str]] = []  # (origin, path)

    # -- registration ---------------------------------------------------------------------
    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        *,
        summary: str = "",
        params: type[BaseModel] | None = None,
        **meta: Any,
    ) -> ComponentEntry:
        """Register ``factory`` as component ``kind``/``name``.

        ``meta`` holds kind-specific facts (for example a block's ``role``: ``"stem"``,
        ``"head"``...). Registering a name twice raises :class:`DuplicateComponentError`
        naming both origins.
        """
        if kind not in self._entries:
            raise GancoreError(
                f"unknown component kind {kind!r}",
                hint="kinds: " + ", ".join(KINDS),
            )
        origin, version = self._origin
        existing = self._entries[kind].get(name)
        if existing is not None:
            raise DuplicateComponentError(
                f"{kind} {name!r} is registered twice: by {existing.origin} and by {origin}",
                hint="uninstall or block one of the two plugin packs "
                "(GANCORE_BLOCK_PLUGINS=name or --block-plugin name)",
            )
        entry = ComponentEntry(
            kind,
            name,
            factory,
            summary=summary,
            origin=origin,
            origin_version=version,
            params=params,
            meta=dict(meta),
        )
        self._entries[kind][name] = entry
        return entry

    def add_recipe_dir(self, path: str) -> None:
        """Make the ``*.toml`` recipes in ``path`` listable by ``gancore recipes``."""
        self.recipe_dirs.append((self._origin[0], str(path)))

    def _set_origin(self, origin: str, version: str | None) -> None:
        self._origin = (origin, version)

    def _remove_origin(self, origin: str) -> None:
        for entries in self._entries.values():
            for name in [n for n, e in entries.items() if e.origin == origin]:
                del entries[name]
        self.recipe_dirs = [(o, p) for o, p in self.recipe_dirs if o != origin]

    # -- lookup ---------------------------------------------------------------------------
    def get(self, kind: str, name: str, *, key: str | None = None) -> ComponentEntry:
        """Return an entry, or raise :class:`UnknownComponentError` with suggestions."""
        if kind not in self._entries:
            raise GancoreError(
                f"unknown component kind {kind!r}", hint="kinds: " + ", ".join(KINDS)
            )
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
        for k in [kind] if kind else list(KINDS):
            for n in self.names(k, pattern):
                yield self._entries[k][n]

    def create(
        self, kind: str, name: str, *args: Any, key: str | None = None, **params: Any
    ) -> Any:
        """Validate ``params`` and call the factory of ``kind``/``name``."""
        entry = self.get(kind, name, key=key)
        validated = validate_params(entry, params, key=key)
        return entry.create(*args, **params_to_kwargs(validated))

    def origins(self) -> dict[str, str | None]:
        """Plugin name -> version for every plugin that registered something."""
        out: dict[str, str | None] = {}
        for entry in self.entries():
            out.setdefault(entry.origin, entry.origin_version)
        return out


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
    try:
        return entry.validate(values)
    except ValidationError as exc:
        raise validation_error(
            exc,
            key=key,
            source=source,
            component=f"{entry.kind} {entry.name!r}",
            known=list(entry.params_model().model_fields),
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


def validation_error(
    exc: ValidationError,
    *,
    key: str | None = None,
    source: str | None = None,
    component: str | None = None,
    known: list[str] | None = None,
) -> GancoreError:
    """Turn a pydantic ValidationError into one actionable :class:`GancoreError`."""
    from gancore.errors import RecipeError, suggest

    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = loc_to_key(loc, key)
    etype = err["type"]
    what = f" of {component}" if component else ""
    if etype == "extra_forbidden":
        bad = str(loc[-1]) if loc else "?"
        msg = f"unknown parameter {bad!r}{what}{suggest(bad, known or [])}"
        hint = ("valid parameters: " + ", ".join(known)) if known else "remove it"
    elif etype == "missing":
        msg = f"missing required parameter{what}"
        hint = "add it to the recipe"
    else:
        got = err.get("input")
        msg = f"{err['msg']}{what} (got {got!r})"
        hint = "fix the value"
    extra = len(exc.errors()) - 1
    if extra:
        hint += f" ({extra} more problem{'s' if extra > 1 else ''} after this one)"
    return RecipeError(msg, key=where or key, source=source, hint=hint)
