"""Training: the trainer, EMA, optimizers and schedules, penalties, run logs and sampling.

Attributes are imported lazily so that ``import gancore.train`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Trainer": "gancore.train.trainer",
    "TrainOptions": "gancore.train.trainer",
    "train": "gancore.train.trainer",
    "EMA": "gancore.train.ema",
    "sample_images": "gancore.train.sample",
    "register": "gancore.train.registration",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gancore.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
