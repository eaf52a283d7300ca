"""The real-vs-real reference of an evaluation: the same metrics, extractor and sample count,
with a second set of real images in place of the generated ones.

A score alone says little: FID 600 on classifier features may be poor or near the floor. The
reference is that floor (or, for precision, recall and coverage, the ceiling): what the metric
gives two sets of real images of the same size, the evaluation's real set against a disjoint
real set (the training split when the evaluation uses the held-out one, else other images of
the same split). Only metrics computed from features and class probabilities get one (FID, KID,
IS, precision/recall, density/coverage, class coverage); D's accuracy and the mode counts do
not. The values are cached as JSON under the cache folder's ``reference/``, keyed by the data,
the extractor, the sample count, the seed and the metrics' settings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

#: What a metric may need to get a reference (features and class probabilities only).
FEATURE_NEEDS = {"real_features", "real_stats", "fake_features", "real_probs", "fake_probs",
                 "real_labels", "num_classes"}


def _needs(metric: Any) -> set[str]:
    return {n.split("|")[0] for n in getattr(metric, "needs", set())}


def reference_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics that get a reference (see the module docstring)."""
    return {name: m for name, m in metrics.items() if _needs(m) <= FEATURE_NEEDS}


def _settings_of(metric: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(metric).items()
            if isinstance(v, int | float | str | bool | type(None))}


def cache_file(folder: str | None, identity: dict[str, Any],
               metrics: Mapping[str, Any]) -> Path | None:
    """The JSON file caching a reference (None without a cache folder)."""
    if folder is None:
        return None
    key = {**identity, "metrics": {n: [type(m).__name__, _settings_of(m)]
                                   for n, m in sorted(metrics.items())}}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    return Path(folder) / f"{identity.get('dataset', 'data')}-{digest.hexdigest()[:20]}.json"


def compute_reference(
    metrics: Mapping[str, Any], inputs: Any, other: torch.Tensor, extractor: Any,
    batch_size: int, evaluate: Callable[[Mapping[str, Any], Any], dict[str, float]],
    cache: Path | None = None,
) -> dict[str, float]:
    """The metrics on ``inputs``' real side against the real images ``other`` (as if they were
    generated); read from / written to ``cache`` when given."""
    from dataclasses import replace

    from gancore.storage.io import atomic_write_text

    chosen = reference_metrics(metrics)
    if not chosen or extractor is None:
        return {}
    if cache is not None and cache.is_file():
        try:
            return {k: float(v) for k, v in json.loads(cache.read_text("utf-8")).items()}
        except (OSError, ValueError, AttributeError):
            pass  # a damaged file: computed again
    feats, probs = [], []
    for batch in other.split(batch_size):
        f, p = extractor.extract(batch)
        feats.append(f.float().cpu())
        if p is not None:
            probs.append(p.float().cpu())
    ref_inputs = replace(inputs, fake_features=torch.cat(feats),
                         fake_probs=torch.cat(probs) if probs else None,
                         real_logits=None, fake_logits=None, fake_samples=None)
    chosen = {n: m for n, m in chosen.items()
              if not ref_inputs.missing(getattr(m, "needs", set()))}
    if not chosen:
        return {}
    notes = {n: list(getattr(m, "notes", []) or []) for n, m in chosen.items()}
    scores = evaluate(chosen, ref_inputs)
    for n, m in chosen.items():  # the evaluation's notes stay those of the real scores
        if hasattr(m, "notes"):
            m.notes = notes[n]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps(scores, sort_keys=True) + "\n",
                          what="the reference cache")
    return scores
