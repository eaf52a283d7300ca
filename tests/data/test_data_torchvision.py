from pathlib import Path

import numpy as np
import pytest
import torch

from gancore.core.errors import DataError
from gancore.data.idx import write_idx
from gancore.data.torchvision_sets import CIFAR10, MNIST, CelebA


@pytest.mark.parametrize(("cls", "folder"), [(MNIST, "MNIST/raw"), (CIFAR10, "cifar-10-batches-py"),
                                             (CelebA, "celeba")])
def test_missing_files_ask_for_download(tmp_path: Path, cls: type, folder: str) -> None:
    with pytest.raises(DataError) as info:
        cls(root=str(tmp_path))
    text = str(info.value)
    assert "download = true" in text and str(tmp_path / folder) in text


def test_default_root_comes_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANCORE_DATA", str(tmp_path))
    with pytest.raises(DataError, match="download = true") as info:
        MNIST()
    assert str(tmp_path / "MNIST") in str(info.value)


def test_mnist_from_local_files(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 10), ("t10k", 4)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8))
    train = MNIST(root=str(tmp_path), limit=6)
    test = MNIST(root=str(tmp_path), split="test", image_size=32)
    assert len(train) == 6 and len(test) == 4
    x, y = train.as_tensors()
    assert x.shape == (6, 1, 28, 28) and torch.equal(y, torch.arange(6))
    assert x.min() >= -1 and x.max() <= 1
    assert tuple(test[0][0].shape) == MNIST.describe(image_size=32).shape == (1, 32, 32)


def test_describe_without_files() -> None:
    assert CIFAR10.describe().shape == (3, 32, 32) and CIFAR10.describe().num_classes == 10
    assert CelebA.describe(image_size=128).shape == (3, 128, 128)
    assert CelebA.describe().num_classes == 0 and MNIST.describe().num_classes == 10
