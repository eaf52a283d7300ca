import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gancore.core.errors import DataError
from gancore.data.folder import ImageFiles, ImageFolder
from gancore.data.transforms import Augmentation


def _save(path: Path, size: tuple[int, int], color: tuple[int, ...], mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    _save(tmp_path / "a.png", (20, 20), (255, 0, 0))
    _save(tmp_path / "b.jpg", (40, 30), (0, 255, 0))
    _save(tmp_path / "nested" / "c.bmp", (16, 16), (0, 0, 255))
    _save(tmp_path / "nested" / "deeper" / "d.webp", (24, 48), (200, 100, 50))
    _save(tmp_path / "e.png", (18, 18), (30, 40, 50, 128), mode="RGBA")
    _save(tmp_path / "f.PNG", (18, 18), (90,), mode="L")
    (tmp_path / "corrupt.png").write_bytes(b"definitely not a png")
    (tmp_path / "notes.txt").write_text("not an image")
    _save(tmp_path / ".hidden" / "g.png", (16, 16), (1, 2, 3))
    return tmp_path


def test_folder_reads_images_and_skips_corrupt(folder: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gancore.data"):
        ds = ImageFolder(root=str(folder), image_size=16)
    assert ds.skipped == 1
    assert any("1 unreadable" in r.getMessage() for r in caplog.records)
    assert len(ds) == 6
    xs = torch.stack([ds[i][0] for i in range(len(ds))])
    assert xs.shape == (6, 3, 16, 16) and xs.dtype == torch.float32
    assert xs.min() >= -1 and xs.max() <= 1
    assert all(int(ds[i][1]) == 0 for i in range(len(ds)))
    first = ds[[p.name for p in ds.files].index("a.png")][0]
    assert torch.allclose(first, torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1).expand(3, 16, 16))
    assert tuple(xs.shape[1:]) == ImageFolder.describe(root=str(folder), image_size=16).shape


def test_folder_greyscale(folder: Path) -> None:
    ds = ImageFolder(root=str(folder), image_size=8, channels=1)
    assert ds[0][0].shape == (1, 8, 8)
    assert ImageFolder.describe(root="unused", image_size=8, channels=1).shape == (1, 8, 8)


def test_resize_shorter_side_and_centre_crop(tmp_path: Path) -> None:
    array = np.zeros((20, 40, 3), dtype=np.uint8)
    array[:, 10:30] = 255
    Image.fromarray(array).save(tmp_path / "wide.png")
    ds = ImageFolder(root=str(tmp_path), image_size=20)
    assert torch.equal(ds[0][0], torch.ones(3, 20, 20))
    small = ImageFolder(root=str(tmp_path), image_size=10)
    assert small[0][0].shape == (3, 10, 10) and small[0][0].mean() > 0.9


def test_subfolder_labels(tmp_path: Path) -> None:
    for i in range(3):
        _save(tmp_path / "cats" / f"{i}.png", (8, 8), (255, 255, 255))
    for i in range(2):
        _save(tmp_path / "dogs" / f"{i}.png", (8, 8), (0, 0, 0))
    _save(tmp_path / "top.png", (8, 8), (9, 9, 9))
    ds = ImageFolder(root=str(tmp_path), image_size=8, labels="subfolders")
    assert ds.classes == ["cats", "dogs"] and len(ds) == 5
    assert sorted(int(ds[i][1]) for i in range(5)) == [0, 0, 0, 1, 1]
    for i in range(5):
        x, y = ds[i]
        assert (x.mean() > 0) == (int(y) == 0)
    assert ImageFolder.describe(root=str(tmp_path), labels="subfolders").num_classes == 2


def test_test_fraction_split(tmp_path: Path) -> None:
    for i in range(40):
        _save(tmp_path / f"{i}.png", (4, 4), (i, i, i))
    train = ImageFolder(root=str(tmp_path), image_size=4, test_fraction=0.25)
    test = ImageFolder(root=str(tmp_path), image_size=4, test_fraction=0.25, split="test")
    assert len(train) + len(test) == 40 and 0 < len(test) < 40
    assert not set(train.files) & set(test.files)
    assert len(ImageFolder(root=str(tmp_path), image_size=4, split="test")) == 40


def test_truncated_file_is_skipped_when_read(tmp_path: Path) -> None:
    array = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").write_bytes(data[: len(data) // 2])
    _save(tmp_path / "b.png", (8, 8), (255, 255, 255))
    ds = ImageFolder(root=str(tmp_path), image_size=8)
    assert ds.skipped == 0 and len(ds) == 2
    x, _ = ds[0]
    assert ds.skipped == 1 and torch.equal(x, torch.ones(3, 8, 8))


def test_empty_missing_and_unreadable_folders(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no image files") as info:
        ImageFolder(root=str(tmp_path))
    assert str(tmp_path) in str(info.value)
    with pytest.raises(DataError, match="not found"):
        ImageFolder(root=str(tmp_path / "missing"))
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(DataError, match="none of the 1 image"):
        ImageFolder(root=str(tmp_path))


def test_centre_crop_before_resize_on_large_jpeg(tmp_path: Path) -> None:
    array = np.zeros((400, 400, 3), dtype=np.uint8)
    array[100:300, 100:300] = 255
    Image.fromarray(array).save(tmp_path / "big.jpg", quality=95)
    files = ImageFiles()
    files._set_files([tmp_path / "big.jpg"], [0], 8, 3, Augmentation(), crop=180)
    x, y = files[0]
    assert x.shape == (3, 8, 8) and int(y) == 0 and x.min() > 0.9
    uncropped = ImageFiles()
    uncropped._set_files([tmp_path / "big.jpg"], [0], 8, 3, Augmentation())
    assert uncropped[0][0][:, 0, 0].max() < -0.9
