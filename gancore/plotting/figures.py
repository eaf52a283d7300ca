"""Pictures, for training and evaluation alike (matplotlib Agg, atomic writes): sample grids,
2D scatter plots, loss and score curves, the loss bands and sample panels of a comparison."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from gancore.core.values import is_number


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
    """Write a uint8 ``H×W×C`` array as PNG (atomically, see :mod:`gancore.storage.io`)."""
    from PIL import Image

    from gancore.storage.io import save_image

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


def figure(width: float = 5.0, height: float = 5.0) -> Any:
    """A matplotlib figure of ``width`` x ``height`` inches (Agg; no pyplot state)."""
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
    fig = figure()
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
    from gancore.storage.io import save_figure

    return save_figure(fig, path, what="the scatter plot")


#: loss type -> the family whose values share a scale (one panel each in a comparison)
LOSS_FAMILIES = {"bce": "cross-entropy", "minimax": "cross-entropy",
                 "relativistic_average": "cross-entropy", "least_squares": "least squares",
                 "hinge": "hinge", "wasserstein": "Wasserstein"}


def loss_family(loss_type: str | None) -> str:
    """The family of a loss type (``origin:name`` too): its scale and what D's outputs mean.
    A type outside :data:`LOSS_FAMILIES` (a pack's) is a family of its own."""
    if not loss_type:
        return "loss"
    name = loss_type.rsplit(":", 1)[-1]
    return LOSS_FAMILIES.get(name, name)


def _series(records: Sequence[dict[str, Any]], key: str) -> list[float] | None:
    values = [r.get(key) for r in records]
    if not any(isinstance(v, int | float) for v in values):
        return None
    return [float(v) if isinstance(v, int | float) else math.nan for v in values]


def save_loss_curves(
    records: Sequence[dict[str, Any]], path: str | Path, keys: Sequence[str] = (),
    loss: str | None = None,
) -> Path:
    """:func:`loss_curves_figure`, saved atomically to ``path``."""
    from gancore.storage.io import save_figure

    return save_figure(loss_curves_figure(records, keys, loss), path, what="the loss curves")


def loss_curves_figure(
    records: Sequence[dict[str, Any]], keys: Sequence[str] = (), loss: str | None = None
) -> Any:
    """Losses (top) and D's outputs on real and fake (bottom) against the step.

    D's outputs are its mean sigmoid(logit), except for a Wasserstein critic (``loss``), whose
    raw outputs have no probability reading: its mean outputs and the Wasserstein estimate
    E[D(x)] - E[D(G(z))] are drawn instead."""
    keys = list(keys) or ["d_loss", "g_loss"]
    fig = figure(8.0, 6.0)
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    steps = [r["step"] for r in records]
    for key in keys:
        values = _series(records, key)
        if values is not None:
            top.plot(steps, values, label=key)
    top.set_ylabel("loss" if loss is None else f"{loss_family(loss)} loss")
    top.legend(loc="upper right")
    critic = loss_family(loss) == "Wasserstein"
    real, fake = ((_series(records, "d_real_logit"), _series(records, "d_fake_logit"))
                  if critic else (_series(records, "d_real"), _series(records, "d_fake")))
    if real is not None:
        bottom.plot(steps, real, label="D(x)")
    if fake is not None:
        bottom.plot(steps, fake, label="D(G(z))")
    if critic and real is not None and fake is not None:
        bottom.plot(steps, [a - b for a, b in zip(real, fake, strict=True)],
                    label="E[D(x)] - E[D(G(z))] (Wasserstein estimate)", color="black")
    bottom.set_xlabel("step")
    bottom.set_ylabel("mean critic output" if critic else "mean sigmoid(logit)")
    if bottom.lines:
        bottom.legend(loc="upper right")
    fig.tight_layout()
    return fig


_figure = figure  # its old name


def scatter_2d(ax: Any, x: Any, ref: Any) -> None:
    """Samples ``x`` [N, 2] in blue over the data's reference points (grey) when known."""
    if ref is not None:
        ax.scatter(ref[:, 0], ref[:, 1], s=2, c="#bbbbbb")
    ax.scatter(x[:, 0], x[:, 1], s=2, c="#1f77b4")
    ax.set_aspect("equal", adjustable="datalim")


def save_eval_curves(records: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """One panel per score (``fid/classifier``...) against the step, saved atomically."""
    from gancore.storage.io import save_figure

    keys = sorted({k for r in records for k, v in r.items()
                   if k not in ("step", "event") and is_number(v)})
    cols = min(len(keys), 3) or 1
    rows = math.ceil(len(keys) / cols) or 1
    fig = figure(4.0 * cols, 3.0 * rows)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), int | float)]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_title(key)
        ax.set_xlabel("step")
    fig.tight_layout()
    return save_figure(fig, path, what="the evaluation curves")


def loss_bands_png(groups: dict[str, list[Sequence[dict[str, Any]]]],
                   families: dict[str, str] | None = None) -> bytes:
    """D and G losses against the step, one colour per name: the mean over its runs' log
    records (``groups``: name -> one record list per run) and a band from the lowest to the
    highest run (one run: just its curve). Losses of different families (``families``: name ->
    :func:`loss_family`) have different scales: each family gets its own row of panels.
    PNG bytes of :func:`loss_bands_figure`."""
    import io

    buf = io.BytesIO()
    loss_bands_figure(groups, families).savefig(buf, format="png")
    return buf.getvalue()


def loss_bands_figure(groups: dict[str, list[Sequence[dict[str, Any]]]],
                      families: dict[str, str] | None = None) -> Any:
    """The figure of :func:`loss_bands_png`: a row of D and G loss panels per family."""
    families = families or {}
    rows: dict[str, list[str]] = {}
    for name in groups:
        rows.setdefault(families.get(name, ""), []).append(name)
    fig = figure(10.0, 4.0 * max(len(rows), 1))
    several = any(len(g) > 1 for g in groups.values())
    for i, (family, names) in enumerate(rows.items() or [("", [])]):
        panels = {"d_loss": fig.add_subplot(len(rows) or 1, 2, 2 * i + 1),
                  "g_loss": fig.add_subplot(len(rows) or 1, 2, 2 * i + 2)}
        for key, ax in panels.items():
            _bands(ax, key, {n: groups[n] for n in names})
            title = f"{family} {key}" if family and len(rows) > 1 else key
            ax.set_title(title + (" (band: lowest to highest seed)" if several else ""),
                         fontsize=10)
    fig.tight_layout()
    return fig


def _bands(ax: Any, key: str, groups: dict[str, list[Sequence[dict[str, Any]]]]) -> None:
    """One panel of :func:`loss_bands_png`: ``key`` of each group, mean and band."""
    for name, runs in groups.items():
        curves = [{rec["step"]: float(rec[key]) for rec in records
                   if isinstance(rec.get(key), int | float) and "step" in rec
                   and math.isfinite(rec[key])} for records in runs]
        curves = [c for c in curves if c]
        if not curves:
            continue
        steps = sorted(set.intersection(*(set(c) for c in curves)))
        if not steps:
            continue
        mean = [sum(c[x] for c in curves) / len(curves) for x in steps]
        label = f"{name} (mean of {len(curves)})" if len(curves) > 1 else name
        (line,) = ax.plot(steps, mean, label=label)
        if len(curves) > 1:
            ax.fill_between(steps, [min(c[x] for c in curves) for x in steps],
                            [max(c[x] for c in curves) for x in steps],
                            color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("step")
    if ax.lines:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no training log", ha="center", va="center", transform=ax.transAxes)


def samples_png(samples: Any, reference: Any = None) -> bytes:
    """Samples as PNG bytes: an image grid, or a scatter plot (over ``reference``) for 2D
    data."""
    import io

    buf = io.BytesIO()
    if samples is not None and samples.dim() == 4:
        from matplotlib import image as mpimg

        grid = image_grid(samples, nrow=8).numpy()
        if grid.shape[2] == 1:
            mpimg.imsave(buf, grid[:, :, 0], cmap="gray", vmin=0, vmax=255, format="png")
        else:
            mpimg.imsave(buf, grid, format="png")
        return buf.getvalue()
    fig = figure(3.6, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    if samples is not None:
        scatter_2d(ax, samples, reference)
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def save_panels(panels: Sequence[tuple[str, Any, Any]], path: str | Path,
                what: str = "the comparison plot") -> Path:
    """One panel per ``(title, samples, reference)``: a grid, or a scatter plot for 2D data."""
    from gancore.storage.io import save_figure

    n = len(panels)
    cols = min(n, 4) or 1
    rows = math.ceil(n / cols) or 1
    fig = figure(3.6 * cols, 3.9 * rows)
    for i, (title, x, ref) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        if x is not None and x.dim() == 4:
            grid = image_grid(x, nrow=8).numpy()
            ax.imshow(grid[:, :, 0] if grid.shape[2] == 1 else grid,
                      cmap="gray" if grid.shape[2] == 1 else None)
            ax.set_xticks([])
            ax.set_yticks([])
        elif x is not None:
            scatter_2d(ax, x, ref)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, what=what)
