"""Evaluation metrics and feature extractors (registry kinds ``metric``, ``feature_extractor``).

Metrics run on precomputed inputs (:class:`EvalInputs`): features are extracted once and shared
by FID, KID, precision/recall and density/coverage. Attributes are imported lazily, so
``import gancore.metrics`` (and the registration module) does not import torch.
"""

from __future__ import annotations

from gancore.core.lazy import lazy_attributes

_LAZY = {
    "EvalInputs": "base",
    "Metric": "base",
    "FeatureExtractor": "base",
    "evaluate": "base",
    "metric_key": "base",
    "required_fields": "base",
    "FeatureStats": "fid",
    "feature_stats": "fid",
    "frechet_distance": "fid",
    "fid_from_features": "fid",
    "fid_from_stats": "fid",
    "FID": "fid",
    "kernel_inception_distance": "kid",
    "KID": "kid",
    "inception_score": "inception_score",
    "InceptionScore": "inception_score",
    "precision_recall": "prdc",
    "density_coverage": "prdc",
    "PrecisionRecall": "prdc",
    "DensityCoverage": "prdc",
    "discriminator_scores": "classification",
    "class_coverage": "classification",
    "DiscriminatorF1": "classification",
    "ClassCoverage": "classification",
    "ring_modes": "modes",
    "grid_modes": "modes",
    "mode_spec": "modes",
    "mode_coverage": "modes",
    "ModeCoverage": "modes",
    "InceptionExtractor": "inception",
    "FIDInceptionV3": "inception",
    "load_fid_inception": "inception",
    "ClassifierExtractor": "classifier",
    "DomainClassifier": "classifier",
    "train_classifier": "classifier",
    "StatsCache": "stats_cache",
    "cache_dir": "stats_cache",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(
    __name__, {name: f".{module}" for name, module in _LAZY.items()}
)
