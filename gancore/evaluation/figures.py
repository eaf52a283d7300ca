"""The pictures of a :class:`~gancore.evaluation.gather.Comparison`: the sample panels and the
loss bands (drawn by :mod:`gancore.plotting.figures`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gancore.plotting.figures import loss_bands_png as _loss_bands
from gancore.plotting.figures import loss_family, samples_png, save_panels

if TYPE_CHECKING:
    from gancore.evaluation.gather import EntryResult


def save_sample_panels(results: Sequence[EntryResult], path: Path) -> Path:
    """One panel per run with its samples (a grid, or a scatter plot for 2D data)."""
    return save_panels([(f"{r.entry.name} (step {r.evaluation.get('step')})", r.samples,
                         r.reference) for r in results], path)


def loss_bands_png(results: Sequence[EntryResult]) -> bytes:
    """D and G losses against the step, one colour per variant, a band over its seeds; a row
    of panels per loss family (BCE, least squares, hinge, Wasserstein have different scales)."""
    groups: dict[str, list[list[dict]]] = {}
    families: dict[str, str] = {}
    for r in results:
        groups.setdefault(r.entry.name, []).append(r.records)
        families.setdefault(r.entry.name, loss_family(r.loss))
    return _loss_bands(groups, families)


def save_loss_overlay(results: Sequence[EntryResult], path: Path) -> Path:
    """D and G losses of every entry against the step (see :func:`loss_bands_png`)."""
    from gancore.storage.io import atomic_write_bytes

    return atomic_write_bytes(path, loss_bands_png(results), what="the comparison plot")


def sample_png(result: EntryResult) -> bytes:
    """One run's samples as PNG bytes: an image grid, or a scatter plot for 2D data."""
    return samples_png(result.samples, result.reference)
