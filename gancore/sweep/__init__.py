"""Hyperparameter sweeps that end in a verdict: ``gancore sweep SWEEP.toml``.

A sweep tunes a recipe (or each variant of a study, on the same budget) with Optuna over a
search space of recipe keys, prunes bad trials from the in-training evaluation, shares one
storage among many workers, then re-runs the best settings over several seeds through the study
engine (:mod:`gancore.evaluation`) so that the report ends in intervals and Holm-corrected
verdicts rather than in one lucky trial.

- :mod:`~gancore.sweep.spec`: the sweep file, its search space and objective, the checks
- :mod:`~gancore.sweep.storage`: the sweep folder, the Optuna storage and studies, the lock
- :mod:`~gancore.sweep.objective`: one trial: sample, train and evaluate through the study
  engine, tell Optuna
- :mod:`~gancore.sweep.callback`: ``sweep_trial``, the callback that reports each in-training
  evaluation to the trial and stops a pruned run (:class:`~gancore.plugin.StopTraining`)
- :mod:`~gancore.sweep.workers`: workers pulling trials (this process, ``--jobs N``, Slurm)
- :mod:`~gancore.sweep.confirm`: the best settings over seeds, as a study
- :mod:`~gancore.sweep.report`: ``report.html``, ``sweep.md``, ``sweep.json``

Optuna is the optional extra ``gancore[sweep]``; importing this package imports neither it nor
torch.
"""

from __future__ import annotations

from gancore.core.lazy import lazy_attributes

_LAZY = {
    "Sweep": "gancore.sweep.spec",
    "load_sweep": "gancore.sweep.spec",
    "check_sweep": "gancore.sweep.spec",
    "run_sweep": "gancore.sweep.run",
    "SweepResult": "gancore.sweep.run",
    "status_rows": "gancore.sweep.storage",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
