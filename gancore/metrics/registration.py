"""Registration of the built-in metrics and feature extractors (lazy: imports no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gancore.core.registry import Registry

_M = "gancore.metrics"

#: name -> (lazy factory, one-line summary)
METRICS: dict[str, tuple[str, str]] = {
    "fid": (f"{_M}.fid:FID", "Fréchet distance of feature Gaussians (FID; lower is better)"),
    "kid": (f"{_M}.kid:KID",
            "kernel inception distance: unbiased polynomial MMD² over subsets (mean, std)"),
    "is": (f"{_M}.inception_score:InceptionScore",
           "Inception Score from class probabilities over splits (mean, std)"),
    "pr": (f"{_M}.prdc:PrecisionRecall", "improved precision and recall (k-NN balls, k = 3)"),
    "dc": (f"{_M}.prdc:DensityCoverage", "density and coverage (k-NN balls, k = 5)"),
    "f1": (f"{_M}.classification:DiscriminatorF1",
           "discriminator accuracy and F1 on held-out real vs generated samples"),
    "class_coverage": (f"{_M}.classification:ClassCoverage",
                       "share of classes generated and KL(p_gen ‖ p_data) of predicted classes"),
    "modes": (f"{_M}.modes:ModeCoverage",
              "modes captured and % high-quality samples on the 2D ring/grid mixtures"),
}

#: name -> (lazy factory, one-line summary)
EXTRACTORS: dict[str, tuple[str, str]] = {
    "inception": (f"{_M}.inception:InceptionExtractor",
                  "FID Inception-v3 (pt_inception-2015-12-05; torch-fidelity's network when "
                  "installed) from a local weights file"),
    "classifier": (f"{_M}.classifier:ClassifierExtractor",
                   "small CNN trained and cached by gancore on the labelled dataset"),
}


def register(registry: Registry) -> None:
    """Add the built-in metrics and feature extractors to ``registry``."""
    for name, (factory, summary) in METRICS.items():
        registry.add("metric", name, factory, summary=summary)
    for name, (factory, summary) in EXTRACTORS.items():
        registry.add("feature_extractor", name, factory, summary=summary)
