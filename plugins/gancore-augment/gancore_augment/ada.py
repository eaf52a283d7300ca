"""Adaptive discriminator augmentation (ADA, Karras et al. 2020).

Two components work together:

- the ``ada`` augment applies a pipeline of differentiable operations, each to every sample
  with probability ``p``, and keeps ``p`` (with the statistics of the running interval) as
  module state, so checkpoints hold it and ``--resume`` restores it;
- the ``ada`` callback, on by default, hands the discriminator's outputs on real images after
  every step to each ``ada`` augment of the run (:meth:`ADA.observe`), and adds ``aug_p`` (and
  ``ada_rt``) to the log records.

Every ``interval`` steps the overfitting heuristic r_t = E[sign(D(x_real))] over the
interval's real images moves ``p`` by sign(r_t - target) * images / (ada_kimg * 1000), clamped
to [0, 1]. The signs are summed on the device; the sum is read once per interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field, field_validator
from torch import nn

from gancore.plugin import Chance, Interval, Params, RecipeError, suggest
from gancore_augment import ops
from gancore_augment.augments import Ratio

#: Operations an ``ada`` pipeline may name, each applied with probability ``p``.
ADA_OPS = ("xflip", "rotate90", "translation", "brightness", "contrast", "saturation", "cutout")
#: The default pipeline: the paper's pixel blitting and colour transformations.
DEFAULT_OPS = ("xflip", "rotate90", "translation", "brightness", "contrast", "saturation")

#: Standard deviations of the paper's colour transformations (brightness is added; contrast
#: and saturation multiply by 2 ** N(0, std)).
BRIGHTNESS_STD, CONTRAST_STD, SATURATION_STD = 0.2, 0.5, 1.0

Kimg = Annotated[
    float,
    Field(gt=0.0, le=1e6, allow_inf_nan=False,
          description="thousands of real images over which p can go from 0 to 1 "
          "(0..1,000,000]"),
]
HeuristicTarget = Annotated[
    float,
    Field(ge=-1.0, le=1.0, allow_inf_nan=False,
          description="target of r_t = E[sign(D(real))], in [-1, 1]"),
]

_OPS_HINT = (f"name at least one of {', '.join(ADA_OPS)}, e.g. ops = [\"xflip\", "
             "\"translation\", \"brightness\"], or leave ops out for the default pipeline")


def check_ops(names: Sequence[str]) -> list[str]:
    """``names`` as a list, or a ``ValueError`` for an empty, unknown or repeated one."""
    names = list(names)
    if not names:
        raise ValueError(f"the ada pipeline is empty: {_OPS_HINT}")
    for name in names:
        if name not in ADA_OPS:
            raise ValueError(f"unknown operation {name!r}{suggest(name, ADA_OPS)} "
                             f"(known: {', '.join(ADA_OPS)})")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"operation {twice[0]!r} is named twice: name each operation once")
    return names


class AdaParams(Params):
    """Parameters of ``ada``."""

    ops: list[str] = Field(
        default_factory=lambda: list(DEFAULT_OPS),
        description="the pipeline, in order, each applied with probability p: "
        + ", ".join(ADA_OPS) + " (at least one)",
    )
    p: Chance = Field(0.0, description="the probability to start from, in [0, 1]")
    target: HeuristicTarget = 0.6
    interval: Interval = Field(4, description="steps between two updates of p (1..10**9)")
    ada_kimg: Kimg = 500.0
    translation_ratio: Ratio = Field(0.125, description="largest shift, fraction of the size")
    cutout_ratio: Ratio = Field(0.5, description="side of the cut square, fraction of the size")

    @field_validator("ops")
    @classmethod
    def _known_ops(cls, value: list[str]) -> list[str]:
        return check_ops(value)


class ADA(nn.Module):
    """Adaptive discriminator augmentation: ``ops`` in order, each with probability ``p``.

    ``p`` is adapted by :meth:`observe` (the ``ada`` callback calls it every step) and is part
    of the module's state with the running interval's sign sum, image and step counts.
    Apply the same instance to real and fake batches; each call draws new parameters per
    sample. At ``p = 0`` the images are returned unchanged.
    """

    Params = AdaParams
    sign_sum: torch.Tensor

    def __init__(
        self,
        ops: Sequence[str] = DEFAULT_OPS,
        p: float = 0.0,
        target: float = 0.6,
        interval: int = 4,
        ada_kimg: float = 500.0,
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        self.ops = check_ops(ops)
        self.p = float(p)
        self.target, self.interval, self.ada_kimg = float(target), int(interval), float(ada_kimg)
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio
        #: sum of sign(D(real)) over the running interval, on the device of the logits
        self.register_buffer("sign_sum", torch.zeros((), dtype=torch.int64))
        self.steps = 0  # steps observed in the running interval
        self.seen = 0  # real images observed in the running interval (this process)
        self.rt: float | None = None  # r_t of the last finished interval

    # -- the pipeline ---------------------------------------------------------------------
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.p <= 0.0 or x.dim() != 4:
            return x
        for op in self.ops:
            x = self.apply_op(op, x, generator)
        return x

    def apply_op(
        self, op: str, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Apply the operation ``op`` to each sample of ``x`` with probability ``p``."""
        n, _, h, w = x.shape
        dev = x.device
        chosen = torch.rand(n, generator=generator, device=dev) < self.p
        if op == "xflip":  # a flip or none, each half the time, as in the paper
            coin = torch.randint(0, 2, (n,), generator=generator, device=dev) == 1
            return ops.xflip(x, chosen & coin)
        if op == "rotate90":  # non-square images: half turns only
            k = torch.randint(0, 4, (n,), generator=generator, device=dev)
            k = k if h == w else k - k % 2
            return ops.rotate90(x, torch.where(chosen, k, 0))
        if op == "translation":
            sy, sx = int(h * self.translation_ratio + 0.5), int(w * self.translation_ratio + 0.5)
            dy = torch.randint(-sy, sy + 1, (n,), generator=generator, device=dev)
            dx = torch.randint(-sx, sx + 1, (n,), generator=generator, device=dev)
            return ops.translate(x, torch.where(chosen, dy, 0), torch.where(chosen, dx, 0))
        if op == "cutout":
            ch, cw = int(h * self.cutout_ratio + 0.5), int(w * self.cutout_ratio + 0.5)
            top = torch.randint(0, h, (n,), generator=generator, device=dev) - ch // 2
            left = torch.randint(0, w, (n,), generator=generator, device=dev) - cw // 2
            out = ops.cut(x, top, left, ch, cw)
        else:
            z = torch.randn(n, generator=generator, device=dev)
            if op == "brightness":
                out = ops.brightness(x, z * BRIGHTNESS_STD)
            elif op == "contrast":
                out = ops.contrast(x, torch.exp2(z * CONTRAST_STD))
            else:
                out = ops.saturation(x, torch.exp2(z * SATURATION_STD))
        return torch.where(chosen.view(n, 1, 1, 1), out, x)

    # -- the adaptation -------------------------------------------------------------------
    def observe(self, real_logits: torch.Tensor) -> float | None:
        """Add one step's discriminator outputs on real images to the running interval.

        After ``interval`` calls, ``p`` moves by sign(r_t - target) * images /
        (ada_kimg * 1000), clamped to [0, 1], where r_t is the mean sign of the interval's
        outputs and images their number (over every process when distributed); returns the
        new ``p`` then, else None. Only that step reads a value from the device.
        """
        logits = real_logits.detach()
        if self.sign_sum.device != logits.device:
            self.sign_sum = self.sign_sum.to(logits.device)
        self.sign_sum += (logits > 0).sum() - (logits < 0).sum()
        self.seen += logits.numel()
        self.steps += 1
        if self.steps < self.interval:
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
        self.p = min(max(self.p + direction * seen / (self.ada_kimg * 1000), 0.0), 1.0)
        self.rt = rt
        self.sign_sum.zero_()
        self.seen = self.steps = 0
        return self.p

    def get_extra_state(self) -> dict[str, Any]:
        return {"p": self.p, "steps": self.steps, "seen": self.seen, "rt": self.rt}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.p = float(state["p"])
        self.steps, self.seen = int(state["steps"]), int(state["seen"])
        self.rt = None if state.get("rt") is None else float(state["rt"])

    def extra_repr(self) -> str:
        return (f"ops={','.join(self.ops)!r}, p={self.p:.4g}, target={self.target}, "
                f"interval={self.interval}, ada_kimg={self.ada_kimg:g}")


class AdaUpdate:
    """Drives the ``ada`` augments of a run: after every step it hands them the
    discriminator's outputs on real images, and it logs ``aug_p`` (and ``ada_rt``, the last
    r_t); with several ``ada`` augments the keys end in ``_0``, ``_1``...

    On by default; with no ``ada`` augment in the recipe it does nothing, unless the recipe
    names it in ``[train] callbacks``, which is then an error.
    """

    optional = False

    def __init__(self) -> None:
        self.augments: list[ADA] = []

    def wanted(self, trainer: Any) -> bool:
        """Only in runs with an ``ada`` augment (or that name the callback: an error then)."""
        self.augments = [a for a in trainer.augments if isinstance(a, ADA)]
        return bool(self.augments) or any(s.type == "ada" for s in trainer.cfg.callbacks)

    def on_run_start(self, trainer: Any) -> None:
        if self.augments:
            return
        named = [i for i, spec in enumerate(trainer.cfg.callbacks) if spec.type == "ada"]
        if named:
            key = f"train.callbacks[{named[0]}]"
            raise RecipeError(
                "the ada callback adapts the probability of an ada augment, but the recipe's "
                '[[augment]] list has none: add [[augment]] type = "ada" to the recipe (the '
                'callback is on by default with it), or remove "ada" from train.callbacks',
                key=key,
            )

    def on_step_end(self, trainer: Any, step: int) -> None:
        logits = trainer.last_real_logits
        if logits is None:
            return
        for augment in self.augments:
            augment.observe(logits)

    def on_log(self, trainer: Any, record: dict[str, Any]) -> None:
        several = len(self.augments) > 1
        for j, augment in enumerate(self.augments):
            suffix = f"_{j}" if several else ""
            record[f"aug_p{suffix}"] = augment.p
            if augment.rt is not None:
                record[f"ada_rt{suffix}"] = augment.rt
