"""The domain-classifier extractor: deterministic training, caching, and FID on Fashion-MNIST."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from gancore.core.errors import GancoreError
from gancore.metrics.base import EvalInputs
from gancore.metrics.classifier import ClassifierExtractor
from gancore.metrics.fid import FID, fid_from_features

FMNIST = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="module")
def fashion() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    images = FMNIST / "train-images-idx3-ubyte.gz"
    if not images.is_file():
        pytest.skip("Fashion-MNIST IDX files not installed (Debian package dataset-fashion-mnist)")
    x = torch.from_numpy(read_idx(images)[:8000].copy()).float().div(127.5).sub(1).unsqueeze(1)
    y = torch.from_numpy(read_idx(FMNIST / "train-labels-idx1-ubyte.gz")[:8000].astype(np.int64))
    return x[:6000], y[:6000], x[6000:]


def blobs(n: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 4
    x = torch.randn(n, 3, 16, 16, generator=gen) * 0.3
    x[y == 1, 0] += 0.8
    x[y == 2, 1] -= 0.8
    x[y == 3, :, :8] += 0.5
    return x.clamp(-1, 1), y


def test_same_seed_same_features_synthetic() -> None:
    x, y = blobs()
    a = ClassifierExtractor(epochs=1, cache=False).fit(x, y, dataset="blobs")
    b = ClassifierExtractor(epochs=1, cache=False).fit(x, y, dataset="blobs")
    c = ClassifierExtractor(epochs=1, cache=False, seed=1).fit(x, y, dataset="blobs")
    assert torch.equal(a.features(x), b.features(x))
    assert not torch.equal(a.features(x), c.features(x))
    assert a.name == "classifier:blobs" and a.num_classes == 4
    feats, probs = a.extract(x[:5])
    assert feats.shape == (5, 128) and probs.shape == (5, 4)


def test_same_seed_same_features_fashion_mnist(fashion: tuple[torch.Tensor, ...]) -> None:
    x, y, _ = fashion
    a = ClassifierExtractor(epochs=1, max_train=2000, cache=False).fit(x, y, dataset="fm")
    b = ClassifierExtractor(epochs=1, max_train=2000, cache=False).fit(x, y, dataset="fm")
    assert torch.equal(a.features(x[:300]), b.features(x[:300]))
    assert a.accuracy == b.accuracy > 0.4


def test_cache_round_trip(tmp_path: Path) -> None:
    x, y = blobs()
    first = ClassifierExtractor(epochs=1, cache_dir=str(tmp_path)).fit(
        x, y, dataset="blobs", params={"size": 16}
    )
    assert not first.from_cache and first.cache_path is not None and first.cache_path.is_file()
    again = ClassifierExtractor(epochs=1, cache_dir=str(tmp_path)).fit(
        x, y, dataset="blobs", params={"size": 16}
    )
    assert again.from_cache and again.accuracy == first.accuracy
    assert torch.equal(first.features(x), again.features(x))
    other = ClassifierExtractor(epochs=1, seed=3, cache_dir=str(tmp_path)).fit(
        x, y, dataset="blobs", params={"size": 16}
    )
    assert not other.from_cache
    changed = ClassifierExtractor(epochs=1, cache_dir=str(tmp_path)).fit(
        x, y, dataset="blobs", params={"size": 32}
    )
    assert not changed.from_cache
    assert len(list(tmp_path.glob("*.safetensors"))) == 3


def test_cache_env_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path))
    x, y = blobs(100)
    ext = ClassifierExtractor(epochs=1).fit(x, y, dataset="blobs")
    assert ext.cache_path is not None and ext.cache_path.parent == tmp_path / "classifiers"


def test_fid_of_fashion_mnist_halves_small_noise_large(fashion: tuple[torch.Tensor, ...]) -> None:
    x, y, held_out = fashion
    ext = ClassifierExtractor(epochs=1, max_train=5000, cache=False).fit(
        x, y, dataset="fashion_mnist"
    )
    assert ext.accuracy > 0.7
    a, b = ext.features(held_out[:1000]), ext.features(held_out[1000:])
    noise = ext.features(torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0))
                         * 2 - 1)
    same, apart = fid_from_features(a, b), fid_from_features(a, noise)
    assert same * 20 < apart
    score = FID().compute(EvalInputs(real_features=a, fake_features=b, extractor_name=ext.name))
    assert list(score) == ["fid/classifier:fashion_mnist"]


def test_user_errors() -> None:
    with pytest.raises(GancoreError, match="fit"):
        ClassifierExtractor().extract(torch.zeros(1, 1, 8, 8))
    with pytest.raises(GancoreError, match="no labels"):
        ClassifierExtractor(cache=False).fit(torch.zeros(4, 1, 8, 8),
                                             torch.zeros(4, dtype=torch.long), dataset="x")
    with pytest.raises(GancoreError, match="2D"):
        ClassifierExtractor(cache=False).fit(torch.zeros(4, 2), torch.zeros(4), dataset="ring")
