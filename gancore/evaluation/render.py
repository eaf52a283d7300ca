"""Render: every output of a study from its :class:`~gancore.evaluation.gather.Comparison`
alone: ``comparison.json``, ``comparison.md``, ``samples.png``, ``losses.png``,
``report.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from gancore.evaluation.figures import loss_bands_png, save_sample_panels
from gancore.evaluation.markdown import markdown
from gancore.evaluation.report import write_report
from gancore.evaluation.runs import json_default
from gancore.evaluation.tables import finite

if TYPE_CHECKING:
    from gancore.evaluation.gather import Comparison


def write_outputs(comparison: Comparison, registry: object = None) -> dict[str, Path]:
    """Write ``comparison.md``, ``comparison.json``, ``samples.png``, ``losses.png`` and
    ``report.html``, each rendered from ``comparison`` alone (``registry`` is no longer used).
    """
    from gancore.storage.io import atomic_write_bytes, atomic_write_text

    out = comparison.out
    files = {
        "json": out / "comparison.json",
        "markdown": out / "comparison.md",
        "samples": out / "samples.png",
        "losses": out / "losses.png",
        "html": out / "report.html",
    }
    atomic_write_text(
        files["json"],
        json.dumps(finite(comparison.as_dict()), indent=2, default=json_default) + "\n",
        what="the comparison (JSON)",
    )
    atomic_write_text(files["markdown"], markdown(comparison), what="the comparison table")
    save_sample_panels(comparison.first_runs(), files["samples"])
    losses = loss_bands_png(comparison.results)
    atomic_write_bytes(files["losses"], losses, what="the comparison plot")
    write_report(comparison, files["html"], losses_png=losses)
    comparison.files = files
    return files


