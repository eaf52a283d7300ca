"""Tracker ``jsonl``: ``metrics.jsonl`` in the run folder (always on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class JsonlTracker:
    """One JSON object per line in ``<run>/metrics.jsonl``; always on, so naming it is a no-op."""

    def __init__(self, out: Path | None) -> None:
        self.out = out

    def log_scalars(self, values: dict[str, float], step: int) -> None:
        """The trainer writes metrics.jsonl itself (see :class:`gancore.train.runlog.MetricsLog`);
        this tracker exists so that ``jsonl`` is a name recipes can use."""

    def log_hparams(self, params: dict[str, Any]) -> None:
        """The recipe is in ``<run>/recipe.toml`` already."""
