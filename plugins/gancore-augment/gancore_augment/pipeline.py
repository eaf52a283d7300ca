"""ADA's augmentation pipeline (Karras et al. 2020, "Training generative adversarial networks
with limited data"), written after NVlabs/stylegan2-ada-pytorch ``training/augment.py``
(``AugmentPipe``) and its ``bgc`` preset (``train.py``).

Each operation is drawn per sample and applied with probability ``multiplier × p`` (every
multiplier is 1, as in ``bgc``):

- pixel blitting: ``xflip`` (a mirror half the time: i ∈ {0, 1}), ``rotate90`` (0–3 quarter
  turns), ``xint`` (an integer shift uniform in ±``xint_max`` of the size);
- general geometry: ``scale`` (isotropic, 2^N(0, 0.2²)), ``rotate`` (a uniform angle in
  ±180°, before and after ``aniso``, each with probability 1 − √(1 − p) so that one of them
  happens with probability p), ``aniso`` (2^N(0, 0.2²) along x, its inverse along y),
  ``xfrac`` (a shift of N(0, 0.125²) of the size);
- colour: ``brightness`` (+N(0, 0.2²)), ``contrast`` (×2^N(0, 0.5²)), ``lumaflip`` (the
  luma axis mirrored half the time), ``hue`` (a rotation about the luma axis, uniform in
  ±180°), ``saturation`` (×2^N(0, 1) off the luma axis); ``hue`` and ``saturation`` need
  three channels (they are skipped on greyscale images, as in the reference);
- ``cutout`` (the reference's corruption: a square of ``cutout_size`` of the size zeroed).

The geometric operations make one inverse affine matrix per sample and one resampling: the
image is padded by reflection (``torch.nn.functional.pad(mode="reflect")``) as far as the
transformed corners need, upsampled twice with the Symlet-6 low-pass filter, sampled bilinearly
(``grid_sample``) and downsampled with the same filter, as the reference does. The colour
operations make one 4×4 matrix per sample acting on (R, G, B, 1): brightness adds, contrast
scales about 0 (the mid-grey of images in [-1, 1]), the others act about the luma axis
(1, 1, 1)/√3. A greyscale image is treated as (x, x, x) and the mean of the three outputs is
kept (the reference's single-channel rule); images with other channel counts get the same
treatment per channel.

Every function is differentiable with respect to the images; random draws take an optional
``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from gancore_augment.opsets import BLIT, COLOR, GEOM

GEOMETRIC = BLIT + GEOM

#: The luma axis of RGB (the grey line), a unit vector.
LUMA = (1 / math.sqrt(3),) * 3

#: The Symlet-6 decomposition low-pass filter (the reference's ``wavelets['sym6']``).
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057,
        -0.048311742585633, 0.4910559419267466, 0.787641141030194, 0.3379294217276218,
        -0.07263752278646252, -0.021060292512300564, 0.04472490177066578,
        0.0017677118642428036, -0.007800708325034148)


@dataclass(frozen=True)
class Strengths:
    """The reference's ranges and standard deviations (``AugmentPipe``'s defaults)."""

    xint_max: float = 0.125  #: integer translation, fraction of the size
    scale_std: float = 0.2  #: log2 standard deviation of isotropic scaling
    rotate_max: float = 1.0  #: arbitrary rotation, 1 = the full circle
    aniso_std: float = 0.2  #: log2 standard deviation of anisotropic scaling
    xfrac_std: float = 0.125  #: fractional translation, fraction of the size
    brightness_std: float = 0.2
    contrast_std: float = 0.5  #: log2
    hue_max: float = 1.0  #: 1 = the full circle
    saturation_std: float = 1.0  #: log2
    cutout_size: float = 0.5  #: side of the cut square, fraction of the size


# -- matrices (batched, [N, 3, 3] and [N, 4, 4]) --------------------------------------------------
def _stack(rows: Sequence[Sequence[torch.Tensor | float]], like: torch.Tensor) -> torch.Tensor:
    n = like.shape[0]
    elems = [e if isinstance(e, torch.Tensor) else like.new_full((n,), float(e))
             for row in rows for e in row]
    return torch.stack(elems, dim=-1).reshape(n, len(rows), len(rows[0]))


def translate2d(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    return _stack([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx)


def scale2d(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    return _stack([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], sx)


def rotate2d(theta: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    return _stack([[c, -s, 0], [s, c, 0], [0, 0, 1]], theta)


def translate3d(t: torch.Tensor) -> torch.Tensor:
    return _stack([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]], t)


def scale3d(s: torch.Tensor) -> torch.Tensor:
    return _stack([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], s)


def rotate3d(axis: tuple[float, float, float], theta: torch.Tensor) -> torch.Tensor:
    """Rotation by ``theta`` about the unit vector ``axis`` (Rodrigues), homogeneous 4×4."""
    vx, vy, vz = axis
    s, c = torch.sin(theta), torch.cos(theta)
    cc = 1 - c
    return _stack([
        [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
        [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
        [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
        [0, 0, 0, 1]], theta)


# -- random draws -------------------------------------------------------------------------------
class _Draw:
    """Random numbers for ``n`` samples on ``device`` from an optional generator."""

    def __init__(self, n: int, device: torch.device, generator: torch.Generator | None):
        self.n, self.device, self.generator = n, device, generator

    def rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(self.n, *shape, device=self.device, generator=self.generator)

    def randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(self.n, *shape, device=self.device, generator=self.generator)

    def chosen(self, value: torch.Tensor, chance: float, otherwise: float) -> torch.Tensor:
        """``value`` where a uniform draw (one per sample) is below ``chance``, else
        ``otherwise``."""
        keep = self.rand(*(1,) * (value.dim() - 1)) < chance
        return torch.where(keep, value, torch.full_like(value, otherwise))


def geometry_matrix(ops: Sequence[str], p: float, n: int, height: int, width: int,
                    device: torch.device, generator: torch.Generator | None = None,
                    strengths: Strengths = Strengths()) -> torch.Tensor:
    """The inverse transform ``[n, 3, 3]`` (output pixel -> input pixel, centred coordinates)
    of the geometric operations among ``ops`` at probability ``p``."""
    s = strengths
    draw = _Draw(n, device, generator)
    g = torch.eye(3, device=device).expand(n, 3, 3)
    one = torch.ones(n, device=device)
    if "xflip" in ops:
        i = draw.chosen(torch.floor(draw.rand() * 2), p, 0.0)
        g = g @ scale2d(1 / (1 - 2 * i), one)
    if "rotate90" in ops:
        i = draw.chosen(torch.floor(draw.rand() * 4), p, 0.0)
        g = g @ rotate2d(math.pi / 2 * i)
    if "xint" in ops:
        t = draw.chosen((draw.rand(2) * 2 - 1) * s.xint_max, p, 0.0)
        g = g @ translate2d(-torch.round(t[:, 0] * width), -torch.round(t[:, 1] * height))
    if "scale" in ops:
        k = draw.chosen(torch.exp2(draw.randn() * s.scale_std), p, 1.0)
        g = g @ scale2d(1 / k, 1 / k)
    p_rot = 1 - math.sqrt(min(max(1 - p, 0.0), 1.0))  # P(before or after) = p
    if "rotate" in ops:
        theta = draw.chosen((draw.rand() * 2 - 1) * math.pi * s.rotate_max, p_rot, 0.0)
        g = g @ rotate2d(theta)
    if "aniso" in ops:
        k = draw.chosen(torch.exp2(draw.randn() * s.aniso_std), p, 1.0)
        g = g @ scale2d(1 / k, k)
    if "rotate" in ops:
        theta = draw.chosen((draw.rand() * 2 - 1) * math.pi * s.rotate_max, p_rot, 0.0)
        g = g @ rotate2d(theta)
    if "xfrac" in ops:
        t = draw.chosen(draw.randn(2) * s.xfrac_std, p, 0.0)
        g = g @ translate2d(-t[:, 0] * width, -t[:, 1] * height)
    return g


def color_matrix(ops: Sequence[str], p: float, n: int, channels: int, device: torch.device,
                 generator: torch.Generator | None = None,
                 strengths: Strengths = Strengths()) -> torch.Tensor:
    """The colour transform ``[n, 4, 4]`` acting on (R, G, B, 1) of the colour operations among
    ``ops`` at probability ``p`` (``hue`` and ``saturation`` only for three channels)."""
    s = strengths
    draw = _Draw(n, device, generator)
    eye = torch.eye(4, device=device)
    c = eye.expand(n, 4, 4)
    luma = torch.tensor([*LUMA, 0.0], device=device)
    outer = torch.outer(luma, luma)
    if "brightness" in ops:
        b = draw.chosen(draw.randn() * s.brightness_std, p, 0.0)
        c = translate3d(b) @ c
    if "contrast" in ops:
        k = draw.chosen(torch.exp2(draw.randn() * s.contrast_std), p, 1.0)
        c = scale3d(k) @ c
    if "lumaflip" in ops:
        i = draw.chosen(torch.floor(draw.rand(1, 1) * 2), p, 0.0)
        c = (eye - 2 * outer * i) @ c  # Householder reflection of the luma axis
    if "hue" in ops and channels == 3:
        theta = draw.chosen((draw.rand() * 2 - 1) * math.pi * s.hue_max, p, 0.0)
        c = rotate3d(LUMA, theta) @ c
    if "saturation" in ops and channels == 3:
        k = draw.chosen(torch.exp2(draw.randn(1, 1) * s.saturation_std), p, 1.0)
        c = (outer + (eye - outer) * k) @ c
    return c


# -- execution ----------------------------------------------------------------------------------
def _fir(x: torch.Tensor, f: torch.Tensor, up: int, down: int, pad0: int, pad1: int,
         flip: bool) -> torch.Tensor:
    """Upsample by ``up`` (zeros between pixels), pad each side of both axes by ``pad0`` and
    ``pad1`` (negative: crop), filter along both axes with the taps ``f``, keep every
    ``down``-th pixel (NVlabs' ``upfirdn2d``). ``flip`` reverses the taps (a convolution, that
    function's default); without it the taps are correlated (its ``flip_filter``)."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(pad0, 0), max(pad1, 0), max(pad0, 0), max(pad1, 0)])
    x = x[:, :, max(-pad0, 0): x.shape[2] - max(-pad1, 0),
          max(-pad0, 0): x.shape[3] - max(-pad1, 0)]
    taps = (f.flip(0) if flip else f).to(x.dtype)
    wx = taps.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    wy = taps.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    x = F.conv2d(x, wx, groups=c)
    x = F.conv2d(x, wy, groups=c)
    return x[:, :, ::down, ::down]


def _filter(device: torch.device) -> torch.Tensor:
    f = torch.tensor(SYM6, dtype=torch.float32, device=device)
    return f / f.sum()


def apply_geometry(x: torch.Tensor, g_inv: torch.Tensor) -> torch.Tensor:
    """Resample ``x [N, C, H, W]`` through the inverse transforms ``g_inv [N, 3, 3]``:
    reflection padding, 2x Symlet-6 upsampling, bilinear sampling, 2x downsampling."""
    n, c, h, w = x.shape
    device = x.device
    f = _filter(device)
    hz_pad = f.numel() // 4
    # padding: as far as the transformed corners reach (plus the filter), reflected
    cx, cy = (w - 1) / 2, (h - 1) / 2
    corners = torch.tensor([[-cx, -cy, 1.0], [cx, -cy, 1.0], [cx, cy, 1.0], [-cx, cy, 1.0]],
                           device=device)
    cp = g_inv @ corners.t()  # [n, 3, 4]
    reach = cp[:, :2, :].permute(1, 0, 2).flatten(1)  # [2 (x, y), n * 4]
    margin = torch.cat([-reach, reach]).max(dim=1).values  # [x0, y0, x1, y1]
    margin = margin + torch.tensor([hz_pad * 2 - cx, hz_pad * 2 - cy] * 2, device=device)
    margin = margin.clamp(min=0)
    margin = torch.minimum(margin, torch.tensor([w - 1, h - 1] * 2, device=device,
                                                dtype=margin.dtype))
    mx0, my0, mx1, my1 = (int(v) for v in margin.ceil().tolist())
    x = F.pad(x, [mx0, mx1, my0, my1], mode="reflect")
    ones = torch.ones(n, device=device)
    g = translate2d(ones * (mx0 - mx1) / 2, ones * (my0 - my1) / 2) @ g_inv
    # upsample, then express the transform on the upsampled grid
    taps = f.numel()
    x = _fir(x, f * 2, up=2, down=1, pad0=(taps + 1) // 2, pad1=(taps - 2) // 2, flip=True)
    g = scale2d(ones * 2, ones * 2) @ g @ scale2d(ones / 2, ones / 2)
    g = translate2d(-ones / 2, -ones / 2) @ g @ translate2d(ones / 2, ones / 2)
    out_h, out_w = (h + hz_pad * 2) * 2, (w + hz_pad * 2) * 2
    g = (scale2d(ones * 2 / x.shape[3], ones * 2 / x.shape[2]) @ g
         @ scale2d(ones * out_w / 2, ones * out_h / 2))
    grid = F.affine_grid(g[:, :2, :], [n, c, out_h, out_w], align_corners=False)
    x = F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros",
                      align_corners=False)
    # downsample and crop back to the input's size
    pad = -hz_pad * 2
    return _fir(x, f, up=1, down=2, pad0=pad + (taps - 1) // 2, pad1=pad + (taps - 2) // 2,
                flip=False)


def apply_color(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``x [N, C, H, W]`` through the colour transforms ``c [N, 4, 4]``."""
    n, ch, h, w = x.shape
    flat = x.reshape(n, ch, h * w)
    c = c.to(x.dtype)
    if ch == 3:
        flat = c[:, :3, :3] @ flat + c[:, :3, 3:]
    else:  # greyscale (x, x, x): the mean of the three outputs
        row = c[:, :3, :].mean(dim=1, keepdim=True)  # [n, 1, 4]
        flat = flat * row[:, :, :3].sum(dim=2, keepdim=True) + row[:, :, 3:]
    return flat.reshape(n, ch, h, w)


def cutout(x: torch.Tensor, p: float, size: float = 0.5,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero a square of side ``size`` of the image, centred uniformly, with probability ``p``."""
    n, _, h, w = x.shape
    draw = _Draw(n, x.device, generator)
    side = draw.chosen(torch.full((n, 2, 1, 1, 1), size, device=x.device), p, 0.0)
    centre = draw.rand(2, 1, 1, 1)
    col = torch.arange(w, device=x.device).view(1, 1, 1, -1)
    row = torch.arange(h, device=x.device).view(1, 1, -1, 1)
    keep_x = ((col + 0.5) / w - centre[:, 0]).abs() >= side[:, 0] / 2
    keep_y = ((row + 0.5) / h - centre[:, 1]).abs() >= side[:, 1] / 2
    return x * (keep_x | keep_y).to(x.dtype)


def augment(x: torch.Tensor, ops: Sequence[str], p: float,
            generator: torch.Generator | None = None,
            strengths: Strengths = Strengths()) -> torch.Tensor:
    """``ops`` applied to ``x [N, C, H, W]`` at probability ``p``, in the reference's order.

    Computed in float32 and returned in ``x``'s dtype. The geometric resampling runs whenever
    ``ops`` has a geometric operation (an identity for the samples none was drawn for, up to
    the filters' rounding), as in the reference."""
    n, c, h, w = x.shape
    dtype = x.dtype
    x = x.float()
    if any(op in GEOMETRIC for op in ops):
        g_inv = geometry_matrix(ops, p, n, h, w, x.device, generator, strengths)
        x = apply_geometry(x, g_inv)
    if any(op in COLOR for op in ops):
        x = apply_color(x, color_matrix(ops, p, n, c, x.device, generator, strengths))
    if "cutout" in ops:
        x = cutout(x, p, strengths.cutout_size, generator)
    return x.to(dtype)
