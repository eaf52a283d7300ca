"""Experiment trackers (the ``tracker`` kind) and the fan-out the trainer talks to.

Built in: ``jsonl`` (``metrics.jsonl``, always on), ``tensorboard`` (extra
``gancore[tensorboard]``), ``mlflow`` (``gancore[mlflow]``) and ``wandb`` (``gancore[wandb]``).
The libraries are imported when a tracker is made, never at start-up; a missing one is one
error naming the extra to install. Trackers run on rank 0 only. A tracker that raises while
logging is disabled with a warning (trackers observe a run; they never stop it).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gancore.core.errors import GancoreError
from gancore.core.values import is_number


class TrackerWarning(UserWarning):
    """A tracker failed while logging and was disabled."""


class MissingExtraError(GancoreError):
    """A tracker needs a package that is not installed."""


def require(module: str, extra: str, tracker: str) -> Any:
    """Import ``module`` or raise one error naming ``gancore[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"the {tracker} tracker needs the {module.split('.')[0]!r} package, which is not "
            f"installed ({exc})",
            key="train.trackers",
            hint=f'pip install "gancore[{extra}]"',
        ) from None


def hparams(recipe: dict[str, Any]) -> dict[str, Any]:
    """The resolved recipe flattened to ``{"train.batch_size": 64, ...}`` (lists as text)."""
    from gancore.recipe.diff import flatten_dict

    out: dict[str, Any] = {}
    for key, value in flatten_dict(recipe).items():
        if isinstance(value, list | tuple):
            value = str(value)
        out[key] = value
    return out


@dataclass
class _Tracker:
    name: str
    origin: str
    obj: Any


class Trackers:
    """Every tracker of the run; each call reaches those that implement it."""

    def __init__(self, trackers: list[_Tracker], echo: Callable[[str], None] | None = None):
        self.trackers = trackers
        self.echo = echo

    def __bool__(self) -> bool:
        return bool(self.trackers)

    def _call(self, method: str, *args: Any) -> None:
        for t in list(self.trackers):
            fn = getattr(t.obj, method, None)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception as exc:
                self.trackers.remove(t)
                text = (f"tracker {t.name!r} from {t.origin} raised {type(exc).__name__} in "
                        f"{method}: {exc}; it is disabled and training goes on")
                warnings.warn(text, TrackerWarning, stacklevel=3)
                if self.echo is not None:
                    self.echo(f"warning: {text}")

    def log_hparams(self, params: dict[str, Any]) -> None:
        self._call("log_hparams", params)

    def log_scalars(self, values: dict[str, float], step: int) -> None:
        self._call("log_scalars", values, step)

    def log_image(self, name: str, path: Any, step: int) -> None:
        self._call("log_image", name, path, step)

    def close(self) -> None:
        self._call("close")


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The float values of a record, ``step`` left out."""
    return {k: float(v) for k, v in record.items()
            if k != "step" and is_number(v)}
