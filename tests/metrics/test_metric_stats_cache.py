"""Real-data statistics cache: round trips, keys, atomic writes, damaged files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gancore.metrics.fid import feature_stats
from gancore.metrics.stats_cache import StatsCache, cache_dir, read_metadata, save_atomic

KEY = {"dataset": "fashion_mnist", "split": "train", "extractor": "classifier:fashion_mnist"}


def test_features_round_trip_with_metadata(tmp_path: Path) -> None:
    cache = StatsCache(tmp_path)
    feats = torch.randn(50, 8)
    path = cache.save_features(feats, params={"image_size": 28}, **KEY)
    assert path.parent == tmp_path and path.suffix == ".safetensors"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    loaded = cache.load_features(num_samples=50, params={"image_size": 28}, **KEY)
    assert loaded is not None and torch.equal(loaded, feats)
    meta = read_metadata(path)
    assert meta["extractor"] == "classifier:fashion_mnist" and meta["num_samples"] == "50"


def test_stats_round_trip_and_from_features(tmp_path: Path) -> None:
    cache = StatsCache(tmp_path)
    feats = torch.randn(30, 4, dtype=torch.float64)
    stats = feature_stats(feats)
    cache.save_stats(stats, **KEY)
    loaded = cache.load_stats(num_samples=30, **KEY)
    assert loaded is not None and loaded.num_samples == 30
    assert torch.equal(loaded.mu, stats.mu) and torch.equal(loaded.sigma, stats.sigma)
    cache.save_features(feats, dataset="d", split="test", extractor="inception")
    derived = cache.load_stats(dataset="d", split="test", extractor="inception", num_samples=30)
    assert derived is not None and torch.allclose(derived.sigma, stats.sigma)


def test_entries_are_separated_by_every_key_part(tmp_path: Path) -> None:
    cache = StatsCache(tmp_path)
    cache.save_features(torch.ones(10, 2), **KEY)
    assert cache.load_features(num_samples=11, **KEY) is None
    assert cache.load_features(num_samples=10, **{**KEY, "split": "test"}) is None
    assert cache.load_features(num_samples=10, **{**KEY, "extractor": "inception"}) is None
    assert cache.load_features(num_samples=10, params={"image_size": 32}, **KEY) is None
    assert cache.load_stats(num_samples=10, **{**KEY, "dataset": "mnist"}) is None


def test_damaged_file_is_ignored_with_a_note(tmp_path: Path, capsys) -> None:
    cache = StatsCache(tmp_path)
    path = cache.save_features(torch.ones(10, 2), **KEY)
    path.write_bytes(b"not a safetensors file")
    assert cache.load_features(num_samples=10, **KEY) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read" in err and str(path) in err


def test_atomic_write_replaces_existing(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.safetensors"
    save_atomic({"a": torch.zeros(2)}, target, {"v": "1"})
    save_atomic({"a": torch.ones(2)}, target, {"v": "2"})
    assert read_metadata(target) == {"v": "2"}
    assert [p.name for p in target.parent.iterdir()] == ["x.safetensors"]


def test_cache_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    assert StatsCache().root == tmp_path / "stats"
    monkeypatch.delenv("GANCORE_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "gancore"
