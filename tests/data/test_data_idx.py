import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gancore.core.errors import DataError
from gancore.data import fashion_mnist
from gancore.data.fashion_mnist import SYSTEM_ROOT, FashionMNIST
from gancore.data.idx import read_idx, write_idx

HAVE_FASHION = all(
    (SYSTEM_ROOT / f"{name}.gz").is_file()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
)
needs_fashion = pytest.mark.skipif(
    not HAVE_FASHION, reason=f"Fashion-MNIST not installed in {SYSTEM_ROOT} "
                             "(apt-get install dataset-fashion-mnist)")


def _idx_bytes(code: int, array: np.ndarray, dtype: str) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(dtype).tobytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_read_handwritten_idx(tmp_path: Path, compressed: bool) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    ints = np.array([[1, -2], [70000, -70000]], dtype=np.int32)
    floats = np.array([0.5, -1.25, 3.0], dtype=np.float32)
    cases = [(0x08, images, "u1"), (0x0C, ints, ">i4"), (0x0D, floats, ">f4")]
    for i, (code, array, dtype) in enumerate(cases):
        data = _idx_bytes(code, array, dtype)
        path = tmp_path / f"f{i}.idx"  # no .gz suffix: compression is detected from content
        path.write_bytes(gzip.compress(data) if compressed else data)
        out = read_idx(path)
        assert out.shape == array.shape and out.dtype == array.dtype.newbyteorder("=")
        assert np.array_equal(out, array)
    assert np.array_equal(read_idx(tmp_path / "f0.idx", limit=1), images[:1])


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_write_read_round_trip(tmp_path: Path, name: str, dtype: str) -> None:
    array = (np.arange(60).reshape(3, 4, 5) - 7).astype(dtype)
    path = write_idx(tmp_path / name, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    out = read_idx(path)
    assert out.dtype == array.dtype and np.array_equal(out, array)


def test_damaged_idx_files(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.idx"
    truncated.write_bytes(_idx_bytes(0x08, np.zeros((4, 2), np.uint8), "u1")[:-3])
    with pytest.raises(DataError, match="truncated") as info:
        read_idx(truncated)
    assert str(truncated) in str(info.value)
    garbage = tmp_path / "garbage.idx"
    garbage.write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(garbage)
    bad_gzip = tmp_path / "bad.gz"
    bad_gzip.write_bytes(b"\x1f\x8b" + b"\0" * 20)
    with pytest.raises(DataError, match="cannot read"):
        read_idx(bad_gzip)
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "missing.idx")


def _fake_fashion(folder: Path, n_train: int = 12, n_test: int = 5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n, suffix in (("train", n_train, ".gz"), ("t10k", n_test, "")):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n, dtype=np.uint8) % 10)


def test_fashion_mnist_from_root(tmp_path: Path) -> None:
    _fake_fashion(tmp_path)
    train = FashionMNIST(root=str(tmp_path))
    test = FashionMNIST(root=str(tmp_path), split="test", image_size=32, limit=3)
    assert len(train) == 12 and len(test) == 3
    x, y = train[11]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and int(y) == 1
    expected = torch.from_numpy(read_idx(tmp_path / "train-images-idx3-ubyte.gz"))
    assert torch.allclose((x[0] + 1) * 127.5, expected[11].float(), atol=1e-3)
    assert test.as_tensors()[0].shape == (3, 1, 32, 32)
    assert FashionMNIST.describe(image_size=32).shape == (1, 32, 32)


def test_fashion_mnist_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_fashion(tmp_path / "fashion-mnist" / "raw", n_train=7)
    monkeypatch.setenv("GANCORE_DATA", str(tmp_path))
    assert len(FashionMNIST()) == 7


def test_fashion_mnist_missing_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as info:
        FashionMNIST(root=str(missing))
    text = str(info.value)
    assert str(missing) in text and "apt-get install dataset-fashion-mnist" in text
    assert "data.root" in text and "$GANCORE_DATA" in text
    monkeypatch.delenv("GANCORE_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_ROOT", missing)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        FashionMNIST()


def test_fashion_mnist_missing_file(tmp_path: Path) -> None:
    _fake_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte") as info:
        FashionMNIST(root=str(tmp_path), split="test")
    assert str(tmp_path) in str(info.value)


@needs_fashion
def test_real_fashion_mnist() -> None:
    test = FashionMNIST(split="test")
    assert len(test) == 10000
    x, y = test.as_tensors()
    assert x.shape == (10000, 1, 28, 28) and x.min() == -1 and x.max() == 1
    assert torch.equal(torch.bincount(y), torch.full((10,), 1000))
    small = FashionMNIST(image_size=32, limit=64)
    assert small.as_tensors()[0].shape == (64, 1, 32, 32)
    assert tuple(small[0][0].shape) == FashionMNIST.describe(image_size=32).shape
    first = read_idx(SYSTEM_ROOT / "train-labels-idx1-ubyte.gz", limit=64)
    assert torch.equal(small.labels, torch.from_numpy(first.astype(np.int64)))
