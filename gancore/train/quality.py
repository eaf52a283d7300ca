"""Quality over training: the recipe's ``[eval]`` metrics every ``train.eval_every`` steps.

Each evaluation scores the EMA generator (the raw one without EMA) on ``train.eval_samples``
generated and real samples with :func:`gancore.evaluation.evaluator.evaluate_gan`, which keeps
the real statistics (and a trained ``classifier`` extractor) in gancore's cache
(``$GANCORE_CACHE``), so they are computed once for the run. Scores are keyed
``<metric>/<extractor>`` (``fid/classifier``). The evaluation draws from its own seeded
generators and runs inside ``torch.random.fork_rng``, so it does not change the training's
random stream: a run resumes bit-exactly with or without it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from gancore.train.trainer import Trainer


class InTrainingEval:
    """Scores the trainer's generator with the recipe's ``[eval]`` settings."""

    def __init__(self, trainer: Trainer, data_root: str | None = None) -> None:
        from gancore.evaluation.evaluator import EvalSettings

        self.trainer = trainer
        self.settings = EvalSettings(
            num_samples=trainer.cfg.eval_samples,
            data_root=data_root,
            device=str(trainer.device),
            cache=True,
        )

    def run(self) -> dict[str, float]:
        """The scores now (floats keyed ``<metric>/<extractor>``)."""
        from gancore.assembly.build import GAN
        from gancore.evaluation.evaluator import evaluate_gan, score_keys

        t = self.trainer
        generator = t.ema.module if t.ema is not None else t.G
        modules = [generator, t.G, t.D]
        modes = [[m.training for m in net.modules()] for net in modules]
        view = GAN(generator, t.D, t.recipe, t.gan.data, t.loss)
        devices = [t.device.index or 0] if t.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):
                result = evaluate_gan(view, self.settings, registry=t.registry)
        finally:
            for net, flags in zip(modules, modes, strict=True):
                for m, flag in zip(net.modules(), flags, strict=True):
                    m.training = flag
        return {k: float(result[k]) for k in score_keys(result)
                if isinstance(result[k], int | float) and not isinstance(result[k], bool)}


def save_eval_curves(records: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """One panel per score (``fid/classifier``...) against the step, saved atomically."""
    from gancore.io import save_figure
    from gancore.train.plots import _figure

    keys = sorted({k for r in records for k in r if k not in ("step", "event")})
    cols = min(len(keys), 3) or 1
    rows = math.ceil(len(keys) / cols) or 1
    fig = _figure(4.0 * cols, 3.0 * rows)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), int | float)]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_title(key)
        ax.set_xlabel("step")
    fig.tight_layout()
    return save_figure(fig, path, what="the evaluation curves")
