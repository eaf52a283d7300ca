"""Image conversions, resizing (resample or pad), and the random augmentations of the datasets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from PIL import Image

from gancore.core.errors import RecipeError, suggest


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] -> float32 in [-1, 1]."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)


#: The ``resize`` modes of the image datasets (``"auto"`` resolves to ``"pad"`` or ``"bilinear"``).
ResizeMode = Literal["auto", "pad", "bilinear", "nearest", "area"]
RESIZE_MODES: tuple[str, ...] = get_args(ResizeMode)

#: ``F.interpolate`` mode of each resampling ``resize`` mode.
_INTERPOLATE = {"bilinear": "bilinear", "nearest": "nearest-exact", "area": "area"}


def is_border(native_size: int, size: int) -> bool:
    """Whether ``size`` is ``native_size`` plus a border: larger by at most a quarter of it."""
    return 0 < size - native_size <= native_size // 4


def resolve_resize(mode: str, native_size: int, size: int) -> str:
    """The concrete resize mode for ``native_size`` -> ``size`` (a :class:`RecipeError` if none).

    ``"auto"`` is ``"pad"`` where ``size`` is the native size plus a border (28 -> 32: a
    lossless 2-pixel frame of background), else ``"bilinear"``. ``"pad"`` cannot shrink.
    """
    if mode not in RESIZE_MODES:
        raise RecipeError(f"resize must be one of {', '.join(map(repr, RESIZE_MODES))} "
                          f"(got {mode!r}){suggest(str(mode), RESIZE_MODES)}", key="resize",
                          hint='use resize = "auto"')
    if mode == "auto":
        return "pad" if is_border(native_size, size) else "bilinear"
    if mode == "pad" and size < native_size:
        raise RecipeError(f'resize = "pad" cannot shrink {native_size}x{native_size} images to '
                          f"image_size {size}", key="resize",
                          hint='use resize = "bilinear" or "area" to downscale, or a larger '
                               "image_size")
    return mode


def pad_images(images: torch.Tensor, size: int, fill: float = 0) -> torch.Tensor:
    """Centre ``images`` ``[N, C, H, W]`` on a ``size×size`` canvas of ``fill`` (no resampling).

    An odd margin puts the extra pixel at the bottom/right, as :func:`crop_to_native` expects.
    uint8 images use ``fill = 0`` (black, -1 after :func:`to_signed`).
    """
    h, w = images.shape[-2:]
    if h > size or w > size:
        raise RecipeError(f"cannot pad {h}x{w} images to {size}x{size}", key="resize",
                          hint='use resize = "bilinear" to downscale')
    top, left = (size - h) // 2, (size - w) // 2
    return F.pad(images, (left, size - w - left, top, size - h - top), value=fill)


def crop_to_native(images: torch.Tensor, native_size: int | tuple[int, int]) -> torch.Tensor:
    """Centre-crop images ``[..., H, W]`` to ``native_size``: undoes :func:`pad_images` exactly.

    For example ``crop_to_native(generated_32, 28)`` compares 32×32 samples of a padded
    Fashion-MNIST with the native 28×28 images. Works on uint8 and float images (a view).
    """
    nh, nw = (native_size, native_size) if isinstance(native_size, int) else native_size
    h, w = images.shape[-2:]
    if nh > h or nw > w:
        raise ValueError(f"cannot crop {h}x{w} images to {nh}x{nw}")
    top, left = (h - nh) // 2, (w - nw) // 2
    return images[..., top : top + nh, left : left + nw]


def resize_images(images: torch.Tensor, size: int, chunk: int = 4096,
                  mode: str = "bilinear") -> torch.Tensor:
    """Resize a uint8 batch ``N×C×H×W`` to ``size×size``.

    ``mode`` is ``"bilinear"`` (antialiased), ``"nearest"`` (``nearest-exact``), ``"area"``
    (box averaging) or ``"pad"`` (:func:`pad_images` with black; lossless). The resampling modes
    scale the shorter side to ``size`` and centre-crop the longer one.
    """
    n, _, h, w = images.shape
    if h == size and w == size:
        return images
    if mode == "pad":
        return pad_images(images, size)
    if mode not in _INTERPOLATE:
        raise RecipeError(f"unknown resize mode {mode!r}{suggest(mode, RESIZE_MODES)}",
                          key="resize", hint="use one of " + ", ".join(RESIZE_MODES[1:]))
    scale = size / min(h, w)
    new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
    top, left = (new_h - size) // 2, (new_w - size) // 2
    extra = {"align_corners": False, "antialias": True} if mode == "bilinear" else {}
    out = torch.empty((n, images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, n, chunk):
        part = images[start : start + chunk].to(torch.float32)
        part = F.interpolate(part, size=(new_h, new_w), mode=_INTERPOLATE[mode], **extra)
        part = part[:, :, top : top + size, left : left + size]
        out[start : start + chunk] = part.round_().clamp_(0, 255).to(torch.uint8)
    return out


def fit_image(image: Image.Image, size: int, channels: int = 3,
              crop: int | None = None) -> torch.Tensor:
    """A PIL image -> uint8 ``C×size×size``: optional centre crop, resize shorter side, crop."""
    image = image.convert("L" if channels == 1 else "RGB")
    if crop is not None:
        image = _center_crop(image, min(crop, *image.size), min(crop, *image.size))
    w, h = image.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    image = _center_crop(image, size, size)
    array = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    return array.view(size, size, channels).permute(2, 0, 1).contiguous()


def _center_crop(image: Image.Image, width: int, height: int) -> Image.Image:
    w, h = image.size
    if (w, h) == (width, height):
        return image
    left, top = (w - width) // 2, (h - height) // 2
    return image.crop((left, top, left + width, top + height))


def _flip_probability(flip: bool | float) -> float:
    if isinstance(flip, bool):
        return 0.5 if flip else 0.0
    return float(flip)


def augment_batch(
    x: torch.Tensor,
    flip: bool | float = False,
    rotate: float = 0.0,
    shift: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Randomly flip, rotate and shift a batch of images ``N×C×H×W`` (vectorised).

    ``flip`` is a probability of a horizontal flip per image (``True`` means 0.5, ``1.0`` always
    flips); ``rotate`` the maximum angle in degrees and ``shift`` the maximum translation as a
    fraction of the image size, both drawn uniformly per image. Rotation and shift resample
    bilinearly with border padding, so values stay within the input's range. Random numbers come
    from ``generator`` (on its own device) when given.
    """
    if x.ndim != 4:
        raise ValueError(f"augment_batch expects N×C×H×W images, got shape {tuple(x.shape)}")
    p_flip = _flip_probability(flip)
    if p_flip <= 0 and rotate <= 0 and shift <= 0:
        return x
    n, _, h, w = x.shape
    device = generator.device if generator is not None else x.device

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=device).to(x.device)

    if p_flip > 0:
        flips = uniform(n) < p_flip
        x = torch.where(flips.view(n, 1, 1, 1), x.flip(-1), x)
    if rotate <= 0 and shift <= 0:
        return x
    angle = (uniform(n) * 2 - 1) * math.radians(rotate)
    offset = (uniform(n, 2) * 2 - 1) * (2 * shift)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos, -sin * (h / w), offset[:, 0]], dim=1),
            torch.stack([sin * (w / h), cos, offset[:, 1]], dim=1),
        ],
        dim=1,
    ).to(x.dtype if x.is_floating_point() else torch.float32)
    grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)
    out = F.grid_sample(x.to(theta.dtype), grid, mode="bilinear", padding_mode="border",
                        align_corners=False)
    if not x.is_floating_point():
        out = out.round_()
    return out.to(x.dtype)


@dataclass(frozen=True)
class Augmentation:
    """A dataset's augmentation settings; calling it augments a batch with :func:`augment_batch`."""

    flip: bool = False
    rotate: float = 0.0
    shift: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.rotate <= 180:
            raise RecipeError(f"rotate must be between 0 and 180 degrees (got {self.rotate})",
                              key="rotate", hint="use e.g. rotate = 10.0, or 0 to disable")
        if not 0 <= self.shift < 1:
            raise RecipeError(f"shift must be a fraction in [0, 1) of the image size "
                              f"(got {self.shift})", key="shift",
                              hint="use e.g. shift = 0.1, or 0 to disable")

    @property
    def active(self) -> bool:
        """Whether any augmentation is enabled."""
        return bool(self.flip) or self.rotate > 0 or self.shift > 0

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return augment_batch(x, self.flip, self.rotate, self.shift, generator)
