"""Evaluation of trained GANs: ``gancore eval`` and ``gancore compare``.

:func:`evaluate_checkpoint` scores one checkpoint; :func:`compare` trains (or loads) several
recipes or the variants of a study file under the same budget and writes a comparison. The
metric math lives in :mod:`gancore.metrics`. Attributes are imported lazily, so importing this
package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EvalSettings": "gancore.evaluation.evaluator",
    "evaluate_checkpoint": "gancore.evaluation.evaluator",
    "evaluate_gan": "gancore.evaluation.evaluator",
    "score_keys": "gancore.evaluation.evaluator",
    "Entry": "gancore.evaluation.study",
    "compare": "gancore.evaluation.compare",
    "Study": "gancore.evaluation.study",
    "load_study": "gancore.evaluation.study",
    "is_study_file": "gancore.evaluation.study",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gancore.evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
