"""Drawing samples from a trained generator: plain, class-conditional, truncated, latent walks."""

from __future__ import annotations

import math
from typing import Any

import torch

from gancore.core.errors import GancoreError
from gancore.core.params import check_seed
from gancore.core.values import is_int

#: Smallest ``-n`` of a latent-walk grid (one walk needs its two endpoints).
MIN_WALK = 2


def check_truncation(truncation: float | None) -> None:
    """Refuse a truncation that is not a finite positive number (nan, inf, 0, negative).

    NaN would turn every latent value into NaN; infinity would silently truncate nothing.
    """
    if truncation is None:
        return
    if not isinstance(truncation, int | float) or not math.isfinite(truncation) \
            or truncation <= 0:
        raise GancoreError(
            f"truncation must be a finite positive number (got {truncation})",
            key="--truncation",
            hint="use e.g. --truncation 0.7 (smaller: less variety), or leave it out",
        )


#: The most samples one command draws.
MAX_SAMPLES = 10**7


def check_count(n: int, key: str = "-n") -> None:
    """Refuse a sample count below 1 or above :data:`MAX_SAMPLES`."""
    if not is_int(n) or n < 1:
        raise GancoreError(f"{key} must be 1 or more (got {n})", key=key,
                           hint=f"give {key} a positive number of samples")
    if n > MAX_SAMPLES:
        shown = n if n < 10**15 else f"{float(min(n, 10**300)):.3g}"
        raise GancoreError(f"{key} must be at most {MAX_SAMPLES:,} (got {shown})", key=key,
                           hint="draw fewer samples per command")


def truncated_normal(
    n: int, dim: int, truncation: float | None, generator: torch.Generator
) -> torch.Tensor:
    """Standard normal ``[n, dim]``; with ``truncation`` T, values beyond ±T are redrawn."""
    check_truncation(truncation)
    z = torch.randn(n, dim, generator=generator)
    if truncation is None:
        return z
    for _ in range(1000):
        bad = z.abs() > truncation
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z.clamp_(-truncation, truncation)


def class_labels(gan: Any, n: int, klass: int | None) -> torch.Tensor | None:
    """Labels for ``n`` samples: all ``klass``, else cycling through the classes (None if
    the generator is unconditional)."""
    k = gan.num_classes
    if k == 0:
        if klass is not None:
            raise GancoreError(
                "--class was given, but this generator is not class-conditional",
                key="--class",
                hint="leave --class out",
            )
        return None
    if klass is None:
        return torch.arange(n) % k
    if not 0 <= klass < k:
        raise GancoreError(
            f"class {klass} is out of range: this generator has {k} classes (0..{k - 1})",
            key="--class",
            hint=f"give --class a number from 0 to {k - 1}",
        )
    return torch.full((n,), klass, dtype=torch.int64)


@torch.no_grad()
def generate(gan: Any, z: torch.Tensor, y: torch.Tensor | None, batch: int = 256) -> torch.Tensor:
    """Run the generator in eval mode over ``z`` in chunks; fp32 samples on the CPU."""
    g = gan.generator
    g.eval()
    device = next(g.parameters()).device
    out = []
    for start in range(0, z.shape[0], batch):
        zc = z[start : start + batch].to(device)
        yc = None if y is None else y[start : start + batch].to(device)
        out.append(g(zc, yc).float().cpu())
    return torch.cat(out)


def sample_images(
    gan: Any,
    n: int = 64,
    *,
    seed: int = 0,
    klass: int | None = None,
    truncation: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` samples and their labels (None when unconditional)."""
    check_count(n)
    gen = torch.Generator().manual_seed(check_seed(seed))
    z = truncated_normal(n, gan.latent_dim, truncation, gen)
    y = class_labels(gan, n, klass)
    return generate(gan, z, y), y


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows of ``a`` and ``b`` at fractions ``t`` ``[k]``."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1).clamp(-1 + 1e-7, 1 - 1e-7)).unsqueeze(-1)
    t = t.view(-1, 1)
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def interpolate(
    gan: Any,
    rows: int = 8,
    steps: int = 8,
    *,
    seed: int = 0,
    klass: int | None = None,
    truncation: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``rows`` latent walks of ``steps`` samples each between random endpoints (row-major)."""
    check_count(rows, "rows")
    if steps < MIN_WALK:
        raise GancoreError(f"a latent walk needs {MIN_WALK} or more steps (got {steps})",
                           key="steps", hint=f"use steps >= {MIN_WALK}")
    gen = torch.Generator().manual_seed(check_seed(seed))
    ends = truncated_normal(2 * rows, gan.latent_dim, truncation, gen)
    t = torch.linspace(0, 1, steps)
    z = torch.cat(
        [slerp(ends[2 * r : 2 * r + 1], ends[2 * r + 1 : 2 * r + 2], t) for r in range(rows)]
    )
    y = class_labels(gan, rows, klass)
    if y is not None:
        y = y.repeat_interleave(steps)
    return generate(gan, z, y), y


def walk_shape(n: int) -> tuple[int, int]:
    """Rows and steps of an interpolation grid of about ``n`` samples (``n`` >= 2).

    The grid holds ``rows * steps`` samples: ``n`` rounded down to whole walks of about
    ``sqrt(n)`` steps (``-n 3`` gives one walk of 2).
    """
    if not is_int(n) or n < MIN_WALK:
        raise GancoreError(
            f"--interpolate needs -n {MIN_WALK} or more (got {n}): a latent walk is drawn "
            "between two endpoints",
            key="-n",
            hint="e.g. --interpolate -n 64 gives 8 walks of 8 steps",
        )
    check_count(n)
    steps = max(2, round(math.sqrt(n)))
    return max(1, n // steps), steps
