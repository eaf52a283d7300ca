"""The author API: everything a plugin pack needs from gancore, in one stable place.

::

    from gancore.plugin import hookimpl, BuildContext, BlockSpec, Channels, RecipeError

- hooks: :data:`hookimpl` (``gancore_register_components(registry)``, ``gancore_recipe_dirs()``,
  ``gancore_commands(app)``)
- the contract: :data:`KINDS` (every kind: places, protocol, supplied arguments, checks) and the
  protocols (:class:`Block`, :class:`Generator`, :class:`Discriminator`, :class:`Loss`,
  :class:`FeatureNorm`, :class:`WeightNorm`, :class:`Activation`, :class:`Init`,
  :class:`Penalty`, :class:`Augment`, :class:`Dataset`, :class:`Filter`, :class:`Optimizer`,
  :class:`Schedule`,
  :class:`Metric`, :class:`FeatureExtractor`, :class:`Callback`, :class:`Tracker`;
  :class:`StopTraining` ends a run cleanly from a callback), the
  :class:`Stateful` protocol (state kept across ``--resume``), :class:`DataSpec`,
  :class:`FilterContext`, :class:`EvalInputs`,
  :func:`metric_key`, :func:`keeps_init` / :data:`KEEP_INIT`, :func:`is_conditional`
- building: :class:`BuildContext`, the reference types (:class:`BlockSpec`, :class:`NormSpec`,
  ... one per kind), :func:`assemble`, :func:`make_block`, :func:`next_resolution`
- parameters: :class:`Params` (a pydantic model forbidding unknown keys) and the bounded types
  :data:`Channels`, :data:`Resolution`, :data:`Kernel`, :data:`Probability`
- errors: :class:`GancoreError`, :class:`RecipeError`, :class:`DataError`,
  :class:`ContractError`, :func:`suggest`

Importing this module imports no torch; the attributes that need it load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore._lazy import lazy_attributes

_LAZY = {
    "hookimpl": "gancore.hookspecs:hookimpl",
    "KINDS": "gancore.kinds:KINDS",
    "Kind": "gancore.kinds:Kind",
    "Registry": "gancore.registry:Registry",
    "Params": "gancore.registry:Params",
    "DataSpec": "gancore.protocols:DataSpec",
    "Block": "gancore.protocols:Block",
    "Generator": "gancore.protocols:Generator",
    "Discriminator": "gancore.protocols:Discriminator",
    "Loss": "gancore.protocols:Loss",
    "FeatureNorm": "gancore.protocols:FeatureNorm",
    "WeightNorm": "gancore.protocols:WeightNorm",
    "Activation": "gancore.protocols:Activation",
    "Init": "gancore.protocols:Init",
    "Penalty": "gancore.protocols:Penalty",
    "Augment": "gancore.protocols:Augment",
    "Dataset": "gancore.protocols:Dataset",
    "Filter": "gancore.protocols:Filter",
    "FilterContext": "gancore.data.filters:FilterContext",
    "Optimizer": "gancore.protocols:Optimizer",
    "Schedule": "gancore.protocols:Schedule",
    "Callback": "gancore.protocols:Callback",
    "Tracker": "gancore.protocols:Tracker",
    "Stateful": "gancore.protocols:Stateful",
    "CallbackError": "gancore.train.events:CallbackError",
    "StopTraining": "gancore.train.events:StopTraining",
    "MissingExtraError": "gancore.tracking:MissingExtraError",
    "Metric": "gancore.metrics.base:Metric",
    "FeatureExtractor": "gancore.metrics.base:FeatureExtractor",
    "EvalInputs": "gancore.metrics.base:EvalInputs",
    "metric_key": "gancore.metrics.base:metric_key",
    "KEEP_INIT": "gancore.contract:KEEP_INIT",
    "keeps_init": "gancore.contract:keeps_init",
    "is_conditional": "gancore.contract:is_conditional",
    "BuildContext": "gancore.assembly.context:BuildContext",
    "assemble": "gancore.assembly.sequence:assemble",
    "make_block": "gancore.assembly.sequence:make_block",
    "next_resolution": "gancore.assembly.sequence:next_resolution",
    "ComponentSpec": "gancore.recipe.refs:ComponentSpec",
    "GeneratorSpec": "gancore.recipe.refs:GeneratorSpec",
    "DiscriminatorSpec": "gancore.recipe.refs:DiscriminatorSpec",
    "BlockSpec": "gancore.recipe.refs:BlockSpec",
    "NormSpec": "gancore.recipe.refs:NormSpec",
    "WeightNormSpec": "gancore.recipe.refs:WeightNormSpec",
    "ActivationSpec": "gancore.recipe.refs:ActivationSpec",
    "InitSpec": "gancore.recipe.refs:InitSpec",
    "LossSpec": "gancore.recipe.refs:LossSpec",
    "PenaltySpec": "gancore.recipe.refs:PenaltySpec",
    "AugmentSpec": "gancore.recipe.refs:AugmentSpec",
    "OptimizerSpec": "gancore.recipe.refs:OptimizerSpec",
    "ScheduleSpec": "gancore.recipe.refs:ScheduleSpec",
    "DatasetSpec": "gancore.recipe.refs:DatasetSpec",
    "FilterSpec": "gancore.recipe.refs:FilterSpec",
    "MetricSpec": "gancore.recipe.refs:MetricSpec",
    "FeatureExtractorSpec": "gancore.recipe.refs:FeatureExtractorSpec",
    "CallbackSpec": "gancore.recipe.schema:CallbackSpec",
    "TrackerSpec": "gancore.recipe.schema:TrackerSpec",
    # bounded parameter types (gancore.params)
    "Channels": "gancore.params:Channels",
    "EmbedDim": "gancore.params:EmbedDim",
    "Resolution": "gancore.params:Resolution",
    "ImageSize": "gancore.params:ImageSize",
    "Kernel": "gancore.params:Kernel",
    "Probability": "gancore.params:Probability",
    "Chance": "gancore.params:Chance",
    "Fraction": "gancore.params:Fraction",
    "Factor": "gancore.params:Factor",
    "PositiveFactor": "gancore.params:PositiveFactor",
    "LearningRate": "gancore.params:LearningRate",
    "Beta": "gancore.params:Beta",
    "Epsilon": "gancore.params:Epsilon",
    "WeightDecay": "gancore.params:WeightDecay",
    "Weight": "gancore.params:Weight",
    "Scale": "gancore.params:Scale",
    "Target": "gancore.params:Target",
    "Label": "gancore.params:Label",
    "Steps": "gancore.params:Steps",
    "Interval": "gancore.params:Interval",
    "Degrees": "gancore.params:Degrees",
    "Spread": "gancore.params:Spread",
    "Limit": "gancore.params:Limit",
    "Seed": "gancore.params:Seed",
    "BatchSize": "gancore.params:BatchSize",
    "SampleCount": "gancore.params:SampleCount",
    "Neighbours": "gancore.params:Neighbours",
    "Device": "gancore.params:Device",
    "GancoreError": "gancore.errors:GancoreError",
    "RecipeError": "gancore.errors:RecipeError",
    "DataError": "gancore.errors:DataError",
    "ContractError": "gancore.errors:ContractError",
    "suggest": "gancore.errors:suggest",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    pass

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
