"""Component specs: a ``type`` plus that component's parameters (validated against the registry).

This module imports neither torch nor the registry, so recipes load fast.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ComponentSpec(BaseModel):
    """``{type = "name", param = value, ...}``: a registered component and its parameters."""

    model_config = ConfigDict(extra="allow")

    type: str

    def params(self) -> dict[str, Any]:
        """The parameters (everything except ``type``)."""
        return dict(self.model_extra or {})

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.params()}


def _kind_spec(kind: str) -> type[ComponentSpec]:
    return type(
        f"{kind.title().replace('_', '')}Spec",
        (ComponentSpec,),
        {
            "__doc__": f"A registered {kind} and its parameters.",
            "model_config": ConfigDict(extra="allow", json_schema_extra={"x-gancore-kind": kind}),
            "__module__": __name__,
        },
    )


BlockSpec = _kind_spec("block")
GeneratorSpec = _kind_spec("generator")
DiscriminatorSpec = _kind_spec("discriminator")
DatasetSpec = _kind_spec("dataset")
LossSpec = _kind_spec("loss")
PenaltySpec = _kind_spec("penalty")
AugmentSpec = _kind_spec("augment")
OptimizerSpec = _kind_spec("optimizer")
ScheduleSpec = _kind_spec("schedule")

SPEC_KINDS: dict[type[ComponentSpec], str] = {
    BlockSpec: "block",
    GeneratorSpec: "generator",
    DiscriminatorSpec: "discriminator",
    DatasetSpec: "dataset",
    LossSpec: "loss",
    PenaltySpec: "penalty",
    AugmentSpec: "augment",
    OptimizerSpec: "optimizer",
    ScheduleSpec: "schedule",
}
