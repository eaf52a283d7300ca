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

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from gancore.train.run import Run


class InTrainingEval:
    """Scores the trainer's generator with the recipe's ``[eval]`` settings."""

    def __init__(self, trainer: Run, data_root: str | None = None) -> None:
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


def _run(view: Any) -> Any:
    """The run behind a view (gancore's own writers may reach it)."""
    return object.__getattribute__(view, "_run")


class Evaluation:
    """The ``[eval]`` metrics every ``train.eval_every`` steps (main process)."""

    def __init__(self) -> None:
        self.quality: Any = None

    def wanted(self, view: Any) -> bool:
        run = _run(view)
        return run.cfg.eval_every > 0 and view.is_main

    def on_run_start(self, view: Any) -> None:
        self.quality = InTrainingEval(_run(view), _run(view).data_root)

    def on_step_done(self, view: Any, step: int) -> None:
        run = _run(view)
        if step % run.cfg.eval_every != 0:
            return
        with run.clock.paused():  # not training time
            scores = self.quality.run()
        run.metrics.write({"step": step, "event": "eval", **scores})
        run.events.emit("on_eval", view, scores)
