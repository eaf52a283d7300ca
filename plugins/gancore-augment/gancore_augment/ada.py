"""Adaptive discriminator augmentation (ADA, Karras et al. 2020, "Training generative
adversarial networks with limited data").

The ``ada`` augment applies the reference's pipeline (:mod:`gancore_augment.pipeline`, after
NVlabs/stylegan2-ada-pytorch ``training/augment.py``; the ``bgc`` preset by default) with a
probability ``p`` that it adapts itself, as the reference's training loop does
(``training/training_loop.py``, "Execute ADA heuristic"; POSTECH-CVLab/PyTorch-StudioGAN
``src/worker.py``, "apply ada heuristics"):

- every critic batch feeds the overfitting heuristic: the augment subscribes to the run's
  ``d.real_logits`` (published once per discriminator update, ``n_critic`` times a step) and
  adds ``sign(D(x_real) − t)`` to a sum kept on the device, ``t`` being the loss's decision
  threshold (``run.decision_threshold``: 0 for BCE and hinge, 0.5 for the default least
  squares; a loss without one cannot drive ADA and is refused when the recipe is checked);
- every ``interval`` steps (``interval × n_critic`` batches), r_t = E[sign(D(x_real) − t)]
  over the N images of the interval moves ``p`` by sign(r_t − target) · N / (ada_kimg · 1000),
  clamped to [0, ``p_max``]. The sum is read from the device once per interval.

``p``, the running sum and counts are the module's state (``--resume`` continues exactly). The
``ada`` callback, on by default, adds ``aug_p`` and ``ada_rt`` to the log records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field, field_validator, model_validator
from torch import nn

from gancore.plugin import Chance, Interval, Params, RecipeError
from gancore_augment import opsets, pipeline
from gancore_augment.augments import Ratio

#: Operations an ``ada`` pipeline may name (the reference's, and cutout).
ADA_OPS = opsets.ORDER
#: The default pipeline: the reference's ``bgc`` (blitting, geometry, colour).
DEFAULT_OPS = "bgc"

Kimg = Annotated[
    float,
    Field(gt=0.0, le=1e6, allow_inf_nan=False,
          description="thousands of real images over which p can go from 0 to 1 "
          "(0..1,000,000]"),
]
HeuristicTarget = Annotated[
    float,
    Field(ge=-1.0, le=1.0, allow_inf_nan=False,
          description="target of r_t = E[sign(D(real) - threshold)], in [-1, 1]"),
]


def check_ops(names: str | Sequence[str]) -> str | list[str]:
    """``names`` validated (a preset or a list of operations), or a ``ValueError``."""
    return opsets.check_ops(names)


class AdaParams(Params):
    """Parameters of ``ada``."""

    ops: str | list[str] = Field(
        DEFAULT_OPS,
        description="a preset (" + ", ".join(opsets.PRESETS) + ") or a list of operations ("
        + ", ".join(ADA_OPS) + "), applied in the reference's order",
    )
    p: Chance = Field(0.0, description="the probability to start from, in [0, p_max]")
    target: HeuristicTarget = 0.6
    interval: Interval = Field(4, description="steps between two updates of p (1..10**9)")
    ada_kimg: Kimg = 500.0
    p_max: Chance = Field(1.0, description="the largest p, in [0, 1] (0.8: below the leaks)")
    translation_ratio: Ratio = Field(
        0.125, description="largest integer shift (xint), fraction of the size")
    cutout_ratio: Ratio = Field(0.5, description="side of the cut square, fraction of the size")

    @field_validator("ops")
    @classmethod
    def _known_ops(cls, value: str | list[str]) -> str | list[str]:
        return check_ops(value)

    @model_validator(mode="after")
    def _p_below_cap(self) -> AdaParams:
        if self.p > self.p_max:
            raise ValueError(f"p = {self.p} is above p_max = {self.p_max}: start at or below "
                             "the cap")
        return self


class ADA(nn.Module):
    """Adaptive discriminator augmentation: the reference's pipeline at an adaptive ``p``.

    Made in a run (it declares ``run``), it subscribes to ``d.real_logits`` and adapts ``p``
    itself. Made without a run, call :meth:`observe` with each batch of D's outputs on real
    images (threshold 0 unless :attr:`threshold` is set; each call counts as a step). Apply the
    same instance to real and fake batches; each call draws new parameters per sample. At
    ``p = 0`` the images are returned unchanged (and no random number is drawn).
    """

    Params = AdaParams
    sign_sum: torch.Tensor

    def __init__(
        self,
        ops: str | Sequence[str] = DEFAULT_OPS,
        p: float = 0.0,
        target: float = 0.6,
        interval: int = 4,
        ada_kimg: float = 500.0,
        p_max: float = 1.0,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
        *,
        run: Any = None,
    ) -> None:
        super().__init__()
        self.spec = check_ops(ops if isinstance(ops, str) else list(ops))
        self.ops = opsets.expand(self.spec)
        self.p_max = float(p_max)
        self.p = min(float(p), self.p_max)
        self.target, self.interval, self.ada_kimg = float(target), int(interval), float(ada_kimg)
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio
        self.strengths = pipeline.Strengths(xint_max=translation_ratio, cutout_size=cutout_ratio)
        #: sum of sign(D(real) - threshold) over the running interval, on the logits' device
        self.register_buffer("sign_sum", torch.zeros((), dtype=torch.int64))
        self.batches = 0  # D batches observed in the running interval
        self.seen = 0  # real images observed in the running interval (this process)
        self.rt: float | None = None  # r_t of the last finished interval
        #: the loss's decision threshold; None: read from the run at the first batch
        self.threshold: float | None = None if run is not None else 0.0
        self._run = run
        self._per_step = 1
        if run is not None:
            self._per_step = int(run.recipe.train.n_critic)
            run.stats.subscribe("d.real_logits", self.observe)

    # -- the pipeline ---------------------------------------------------------------------
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.p <= 0.0 or x.dim() != 4:
            return x
        return pipeline.augment(x, self.ops, self.p, generator, self.strengths)

    # -- the adaptation -------------------------------------------------------------------
    def _threshold(self) -> float:
        if self.threshold is None:
            value = self._run.decision_threshold
            if value is None:
                loss = self._run.recipe.loss.type
                raise RecipeError(
                    f"ada adapts p from D's outputs on real images above the loss's decision "
                    f"threshold, and the {loss!r} loss has none", key="loss.type",
                    hint="use a loss with a fixed threshold (bce, hinge, least_squares) or a "
                    'fixed augmentation (type = "diffaugment")')
            self.threshold = float(value)
        return self.threshold

    def observe(self, real_logits: torch.Tensor) -> float | None:
        """Add one batch of D's outputs on real images to the running interval.

        After ``interval`` steps' batches, ``p`` moves by sign(r_t − target) · N /
        (ada_kimg · 1000), clamped to [0, p_max], where r_t is the mean of
        sign(D(x) − threshold) over the interval's N outputs (over every process when
        distributed); returns the new ``p`` then, else None. Only that batch reads a value
        from the device.
        """
        logits = real_logits.detach()
        threshold = self._threshold()
        if self.sign_sum.device != logits.device:
            self.sign_sum = self.sign_sum.to(logits.device)
        self.sign_sum += (logits > threshold).sum() - (logits < threshold).sum()
        self.seen += logits.numel()
        self.batches += 1
        if self.batches < self.interval * self._per_step:
            return None
        total, seen = self.sign_sum, self.seen
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            world = torch.distributed.get_world_size()
            if world > 1:
                total = total.clone()
                torch.distributed.all_reduce(total)
                seen *= world
        rt = int(total) / seen if seen else 0.0  # the host sync, once per interval
        direction = (rt > self.target) - (rt < self.target)
        self.p = min(max(self.p + direction * seen / (self.ada_kimg * 1000), 0.0), self.p_max)
        self.rt = rt
        self.sign_sum.zero_()
        self.seen = self.batches = 0
        return self.p

    def get_extra_state(self) -> dict[str, Any]:
        return {"p": self.p, "batches": self.batches, "seen": self.seen, "rt": self.rt}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.p = float(state["p"])
        # "steps": the name of gancore-augment 0.1 (one batch a step)
        self.batches = int(state.get("batches", state.get("steps", 0)))
        self.seen = int(state["seen"])
        self.rt = None if state.get("rt") is None else float(state["rt"])

    def extra_repr(self) -> str:
        spec = self.spec if isinstance(self.spec, str) else ",".join(self.spec)
        return (f"ops={spec!r}, p={self.p:.4g}, target={self.target}, interval={self.interval}, "
                f"ada_kimg={self.ada_kimg:g}, p_max={self.p_max:g}")


class AdaUpdate:
    """Logs the ``ada`` augments of a run: ``aug_p`` (and ``ada_rt``, the last r_t) in every
    log record; with several ``ada`` augments the keys end in ``_0``, ``_1``...

    The augments adapt ``p`` themselves (from every critic batch); this callback only reports
    them. On by default; with no ``ada`` augment in the recipe it does nothing, unless the
    recipe names it in ``[train] callbacks``, which is then an error.
    """

    optional = False

    def __init__(self) -> None:
        self.augments: list[ADA] = []

    def wanted(self, run: Any) -> bool:
        """Only in runs with an ``ada`` augment (or that name the callback: an error then)."""
        self.augments = [a for a in run.components("augment") if isinstance(a, ADA)]
        return bool(self.augments) or any(s.type == "ada" for s in run.recipe.train.callbacks)

    def on_run_start(self, run: Any) -> None:
        if self.augments:
            return
        named = [i for i, spec in enumerate(run.recipe.train.callbacks) if spec.type == "ada"]
        if named:
            key = f"train.callbacks[{named[0]}]"
            raise RecipeError(
                "the ada callback reports the probability of an ada augment, but the recipe's "
                '[[augment]] list has none: add [[augment]] type = "ada" to the recipe (the '
                'callback is on by default with it), or remove "ada" from train.callbacks',
                key=key,
            )

    def on_log(self, run: Any, record: dict[str, Any]) -> None:
        several = len(self.augments) > 1
        for j, augment in enumerate(self.augments):
            suffix = f"_{j}" if several else ""
            record[f"aug_p{suffix}"] = augment.p
            if augment.rt is not None:
                record[f"ada_rt{suffix}"] = augment.rt
