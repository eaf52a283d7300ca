"""The author API: everything a plugin pack needs from gancore, in one stable place.

::

    from gancore.plugin import hookimpl, BuildContext, BlockSpec, Channels, RecipeError

- hooks: :data:`hookimpl` (``gancore_register_components(registry)``, ``gancore_recipe_dirs()``,
  ``gancore_commands(app)``)
- training: :class:`RunView` (what callbacks and techniques see of a run), :data:`POINTS`
  (the extension points of the step), :class:`StopTraining`, :data:`STATS` (the report
  channel's statistics) and :class:`Report` (the channel itself, for a pack's tests),
  :func:`decision_threshold` (where a loss separates real from fake D outputs),
  :class:`DBatch` / :class:`GBatch`; :class:`Requirement`,
  :func:`batch_norm_in`, :func:`unlabelled_data` (what a component needs from a recipe)
- the contract: :data:`KINDS` (every kind: places, protocol, supplied arguments, checks) and the
  protocols (:class:`Block`, :class:`Generator`, :class:`Discriminator`, :class:`Loss`,
  :class:`FeatureNorm`, :class:`WeightNorm`, :class:`Activation`, :class:`Init`,
  :class:`Penalty`, :class:`Augment`, :class:`Dataset`, :class:`Filter`, :class:`Optimizer`,
  :class:`Schedule`, :class:`Technique`,
  :class:`Metric`, :class:`FeatureExtractor`, :class:`Callback`, :class:`Tracker`), the
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

from gancore.core.lazy import lazy_attributes

_LAZY = {
    "hookimpl": "gancore.packs.hookspecs:hookimpl",
    "KINDS": "gancore.core.kinds:KINDS",
    "Kind": "gancore.core.kinds:Kind",
    "Registry": "gancore.core.registry:Registry",
    "Params": "gancore.core.registry:Params",
    "DataSpec": "gancore.core.protocols:DataSpec",
    "Block": "gancore.core.protocols:Block",
    "Generator": "gancore.core.protocols:Generator",
    "Discriminator": "gancore.core.protocols:Discriminator",
    "Loss": "gancore.core.protocols:Loss",
    "FeatureNorm": "gancore.core.protocols:FeatureNorm",
    "WeightNorm": "gancore.core.protocols:WeightNorm",
    "Activation": "gancore.core.protocols:Activation",
    "Init": "gancore.core.protocols:Init",
    "Penalty": "gancore.core.protocols:Penalty",
    "Augment": "gancore.core.protocols:Augment",
    "Dataset": "gancore.core.protocols:Dataset",
    "Filter": "gancore.core.protocols:Filter",
    "FilterContext": "gancore.data.filters:FilterContext",
    "Optimizer": "gancore.core.protocols:Optimizer",
    "Schedule": "gancore.core.protocols:Schedule",
    "Callback": "gancore.core.protocols:Callback",
    "Tracker": "gancore.core.protocols:Tracker",
    "Stateful": "gancore.core.protocols:Stateful",
    "CallbackError": "gancore.train.events:CallbackError",
    "StopTraining": "gancore.train.events:StopTraining",
    "Technique": "gancore.core.protocols:Technique",
    "TechniqueSpec": "gancore.core.refs:TechniqueSpec",
    "POINTS": "gancore.core.kinds:POINTS",
    "RunView": "gancore.train.run:RunView",
    "STATS": "gancore.train.report:STATS",
    "Report": "gancore.train.report:Report",
    "decision_threshold": "gancore.metrics.classification:decision_threshold",
    "DBatch": "gancore.train.techniques:DBatch",
    "GBatch": "gancore.train.techniques:GBatch",
    "Requirement": "gancore.core.requirements:Requirement",
    "RecipeFacts": "gancore.recipe.requirements:RecipeFacts",
    "batch_norm_in": "gancore.core.requirements:batch_norm_in",
    "unlabelled_data": "gancore.core.requirements:unlabelled_data",
    "MissingExtraError": "gancore.tracking:MissingExtraError",
    "Metric": "gancore.metrics.base:Metric",
    "FeatureExtractor": "gancore.metrics.base:FeatureExtractor",
    "EvalInputs": "gancore.metrics.base:EvalInputs",
    "metric_key": "gancore.metrics.base:metric_key",
    "KEEP_INIT": "gancore.core.contract:KEEP_INIT",
    "keeps_init": "gancore.core.contract:keeps_init",
    "is_conditional": "gancore.core.contract:is_conditional",
    "BuildContext": "gancore.assembly.context:BuildContext",
    "assemble": "gancore.assembly.sequence:assemble",
    "make_block": "gancore.assembly.sequence:make_block",
    "next_resolution": "gancore.assembly.sequence:next_resolution",
    "ComponentSpec": "gancore.core.refs:ComponentSpec",
    "GeneratorSpec": "gancore.core.refs:GeneratorSpec",
    "DiscriminatorSpec": "gancore.core.refs:DiscriminatorSpec",
    "BlockSpec": "gancore.core.refs:BlockSpec",
    "NormSpec": "gancore.core.refs:NormSpec",
    "WeightNormSpec": "gancore.core.refs:WeightNormSpec",
    "ActivationSpec": "gancore.core.refs:ActivationSpec",
    "InitSpec": "gancore.core.refs:InitSpec",
    "LossSpec": "gancore.core.refs:LossSpec",
    "PenaltySpec": "gancore.core.refs:PenaltySpec",
    "AugmentSpec": "gancore.core.refs:AugmentSpec",
    "OptimizerSpec": "gancore.core.refs:OptimizerSpec",
    "ScheduleSpec": "gancore.core.refs:ScheduleSpec",
    "DatasetSpec": "gancore.core.refs:DatasetSpec",
    "FilterSpec": "gancore.core.refs:FilterSpec",
    "MetricSpec": "gancore.core.refs:MetricSpec",
    "FeatureExtractorSpec": "gancore.core.refs:FeatureExtractorSpec",
    "CallbackSpec": "gancore.recipe.schema:CallbackSpec",
    "TrackerSpec": "gancore.recipe.schema:TrackerSpec",
    # bounded parameter types (gancore.core.params)
    "Channels": "gancore.core.params:Channels",
    "EmbedDim": "gancore.core.params:EmbedDim",
    "Resolution": "gancore.core.params:Resolution",
    "ImageSize": "gancore.core.params:ImageSize",
    "Kernel": "gancore.core.params:Kernel",
    "Probability": "gancore.core.params:Probability",
    "Chance": "gancore.core.params:Chance",
    "Fraction": "gancore.core.params:Fraction",
    "Factor": "gancore.core.params:Factor",
    "PositiveFactor": "gancore.core.params:PositiveFactor",
    "LearningRate": "gancore.core.params:LearningRate",
    "Beta": "gancore.core.params:Beta",
    "Epsilon": "gancore.core.params:Epsilon",
    "WeightDecay": "gancore.core.params:WeightDecay",
    "Weight": "gancore.core.params:Weight",
    "Scale": "gancore.core.params:Scale",
    "Target": "gancore.core.params:Target",
    "Label": "gancore.core.params:Label",
    "Steps": "gancore.core.params:Steps",
    "Interval": "gancore.core.params:Interval",
    "Degrees": "gancore.core.params:Degrees",
    "Spread": "gancore.core.params:Spread",
    "Limit": "gancore.core.params:Limit",
    "Seed": "gancore.core.params:Seed",
    "BatchSize": "gancore.core.params:BatchSize",
    "SampleCount": "gancore.core.params:SampleCount",
    "Neighbours": "gancore.core.params:Neighbours",
    "Device": "gancore.core.params:Device",
    "GancoreError": "gancore.core.errors:GancoreError",
    "RecipeError": "gancore.core.errors:RecipeError",
    "DataError": "gancore.core.errors:DataError",
    "ContractError": "gancore.core.errors:ContractError",
    "suggest": "gancore.core.errors:suggest",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    pass

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
