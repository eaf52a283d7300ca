"""Evaluation of trained GANs: ``gancore eval`` and ``gancore compare``.

:func:`evaluate_checkpoint` scores one checkpoint; :func:`compare` trains (or loads) several
recipes or the variants of a study file under the same budget and writes a comparison. The
metric math lives in :mod:`gancore.metrics`. Attributes are imported lazily, so importing this
package does not import torch.
"""

from __future__ import annotations

from gancore.core.lazy import lazy_attributes

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
    "StudyFailed": "gancore.evaluation.runs",
    "study_stats": "gancore.evaluation.stats",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
