"""The confirmation: the best settings re-run over several seeds, as a study.

One trial is one seed; the best of many trials is partly the luckiest (the winner's curse). So
the best ``confirm.best`` settings (by default 3; with variants each variant's best) become the
variants of a study (:func:`gancore.evaluation.compare.compare`) trained under the confirmation
seeds (by default three seeds after the sweep's, so the trial that picked a setting is not
reused) and the sweep's step budget, in ``OUT/confirm``. The study engine gives intervals over
the seeds and Welch tests against the baseline (the best setting, or the best of
``confirm.baseline``'s variant) with Holm's correction, and, like any study, reuses finished
runs when the command runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import GancoreError, RecipeError
from gancore.sweep import storage as st
from gancore.sweep.objective import setting_overrides

if TYPE_CHECKING:
    from gancore.core.registry import Registry
    from gancore.evaluation.evaluator import EvalSettings
    from gancore.evaluation.gather import Comparison
    from gancore.evaluation.study import Entry
    from gancore.sweep.spec import Sweep, Target


@dataclass
class Choice:
    """A setting picked for confirmation: a finished trial of a target."""

    target: Target
    number: int
    params: dict[str, Any]
    values: list[float]

    @property
    def name(self) -> str:
        return f"{self.target.name}-trial-{self.number}" if self.target.name else \
            f"trial-{self.number}"


def choose(sweep: Sweep, url: str) -> list[Choice]:
    """The best settings of every target (distinct parameters), best first."""
    from optuna.trial import TrialState

    picked: list[Choice] = []
    for target in sweep.targets:
        study = st.load_study(sweep, target, url)
        if sweep.multi:
            pool = sorted(study.best_trials, key=lambda t: _key(sweep, t.values[0], 0))
        else:
            pool = sorted((t for t in study.get_trials(deepcopy=False)
                           if t.state == TrialState.COMPLETE),
                          key=lambda t: _key(sweep, t.value, 0))
        seen: list[dict[str, Any]] = []
        for t in pool:
            if t.params in seen:
                continue
            seen.append(dict(t.params))
            picked.append(Choice(target, t.number, dict(t.params), list(t.values)))
            if len(seen) >= sweep.best:
                break
    return picked


def _key(sweep: Sweep, value: float, i: int) -> float:
    return value if sweep.objectives[i].direction == "minimize" else -value


def entries(sweep: Sweep, choices: list[Choice]) -> list[Entry]:
    """One study entry per chosen setting."""
    from gancore.evaluation.study import Entry

    out = []
    for c in choices:
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in c.params.items())
        score = ", ".join(f"{o.score} {v:.4g}" for o, v in zip(sweep.objectives, c.values,
                                                                  strict=True))
        where = f"{c.target.name}, " if c.target.name else ""
        out.append(Entry(c.name, c.target.entry.recipe, setting_overrides(c.target, c.params),
                         description=f"{where}trial {c.number}: {shown} ({score} at seed "
                                     f"{sweep.meta.seed})"))
    return out


def baseline(sweep: Sweep, choices: list[Choice]) -> str:
    """The entry the others are tested against: the best of ``confirm.baseline``'s variant,
    else the first (the best setting, or the first variant's best)."""
    wanted = sweep.confirm.baseline
    if wanted is None:
        return choices[0].name
    names = [t.name for t in sweep.targets]
    if wanted not in names:
        from gancore.core.errors import suggest

        raise RecipeError(f"confirm.baseline {wanted!r} is not a tuned variant"
                          f"{suggest(wanted, names)}", source=str(sweep.path),
                          key="confirm.baseline", hint="variants: " + ", ".join(names))
    for c in choices:
        if c.target.name == wanted:
            return c.name
    raise GancoreError(f"the variant {wanted!r} has no finished trial to confirm",
                       source=str(sweep.path), key="confirm.baseline",
                       hint="see `gancore sweep --status OUT`; run the sweep again to retry "
                            "failed trials")


def check_baseline(sweep: Sweep) -> None:
    """Refuse a ``confirm.baseline`` that names no variant before anything trains."""
    wanted = sweep.confirm.baseline
    names = [t.name for t in sweep.targets]
    if wanted is not None and wanted not in names:
        from gancore.core.errors import suggest

        raise RecipeError(f"confirm.baseline {wanted!r} is not a tuned variant"
                          f"{suggest(wanted, names)}", source=str(sweep.path),
                          key="confirm.baseline",
                          hint=("variants: " + ", ".join(names)) if any(names) else
                          "without variants the best setting is the baseline; drop it")


def confirm(sweep: Sweep, folder: Path, choices: list[Choice], settings: EvalSettings, *,
            registry: Registry, executor: Any = None,
            echo: Callable[[str], None] | None = None) -> Comparison:
    """Train and evaluate the chosen settings over the confirmation seeds in
    ``folder/confirm``; the study's comparison (its files written there)."""
    import dataclasses

    from gancore.evaluation.compare import compare

    ev = dataclasses.replace(settings, metrics=sweep.metrics(),
                             num_samples=sweep.confirm.num_samples or sweep.meta.num_samples)
    return compare(entries(sweep, choices), folder / st.CONFIRM,
                   steps=sweep.confirm.steps or sweep.meta.steps, seeds=sweep.confirm_seeds,
                   baseline=baseline(sweep, choices), settings=ev,
                   name=f"{sweep.name}: confirmation", registry=registry, echo=echo,
                   executor=executor)
