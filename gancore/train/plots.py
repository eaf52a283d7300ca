"""Pictures of a run: sample grids, 2D scatter plots and loss curves (matplotlib Agg)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """Tile images ``N×C×H×W`` in [-1, 1] into one uint8 ``H'×W'×C`` array (C is 1 or 3)."""
    images = images.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5)
    n, c, h, w = images.shape
    if c not in (1, 3):
        images, c = images[:, :3] if c > 3 else images[:, :1], min(c, 3) if c > 3 else 1
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + padding) + padding, nrow * (w + padding) + padding)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid.round().to(torch.uint8).permute(1, 2, 0).contiguous()


def save_png(array: torch.Tensor, path: str | Path) -> Path:
    """Write a uint8 ``H×W×C`` array as PNG (atomically, see :mod:`gancore.io`)."""
    from PIL import Image

    from gancore.io import save_image

    data = array.numpy()
    image = Image.fromarray(data[:, :, 0] if data.shape[2] == 1 else data)
    return save_image(image, path, what="the sample grid")


def save_samples(
    samples: torch.Tensor,
    path: str | Path,
    nrow: int | None = None,
    reference: torch.Tensor | None = None,
    title: str = "",
) -> Path:
    """Save images as a grid PNG, or 2D points as a scatter plot (over ``reference`` points)."""
    if samples.dim() == 4:
        return save_png(image_grid(samples, nrow), path)
    return save_scatter(samples, path, reference=reference, title=title)


def _figure(width: float = 5.0, height: float = 5.0) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def save_scatter(
    points: torch.Tensor,
    path: str | Path,
    reference: torch.Tensor | None = None,
    title: str = "",
) -> Path:
    """Scatter plot of 2D points (first two coordinates), optionally over reference points."""
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    if reference is not None:
        ref = reference.detach().float().cpu()
        ax.scatter(ref[:, 0], ref[:, 1], s=2, c="#bbbbbb", label="data")
    pts = points.detach().float().cpu()
    ax.scatter(pts[:, 0], pts[:, 1], s=2, c="#1f77b4", label="generated")
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", markerscale=4)
    from gancore.io import save_figure

    return save_figure(fig, path, what="the scatter plot")


def save_loss_curves(
    records: Sequence[dict[str, Any]], path: str | Path, keys: Sequence[str] = ()
) -> Path:
    """Plot losses (top) and D outputs on real/fake (bottom) against the step."""
    keys = list(keys) or ["d_loss", "g_loss"]
    fig = _figure(8.0, 6.0)
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    steps = [r["step"] for r in records]
    for key in keys:
        values = [r.get(key) for r in records]
        if any(v is not None for v in values):
            top.plot(steps, [math.nan if v is None else v for v in values], label=key)
    top.set_ylabel("loss")
    top.legend(loc="upper right")
    for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        values = [r.get(key) for r in records]
        if any(v is not None for v in values):
            bottom.plot(steps, [math.nan if v is None else v for v in values], label=label)
    bottom.set_xlabel("step")
    bottom.set_ylabel("mean sigmoid(logit)")
    bottom.legend(loc="upper right")
    fig.tight_layout()
    from gancore.io import save_figure

    return save_figure(fig, path, what="the loss curves")
