"""Component references: ``"name"`` or ``{ type = "name", param = value, ... }``.

Every place a recipe names a component takes either form. Each kind in
:data:`gancore.core.kinds.KINDS` has its own reference type (``NormSpec``, ``BlockSpec``...); a
component parameter annotated with one of them is a place of that kind, which is how
resolution, the JSON Schema and the checkpoint metadata find nested components. This module
imports neither torch nor the registry.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from gancore.core.kinds import KINDS


class ComponentSpec(BaseModel):
    """A reference to a registered component and its parameters.

    Written ``"name"`` (no parameters) or ``{type = "name", ...}``; the name may be qualified
    with its origin, ``"origin:name"`` (``builtin:lecam``, ``gancore-extras:lecam``): :attr:`type`
    is then the bare name and :attr:`origin` the origin. A reference given as a bare name is
    written back as one. After :func:`gancore.recipe.resolve` it carries the validated
    parameters (:attr:`validated`), so nothing downstream validates it again, and the origin
    of the component it resolved to, so it is written back qualified: a resolved recipe (and a
    checkpoint) names every component's origin.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str

    _short: bool = PrivateAttr(default=False)
    _validated: BaseModel | None = PrivateAttr(default=None)
    _origin: str | None = PrivateAttr(default=None)
    #: whether the origin was chosen by the registry for a bare name (not written)
    _chosen: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _from_name(cls, value: Any, handler: Any) -> Any:
        if isinstance(value, str):
            origin, name = _split(value)
            spec = handler({"type": name})
            spec._short, spec._origin = True, origin
            return spec
        if isinstance(value, ComponentSpec) and not isinstance(value, cls):
            spec = handler(value.as_dict())
            spec._short, spec._validated = value._short, value._validated
            spec._origin = value._origin
            return spec
        if isinstance(value, dict) and isinstance(value.get("type"), str) and \
                ":" in value["type"]:
            origin, name = _split(value["type"])
            spec = handler({**value, "type": name})
            spec._origin = origin
            return spec
        return handler(value)

    @model_serializer(mode="wrap")
    def _to_data(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        if not isinstance(self, ComponentSpec):  # an unvalidated default ("batch")
            return self
        if self._short and not self.model_extra:
            return self.qualified
        return self._qualify(handler(self))

    def _qualify(self, data: Any) -> Any:
        """Serialized ``data`` with the type written qualified when the origin is known."""
        if isinstance(data, dict) and self._origin is not None:
            data["type"] = self.qualified
        return data

    @property
    def origin(self) -> str | None:
        """The origin the reference names (``builtin``, a pack's), or None for a bare name
        not yet resolved."""
        return self._origin

    @property
    def qualified(self) -> str:
        """``origin:name`` when the origin is known, else the bare name."""
        return f"{self._origin}:{self.type}" if self._origin else self.type

    def params(self) -> dict[str, Any]:
        """The parameters as written (everything except ``type``)."""
        return dict(self.model_extra or {})

    def params_for(self, fields: Any) -> dict[str, Any]:
        """:meth:`params`, plus the reference's own settings (a callback's ``optional``) that
        the component also takes as parameters (``fields``: its parameter names)."""
        own = {f: getattr(self, f) for f in type(self).model_fields
               if f != "type" and f in fields}
        return {**own, **self.params()}

    def as_dict(self) -> dict[str, Any]:
        """``{"type": ..., **params}`` (the type qualified when the origin is known)."""
        return {"type": self.qualified, **self.params()}

    @property
    def validated(self) -> BaseModel | None:
        """The component's validated parameters, once the recipe is resolved."""
        return self._validated

    @property
    def short(self) -> bool:
        """Whether the reference was written as a bare name."""
        return self._short


def _split(name: str) -> tuple[str | None, str]:
    """``"origin:name"`` -> ``("origin", "name")``, ``"name"`` -> ``(None, "name")``."""
    origin, sep, bare = name.rpartition(":")
    return (origin or None, bare) if sep else (None, name)


def _kind_spec(kind: str) -> type[ComponentSpec]:
    k = KINDS[kind]
    return type(
        k.spec_name,
        (ComponentSpec,),
        {
            "__doc__": f'A reference to a registered {kind}: "name" or {{ type = "name", ... }}.',
            "model_config": ConfigDict(
                extra="allow", frozen=True, json_schema_extra={"x-gancore-kind": kind}
            ),
            "__module__": __name__,
        },
    )


#: kind -> its reference type
SPECS: dict[str, type[ComponentSpec]] = {kind: _kind_spec(kind) for kind in KINDS}
FilterSpec = SPECS["filter"]


class DatasetSpec(ComponentSpec):
    """A reference to a registered dataset: "name" or { type = "name", ... }.

    Besides the dataset's own parameters, ``[data]`` takes two settings of the training data
    that no dataset sees: ``filters`` (references to filter components, run in order once
    before training) and ``inject_noise`` (a share of the training images replaced by uniform
    noise at seed-determined indices). Both are left out of :meth:`params` and, at their
    defaults, out of the written recipe.
    """

    model_config = ConfigDict(
        extra="allow", frozen=True, json_schema_extra={"x-gancore-kind": "dataset"}
    )

    filters: list[FilterSpec] = Field(
        default_factory=list, max_length=64,
        description="filters choosing the training images, run in order before training",
    )
    inject_noise: float = Field(
        0.0, ge=0.0, le=0.5, strict=True, allow_inf_nan=False,
        description="share of the training images replaced by uniform noise (0..0.5)",
    )

    @field_validator("filters", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict | str) else value

    @model_serializer(mode="wrap")
    def _to_data(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        if not isinstance(self, ComponentSpec):
            return self
        if self._short and not self.model_extra and not self.filters and not self.inject_noise:
            return self.qualified
        data = self._qualify(handler(self))
        if isinstance(data, dict):
            if not self.filters:
                data.pop("filters", None)
            if not self.inject_noise:
                data.pop("inject_noise", None)
        return data


SPECS["dataset"] = DatasetSpec


class CallbackSpec(ComponentSpec):
    """A reference to a registered callback: "name" or { type = "name", ... }.

    Besides the callback's own parameters it takes ``optional``: when true, a callback that
    raises is disabled with a warning and the run goes on (as a callback whose class says
    ``optional = True``). Left out of :meth:`params`, and of the written recipe when false.
    """

    model_config = ConfigDict(
        extra="allow", frozen=True, json_schema_extra={"x-gancore-kind": "callback"}
    )

    optional: bool = Field(False, strict=True, description="a failure disables the callback "
                           "with a warning instead of stopping the run")

    @model_serializer(mode="wrap")
    def _to_data(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        if not isinstance(self, ComponentSpec):
            return self
        if self._short and not self.model_extra and not self.optional:
            return self.qualified
        data = self._qualify(handler(self))
        if isinstance(data, dict) and not self.optional:
            data.pop("optional", None)
        return data


SPECS["callback"] = CallbackSpec
#: reference type -> kind
SPEC_KINDS: dict[type[ComponentSpec], str] = {cls: kind for kind, cls in SPECS.items()}


def spec_kind(spec: ComponentSpec, default: str = "block") -> str:
    """The kind a reference names (a plain :class:`ComponentSpec` counts as ``default``)."""
    return SPEC_KINDS.get(type(spec), default)


def as_spec(kind: str, value: str | dict[str, Any] | ComponentSpec) -> ComponentSpec:
    """``value`` as ``kind``'s reference type."""
    if isinstance(value, SPECS[kind]):
        return value
    return SPECS[kind].model_validate(value)


GeneratorSpec = SPECS["generator"]
DiscriminatorSpec = SPECS["discriminator"]
BlockSpec = SPECS["block"]
NormSpec = SPECS["norm"]
WeightNormSpec = SPECS["weight_norm"]
ActivationSpec = SPECS["activation"]
InitSpec = SPECS["init"]
LossSpec = SPECS["loss"]
PenaltySpec = SPECS["penalty"]
AugmentSpec = SPECS["augment"]
OptimizerSpec = SPECS["optimizer"]
ScheduleSpec = SPECS["schedule"]
MetricSpec = SPECS["metric"]
FeatureExtractorSpec = SPECS["feature_extractor"]
TechniqueSpec = SPECS["technique"]


def inline_toml(value: Any) -> str:
    """``value`` (a reference, table, array or scalar) as one line of TOML."""
    import json

    if isinstance(value, ComponentSpec):
        value = value.as_dict() if not value.short or value.params() else value.type
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {inline_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(inline_toml(v) for v in value) + "]"
    return json.dumps(str(value))
