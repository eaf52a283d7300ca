"""The ``resize`` modes of the image datasets: lossless padding by default, resampling otherwise."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gancore.core.errors import RecipeError
from gancore.core.registry import Registry
from gancore.data.fashion_mnist import FashionMNIST
from gancore.data.idx import write_idx
from gancore.data.registration import register
from gancore.data.torchvision_sets import CIFAR10, MNIST
from gancore.data.transforms import (
    RESIZE_MODES,
    crop_to_native,
    pad_images,
    resize_images,
    resolve_resize,
    to_signed,
)


def _uint8(n: int, size: int, channels: int = 1, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), generator=gen, dtype=torch.uint8)


@pytest.mark.parametrize(
    ("mode", "native", "size", "expected"),
    [("auto", 28, 32, "pad"), ("auto", 28, 29, "pad"), ("auto", 28, 35, "pad"),
     ("auto", 28, 36, "bilinear"), ("auto", 28, 64, "bilinear"), ("auto", 28, 16, "bilinear"),
     ("auto", 32, 40, "pad"), ("auto", 32, 64, "bilinear"), ("nearest", 28, 32, "nearest"),
     ("area", 28, 14, "area"), ("pad", 28, 64, "pad"), ("bilinear", 28, 32, "bilinear")],
)
def test_resolve_resize(mode: str, native: int, size: int, expected: str) -> None:
    assert resolve_resize(mode, native, size) == expected


def test_pad_cannot_shrink_and_typos_get_a_suggestion() -> None:
    with pytest.raises(RecipeError, match="cannot shrink 28x28 images to image_size 16") as info:
        resolve_resize("pad", 28, 16)
    assert info.value.key == "resize"
    with pytest.raises(RecipeError, match="did you mean 'bilinear'"):
        resolve_resize("bilnear", 28, 32)
    assert RESIZE_MODES == ("auto", "pad", "bilinear", "nearest", "area")


@pytest.mark.parametrize(("native", "size"), [(28, 32), (28, 31), (5, 9), (32, 32)])
def test_pad_then_crop_is_exact_and_the_frame_is_black(native: int, size: int) -> None:
    x = _uint8(6, native, channels=3)
    padded = pad_images(x, size)
    assert padded.shape == (6, 3, size, size) and padded.dtype == torch.uint8
    assert torch.equal(crop_to_native(padded, native), x)
    mask = torch.ones(size, size, dtype=torch.bool)
    top, left = (size - native) // 2, (size - native) // 2
    mask[top : top + native, left : left + native] = False
    assert int(padded[..., mask].sum()) == 0
    signed = to_signed(padded)
    assert bool((signed[..., mask] == -1).all())
    assert torch.equal(crop_to_native(signed, (native, native)), to_signed(x))


def test_crop_to_native_refuses_a_larger_size() -> None:
    with pytest.raises(ValueError, match="cannot crop"):
        crop_to_native(torch.zeros(1, 1, 28, 28), 32)


def test_resize_images_pad_equals_numpy_pad() -> None:
    x = _uint8(4, 28)
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=0)
    np.testing.assert_array_equal(resize_images(x, 32, mode="pad").numpy(), expected)


def test_nearest_doubling_repeats_each_pixel() -> None:
    x = _uint8(3, 7)
    expected = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    assert torch.equal(resize_images(x, 14, mode="nearest"), expected)


def test_area_halving_averages_two_by_two_blocks() -> None:
    x = torch.arange(4 * 16, dtype=torch.uint8).view(1, 1, 8, 8) * 3
    blocks = x.double().view(1, 1, 4, 2, 4, 2).mean((3, 5))
    expected = torch.floor(blocks + 0.5).to(torch.uint8)  # round half up; no exact halves here
    assert torch.equal(resize_images(x, 4, mode="area"), expected)


def test_bilinear_upscale_agrees_with_pil() -> None:
    x = _uint8(2, 28, seed=3)
    ours = resize_images(x, 32, mode="bilinear")
    for i in range(2):
        pil = Image.fromarray(x[i, 0].numpy()).resize((32, 32), Image.Resampling.BILINEAR)
        diff = np.abs(ours[i, 0].numpy().astype(int) - np.asarray(pil).astype(int))
        assert diff.max() <= 1


def test_unknown_mode_in_resize_images() -> None:
    with pytest.raises(RecipeError, match="did you mean 'area'"):
        resize_images(_uint8(1, 8), 16, mode="aera")


def _fake_fashion(folder: Path, n: int = 6) -> np.ndarray:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10)
    return images


def test_fashion_mnist_32_is_padded_by_default_and_crops_back(tmp_path: Path) -> None:
    images = _fake_fashion(tmp_path)
    padded = FashionMNIST(root=str(tmp_path), image_size=32)
    native = FashionMNIST(root=str(tmp_path))
    assert (padded.resize_mode, padded.border, padded.native_size) == ("pad", 2, 28)
    assert (native.resize_mode, native.border) == ("none", 0)
    x, _ = padded.as_tensors()
    assert x.shape == (6, 1, 32, 32)
    assert torch.equal(crop_to_native(x, padded.native_size), native.as_tensors()[0])
    assert torch.equal(crop_to_native(padded.images, 28)[:, 0], torch.from_numpy(images))
    assert bool((x[:, :, :2] == -1).all()) and bool((x[:, :, :, -2:] == -1).all())


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "area"])
def test_fashion_mnist_resampling_modes_match_resize_images(tmp_path: Path, mode: str) -> None:
    images = _fake_fashion(tmp_path)
    ds = FashionMNIST(root=str(tmp_path), image_size=32, resize=mode)
    assert ds.resize_mode == mode and ds.border == 0
    expected = resize_images(torch.from_numpy(images).unsqueeze(1), 32, mode=mode)
    assert torch.equal(ds.images, expected)
    assert not torch.equal(crop_to_native(ds.images, 28)[:, 0], torch.from_numpy(images))


def test_fashion_mnist_64_keeps_bilinear(tmp_path: Path) -> None:
    _fake_fashion(tmp_path)
    ds = FashionMNIST(root=str(tmp_path), image_size=64)
    assert ds.resize_mode == "bilinear" and ds.images.shape[-1] == 64


def test_describe_refuses_pad_that_would_shrink() -> None:
    for cls in (FashionMNIST, MNIST, CIFAR10):
        with pytest.raises(RecipeError, match='resize = "pad" cannot shrink'):
            cls.describe(image_size=16, resize="pad")
        assert cls.describe(image_size=40).shape[1:] == (40, 40)


def test_registry_refuses_a_resize_typo_and_lists_the_modes() -> None:
    registry = Registry()
    register(registry)
    for name in ("fashion_mnist", "mnist", "cifar10"):
        with pytest.raises(RecipeError) as info:
            registry.create("dataset", name, resize="bilnear")
        text = str(info.value)
        assert "resize" in text and "'bilinear'" in text and "'pad'" in text


def test_mnist_32_is_padded(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    for prefix in ("train", "t10k"):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(4, dtype=np.uint8))
    ds = MNIST(root=str(tmp_path), image_size=32)
    assert ds.resize_mode == "pad"
    assert torch.equal(crop_to_native(ds.images, 28)[:, 0], torch.from_numpy(images))
    assert torch.equal(MNIST(root=str(tmp_path), image_size=32, resize="bilinear").images,
                       resize_images(torch.from_numpy(images).unsqueeze(1), 32))



def test_direct_construction_suggests_the_choice(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="did you mean 'test'"):
        FashionMNIST(root=str(tmp_path), split="tset")
    with pytest.raises(RecipeError, match="did you mean 'nearest'"):
        FashionMNIST(root=str(tmp_path), image_size=32, resize="neares")  # type: ignore[arg-type]
