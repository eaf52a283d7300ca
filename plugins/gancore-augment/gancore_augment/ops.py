"""Differentiable image operations: deterministic ones, and their random DiffAugment forms.

Images are ``[B, C, H, W]``; every operation keeps the shape and is differentiable with respect
to the images. The random forms draw one set of parameters per sample.
"""

from __future__ import annotations

import torch


def _per_sample(v: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, 1, 1, 1)


def brightness(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Add ``shift[b]`` to every pixel of sample ``b``."""
    return x + _per_sample(shift).to(x.dtype)


def saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scale each pixel's distance from its channel mean by ``factor[b]`` (0: greyscale)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _per_sample(factor).to(x.dtype) + mean


def contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Scale each sample's distance from its mean value by ``factor[b]``."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_sample(factor).to(x.dtype) + mean


def translate(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Shift sample ``b`` down by ``dy[b]`` and right by ``dx[b]`` pixels, filling with zeros."""
    b, c, h, w = x.shape
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(b, 1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(b, 1, 1)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    index = rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)
    out = x.reshape(b, c, h * w).gather(2, index.reshape(b, 1, h * w).expand(b, c, h * w))
    return out.reshape(b, c, h, w) * inside.unsqueeze(1).to(x.dtype)


def cut(
    x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Zero a ``height`` x ``width`` square at (``top[b]``, ``left[b]``), clipped to the image."""
    b, _, h, w = x.shape
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    t, lft = top.view(b, 1, 1), left.view(b, 1, 1)
    hole = (rows >= t) & (rows < t + height) & (cols >= lft) & (cols < lft + width)
    return x * (~hole).unsqueeze(1).to(x.dtype)


def xflip(x: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Mirror sample ``b`` left to right where ``flip[b]`` is true."""
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def rotate90(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Rotate sample ``b`` by ``k[b]`` quarter turns counter-clockwise, as ``torch.rot90``.

    ``k`` is taken modulo 4. A quarter turn would change the shape of a non-square image, so
    there only half turns are made: an odd ``k`` counts as ``k - 1``.
    """
    k = k.view(-1, 1, 1, 1) % 4
    if x.shape[-1] == x.shape[-2]:
        x = torch.where(k % 2 == 1, x.transpose(-1, -2), x)
    else:
        k = k - k % 2
    x = torch.where((k == 1) | (k == 2), x.flip(-2), x)
    return torch.where(k >= 2, x.flip(-1), x)


def _rand(n: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=x.device)


def _randint(
    low: int, high: int, n: int, x: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    return torch.randint(low, high, (n,), generator=generator, device=x.device)


def rand_color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Brightness in [-0.5, 0.5), saturation in [0, 2), contrast in [0.5, 1.5)."""
    n = x.shape[0]
    x = brightness(x, _rand(n, x, generator) - 0.5)
    x = saturation(x, _rand(n, x, generator) * 2)
    return contrast(x, _rand(n, x, generator) + 0.5)


def rand_translation(
    x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shift by up to ``ratio`` of the height/width (rounded) in each direction."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-sy, sy + 1, n, x, generator)
    dx = _randint(-sx, sx + 1, n, x, generator)
    return translate(x, dy, dx)


def rand_cutout(
    x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero a square of ``ratio`` times the image size, centred anywhere in the image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = _randint(0, h, n, x, generator) - ch // 2
    left = _randint(0, w, n, x, generator) - cw // 2
    return cut(x, top, left, ch, cw)
