"""Tracker ``wandb`` (extra ``gancore[wandb]``).

gancore never logs in: the mode is ``$WANDB_MODE`` when set, else ``online`` only when an API
key is available (``$WANDB_API_KEY``), else ``offline`` (a run folder under ``<run>/wandb``
that ``wandb sync`` uploads later).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gancore.tracking import require


def choose_mode(mode: str | None = None) -> str:
    """``mode``, else ``$WANDB_MODE``, else online with an API key and offline without."""
    if mode:
        return mode
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


class WandbTracker:
    """A wandb run in ``project``; files under ``<run>/wandb``."""

    def __init__(self, out: Path | None, project: str = "gancore", entity: str | None = None,
                 name: str | None = None, mode: str | None = None) -> None:
        wandb = require("wandb", "wandb", "wandb")
        self.wandb = wandb
        folder = out if out is not None else Path.cwd()
        folder.mkdir(parents=True, exist_ok=True)
        self.mode = choose_mode(mode)
        self.run = wandb.init(
            project=project, entity=entity, name=name or (out.name if out else None),
            dir=str(folder), mode=self.mode, reinit="create_new",
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=True),
        )

    def log_hparams(self, params: dict[str, Any]) -> None:
        self.run.config.update(params, allow_val_change=True)

    def log_scalars(self, values: dict[str, float], step: int) -> None:
        self.run.log(dict(values), step=step)

    def log_image(self, name: str, path: Path, step: int) -> None:
        self.run.log({name: self.wandb.Image(str(path))}, step=step)

    def close(self) -> None:
        self.run.finish()
