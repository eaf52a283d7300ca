"""Training: the trainer, EMA, optimizers and schedules, penalties, run logs and sampling.

Attributes are imported lazily so that ``import gancore.train`` stays light.
"""

from __future__ import annotations

from gancore.core.lazy import lazy_attributes

_LAZY = {
    "Trainer": "gancore.train.trainer",
    "train": "gancore.train.trainer",
    "train_run": "gancore.train.trainer",
    "RunOutcome": "gancore.train.trainer",
    "RecipeMismatch": "gancore.train.runstate",
    "EMA": "gancore.train.ema",
    "TrainResult": "gancore.train.loop",
    "RunView": "gancore.train.run",
    "StopTraining": "gancore.train.events",
    "sample_images": "gancore.train.sample",
    "register": "gancore.train.registration",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
