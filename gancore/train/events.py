"""Training events delivered to callbacks (the ``callback`` kind).

Each event has a list of ``(callback, bound method)`` pairs, built once when the run starts, so
an event nobody listens to costs one truth test; ``on_step_end`` with no listener costs nothing
more than ``if events.step:``. A callback that raises stops the run with one message naming it
and its pack (the trainer saves a checkpoint first), unless it is ``optional``: then it is
disabled with a warning and the run goes on.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gancore.core.errors import GancoreError, RecipeError
from gancore.core.kinds import KINDS

#: ``(event, number of arguments after the trainer)``, in the order they happen.
EVENTS: tuple[tuple[str, int], ...] = tuple(
    (name, n - 1) for name, n in KINDS["callback"].extra["events"]
)
EVENT_NAMES = tuple(name for name, _ in EVENTS)


class CallbackWarning(UserWarning):
    """An optional callback failed and was disabled."""


class CallbackError(GancoreError):
    """A callback raised; the run stopped."""


class StopTraining(Exception):
    """Raised by a callback to end the run early as a normal end (``run.stop(reason)`` does
    the same from anywhere): the checkpoint is saved, the final files are written,
    ``reason`` goes to the log, and ``gancore train`` exits with status 0."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Bound:
    """A callback of the run: its recipe key, registered name, pack and object."""

    key: str
    name: str
    origin: str
    obj: Any
    #: the recipe's ``optional = true`` on the reference
    forced_optional: bool = False
    #: one of gancore's own writers: its errors (a full disk) are the run's, raised as they are
    core: bool = False

    @property
    def optional(self) -> bool:
        return self.forced_optional or bool(getattr(self.obj, "optional", False))

    def who(self) -> str:
        return f"callback {self.name!r} from {self.origin} ({self.key})"


class Events:
    """The run's callbacks, grouped by event."""

    def __init__(self, callbacks: list[Bound], echo: Callable[[str], None] | None = None,
                 stop: Callable[[str], None] | None = None) -> None:
        self.callbacks = list(callbacks)
        self.echo = echo
        #: what a :class:`StopTraining` from a callback calls (the run's ``stop``)
        self.stop = stop
        self.handlers: dict[str, list[tuple[Bound, Callable[..., Any]]]] = {
            event: [(cb, getattr(cb.obj, event)) for cb in self.callbacks
                    if callable(getattr(cb.obj, event, None))]
            for event in EVENT_NAMES
        }
        #: the listeners of ``on_step_end`` (the per-step fast path tests this list)
        self.step = self.handlers["on_step_end"]

    def start(self, trainer: Any) -> None:
        """Drop the callbacks that are not ``wanted`` in this run, then ``on_run_start``.

        A :class:`RecipeError` from either is the user's: it propagates as it is.
        """
        for cb in list(self.callbacks):
            wanted = getattr(cb.obj, "wanted", None)
            if not callable(wanted):
                continue
            try:
                keep = wanted(trainer)
            except StopTraining as stop:
                self.stopped(cb, stop)
                continue
            except RecipeError:
                raise
            except Exception as exc:
                self.failed(cb, "wanted", exc)
                continue
            if not keep:
                self.disable(cb)
                self.callbacks.remove(cb)
        self.emit("on_run_start", trainer, user_errors=True)

    def emit(self, event: str, trainer: Any, *args: Any, user_errors: bool = False) -> None:
        """Call every listener of ``event``; see the module docstring for failures."""
        handlers = self.handlers[event]
        if not handlers:
            return
        for cb, fn in list(handlers):
            try:
                fn(trainer, *args)
            except StopTraining as stop:
                self.stopped(cb, stop)
            except Exception as exc:
                if user_errors and isinstance(exc, RecipeError):
                    raise
                self.failed(cb, event, exc)

    def step_end(self, trainer: Any, step: int) -> None:
        for cb, fn in list(self.step):
            try:
                fn(trainer, step)
            except StopTraining as stop:
                self.stopped(cb, stop)
            except Exception as exc:
                self.failed(cb, "on_step_end", exc)

    def stopped(self, cb: Bound, stop: StopTraining) -> None:
        """A callback asked the run to stop: a normal end, with its reason."""
        if self.stop is None:
            raise stop
        self.stop(stop.reason, cb.who())

    def failed(self, cb: Bound, event: str, exc: Exception) -> None:
        if cb.core:
            raise exc
        what = f"{cb.who()} raised {type(exc).__name__} in {event}: {exc}"
        if not cb.optional:
            raise CallbackError(
                what,
                hint=f"fix or update the pack {cb.origin!r}, remove the callback from "
                "[train] callbacks, or mark it optional (optional = True) to keep training "
                "without it",
            ) from exc
        self.disable(cb)
        text = f"{what}; it is optional, so it is disabled and training goes on"
        warnings.warn(text, CallbackWarning, stacklevel=2)
        if self.echo is not None:
            self.echo(f"warning: {text}")

    def disable(self, cb: Bound) -> None:
        for event in EVENT_NAMES:
            self.handlers[event][:] = [(c, f) for c, f in self.handlers[event] if c is not cb]

    def fail_quietly(self, trainer: Any, error: BaseException) -> None:
        """``on_failure`` for everyone; an error there only warns (the run is failing)."""
        for cb, fn in list(self.handlers["on_failure"]):
            try:
                fn(trainer, error)
            except Exception as exc:
                warnings.warn(f"{cb.who()} raised {type(exc).__name__} in on_failure: {exc}",
                              CallbackWarning, stacklevel=2)
