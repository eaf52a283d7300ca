"""``[expect]``: what a recipe (or a study's variant) should score at a stated budget.

.. code-block:: toml

    [expect]
    metric = "fid"                   # a score name (or a full key, "fid/classifier:fashion_mnist")
    interval = [30.0, 45.0]          # the band: the mean over the seeds must lie inside it
    steps = 600                      # the budget the band was measured at (generator updates)
    seeds = [0, 1, 2]                # the training seeds the mean is taken over
    data = { type = "fashion_mnist", limit = 2000 }   # the data settings it holds for
    num_samples = 2000               # generated samples per evaluation (optional)
    recorded = "gancore compare studies/x.toml --record-bands, 2026-12-04"

A band is compared only with runs made under the settings it states
(:mod:`gancore.evaluation.bands`): the same steps, the same seeds, the same values for each
``data`` key it names (and ``num_samples`` when given).

An ``[expect]`` table is data about a recipe, not part of the model: the builder and trainer
never read it, a recipe that ``extends`` another does not inherit it, and recipe differences
(resume, the run-folder check of studies) ignore it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gancore.core.errors import RecipeError, suggest
from gancore.core.params import MAX_SEED, MAX_STEPS
from gancore.core.values import is_int, is_number

#: The keys of an ``[expect]`` table (``num_samples`` and ``recorded`` optional).
KEYS = ("metric", "interval", "steps", "seeds", "data", "num_samples", "recorded")
REQUIRED = ("metric", "interval", "steps", "seeds", "data")
_HINT = ('an [expect] table: metric = "fid", interval = [low, high], steps = N, '
         'seeds = [0, 1, 2], data = { type = "...", ... }, optional num_samples and recorded; '
         "`gancore compare STUDY --record-bands` writes it from finished runs")


class Expect(BaseModel):
    """A validated ``[expect]`` table (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    metric: str = Field(min_length=1, description='a score name: "fid", "kid_mean", "recall"...')
    interval: tuple[float, float] = Field(description="[low, high]: the band of the seed mean")
    steps: int = Field(gt=0, le=MAX_STEPS, description="the budget: generator updates")
    seeds: list[int] = Field(min_length=1, description="the training seeds of the mean")
    data: dict[str, Any] = Field(min_length=1, description="the [data] settings it holds for")
    num_samples: int | None = Field(None, gt=1, description="samples per evaluation")
    recorded: str = Field("", max_length=4000, description="how and when it was recorded")

    @field_validator("interval", mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @property
    def low(self) -> float:
        return self.interval[0]

    @property
    def high(self) -> float:
        return self.interval[1]

    def to_toml_dict(self) -> dict[str, Any]:
        """The table as written in TOML (optional keys left out when unset)."""
        out: dict[str, Any] = {"metric": self.metric, "interval": list(self.interval),
                               "steps": self.steps, "seeds": list(self.seeds),
                               "data": dict(self.data)}
        if self.num_samples is not None:
            out["num_samples"] = self.num_samples
        if self.recorded:
            out["recorded"] = self.recorded
        return out


def check_expect(raw: Any, *, source: str | None, key: str = "expect") -> Expect:
    """Validate an ``[expect]`` table as read from TOML; each error names ``key``'s entry at
    fault and the fix."""
    if not isinstance(raw, dict):
        raise RecipeError(f"[expect] must be a table (got {_shown(raw)})", source=source,
                          key=key, hint=_HINT)
    for name, value in raw.items():
        at = f"{key}.{name}"
        if name not in KEYS:
            raise RecipeError(f"unknown key {name!r}{suggest(name, list(KEYS))}",
                              source=source, key=at, hint=_HINT)
        _check_value(name, value, source, at)
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise RecipeError("missing " + ", ".join(missing), source=source, key=key,
                          hint="a band holds only under the budget it was measured at; "
                          + _HINT)
    low, high = raw["interval"]
    if low > high:
        raise RecipeError(f"the interval's low end {low} is above its high end {high}",
                          source=source, key=f"{key}.interval",
                          hint=f"write interval = [{high}, {low}]")
    return Expect.model_validate({**raw, "interval": (float(low), float(high))})


def _check_value(name: str, value: Any, source: str | None, at: str) -> None:
    def bad(expected: str) -> RecipeError:
        return RecipeError(f"{name} must be {expected} (got {_shown(value)})", source=source,
                           key=at, hint=_HINT)

    if name in ("metric", "recorded"):
        if not isinstance(value, str) or (name == "metric" and not value):
            raise bad('a string, e.g. "fid"' if name == "metric" else "a string")
    elif name == "interval":
        if (not isinstance(value, list) or len(value) != 2
                or not all(_number(v) for v in value)):
            raise bad("[low, high], two finite numbers")
    elif name in ("steps", "num_samples"):
        low = 1 if name == "steps" else 2
        if not is_int(value) or not low <= value <= (
                MAX_STEPS if name == "steps" else 10**7):
            raise bad(f"a whole number, at least {low}")
    elif name == "seeds":
        if (not isinstance(value, list) or not value
                or not all(isinstance(s, int) and not isinstance(s, bool)
                           and 0 <= s <= MAX_SEED for s in value)):
            raise bad("a list of seeds, e.g. [0, 1, 2]")
        if len(set(value)) != len(value):
            raise RecipeError(f"the seeds must be distinct (got {value})", source=source,
                              key=at, hint="give each seed once, e.g. [0, 1, 2]")
    elif name == "data" and (not isinstance(value, dict) or "type" not in value):
        raise bad('a table of [data] settings with its type, e.g. '
                  '{ type = "fashion_mnist", limit = 2000 }')


def _number(value: Any) -> bool:
    return is_number(value, finite=True)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."
