"""Training techniques: components on the named extension points of the training step.

A technique (kind ``technique``, recipe place ``train.techniques``) implements one or more
extension points, each a method the update calls at one moment of the step (the table is
:data:`gancore.core.kinds.POINTS`; ``docs/plugins.md`` documents each with an example):

- ``d_input(x)``: D's inputs, real and fake, in the D and G phases (instance noise);
- ``d_targets(loss)``: D's targets, once at the start (label smoothing);
- ``d_term(batch)``: an extra term of D's loss (a penalty written as a technique, zCR);
- ``g_select(fake_logits)``: which fakes count in G's loss (top-k);
- ``g_term(batch)``: an extra term of G's loss;
- ``freeze(networks)``: which parameters train (FreezeD);
- ``before_step(network, params)``: gradients before an optimizer step (gradient clipping);
- ``after_step(network, params)``: weights after an optimizer step (weight clipping, EMA);
- ``d_pass(forward, real, fake, y)``: how D sees the real and the fake batch (the joint pass).

A technique whose factory declares a ``run`` parameter receives the run's read-only
:class:`~gancore.train.run.RunView` (the step, total steps, images seen, networks, statistics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gancore.core.errors import RecipeError
from gancore.core.kinds import POINTS

#: Points only one technique of a run may implement (each decides one thing).
SINGLE = ("g_select", "d_pass")


@dataclass
class BoundTechnique:
    """A technique of the run: its recipe key, registered name, pack and object."""

    key: str
    name: str
    origin: str
    obj: Any

    def points(self) -> list[str]:
        """The extension points the object implements."""
        return [p for p in POINTS if callable(getattr(self.obj, p, None))]


@dataclass
class DBatch:
    """What a ``d_term`` sees: D's inputs and outputs of the D step, and D itself; ``z`` and
    ``y_g`` are the latents and labels the step's fakes were made from (``y_g`` None for an
    unconditional generator)."""

    real: Any
    fake: Any
    y: Any
    real_logits: Any
    fake_logits: Any
    discriminator: Any
    z: Any = None
    y_g: Any = None


@dataclass
class GBatch:
    """What a ``g_term`` sees: the latents, labels, fakes and D's outputs of the G step."""

    z: Any
    y: Any
    fake: Any
    fake_logits: Any
    real: Any
    real_logits: Any
    generator: Any
    discriminator: Any


class Techniques:
    """The run's techniques, their hooks grouped by extension point (in recipe order)."""

    def __init__(self, bound: list[BoundTechnique], source: str | None = None) -> None:
        self.bound = list(bound)
        hooks: dict[str, list[Callable[..., Any]]] = {p: [] for p in POINTS}
        owners: dict[str, list[BoundTechnique]] = {p: [] for p in POINTS}
        for t in self.bound:
            for point in t.points():
                hooks[point].append(getattr(t.obj, point))
                owners[point].append(t)
        for point in SINGLE:
            if len(owners[point]) > 1:
                a, b = owners[point][:2]
                raise RecipeError(
                    f"{a.key} ({a.name}) and {b.key} ({b.name}) both implement {point} "
                    f"({POINTS[point].summary}); a run can have one",
                    source=source, key=b.key, hint="remove one of them from train.techniques")
        averaged = [t for t in self.bound if getattr(t.obj, "averaged_generator", False)]
        if len(averaged) > 1:
            a, b = averaged[:2]
            raise RecipeError(
                f"{a.key} ({a.name}) and {b.key} ({b.name}) both keep an averaged generator; "
                "a run can have one", source=source, key=b.key,
                hint="remove one of them from train.techniques")
        #: the technique keeping an averaged copy of G (EMA), or None
        self.averaged = averaged[0].obj if averaged else None
        self.d_input = hooks["d_input"]
        self.d_targets = hooks["d_targets"]
        self.d_term = hooks["d_term"]
        self.g_select = hooks["g_select"][0] if hooks["g_select"] else None
        self.g_term = hooks["g_term"]
        self.freeze = hooks["freeze"]
        self.before_step = hooks["before_step"]
        self.after_step = hooks["after_step"]
        self.d_pass = hooks["d_pass"][0] if hooks["d_pass"] else None

    def __bool__(self) -> bool:
        return bool(self.bound)

    def __iter__(self) -> Any:
        return iter(self.bound)
