"""Bad labels and IDX headers: refused when the dataset loads, naming the file and value.

IDX headers that claim impossible sizes are refused before any large allocation (checked with
tracemalloc); each case also leaves the data files byte for byte as they were.
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

from gancore.core.errors import DataError
from gancore.data.common import check_labels
from gancore.data.fashion_mnist import FashionMNIST
from gancore.data.idx import read_idx, write_idx

from .conftest import cli_error, snapshot, tiny_recipe, write_recipe

N = 6


def _fashion(folder: Path, labels: np.ndarray, code: int | None = None) -> Path:
    """Fake Fashion-MNIST train files in ``folder`` with the given label array."""
    folder.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(0).integers(0, 256, (N, 28, 28), dtype=np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    path = folder / "train-labels-idx1-ubyte.gz"
    if code is None:
        write_idx(path, labels)
    else:  # a type code write_idx would not pick for this dtype
        header = bytes([0, 0, code, labels.ndim]) + struct.pack(f">{labels.ndim}I", *labels.shape)
        path.write_bytes(gzip.compress(header + labels.tobytes()))
    return path


def _labels(*values: float, dtype: str = "uint8") -> np.ndarray:
    out = np.zeros(N, dtype=dtype)
    out[: len(values)] = values
    return out


LABEL_CASES = [
    # (label array, IDX type code override, what the message must say)
    (_labels(0, 1, 10), None, "label 10 at position 2 is out of range: labels must be 0..9"),
    (_labels(255), None, "label 255 at position 0 is out of range"),
    (_labels(3, 3, 3, 3, 3, 11), None, "label 11 at position 5"),
    (_labels(-1, dtype="int8"), None, "label -1 at position 0 is out of range"),
    (_labels(0, -128, dtype="int8"), None, "label -128 at position 1"),
    (_labels(0, 0, 2**31 - 1, dtype="int32"), None, "label 2147483647 at position 2"),
    (_labels(0, -(2**31), dtype="int32"), None, "label -2147483648 at position 1"),
    (_labels(12, 13, 14, dtype="int16"), None, "3 label(s) are outside"),
    (_labels(1, 2.5, dtype=">f4"), 0x0D, "label 2.5 at position 1 is not a whole number"),
    (_labels(np.nan, dtype=">f4"), 0x0D, "label nan at position 0 is not a whole number"),
    (_labels(0, np.inf, dtype=">f8"), 0x0E, "label inf at position 1 is not a whole number"),
    (_labels(0, 10.0, dtype=">f4"), 0x0D, "label 10 at position 1 is out of range"),
    (np.zeros((N, 1), np.uint8), None, "do not match"),
    (np.zeros(N - 1, np.uint8), None, "do not match"),
]


@pytest.mark.parametrize("labels, code, message", LABEL_CASES,
                         ids=[c[2][:30] for c in LABEL_CASES])
def test_bad_labels_are_refused_when_the_dataset_loads(tmp_path, labels, code, message):
    path = _fashion(tmp_path / "fm", labels, code)
    before = snapshot(tmp_path)
    with pytest.raises(DataError) as info:
        FashionMNIST(root=str(tmp_path / "fm"))
    text = str(info.value)
    assert message in text and "hint:" in text
    assert str(path) in text or str(path.parent) in text
    assert snapshot(tmp_path) == before


def test_bad_labels_on_the_command_line_leave_no_run(tmp_path, capsys):
    path = _fashion(tmp_path / "fm", _labels(0, 42))
    recipe = write_recipe(tmp_path / "fm.toml", tiny_recipe(
        data={"type": "fashion_mnist", "root": str(tmp_path / "fm"), "image_size": 16}))
    del_key = tiny_recipe()["data"]  # the tiny recipe's shapes-only keys must go
    text = recipe.read_text().replace(f"num_samples = {del_key['num_samples']}\n", "")
    recipe.write_text(text)
    before = snapshot(tmp_path)
    err = cli_error(capsys, "train", str(recipe), "--out", str(tmp_path / "run"), "-q")
    assert "label 42 at position 1 is out of range" in err and str(path) in err
    assert snapshot(tmp_path) == before


CHECK_CASES = [
    # (labels, number of classes, what the message must say)
    (torch.tensor([0, 1, 2]), 2, "label 2 at position 2 is out of range: labels must be 0..1"),
    (torch.tensor([-3]), None, "labels must be 0 or more"),
    (torch.tensor([True, False]), 2, "labels must be whole numbers (got torch.bool)"),
    (torch.tensor([0.0, 0.5]), 2, "label 0.5 at position 1 is not a whole number"),
    (torch.tensor([[0, 1]]), 2, "labels must be one number per sample"),
    (torch.tensor([1 + 1j]), 2, "labels must be whole numbers"),
    (torch.tensor([0, 1]), 1, "label 1 at position 1"),
]


@pytest.mark.parametrize("labels, classes, message", CHECK_CASES)
def test_check_labels(labels, classes, message):
    with pytest.raises(DataError, match=r"labels\.idx") as info:
        check_labels(labels, classes, source="labels.idx")
    assert message in str(info.value)


def _header(code: int, *dims: int, magic: bytes = b"\0\0") -> bytes:
    return magic + bytes([code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


BIG = 0xFFFFFFFF

IDX_CASES = [
    # (file content, gzip it?, what the message must say)
    (b"", False, "truncated: expected 4 bytes of header"),
    (b"\0\0\x08", False, "truncated: expected 4 bytes of header"),
    (_header(0x08, 2, magic=b"\x01\0") + b"ab", False, "magic number 01000801"),
    (_header(0x08, 2, magic=b"\0\x07") + b"ab", False, "magic number 00070801"),
    (_header(0x07, 2) + b"ab", False, "unknown data type code 0x07"),
    (_header(0xFF, 2) + b"ab", True, "unknown data type code 0xff"),
    (_header(0x08) + b"", False, "claims 0 dimensions"),
    (bytes([0, 0, 8, 200]) + b"\0" * 800, False, "claims 200 dimensions"),
    (bytes([0, 0, 8, 9]) + b"\0" * 36, True, "claims 9 dimensions"),
    (bytes([0, 0, 8, 3]) + b"\0" * 2, False, "truncated: expected 12 bytes of sizes"),
    (_header(0x08, BIG, BIG, BIG) + b"\0" * 64, False, "the header claims 4294967295x"),
    (_header(0x0E, BIG, BIG) + b"\0" * 64, True, "more than a"),
    (_header(0x08, 65536, 65536) + b"\0" * 1024, True, "gzip file can hold"),
    (_header(0x0D, 10, 28, 28) + b"\0" * (5 * 28 * 28 * 4), False, "IDX file is truncated"),
    (_header(0x08, 10, 28, 28) + b"\0" * (5 * 28 * 28), True, "does not match its header"),
    (_header(0x08, 2, 2) + b"\0" * 9, False, "longer than its header says"),
    (_header(0x08, 2, 2) + b"\0" * 9, True, "does not match its header"),
    (_header(0x08, 2, 2) + b"\0" * 3, True, "does not match its header"),
    (_header(0x0C, 3) + b"\0" * 11, False, "truncated"),
]


@pytest.mark.parametrize("content, compress, message", IDX_CASES,
                         ids=[f"{i}-{c[2][:24]}" for i, c in enumerate(IDX_CASES)])
@pytest.mark.parametrize("limit", [None, 1])
def test_impossible_idx_headers_are_refused_before_allocation(
    tmp_path, content, compress, message, limit
):
    path = tmp_path / "file-idx"
    path.write_bytes(gzip.compress(content) if compress else content)
    if limit is not None and "longer" in message:
        pytest.skip("with a limit, a raw file's data past the first entries is not read")
    before = snapshot(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_idx(path, limit=limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message in str(info.value) and str(path) in str(info.value)
    assert "hint:" in str(info.value)
    assert peak < 32 * 2**20, f"{peak:,} bytes allocated for a lying header"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("keep", [0.5, 0.9, -4, -1])
def test_a_truncated_gzip_stream(tmp_path, keep):
    data = gzip.compress(_header(0x08, 100, 100) + (bytes(range(256)) * 40)[:10_000])
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: int(len(data) * keep) if keep > 0 else keep])
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match=r"cannot read IDX file|truncated|does not match") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert snapshot(tmp_path) == before
