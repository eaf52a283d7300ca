"""What ``data.inject_noise`` and ``data.filters`` did, in numbers and pictures.

:func:`inspect_summary` counts kept, dropped and repeated images (per filter, and per class for
labelled data) and the planted noise images that were caught; :func:`save_dropped_grid` tiles
the dropped images into a PNG and :func:`save_score_histogram` draws each scoring filter's
scores with its threshold. ``gancore data inspect RECIPE`` runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gancore.data.filters import FilterStep, TrainingData


def inspect_summary(data: TrainingData, num_classes: int = 0) -> dict[str, Any]:
    """Counts of what the filters kept, dropped and repeated (JSON-ready)."""
    n = len(data.source)
    kept = int(data.indices.unique().numel())
    out: dict[str, Any] = {
        "images": n,
        "kept": kept,
        "dropped": n - kept,
        "training_items": int(data.indices.numel()),
        "repeats": int(data.indices.numel()) - kept,
        "planted_noise": int(data.planted.numel()),
        "planted_noise_dropped": data.planted_dropped,
        "planted_indices": data.planted.tolist(),
        "dropped_indices": data.dropped.tolist(),
        "filters": [
            {"key": s.key, "type": s.type, "received": s.received, "kept": s.kept,
             "dropped": s.dropped, "repeats": s.repeats, "threshold": s.threshold,
             "from_cache": s.from_cache}
            for s in data.steps
        ],
    }
    if num_classes > 1:
        from gancore.data.filters import dataset_labels

        labels = dataset_labels(data.source)
        before = torch.bincount(labels, minlength=num_classes)
        after = torch.bincount(labels[data.indices], minlength=num_classes)
        kept_once = torch.bincount(labels[data.indices.unique()], minlength=num_classes)
        out["classes"] = [
            {"class": c, "before": int(before[c]), "kept": int(kept_once[c]),
             "dropped": int(before[c] - kept_once[c]), "training_items": int(after[c])}
            for c in range(len(before))
        ]
    return out


def dropped_order(data: TrainingData) -> torch.Tensor:
    """The dropped indices of ``data.source``: filter by filter, highest score first."""
    parts = []
    for step in data.steps:
        lost = torch.ones(step.received, dtype=torch.bool)
        lost[step.indices] = False
        local = lost.nonzero().squeeze(1)
        if step.scores is not None and local.numel():
            local = local[torch.sort(step.scores[local], descending=True, stable=True).indices]
        parts.append(step.source_indices[local])
    if not parts:
        return torch.zeros(0, dtype=torch.int64)
    order = torch.cat(parts)
    gone = torch.isin(order, data.dropped)  # an item a later filter put back is not dropped
    return order[gone]


def save_dropped_grid(data: TrainingData, path: str | Path, max_images: int = 64) -> int:
    """Tile the dropped images (at most ``max_images``) into a PNG; returns how many it shows.

    Writes nothing (and returns 0) when no image was dropped or the data are not images.
    """
    from PIL import Image

    from gancore.plotting.figures import image_grid
    from gancore.storage.io import save_image

    order = dropped_order(data)[:max_images]
    if order.numel() == 0:
        return 0
    images = torch.stack([torch.as_tensor(data.source[int(i)][0]).float() for i in order])
    if images.dim() != 4:
        return 0
    scale = max(1, 64 // int(images.shape[-1]))  # small images are enlarged to be seen
    if scale > 1:
        images = images.repeat_interleave(scale, -1).repeat_interleave(scale, -2)
    grid = image_grid(images).numpy()
    image = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid)
    save_image(image, path, what="the grid of dropped images")
    return int(order.numel())


def save_score_histogram(data: TrainingData, path: str | Path) -> int:
    """A histogram of each scoring filter's scores, threshold marked, planted noise apart.

    Returns the number of panels drawn; writes nothing (0) when no filter gives scores.
    """
    from gancore.plotting.figures import figure as _figure
    from gancore.storage.io import save_figure

    steps = [s for s in data.steps if s.scores is not None]
    if not steps:
        return 0
    fig = _figure(6.0, 3.6 * len(steps))
    for i, step in enumerate(steps):
        ax = fig.add_subplot(len(steps), 1, i + 1)
        _histogram(ax, step, data.planted)
    fig.tight_layout()
    save_figure(fig, path, what="the score histogram")
    return len(steps)


def _histogram(ax: Any, step: FilterStep, planted: torch.Tensor) -> None:
    assert step.scores is not None
    scores = step.scores.double()
    is_noise = torch.isin(step.source_indices, planted)
    lo, hi = float(scores.min()), float(scores.max())
    bins = torch.linspace(lo, hi if hi > lo else lo + 1e-6, 41).tolist()
    groups = [(scores[~is_noise], "images", "tab:blue")]
    if bool(is_noise.any()):
        groups.append((scores[is_noise], "planted noise", "tab:orange"))
    ax.hist([g[0].numpy() for g in groups], bins=bins, stacked=True,
            label=[g[1] for g in groups], color=[g[2] for g in groups])
    if step.threshold is not None:
        ax.axvline(step.threshold, color="tab:red", linestyle="--",
                   label=f"threshold {step.threshold:.4g}")
    ax.set_title(f"{step.key} ({step.type}): dropped {step.dropped} of {step.received}")
    ax.set_xlabel(step.score_name)
    ax.set_ylabel("images")
    ax.legend(loc="upper right", fontsize="small")
