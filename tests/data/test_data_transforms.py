import pytest
import torch
from PIL import Image

from gancore.core.errors import RecipeError
from gancore.data.transforms import (
    Augmentation,
    augment_batch,
    fit_image,
    resize_images,
    to_signed,
)


def _batch(n: int = 8, size: int = 9) -> torch.Tensor:
    return torch.rand((n, 3, size, size), generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_no_augmentation_is_identity() -> None:
    x = _batch()
    assert augment_batch(x) is x


def test_forced_flip_equals_torch_flip() -> None:
    x = _batch()
    assert torch.equal(augment_batch(x, flip=1.0), torch.flip(x, dims=[-1]))
    assert torch.equal(augment_batch(x, flip=0.0), x)


def test_random_flip_flips_some_images() -> None:
    x = _batch(64)
    out = augment_batch(x, flip=True, generator=torch.Generator().manual_seed(1))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert (flipped | kept).all() and 10 < int(flipped.sum()) < 54


def test_rotation_and_shift_keep_shape_range_and_seed() -> None:
    x = _batch(16, 12)
    a, b = (augment_batch(x, flip=True, rotate=30.0, shift=0.2,
                          generator=torch.Generator().manual_seed(3)) for _ in range(2))
    assert a.shape == x.shape and a.dtype == x.dtype and torch.equal(a, b)
    assert a.min() >= x.min() - 1e-6 and a.max() <= x.max() + 1e-6
    assert not torch.allclose(a, x)


def test_rotation_keeps_the_centre_pixel() -> None:
    x = _batch(8, 9)
    out = augment_batch(x, rotate=45.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out[..., 4, 4], x[..., 4, 4], atol=1e-5)
    assert not torch.allclose(out, x)


def test_shift_of_constant_image_is_constant() -> None:
    x = torch.full((4, 1, 8, 8), 0.25)
    out = augment_batch(x, shift=0.3, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, x)


def test_integer_images() -> None:
    x = (torch.rand(4, 3, 8, 8) * 255).to(torch.uint8)
    out = augment_batch(x, rotate=10.0, shift=0.1)
    assert out.dtype == torch.uint8 and out.shape == x.shape


def test_augmentation_settings() -> None:
    assert not Augmentation().active and Augmentation(flip=True).active
    x = _batch()
    assert torch.equal(Augmentation(flip=True)(x, torch.Generator().manual_seed(0)),
                       augment_batch(x, True, 0.0, 0.0, torch.Generator().manual_seed(0)))
    with pytest.raises(RecipeError, match="rotate"):
        Augmentation(rotate=-1.0)
    with pytest.raises(RecipeError, match="shift"):
        Augmentation(shift=1.5)


def test_conversions() -> None:
    images = torch.tensor([0, 255, 128], dtype=torch.uint8).view(1, 3, 1, 1).expand(2, 3, 6, 10)
    signed = to_signed(images)
    assert signed.dtype == torch.float32 and signed.min() == -1 and signed.max() == 1
    small = resize_images(images.contiguous(), 4)
    assert small.shape == (2, 3, 4, 4) and small.dtype == torch.uint8
    assert torch.equal(small[:, :, 0, 0], images[:, :, 0, 0])
    tensor = fit_image(Image.new("RGBA", (30, 20), (10, 20, 30, 40)), 8)
    assert tensor.shape == (3, 8, 8) and tensor.dtype == torch.uint8
    assert tensor[:, 0, 0].tolist() == [10, 20, 30]
    assert fit_image(Image.new("RGB", (50, 50)), 8, channels=1, crop=30).shape == (1, 8, 8)
