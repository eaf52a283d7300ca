"""A run's log: ``metrics.jsonl`` records and the rich progress bar."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class MetricsLog:
    """Appends one JSON object per line to ``metrics.jsonl`` and keeps them for plots."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        if path is not None and path.is_file():
            self.records = read_metrics(path)

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self.path is not None:
            from gancore.storage.io import append_text

            append_text(self.path, json.dumps(record, allow_nan=True) + "\n",
                        what="the training log")

    def truncate_after(self, step: int) -> None:
        """Forget records past ``step`` (a resumed run redoes them) and rewrite the file
        atomically without them, so a torn last line left by a crash is repaired too."""
        kept = [r for r in self.records if r.get("step", 0) <= step]
        if self.path is not None and self.path.exists():  # also drops a torn last line
            from gancore.storage.io import atomic_write_text

            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept),
                              what="the training log")
        self.records = kept


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``.

    A torn last line (a crash in the middle of a write, or a write in progress while a reader
    looks) is skipped, as is any line that is not a JSON object.
    """
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def last_log_record(path: Path, tail: int = 1 << 16) -> dict[str, Any] | None:
    """The latest record of a ``metrics.jsonl`` that carries losses (read from the file's last
    ``tail`` bytes; events and torn lines are skipped), or None when there is none yet."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(fh.seek(0, 2) - tail, 0))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in reversed(text.splitlines()):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "d_loss" in record and "step" in record:
            return record
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3g}"
    return str(value)


class ProgressBar:
    """Step, losses, D(x), D(G(z)), images/s and ETA on one line (disabled when quiet)."""

    MIN_INTERVAL = 0.05

    def __init__(self, total: int, start: int, enabled: bool = True) -> None:
        self._last = 0.0
        self.progress: Progress | None = None
        if enabled:
            self.progress = Progress(
                TextColumn("[bold]step"),
                MofNCompleteColumn(),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[stats]}", markup=False),  # keys may hold "["
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.task = self.progress.add_task("train", total=total, completed=start, stats="")

    def __enter__(self) -> ProgressBar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def advance(self, step: int, record: dict[str, Any] | None = None) -> None:
        """Move to ``step``; between log records, at most every :attr:`MIN_INTERVAL` seconds."""
        if self.progress is None:
            return
        now = time.monotonic()
        if record is None and now - self._last < self.MIN_INTERVAL:
            return  # the bar redraws 10 times a second: small models step far more often
        self._last = now
        fields: dict[str, Any] = {"completed": step}
        if record is not None:
            stats = "  ".join(
                f"{label} {_fmt(record[key])}"
                for key, label in (
                    ("d_loss", "D"),
                    ("g_loss", "G"),
                    ("d_real", "D(x)"),
                    ("d_fake", "D(G(z))"),
                    ("images_per_s", "img/s"),
                )
                if key in record
            )
            fields["stats"] = stats
        self.progress.update(self.task, **fields)

    def print(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False)
