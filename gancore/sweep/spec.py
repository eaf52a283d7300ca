"""Sweep files: what is tuned, over which space, towards which objective, on which budget.

.. code-block:: toml

    [sweep]
    name = "dcgan-lr"
    base = "dcgan-32"                 # a recipe (or study = "x.toml" and variants = [...])
    steps = 1200                      # generator steps of every trial (the budget per trial)
    trials = 20                       # trials per tuned recipe or variant
    seed = 0                          # sampler seed and training seed of every trial
    sampler = "tpe"                   # tpe (default), random or grid
    pruner = "median"                 # none (default), median or successive_halving
    eval_every = 300                  # in-training evaluation that feeds the pruner
    num_samples = 2000                # samples of each trial's final evaluation
    set = ["train.log_every=50"]      # overrides of every trial

    [objective]
    metric = "fid"                    # a score the evaluation computes
    direction = "minimize"            # known scores have a default; it must agree

    [space."train.g_optimizer.lr"]
    low = 1e-5
    high = 1e-2
    log = true

    [space."loss.type"]
    choices = ["bce", "hinge"]

    [space."train.n_critic"]          # an int: integer bounds
    low = 1
    high = 5
    when = { "loss.type" = "hinge" }  # conditional: sampled only when loss.type is hinge

    [confirm]
    best = 3                          # settings re-run over seeds (with variants: each one's best)
    seeds = [1, 2, 3]                 # default: three seeds after the sweep's seed

Every check runs before anything trains (:func:`check_sweep`); each error names the sweep file
and the key at fault.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gancore.core.errors import GancoreError, RecipeError, suggest
from gancore.core.values import is_int, is_number

if TYPE_CHECKING:
    from gancore.core.registry import Registry
    from gancore.evaluation.study import Entry

_STRICT = ConfigDict(extra="forbid")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SWEEP_HINT = 'install the extra: pip install "gancore[sweep]" (it installs optuna)'

#: Score name (as in the comparison tables) -> the built-in metric that computes it.
SCORES: dict[str, str] = {
    "fid": "fid", "kid_mean": "kid", "is_mean": "is", "precision": "pr", "recall": "pr",
    "density": "dc", "coverage": "dc", "d_accuracy": "f1", "d_f1": "f1",
    "class_coverage": "class_coverage", "class_kl": "class_coverage",
    "modes_captured": "modes", "high_quality_pct": "modes",
}
#: Metric names accepted for their main score.
ALIASES = {"kid": "kid_mean", "is": "is_mean", "f1": "d_f1", "modes": "modes_captured",
           "pr": "precision", "dc": "coverage"}
#: Keys a sweep sets itself in every trial.
RESERVED = ("seed", "train.steps", "train.eval_every", "train.callbacks")
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "successive_halving")
MAX_GRID = 10000


def require_optuna() -> Any:
    """``import optuna`` or one error naming the extra ``gancore[sweep]``."""
    try:
        import optuna
    except ImportError:
        raise GancoreError("gancore sweep needs optuna, which is not installed",
                           hint=SWEEP_HINT) from None
    import warnings

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


# -- the file's tables ----------------------------------------------------------------------
class SamplerSpec(BaseModel):
    """``sampler = "tpe"`` or ``{ type = "tpe", startup_trials = 10 }``."""

    model_config = _STRICT
    type: Literal["tpe", "random", "grid"] = "tpe"
    startup_trials: int = Field(10, ge=0, description="TPE: random trials before the model")


class PrunerSpec(BaseModel):
    """``pruner = "median"`` or a table with the pruner's options."""

    model_config = _STRICT
    type: Literal["none", "median", "successive_halving"] = "none"
    startup_trials: int = Field(2, ge=0, description="median: trials finished before pruning")
    warmup_steps: int = Field(0, ge=0, description="median: steps before a trial is pruned")
    min_resource: int | None = Field(None, gt=0, description="successive halving: the steps "
                                     "of the first rung (default: the first evaluation's)")
    reduction_factor: int = Field(3, ge=2, description="successive halving: 1/η promoted")


class SweepMeta(BaseModel):
    """``[sweep]``."""

    model_config = _STRICT
    name: str = ""
    description: str = ""
    base: str | None = Field(None, description="recipe name or path (relative to this file)")
    study: str | None = Field(None, description="a study file whose variants are each tuned")
    variants: list[str] | None = Field(None, min_length=1,
                                       description="the study's variants to tune (default all)")
    set: list[str] = Field(default_factory=list, description="overrides of every trial")
    steps: int = Field(gt=0, description="generator steps of every trial")
    trials: int = Field(gt=0, description="trials per tuned recipe or variant")
    seed: int = Field(0, ge=0, description="sampler seed and training seed of the trials")
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    pruner: PrunerSpec = Field(default_factory=PrunerSpec)
    eval_every: int = Field(0, ge=0, description="in-training evaluation (feeds the pruner)")
    eval_samples: int | None = Field(None, gt=1, description="samples of each in-training "
                                     "evaluation (default: the recipe's train.eval_samples)")
    num_samples: int | None = Field(None, gt=1, description="samples of the final evaluation")
    metrics: list[str] = Field(default_factory=list,
                               description="more metrics of the final evaluation")
    storage: str | None = Field(None, description="an RDB URL (default: SQLite in the folder)")

    @field_validator("sampler", mode="before")
    @classmethod
    def _sampler(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @field_validator("pruner", mode="before")
    @classmethod
    def _pruner(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value


class ObjectiveSpec(BaseModel):
    """``[objective]`` (or ``[[objective]]`` tables for a Pareto front)."""

    model_config = _STRICT
    metric: str = Field(description="a score of the evaluation: fid, kid, precision, ...")
    direction: Literal["minimize", "maximize"] | None = None
    from_metric: str | None = Field(None, description="the registered metric computing it "
                                    "(for a pack's score)")


class ConfirmSpec(BaseModel):
    """``[confirm]``: the best settings re-run over seeds."""

    model_config = _STRICT
    best: int | None = Field(None, gt=0, description="settings to confirm (default 3; with "
                             "variants: each variant's best)")
    seeds: list[int] | None = Field(None, min_length=2)
    steps: int | None = Field(None, gt=0)
    num_samples: int | None = Field(None, gt=1)
    baseline: str | None = None

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"the seeds must be distinct (got {value})")
        return value


class VariantSpec(BaseModel):
    """``[variants.<name>]``: a variant of the base (or space additions for a study's)."""

    model_config = _STRICT
    description: str = ""
    recipe: str | None = None
    set: list[str] = Field(default_factory=list)
    space: dict[str, Any] = Field(default_factory=dict)


class SweepFile(BaseModel):
    model_config = _STRICT
    sweep: SweepMeta
    objective: ObjectiveSpec | list[ObjectiveSpec]
    space: dict[str, Any] = Field(default_factory=dict)
    confirm: ConfirmSpec = Field(default_factory=ConfirmSpec)
    variants: dict[str, VariantSpec] = Field(default_factory=dict)


# -- the loaded sweep ---------------------------------------------------------------------------
@dataclass
class Param:
    """One searched recipe key."""

    key: str
    kind: str  # float, int or categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None
    when: dict[str, list[Any]] = field(default_factory=dict)  # other key -> values

    def probes(self) -> list[Any]:
        """Values tried against the recipe before anything trains."""
        if self.kind == "categorical":
            return list(self.choices or [])
        if self.kind == "int":
            return [int(self.low), int(self.high)]  # type: ignore[arg-type]
        return [float(self.low), float(self.high)]  # type: ignore[arg-type]

    def grid(self) -> list[Any]:
        if self.kind == "categorical":
            return list(self.choices or [])
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))  # type: ignore[arg-type]
        assert self.step is not None
        n = math.floor((self.high - self.low) / self.step + 1e-9) + 1  # type: ignore[operator]
        return [round(self.low + i * self.step, 12) for i in range(n)]  # type: ignore[operator]

    def describe(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(map(str, self.choices or []))
        scale = ", log" if self.log else ""
        step = f", step {self.step:g}" if self.step else ""
        when = "; when " + ", ".join(f"{k} in {v}" for k, v in self.when.items()) \
            if self.when else ""
        return f"{self.kind} in [{self.low:g}, {self.high:g}]{scale}{step}{when}"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "low": self.low, "high": self.high,
                "log": self.log, "step": self.step, "choices": self.choices, "when": self.when}


def override(key: str, value: Any) -> str:
    """The ``--set`` assignment of ``key`` to a sampled ``value`` (strings are read as
    ``--set`` reads them: TOML when they parse, else text)."""
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if isinstance(value, float):
        return f"{key}={value!r}" if math.isfinite(value) else f"{key}={value}"
    return f"{key}={value}"


def active(params: list[Param], values: dict[str, Any], param: Param) -> bool:
    """Whether ``param``'s conditions hold for the values sampled so far."""
    return all(key in values and values[key] in allowed for key, allowed in param.when.items())


@dataclass
class Objective:
    """One score to optimise."""

    score: str  # the result key's base name (before /extractor)
    metric: str  # the registered metric computing it
    direction: str  # minimize or maximize

    def pick(self, scores: dict[str, Any]) -> tuple[str, float] | None:
        """``(key, value)`` of this score in an evaluation result or in-training scores."""
        for key, value in scores.items():
            if key.partition("/")[0] == self.score and is_number(value):
                return key, float(value)
        return None


@dataclass
class Target:
    """One thing tuned: the base recipe, or one variant; its Optuna study is ``study_name``."""

    name: str  # "" for the base recipe alone
    entry: Entry
    space: list[Param]

    @property
    def label(self) -> str:
        return self.name or "base"


@dataclass
class Sweep:
    """A loaded sweep file (see the module docstring)."""

    path: Path
    meta: SweepMeta
    objectives: list[Objective]
    targets: list[Target]
    confirm: ConfirmSpec
    recipes: dict[str, str] = field(default_factory=dict)  # target -> resolved-recipe digest

    @property
    def name(self) -> str:
        return self.meta.name or self.path.stem

    @property
    def variants(self) -> bool:
        return any(t.name for t in self.targets)

    @property
    def multi(self) -> bool:
        return len(self.objectives) > 1

    def study_name(self, target: Target) -> str:
        return f"{self.name}/{target.name}" if target.name else self.name

    @property
    def best(self) -> int:
        return self.confirm.best or (1 if self.variants else 3)

    @property
    def confirm_seeds(self) -> list[int]:
        return list(self.confirm.seeds or [self.meta.seed + i for i in (1, 2, 3)])

    def metrics(self) -> list[str]:
        """The metrics of each trial's final evaluation: the objectives' and ``metrics``."""
        return list(dict.fromkeys([*(o.metric for o in self.objectives), *self.meta.metrics]))

    def record(self) -> dict[str, Any]:
        """Everything that defines the sweep's trials, to refuse a changed file."""
        return {
            "sweep": self.meta.model_dump(exclude={"storage", "description"}),
            "objectives": [o.__dict__ for o in self.objectives],
            "targets": {t.label: {"recipe": t.entry.recipe, "overrides": t.entry.overrides,
                                  "space": [p.as_dict() for p in t.space],
                                  "resolved recipe (digest)": self.recipes.get(t.label)}
                        for t in self.targets},
            "confirm": self.confirm.model_dump(),
        }


# -- loading ------------------------------------------------------------------------------------
def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep file; its tables, objective and space are checked here, the recipes by
    :func:`check_sweep`."""
    from gancore.core.registry import validation_error
    from gancore.recipe import find_recipe, read_toml

    file = Path(path)
    src = str(file)
    data = read_toml(file)
    if "objectives" in data and "objective" not in data:
        data["objective"] = data.pop("objectives")
    try:
        parsed = SweepFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "missing" and len(err["loc"]) == 1:
            section = str(err["loc"][0])
            raise RecipeError(f"missing required table [{section}]", source=src, key=section,
                              hint=_HINTS.get(section)) from None
        if err["type"] == "missing" and tuple(err["loc"][:1]) == ("sweep",):
            what = str(err["loc"][-1])
            raise RecipeError(f"[sweep] has no {what}", source=src, key=f"sweep.{what}",
                              hint=_HINTS.get(what)) from None
        raise validation_error(exc, source=src, known=_known(err["loc"])) from None
    meta = parsed.sweep
    objectives = _objectives(parsed.objective, src)
    if meta.pruner.type != "none":
        if len(objectives) > 1:
            raise RecipeError("pruning needs one objective (Optuna prunes single-objective "
                              "trials only)", source=src, key="sweep.pruner",
                              hint='set pruner = "none" for a Pareto front')
        if meta.eval_every <= 0:
            raise RecipeError(f"the {meta.pruner.type} pruner needs in-training evaluations",
                              source=src, key="sweep.eval_every",
                              hint=f"set eval_every (e.g. {max(1, meta.steps // 4)}): every so "
                                   "many steps the trial is scored and may be pruned")
        if meta.eval_every >= meta.steps:
            raise RecipeError(f"eval_every = {meta.eval_every} leaves no evaluation before the "
                              f"end of the {meta.steps} steps, so nothing can be pruned",
                              source=src, key="sweep.eval_every",
                              hint="evaluate a few times per trial, e.g. steps / 4")
    shared = _space(parsed.space, src, "space")
    targets = _targets(parsed, meta, file, shared, find_recipe)
    if meta.sampler.type == "grid":
        for t in targets:
            _check_grid(t, src)
    return Sweep(file, meta, objectives, targets, parsed.confirm)


_HINTS = {
    "sweep": 'add [sweep] with base = "<recipe>", steps = N and trials = N',
    "objective": 'add [objective] with metric = "fid" (and direction = "minimize")',
    "steps": "give the generator steps of every trial, e.g. steps = 1000",
    "trials": "give the number of trials, e.g. trials = 20",
}


def _known(loc: tuple[Any, ...]) -> list[str]:
    tables = {"sweep": SweepMeta, "objective": ObjectiveSpec, "confirm": ConfirmSpec,
              "variants": VariantSpec}
    if not loc:
        return list(SweepFile.model_fields)
    model = tables.get(str(loc[0]))
    if model is None:
        return list(SweepFile.model_fields)
    if loc[0] == "sweep" and len(loc) > 1 and loc[1] in ("sampler", "pruner"):
        return list((SamplerSpec if loc[1] == "sampler" else PrunerSpec).model_fields)
    return list(model.model_fields)


def _objectives(spec: ObjectiveSpec | list[ObjectiveSpec], src: str) -> list[Objective]:
    from gancore.evaluation.stats import direction

    specs = spec if isinstance(spec, list) else [spec]
    if not specs:
        raise RecipeError("the objective list is empty", source=src, key="objective",
                          hint='add [objective] with metric = "fid"')
    out = []
    for i, o in enumerate(specs):
        key = "objective" if not isinstance(spec, list) else f"objective[{i}]"
        score = ALIASES.get(o.metric, o.metric)
        metric = o.from_metric or SCORES.get(score)
        if metric is None:
            raise RecipeError(
                f"the evaluation computes no score {o.metric!r}"
                f"{suggest(o.metric, [*SCORES, *ALIASES])}", source=src, key=f"{key}.metric",
                hint="scores: " + ", ".join(SCORES) + "; for a pack's score, add "
                     'from_metric = "<the metric computing it>"')
        known = direction(score)
        wanted = {"minimize": -1, "maximize": 1}.get(o.direction or "")
        if known is None and wanted is None:
            raise RecipeError(f"the objective {o.metric!r} has no direction", source=src,
                              key=f"{key}.direction",
                              hint='add direction = "minimize" or direction = "maximize"')
        if known is not None and wanted is not None and known != wanted:
            better = "lower" if known < 0 else "higher"
            raise RecipeError(f"direction = {o.direction!r} contradicts {score}, where "
                              f"{better} is better", source=src, key=f"{key}.direction",
                              hint="drop direction (it defaults to the score's) or fix it")
        sign = wanted if wanted is not None else known
        out.append(Objective(score, metric, "minimize" if sign == -1 else "maximize"))
    if len({o.score for o in out}) != len(out):
        raise RecipeError("an objective is given twice", source=src, key="objective",
                          hint="list each score once")
    return out


def _number(value: Any) -> bool:
    return is_number(value)


def _space(table: dict[str, Any], src: str, where: str) -> list[Param]:
    """The search space of a ``[space]`` table (or a variant's ``space``), checked."""
    params: list[Param] = []
    for key, spec in table.items():
        at = f'{where}."{key}"'
        if not isinstance(spec, dict):
            raise RecipeError(f"a search key takes a table, not {spec!r}", source=src, key=at,
                              hint="e.g. { low = 1e-5, high = 1e-2, log = true } or "
                                   '{ choices = ["bce", "hinge"] }')
        unknown = set(spec) - {"type", "low", "high", "log", "step", "choices", "when"}
        if unknown:
            bad = sorted(unknown)[0]
            known = ["low", "high", "log", "step", "choices", "when", "type"]
            raise RecipeError(f"unknown setting {bad!r}{suggest(bad, known)}", source=src,
                              key=f"{at}.{bad}",
                              hint="a search key takes type, low, high, log, step, choices, when")
        if key in RESERVED or key.startswith("train.callbacks"):
            raise RecipeError(f"{key} is set by the sweep itself", source=src, key=at,
                              hint="the seed, steps, eval_every and the trial's callback come "
                                   "from [sweep]")
        kind = spec.get("type") or ("categorical" if "choices" in spec else None)
        if kind is None:
            both = [spec.get("low"), spec.get("high")]
            kind = "int" if all(is_int(v) for v in both) else "float"
        if kind not in ("float", "int", "categorical"):
            raise RecipeError(f"unknown type {kind!r}", source=src, key=f"{at}.type",
                              hint="float, int or categorical")
        when = _when(spec.get("when"), src, at)
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise RecipeError("a categorical key needs a non-empty list of choices",
                                  source=src, key=f"{at}.choices",
                                  hint='e.g. choices = ["bce", "hinge"]')
            for c in choices:
                if not isinstance(c, str | int | float | bool):
                    raise RecipeError(f"a choice must be a string, number or bool, not {c!r}",
                                      source=src, key=f"{at}.choices",
                                      hint='write a table as a string read like --set: '
                                           '\'{ type = "adam", lr = 2e-4 }\'')
            if len(set(map(repr, choices))) != len(choices):
                raise RecipeError("the choices repeat", source=src, key=f"{at}.choices",
                                  hint="list each choice once")
            extra = {"low", "high", "log", "step"} & set(spec)
            if extra:
                raise RecipeError(f"a categorical key takes no {sorted(extra)[0]}", source=src,
                                  key=f"{at}.{sorted(extra)[0]}", hint="give choices only")
            params.append(Param(key, kind, choices=list(choices), when=when))
            continue
        for bound in ("low", "high"):
            if bound not in spec:
                raise RecipeError(f"a {kind} key needs {bound}", source=src,
                                  key=f"{at}.{bound}", hint="e.g. low = 1e-5, high = 1e-2")
            if not _number(spec[bound]):
                raise RecipeError(f"{bound} must be a number, not {spec[bound]!r}", source=src,
                                  key=f"{at}.{bound}",
                                  hint="write it unquoted, e.g. low = 1e-4")
        low, high = spec["low"], spec["high"]
        if kind == "int" and not (isinstance(low, int) and isinstance(high, int)):
            raise RecipeError(f"an int key needs integer bounds (got {low!r}, {high!r})",
                              source=src, key=at, hint='write integers, or type = "float"')
        if low > high:
            raise RecipeError(f"low ({low:g}) is above high ({high:g})", source=src,
                              key=f"{at}.low", hint="swap them")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise RecipeError(f"log must be true or false, not {log!r}", source=src,
                              key=f"{at}.log", hint="log = true samples on a log scale")
        if log and low <= 0:
            raise RecipeError(f"a log-scale range needs bounds above 0 (low = {low:g})",
                              source=src, key=f"{at}.low",
                              hint="give a positive low, e.g. 1e-5, or drop log = true")
        step = spec.get("step")
        if step is not None:
            if not _number(step) or step <= 0:
                raise RecipeError(f"step must be a positive number, not {step!r}", source=src,
                                  key=f"{at}.step", hint="e.g. step = 0.1")
            if log and kind == "float":
                raise RecipeError("a log-scale float takes no step", source=src,
                                  key=f"{at}.step", hint="drop step, or log = true")
            if kind == "int" and (not isinstance(step, int) or (log and step != 1)):
                raise RecipeError("an int key's step must be an integer (1 on a log scale)",
                                  source=src, key=f"{at}.step", hint="e.g. step = 2")
        params.append(Param(key, kind, float(low) if kind == "float" else low,
                            float(high) if kind == "float" else high, log, step, when=when))
    _check_conditions(params, src, where)
    return params


def _when(value: Any, src: str, at: str) -> dict[str, list[Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise RecipeError("when takes a table of search keys and their values", source=src,
                          key=f"{at}.when", hint='e.g. when = { "loss.type" = "hinge" }')
    return {k: list(v) if isinstance(v, list) else [v] for k, v in value.items()}


def _check_conditions(params: list[Param], src: str, where: str) -> None:
    """A condition names a categorical key defined before it, with some of its choices."""
    seen: dict[str, Param] = {}
    for p in params:
        for key, values in p.when.items():
            at = f'{where}."{p.key}".when'
            parent = seen.get(key)
            if parent is None:
                names = list(seen)
                raise RecipeError(f"the condition names {key!r}, which is no search key above "
                                  f"this one{suggest(key, names)}", source=src, key=at,
                                  hint="a condition names a categorical search key given "
                                       "before it")
            if parent.kind != "categorical":
                raise RecipeError(f"the condition names {key!r}, which is not categorical",
                                  source=src, key=at, hint="conditions test choices")
            bad = [v for v in values if v not in (parent.choices or [])]
            if bad:
                raise RecipeError(f"{bad[0]!r} is not a choice of {key!r}", source=src,
                                  key=at, hint=f"choices: {parent.choices}")
        seen[p.key] = p


def _targets(parsed: SweepFile, meta: SweepMeta, file: Path, shared: list[Param],
             find_recipe: Any) -> list[Target]:
    from gancore.evaluation.study import Entry, load_study

    src = str(file)
    if meta.base and meta.study:
        raise RecipeError("give base or study, not both", source=src, key="sweep.study",
                          hint="base tunes one recipe (and [variants] of it); study tunes "
                               "each variant of a study file")
    if meta.variants is not None and not meta.study:
        raise RecipeError("variants picks variants of a study file", source=src,
                          key="sweep.variants", hint='add study = "studies/x.toml", or define '
                          "[variants.<name>] tables")
    for name in parsed.variants:
        if not _NAME.match(name):
            raise RecipeError(f"variant name {name!r} must hold only letters, digits, '.', "
                              "'_' and '-'", source=src, key=f"variants.{name}",
                              hint="it names run folders")
    targets: list[Target] = []
    if meta.study:
        path = file.parent / meta.study
        if not path.is_file():
            raise RecipeError(f"study file {meta.study!r} not found", source=src,
                              key="sweep.study", hint="give a path relative to the sweep file")
        study = load_study(path)
        by_name = {e.name: e for e in study.variants}
        picked = meta.variants or list(by_name)
        for name in picked:
            if name not in by_name:
                raise RecipeError(f"{name!r} is not a variant of {meta.study}"
                                  f"{suggest(name, list(by_name))}", source=src,
                                  key="sweep.variants", hint="variants: " + ", ".join(by_name))
            if by_name[name].init_from:
                raise RecipeError(f"the variant {name!r} starts from another run (init_from), "
                                  "which a sweep does not train", source=src,
                                  key="sweep.variants", hint="pick variants without init_from")
        for name, v in parsed.variants.items():
            if name not in picked:
                raise RecipeError(f"[variants.{name}] is not a tuned variant of the study"
                                  f"{suggest(name, picked)}", source=src, key=f"variants.{name}",
                                  hint="tuned: " + ", ".join(picked))
            if v.recipe or v.set or v.description:
                raise RecipeError("with study = ..., a [variants.<name>] table takes only space",
                                  source=src, key=f"variants.{name}",
                                  hint="change the variant in the study file")
        for name in picked:
            e = by_name[name]
            own = parsed.variants.get(name)
            space = _merge(shared, _space(own.space, src, f"variants.{name}.space")
                           if own else [])
            targets.append(Target(name, Entry(name, e.recipe, [*e.overrides, *meta.set],
                                              description=e.description), space))
    else:
        if meta.base is None:
            raise RecipeError("the sweep names no recipe", source=src, key="sweep.base",
                              hint='add base = "dcgan-32" (or study = "studies/x.toml")')
        for name, v in (parsed.variants or {"": VariantSpec()}).items():
            ref = v.recipe or meta.base
            key = f"variants.{name}.recipe" if v.recipe else "sweep.base"
            try:
                recipe = find_recipe(ref, relative_to=file.parent)
            except GancoreError as exc:
                raise RecipeError(f"recipe {ref!r} not found", source=src, key=key,
                                  hint=exc.hint) from None
            space = _merge(shared, _space(v.space, src, f"variants.{name}.space"))
            targets.append(Target(name, Entry(name or "base", str(recipe), [*meta.set, *v.set],
                                              description=v.description), space))
    for t in targets:
        if not t.space:
            where = f"variants.{t.name}.space" if t.name else "space"
            raise RecipeError("the search space is empty" + (f" for {t.name!r}" if t.name
                                                              else ""),
                              source=src, key=where,
                              hint='add [space."train.g_optimizer.lr"] with low, high (and '
                                   "log = true), or choices = [...]")
    return targets


def _merge(shared: list[Param], own: list[Param]) -> list[Param]:
    """The shared space with a variant's own keys added or replacing the shared ones."""
    mine = {p.key: p for p in own}
    merged = [mine.pop(p.key, p) for p in shared]
    return merged + list(mine.values())


def _check_grid(target: Target, src: str) -> None:
    size = 1
    for p in target.space:
        if p.when:
            raise RecipeError("the grid sampler takes no conditional keys", source=src,
                              key=f'space."{p.key}".when', hint='use sampler = "tpe"')
        if p.kind == "float" and p.step is None:
            raise RecipeError("the grid sampler needs finite values: a float key needs step",
                              source=src, key=f'space."{p.key}"',
                              hint="add step = ..., or list the values as choices = [...]")
        size *= len(p.grid())
    if size > MAX_GRID:
        raise RecipeError(f"the grid has {size:,} points", source=src, key="sweep.sampler",
                          hint=f"at most {MAX_GRID:,}; use the tpe or random sampler")


def grid_space(target: Target) -> dict[str, list[Any]]:
    return {p.key: p.grid() for p in target.space}


# -- the checks against the recipes --------------------------------------------------------------
def check_sweep(sweep: Sweep, registry: Registry) -> None:
    """Resolve and build every tuned recipe, try each search key at its bounds (and each
    choice) and check the metrics; fills ``sweep.recipes``. Nothing trains."""
    from gancore.evaluation.evaluator import EvalSettings
    from gancore.evaluation.plan import validate
    from gancore.recipe import load_recipe, resolve

    src = str(sweep.path)
    for metric in sweep.metrics():
        try:
            registry.get("metric", metric, key="objective.metric")
        except GancoreError as exc:
            raise RecipeError(exc.message, source=src, key="objective.metric" if metric in
                              [o.metric for o in sweep.objectives] else "sweep.metrics",
                              hint=exc.hint) from None
    settings = EvalSettings(metrics=sweep.metrics(), num_samples=sweep.meta.num_samples)
    for t in sweep.targets:
        where = f"variants.{t.name}" if t.name else "sweep.base"
        try:
            resolved = validate([t.entry], overrides=[], seed=sweep.meta.seed,
                                steps=sweep.meta.steps, settings=settings, registry=registry)
        except GancoreError as exc:
            at = f"{exc.key}: " if exc.key else ""
            raise RecipeError(f"{at}{exc.message}", source=src, key=where,
                              hint=exc.hint) from None
        text = json.dumps(resolved[t.entry.name], sort_keys=True, default=str)
        sweep.recipes[t.label] = hashlib.sha256(text.encode()).hexdigest()[:16]
        for p in t.space:
            fixed = _condition_overrides(t.space, p)
            for value in p.probes():
                ovs = [*t.entry.overrides, *fixed, override(p.key, value)]
                try:
                    resolve(load_recipe(t.entry.recipe, ovs), registry)
                except GancoreError as exc:
                    inner = f"{exc.key}: " if exc.key and exc.key != p.key else ""
                    label = f" of {t.name!r}" if t.name else ""
                    raise RecipeError(
                        f"{p.key} = {value!r} does not fit the recipe{label}: "
                        f"{inner}{exc.message}",
                        source=src, key=f'space."{p.key}"',
                        hint=exc.hint or "check the key's path and its type in the recipe "
                        "(gancore show RECIPE)") from None


def _condition_overrides(space: list[Param], param: Param) -> list[str]:
    """Assignments that make ``param``'s conditions (and theirs) hold."""
    by_key = {p.key: p for p in space}
    out: list[str] = []
    todo = dict(param.when)
    done: set[str] = set()
    while todo:
        key, values = todo.popitem()
        if key in done:
            continue
        done.add(key)
        out.insert(0, override(key, values[0]))
        todo.update({k: v for k, v in by_key[key].when.items() if k not in done})
    return out


def suggest_values(trial: Any, space: list[Param]) -> dict[str, Any]:
    """Sample ``space`` in ``trial`` (conditional keys only where their condition holds)."""
    values: dict[str, Any] = {}
    for p in space:
        if not active(space, values, p):
            continue
        values[p.key] = _suggest(trial, p)
    return values


def _suggest(trial: Any, p: Param) -> Any:
    if p.kind == "categorical":
        return trial.suggest_categorical(p.key, p.choices)
    if p.kind == "int":
        return trial.suggest_int(p.key, int(p.low), int(p.high), step=int(p.step or 1),  # type: ignore[arg-type]
                                 log=p.log)
    return trial.suggest_float(p.key, float(p.low), float(p.high), step=p.step,  # type: ignore[arg-type]
                               log=p.log)
