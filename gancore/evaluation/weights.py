"""Which generator weights a score uses: the averaged (EMA) copy or the raw weights.

A checkpoint of a run with the ``ema`` technique holds both. The EMA is used unless asked
otherwise (``--no-ema``, ``ema = false`` in a study), except when it has not yet seen its
horizon of ``1 / (1 - decay)`` averaging updates (and was not warmed up with ``rampup``): then
it still leans on the initial weights, and the raw weights are scored instead, with a note.
The update count comes from the checkpoint (``trainer.ema.updates``); checkpoints of earlier
versions give it as the step less the technique's ``start``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gancore.train.ema import horizon, is_warm

if TYPE_CHECKING:
    from gancore.assembly.build import GAN
    from gancore.assembly.checkpoint import Checkpoint
    from gancore.core.registry import Registry


@dataclass(frozen=True)
class Weights:
    """The generator weights chosen for scoring, and why."""

    ema: bool
    #: a sentence when the choice differs from what was asked (the EMA was not ready)
    note: str | None = None
    #: averaging updates the checkpoint's EMA has seen (None: no EMA in the checkpoint)
    updates: int | None = None
    horizon: float | None = None

    @property
    def label(self) -> str:
        """``EMA`` or ``raw``."""
        return "EMA" if self.ema else "raw"

    def as_dict(self) -> dict[str, Any]:
        """The result fields: ``ema`` (bool), ``weights``, ``weights_note``, ``ema_updates``."""
        return {"ema": self.ema, "weights": self.label, "weights_note": self.note,
                "ema_updates": self.updates}


def _technique(recipe: dict[str, Any]) -> dict[str, Any] | None:
    for tech in (recipe.get("train") or {}).get("techniques") or []:
        spec = {"type": tech} if isinstance(tech, str) else dict(tech)
        if str(spec.get("type", "")).rpartition(":")[2] == "ema":
            return spec
    return None


def ema_record(ckpt: Checkpoint) -> dict[str, Any] | None:
    """``updates``, ``decay``, ``rampup`` of the checkpoint's EMA (None: it holds none)."""
    if not ckpt.section("ema"):
        return None
    trainer = ckpt.info.trainer if ckpt.info is not None else None
    if trainer is not None and trainer.ema:
        return dict(trainer.ema)
    tech = _technique(ckpt.recipe)
    if tech is None:
        return None  # an EMA whose settings are unknown: trusted as it is
    decay = float(tech.get("decay", 0.999))
    return {"updates": max(0, ckpt.step - int(tech.get("start", 0))), "decay": decay,
            "rampup": tech.get("rampup")}


def choose_weights(ckpt: Checkpoint, ema: bool = True) -> Weights:
    """The weights to score ``ckpt`` with: its EMA when ``ema``, present and past its horizon."""
    if not ckpt.section("ema"):
        return Weights(False)
    record = ema_record(ckpt)
    if record is None:
        return Weights(ema)
    updates, decay = int(record["updates"]), float(record["decay"])
    span = horizon(decay)
    if not ema:
        return Weights(False, None, updates, span)
    if not is_warm(updates, decay, record.get("rampup")):
        note = (f"the EMA of G has seen {updates:,} update{'s' if updates != 1 else ''}, fewer "
                f"than its horizon 1/(1 - decay) = {span:,.0f} at decay {decay}, so it still "
                "leans on the initial weights: the raw weights are used instead (train "
                "longer, or warm the EMA up with train.techniques ema rampup = 0.05; --no-ema "
                "always uses the raw weights)")
        return Weights(False, note, updates, span)
    return Weights(True, None, updates, span)


def load_for_scoring(path: Any, *, ema: bool = True,
                     registry: Registry) -> tuple[GAN, Weights]:
    """The GAN of checkpoint ``path`` with the weights :func:`choose_weights` picks."""
    from gancore.assembly.checkpoint import check_state, from_checkpoint, read

    ckpt = read(path)
    weights = choose_weights(ckpt, ema)
    gan = from_checkpoint(ckpt, registry=registry, ema=weights.ema)
    if weights.note is not None:  # the EMA was asked for and passed over: still checked whole
        check_state(gan.generator.state_dict(), ckpt.section("ema"), section="ema",
                    path=ckpt.path)
    return gan, weights
