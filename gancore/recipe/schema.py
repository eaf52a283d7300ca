"""The static shape of a recipe: sections, their settings and the component references.

Stage one of validation (unknown keys forbidden, types and bounds checked) happens against these
models; each component's own parameters are validated in stage two (:mod:`gancore.recipe.resolve`)
once plugins are loaded. All models are frozen: a recipe, once loaded, is not changed in place.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gancore.recipe.refs import (
    AugmentSpec,
    DatasetSpec,
    DiscriminatorSpec,
    FeatureExtractorSpec,
    GeneratorSpec,
    LossSpec,
    MetricSpec,
    OptimizerSpec,
    PenaltySpec,
    ScheduleSpec,
)

_STRICT = ConfigDict(extra="forbid", frozen=True)


class RecipeMeta(BaseModel):
    """``[recipe]``: name, description and the plugin packs the recipe needs."""

    model_config = _STRICT
    name: str = ""
    description: str = ""
    requires: list[str] = Field(
        default_factory=list, description='plugin packs, e.g. ["gancore-stylegan>=0.1"]'
    )


def _constant() -> ScheduleSpec:
    return ScheduleSpec.model_validate("constant")


class TrainSection(BaseModel):
    """``[train]``: the training loop's settings."""

    model_config = _STRICT
    batch_size: int = Field(64, gt=0, le=65536)
    steps: int = Field(10000, gt=0, description="generator updates")
    n_critic: int = Field(1, gt=0, description="discriminator updates per generator update")
    g_optimizer: OptimizerSpec = OptimizerSpec(type="adam", lr=2e-4, betas=[0.5, 0.999])
    d_optimizer: OptimizerSpec = OptimizerSpec(type="adam", lr=2e-4, betas=[0.5, 0.999])
    g_schedule: ScheduleSpec = Field(default_factory=lambda: _constant())
    d_schedule: ScheduleSpec = Field(default_factory=lambda: _constant())
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
    metrics: list[MetricSpec] = Field(
        default_factory=lambda: [MetricSpec.model_validate(m) for m in ("fid", "kid", "pr", "f1")]
    )
    num_samples: int = Field(5000, gt=0)
    extractor: FeatureExtractorSpec = Field(
        default_factory=lambda: FeatureExtractorSpec.model_validate("auto"),
        description='a registered feature extractor, or "auto" (chosen for the data)',
    )
    seed: int = 0


class Recipe(BaseModel):
    """A whole recipe: data, networks, loss, penalties, augmentations, training, evaluation."""

    model_config = _STRICT
    recipe: RecipeMeta = RecipeMeta()
    seed: int = 0
    data: DatasetSpec
    generator: GeneratorSpec
    discriminator: DiscriminatorSpec
    loss: LossSpec = Field(default_factory=lambda: LossSpec.model_validate("bce"))
    penalty: list[PenaltySpec] = Field(default_factory=list)
    augment: list[AugmentSpec] = Field(default_factory=list)
    train: TrainSection = TrainSection()
    eval: EvalSection = EvalSection()

    @field_validator("penalty", "augment", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict | str) else value

    # set by the loader, not part of the data
    _source: str | None = None
    _resolved: bool = False

    @property
    def source(self) -> str | None:
        """The file the recipe was read from, if any."""
        return self._source

    @property
    def resolved(self) -> bool:
        """Whether every component has been validated against the registry."""
        return self._resolved

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON- and TOML-ready apart from None values)."""
        return self.model_dump(mode="json")

    def to_toml(self) -> str:
        """The recipe as TOML (None values left out)."""
        import tomli_w

        return tomli_w.dumps(_drop_none(self.to_dict()))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
