"""Cache of real-data features and statistics, as safetensors files with metadata.

An entry is keyed by dataset, dataset parameters, split, feature extractor name and sample
count (the evaluator adds a hash of the samples, the extractor's identity and its device to the
parameters), and by the gancore and torch versions, so statistics of different data,
extractors, sample counts or versions never mix. Entries follow the rules of
:mod:`gancore.storage.cache`: written atomically, checked when read (a truncated, foreign or
corrupted entry is recomputed with a one-line note), filled once under :meth:`StatsCache.filling`.
The cache lives in ``$GANCORE_CACHE/stats`` (default ``~/.cache/gancore/stats``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import safe_open, save

from gancore.metrics.fid import FeatureStats, feature_stats
from gancore.storage.cache import (
    cache_home,
    entry_key,
    fill_lock,
    key_hash,
    kind_path,
    read_tensors,
    slug,
    write_tensors,
)
from gancore.storage.lock import FileLock


def cache_dir() -> Path:
    """gancore's cache folder: ``$GANCORE_CACHE`` or ``~/.cache/gancore`` (resolved by
    :func:`gancore.storage.cache.cache_home`)."""
    return cache_home()


def save_atomic(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> Path:
    """Write ``tensors`` and string ``metadata`` to a safetensors file, atomically."""
    from gancore.storage.io import atomic_write_bytes

    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata)
    return atomic_write_bytes(path, data, what="the statistics cache file")


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of a safetensors file."""
    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


def key_matches(path: Path, key: dict[str, Any]) -> bool:
    """Whether the safetensors file ``path`` was written under ``key`` (JSON-encoded values).

    Raises what reading the file raises (a missing, unreadable or foreign file).
    """
    meta = read_metadata(path)
    return all(meta.get(k) == json.dumps(v) for k, v in key.items())


_slug = slug


class StatsCache:
    """Real-data features or (mean, covariance) per dataset/split/extractor/sample count.

    >>> cache = StatsCache()
    >>> cache.save_stats(stats, dataset="cifar10", split="train", extractor="inception")
    >>> cache.load_stats(dataset="cifar10", split="train", extractor="inception",
    ...                  num_samples=50000)
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else kind_path("stats")

    def _key(
        self, kind: str, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return entry_key(
            gancore_kind=f"real_{kind}",
            dataset=dataset,
            dataset_params=json.dumps(params or {}, sort_keys=True, default=str),
            split=split,
            extractor=extractor,
            num_samples=int(num_samples),
        )

    def path(
        self, kind: str, *, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None = None,
    ) -> Path:
        """The file of an entry; ``kind`` is ``"features"`` or ``"stats"``."""
        key = self._key(kind, dataset, split, extractor, num_samples, params)
        name = f"{slug(dataset)}-{slug(split)}-{slug(extractor)}-n{num_samples}-{kind}-" \
            f"{key_hash(key, 12)}"
        return self.root / f"{name}.safetensors"

    def filling(
        self, kind: str, *, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None = None,
    ) -> FileLock:
        """The lock under which to look an entry up and, if missing, compute and save it."""
        return fill_lock(self.path(kind, dataset=dataset, split=split, extractor=extractor,
                                   num_samples=num_samples, params=params),
                         what="the statistics cache entry")

    def _load(
        self, kind: str, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None,
    ) -> dict[str, torch.Tensor] | None:
        path = self.path(kind, dataset=dataset, split=split, extractor=extractor,
                         num_samples=num_samples, params=params)
        key = self._key(kind, dataset, split, extractor, num_samples, params)
        found = read_tensors(path, key, what="statistics cache entry")
        return None if found is None else found[0]

    def _save(self, kind: str, tensors: dict[str, torch.Tensor], n: int, dataset: str,
              split: str, extractor: str, params: dict[str, Any] | None) -> Path:
        key = self._key(kind, dataset, split, extractor, n, params)
        path = self.path(kind, dataset=dataset, split=split, extractor=extractor,
                         num_samples=n, params=params)
        return write_tensors(path, tensors, key, what="the statistics cache file")

    def save_features(
        self, features: torch.Tensor, *, dataset: str, split: str, extractor: str,
        params: dict[str, Any] | None = None,
    ) -> Path:
        """Store real features ``[N, d]`` (N is the entry's sample count)."""
        return self._save("features", {"features": features}, int(features.shape[0]),
                          dataset, split, extractor, params)

    def load_features(
        self, *, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None = None,
    ) -> torch.Tensor | None:
        """Cached real features, or ``None``."""
        tensors = self._load("features", dataset, split, extractor, num_samples, params)
        if tensors is None or "features" not in tensors:
            return None
        return tensors["features"]

    def save_stats(
        self, stats: FeatureStats, *, dataset: str, split: str, extractor: str,
        params: dict[str, Any] | None = None,
    ) -> Path:
        """Store real-feature mean and covariance."""
        return self._save("stats", {"mu": stats.mu, "sigma": stats.sigma}, stats.num_samples,
                          dataset, split, extractor, params)

    def load_stats(
        self, *, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None = None,
    ) -> FeatureStats | None:
        """Cached mean and covariance (computed from cached features if only those exist)."""
        tensors = self._load("stats", dataset, split, extractor, num_samples, params)
        if tensors is not None and {"mu", "sigma"} <= tensors.keys():
            return FeatureStats(tensors["mu"], tensors["sigma"], num_samples)
        features = self.load_features(dataset=dataset, split=split, extractor=extractor,
                                      num_samples=num_samples, params=params)
        return None if features is None else feature_stats(features)
