"""The static shape of a recipe: sections, their settings and the component references.

Stage one of validation (unknown keys forbidden, types and bounds checked) happens against these
models; each component's own parameters are validated in stage two (:mod:`gancore.recipe.resolve`)
once plugins are loaded. All models are frozen: a recipe, once loaded, is not changed in place.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from gancore.core.params import MAX_SEED, MAX_STEPS, Device, PositiveFactor, Steps
from gancore.core.refs import (
    SPECS,
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
    TechniqueSpec,
)
from gancore.core.values import is_int
from gancore.recipe.expect import Expect

#: Unknown keys forbidden, frozen, scalars strict (``true`` is not a number, ``1`` not a
#: boolean; an int is a float), floats finite.
_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

#: Reference types of the kinds only ``[train]`` uses.
CallbackSpec, TrackerSpec = SPECS["callback"], SPECS["tracker"]

#: Longest ``recipe.name`` (it is shown in summaries and used as a run folder name).
MAX_NAME = 200
#: Longest ``recipe.description``.
MAX_DESCRIPTION = 4000


class RecipeMeta(BaseModel):
    """``[recipe]``: name, description and the plugin packs the recipe needs."""

    model_config = _STRICT
    name: str = Field("", max_length=MAX_NAME)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    requires: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=64,
        description='plugin packs, e.g. ["gancore-stylegan>=0.1"]',
    )


def _constant() -> ScheduleSpec:
    return ScheduleSpec.model_validate("constant")


def _every(default: int, what: str) -> Any:
    return Field(default, ge=1, le=MAX_STEPS, description=f"{what} (1..{MAX_STEPS:,})")


class TopKSection(BaseModel):
    """The table of the deprecated ``train.top_k`` (now the ``top_k`` technique's parameters):
    only the k highest-scored fakes update G (Sinha et al. 2020).

    k is the fraction ``max(start * gamma ** (step // every), min)`` of the batch.
    """

    model_config = _STRICT
    start: PositiveFactor = Field(1.0, description="fraction of the batch at first, in (0, 1]")
    gamma: PositiveFactor = Field(0.99, description="decay of the fraction per interval, (0, 1]")
    min: PositiveFactor = Field(0.5, description="smallest fraction, in (0, 1]")
    every: Steps = Field(
        0, description="generator updates per decay; 0: one pass over the data (an epoch)"
    )


def _num_workers(value: Any) -> int | str:
    if value == "auto" and isinstance(value, str):
        return value
    if not is_int(value):
        raise ValueError('input should be "auto" or a whole number of processes')
    if value < 0:
        raise ValueError("input should be greater than or equal to 0")
    if value > 256:
        raise ValueError("input should be less than or equal to 256")
    return value


#: ``train.num_workers``: a process count 0..256, or ``"auto"``.
NumWorkers = Annotated[int | str, PlainValidator(_num_workers),
                       WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0,
                                                  "maximum": 256}, {"const": "auto"}]})]


#: Log records a run gets when ``train.log_every`` is left out.
LOG_POINTS = 100


def log_every_for(steps: int) -> int:
    """The ``train.log_every`` of a run of ``steps`` that leaves it out: about
    :data:`LOG_POINTS` records, one a step at most."""
    return max(1, steps // LOG_POINTS)


class TrainSection(BaseModel):
    """``[train]``: the training loop's settings."""

    model_config = _STRICT

    @field_validator("techniques", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict | str) else value

    #: the settings left out that follow others: ``d_optimizer`` (``g_optimizer``) and
    #: ``log_every`` (``steps``); a loaded recipe given new overrides derives them again
    _derived: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="wrap")
    @classmethod
    def _derive_left_out(cls, data: Any, handler: Any) -> Any:
        """``d_optimizer`` left out is ``g_optimizer`` as given (``--set`` overrides included);
        a ``d_optimizer`` table without a ``type`` changes those settings of ``g_optimizer``.
        ``log_every`` left out gives about :data:`LOG_POINTS` records a run."""
        if not isinstance(data, dict):
            return handler(data)
        derived = {k for k in ("d_optimizer", "log_every") if k not in data}
        g, d = data.get("g_optimizer"), data.get("d_optimizer")
        if "d_optimizer" in derived and g is not None:
            data = {**data, "d_optimizer": g}
        elif isinstance(d, dict) and "type" not in d:
            base = _table(cls.model_fields["g_optimizer"].default if g is None else g)
            if base is not None:
                data = {**data, "d_optimizer": {**base, **d}}
        steps = data.get("steps", cls.model_fields["steps"].default)
        if "log_every" in derived and is_int(steps):
            data = {**data, "log_every": log_every_for(steps)}
        section = handler(data)
        section._derived = frozenset(derived)
        return section

    @property
    def derived(self) -> frozenset[str]:
        """The settings the recipe left out that follow others (``d_optimizer``,
        ``log_every``)."""
        return self._derived

    @property
    def d_follows_g(self) -> bool:
        """Whether ``d_optimizer`` was left out, so that it is ``g_optimizer``."""
        return "d_optimizer" in self._derived

    batch_size: int = Field(64, gt=0, le=65536, description="images per batch (1..65536)")
    steps: int = Field(
        10000, gt=0, le=MAX_STEPS, description=f"generator updates (1..{MAX_STEPS:,})"
    )
    n_critic: int = Field(
        1, gt=0, le=100, description="discriminator updates per generator update (1..100)"
    )
    g_optimizer: OptimizerSpec = OptimizerSpec(type="adam", lr=2e-4, betas=[0.5, 0.999])
    d_optimizer: OptimizerSpec = Field(
        default=OptimizerSpec(type="adam", lr=2e-4, betas=[0.5, 0.999]),
        description="the optimizer of D; left out: the same as g_optimizer (--set included); "
        "a table without type changes those settings of g_optimizer's")
    g_schedule: ScheduleSpec = Field(default_factory=lambda: _constant())
    d_schedule: ScheduleSpec = Field(default_factory=lambda: _constant())
    techniques: list[TechniqueSpec] = Field(
        default_factory=list, max_length=64,
        description='training techniques on the step\'s extension points, e.g. ["ema", '
        '{ type = "top_k", gamma = 0.99 }]; see `gancore list technique`')
    precision: Literal["auto", "fp32", "tf32", "bf16", "fp16"] = "auto"
    channels_last: Literal["auto", "on", "off"] = "auto"
    compile: bool = False
    device: Device = "auto"
    num_workers: NumWorkers = Field(
        "auto", description='data loader processes (0..256); "auto": from the CPUs available '
        "and the device (datasets held in memory or prepared use none)")
    threads: int = Field(
        0, ge=0, le=4096, description="CPU threads of torch (0..4096); 0 keeps torch's default"
    )
    log_every: int = _every(
        100, f"steps between log records; left out: steps / {LOG_POINTS} (about {LOG_POINTS} "
        "records a run, "
        "at least every step)")
    sample_every: int = _every(500, "steps between sample grids")
    checkpoint_every: int = _every(1000, "steps between checkpoints")
    grid_size: int = Field(64, gt=0, le=1024)
    # extension points (callbacks, trackers, in-training evaluation); see docs/plugins.md
    callbacks: list[CallbackSpec] = Field(
        default_factory=list, description="training-event callbacks (references)")
    default_callbacks: bool = Field(True, description="also run the packs' default callbacks")
    trackers: list[TrackerSpec] = Field(
        default_factory=list, description='experiment trackers besides metrics.jsonl, e.g. '
        '["tensorboard"]')
    eval_every: int = Field(0, ge=0, le=MAX_STEPS,
                            description="compute the [eval] metrics every N steps; 0: off")
    eval_samples: int = Field(1000, ge=2, le=1_000_000,
                              description="samples per in-training evaluation")
    keep_best: str = Field(
        "", max_length=200, description='keep best.safetensors, the checkpoint with the best '
        'score so far of this in-training evaluation score ("fid", "kid_mean", "recall", or '
        'a whole key such as "fid/classifier"); needs eval_every; "": off')


class EvalSection(BaseModel):
    """``[eval]``: which metrics ``gancore eval`` computes by default and on how many samples."""

    model_config = _STRICT
    metrics: list[MetricSpec] = Field(
        default_factory=lambda: [MetricSpec.model_validate(m) for m in ("fid", "kid", "pr", "f1")],
        max_length=64,
    )
    num_samples: int = Field(5000, gt=0, le=10**7, description="samples (1..10,000,000)")
    extractor: FeatureExtractorSpec = Field(
        default_factory=lambda: FeatureExtractorSpec.model_validate("auto"),
        description='a registered feature extractor, or "auto" (chosen for the data)',
    )
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seed (0..2**63-1)")


class Recipe(BaseModel):
    """A whole recipe: data, networks, loss, penalties, augmentations, training, evaluation."""

    model_config = _STRICT
    recipe: RecipeMeta = RecipeMeta()
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seed (0..2**63-1)")
    data: DatasetSpec
    generator: GeneratorSpec
    discriminator: DiscriminatorSpec
    loss: LossSpec = Field(default_factory=lambda: LossSpec.model_validate("bce"))
    penalty: list[PenaltySpec] = Field(default_factory=list, max_length=64)
    augment: list[AugmentSpec] = Field(default_factory=list, max_length=64)
    train: TrainSection = TrainSection()
    eval: EvalSection = EvalSection()
    expect: Expect | None = Field(
        None, description="what the recipe should score at a stated budget (bands); never "
        "read by the builder or trainer, not inherited through extends")

    @field_validator("penalty", "augment", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict | str) else value

    # set by the loader, not part of the data
    _source: str | None = None
    _resolved: bool = False
    #: key path -> the file that wrote it (an ``extends`` parent or the recipe itself)
    _origins: dict[tuple[str | int, ...], str] | None = None
    #: what loading and resolving found: deprecated keys, unmet requirements (``Finding``)
    _findings: list[Any] | None = None
    #: ``train.techniques`` index -> the old ``[train]`` flag it came from
    _legacy_keys: dict[int, str] | None = None

    @property
    def source(self) -> str | None:
        """The file the recipe was read from, if any."""
        return self._source

    @property
    def findings(self) -> list[Any]:
        """Deprecated keys (from loading) and unmet requirements (from resolving):
        :class:`gancore.recipe.requirements.Finding` s."""
        return list(self._findings or [])

    @property
    def legacy_keys(self) -> dict[int, str]:
        """``train.techniques`` index -> the deprecated ``[train]`` flag it came from."""
        return dict(self._legacy_keys or {})

    @property
    def resolved(self) -> bool:
        """Whether every component has been validated against the registry."""
        return self._resolved

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON- and TOML-ready apart from None values; no ``expect`` key when the
        recipe records no ``[expect]`` table, so such recipes read as they always did)."""
        data = self.model_dump(mode="json", exclude={"expect"})
        if self.expect is not None:
            data["expect"] = self.expect.to_toml_dict()
        return data

    def to_toml(self) -> str:
        """The recipe as TOML (None values left out)."""
        import tomli_w

        return tomli_w.dumps(_drop_none(self.to_dict()))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _table(ref: Any) -> dict[str, Any] | None:
    """A component reference as a ``{type = ...}`` table (None: not a reference)."""
    if isinstance(ref, str):
        return {"type": ref}
    if isinstance(ref, dict):
        return dict(ref)
    if isinstance(ref, BaseModel) and hasattr(ref, "as_dict"):
        return dict(ref.as_dict())
    return None


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
