"""Cache of real-data features and statistics, as safetensors files with metadata.

An entry is keyed by dataset, dataset parameters, split, feature extractor name and sample
count, so statistics of different extractors or sample counts never mix. Files are written
atomically (a temporary file in the same folder, then ``os.replace``). The cache lives in
``$GANCORE_CACHE/stats`` (default ``~/.cache/gancore/stats``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save

from gancore.metrics.fid import FeatureStats, feature_stats


def cache_dir() -> Path:
    """gancore's cache folder: ``$GANCORE_CACHE`` or ``~/.cache/gancore``."""
    env = os.environ.get("GANCORE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gancore"


def save_atomic(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> Path:
    """Write ``tensors`` and string ``metadata`` to a safetensors file, atomically."""
    from gancore.io import atomic_write_bytes

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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


class StatsCache:
    """Real-data features or (mean, covariance) per dataset/split/extractor/sample count.

    >>> cache = StatsCache()
    >>> cache.save_stats(stats, dataset="cifar10", split="train", extractor="inception")
    >>> cache.load_stats(dataset="cifar10", split="train", extractor="inception",
    ...                  num_samples=50000)
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "stats"

    def _key(
        self, kind: str, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None,
    ) -> dict[str, str]:
        return {
            "gancore_kind": f"real_{kind}",
            "dataset": dataset,
            "dataset_params": json.dumps(params or {}, sort_keys=True, default=str),
            "split": split,
            "extractor": extractor,
            "num_samples": str(int(num_samples)),
        }

    def path(
        self, kind: str, *, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None = None,
    ) -> Path:
        """The file of an entry; ``kind`` is ``"features"`` or ``"stats"``."""
        key = self._key(kind, dataset, split, extractor, num_samples, params)
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
        name = f"{_slug(dataset)}-{_slug(split)}-{_slug(extractor)}-n{num_samples}-{kind}-{digest}"
        return self.root / f"{name}.safetensors"

    def _load(
        self, kind: str, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None,
    ) -> dict[str, torch.Tensor] | None:
        path = self.path(kind, dataset=dataset, split=split, extractor=extractor,
                         num_samples=num_samples, params=params)
        if not path.is_file():
            return None
        expected = self._key(kind, dataset, split, extractor, num_samples, params)
        try:
            meta = read_metadata(path)
            tensors = load_file(str(path))
        except (OSError, SafetensorError) as exc:
            warnings.warn(f"ignoring unreadable statistics cache file {path}: {exc}", stacklevel=3)
            return None
        if any(meta.get(k) != v for k, v in expected.items()):
            warnings.warn(f"ignoring statistics cache file {path}: its key differs", stacklevel=3)
            return None
        return tensors

    def save_features(
        self, features: torch.Tensor, *, dataset: str, split: str, extractor: str,
        params: dict[str, Any] | None = None,
    ) -> Path:
        """Store real features ``[N, d]`` (N is the entry's sample count)."""
        n = int(features.shape[0])
        meta = self._key("features", dataset, split, extractor, n, params)
        path = self.path("features", dataset=dataset, split=split, extractor=extractor,
                         num_samples=n, params=params)
        return save_atomic({"features": features}, path, meta)

    def load_features(
        self, *, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None = None,
    ) -> torch.Tensor | None:
        """Cached real features, or ``None``."""
        tensors = self._load("features", dataset, split, extractor, num_samples, params)
        return None if tensors is None else tensors["features"]

    def save_stats(
        self, stats: FeatureStats, *, dataset: str, split: str, extractor: str,
        params: dict[str, Any] | None = None,
    ) -> Path:
        """Store real-feature mean and covariance."""
        n = stats.num_samples
        meta = self._key("stats", dataset, split, extractor, n, params)
        path = self.path("stats", dataset=dataset, split=split, extractor=extractor,
                         num_samples=n, params=params)
        return save_atomic({"mu": stats.mu, "sigma": stats.sigma}, path, meta)

    def load_stats(
        self, *, dataset: str, split: str, extractor: str, num_samples: int,
        params: dict[str, Any] | None = None,
    ) -> FeatureStats | None:
        """Cached mean and covariance (computed from cached features if only those exist)."""
        tensors = self._load("stats", dataset, split, extractor, num_samples, params)
        if tensors is not None:
            return FeatureStats(tensors["mu"], tensors["sigma"], num_samples)
        features = self.load_features(dataset=dataset, split=split, extractor=extractor,
                                      num_samples=num_samples, params=params)
        return None if features is None else feature_stats(features)
