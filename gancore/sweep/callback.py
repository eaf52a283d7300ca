"""``sweep_trial``: the callback that ties a training run to its Optuna trial.

``gancore sweep`` adds it to every trial's recipe
(``train.callbacks = [..., { type = "sweep_trial", sweep = "OUT", study = "...", trial = 7 }]``),
so a trial stays an ordinary recipe and run folder. At each in-training evaluation
(``train.eval_every``) it reports the objective score at that step to the trial and asks the
sweep's pruner; when the trial should be pruned it raises
:class:`~gancore.train.events.StopTraining`, and the run ends cleanly (checkpoint saved, a
``stop`` record in ``metrics.jsonl``). The storage URL is read from ``$GANCORE_SWEEP_STORAGE``
(set by the sweep's workers) or the folder's ``sweep.json``; the objective and the pruner from
``sweep.json``. A run of a trial that is no longer running (trained on by hand later) reports
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gancore.core.errors import RecipeError


class SweepTrial:
    """Report in-training scores to an Optuna trial; stop the run when it is pruned."""

    optional = False

    def __init__(self, sweep: str = "", study: str = "", trial: int = -1) -> None:
        self.sweep, self.study_name, self.number = sweep, study, trial
        self.trial: Any = None
        self.score: str = ""
        self.pruning = False

    def wanted(self, trainer: Any) -> bool:
        """Only in a trial that is still running (and on the main process)."""
        if not self.sweep or not self.study_name or self.number < 0:
            raise RecipeError("the sweep_trial callback names no sweep, study and trial",
                              key="train.callbacks",
                              hint="gancore sweep adds it to its trials; leave it out of "
                                   "recipes")
        if not getattr(trainer, "is_main", True):
            return False
        from optuna.trial import TrialState

        from gancore.evaluation.runs import read_state
        from gancore.sweep.spec import require_optuna
        from gancore.sweep.storage import RECORD, load_pruner, storage_of

        optuna = require_optuna()
        folder = Path(self.sweep)
        record = read_state(folder / RECORD) or {}
        definition = record.get("definition") or {}
        objectives = definition.get("objectives") or []
        storage = storage_of(folder)
        study = optuna.load_study(study_name=self.study_name, storage=storage,
                                  pruner=load_pruner(definition))
        frozen = next((t for t in study.get_trials(deepcopy=False)
                       if t.number == self.number), None)
        if frozen is None or frozen.state != TrialState.RUNNING:
            return False
        self.trial = optuna.trial.Trial(study, frozen._trial_id)
        self.score = objectives[0]["score"] if len(objectives) == 1 else ""
        self.pruning = bool(self.score) and \
            (definition.get("sweep", {}).get("pruner", {}).get("type", "none") != "none")
        return bool(self.score)

    def on_eval(self, trainer: Any, scores: dict[str, float]) -> None:
        from gancore.train.events import StopTraining

        found = next(((k, v) for k, v in scores.items() if k.partition("/")[0] == self.score),
                     None)
        if found is None:
            raise RecipeError(f"the in-training evaluation computed no {self.score!r} (it "
                              "computed: " + ", ".join(scores) + ")", key="eval.metrics",
                              hint="the sweep sets eval.metrics to the objective's metric")
        key, value = found
        step = int(trainer.step)
        self.trial.report(float(value), step)
        if self.pruning and self.trial.should_prune():
            raise StopTraining(f"pruned at step {step}: {key} = {value:.4g}")
