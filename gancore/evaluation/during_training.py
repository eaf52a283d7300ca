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

import json
import math
from pathlib import Path
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
        generator = t.sampling_generator  # a young EMA is not scored (evaluation.weights)
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


#: The checkpoint ``train.keep_best`` keeps in the run folder.
BEST = "best.safetensors"
#: Its metadata key: ``{"key": score key, "value": score, "step": step}`` as JSON.
BEST_META = "best"


def best_score(path: Path) -> dict[str, Any] | None:
    """The score a ``best.safetensors`` was kept for (None: no such file or no record)."""
    from gancore.assembly.checkpoint import read
    from gancore.core.errors import GancoreError

    if not path.is_file():
        return None
    try:
        found = json.loads(read(path, tensors=False).meta.get(BEST_META, "null"))
    except (GancoreError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def score_key(scores: dict[str, float], wanted: str) -> str | None:
    """The key of ``scores`` that ``train.keep_best`` names: itself, or the first key whose
    name before ``/extractor`` it is."""
    if wanted in scores:
        return wanted
    return next((k for k in scores if k.partition("/")[0] == wanted), None)


class Evaluation:
    """The ``[eval]`` metrics every ``train.eval_every`` steps (main process), and
    ``best.safetensors`` by ``train.keep_best``."""

    def __init__(self) -> None:
        self.quality: Any = None
        self.best: dict[str, Any] | None = None

    def wanted(self, view: Any) -> bool:
        run = _run(view)
        return (run.cfg.eval_every > 0 or bool(run.cfg.keep_best)) and view.is_main

    def on_run_start(self, view: Any) -> None:
        run = _run(view)
        keep = run.cfg.keep_best
        if keep:
            _check_keep_best(run)
            if run.out is not None:
                found = best_score(run.out / BEST)  # a resumed run betters its own best
                self.best = found if found and score_key(
                    {str(found.get("key")): 0.0}, keep) else None
        if run.cfg.eval_every > 0:
            self.quality = InTrainingEval(run, run.data_root)

    def on_step_done(self, view: Any, step: int) -> None:
        run = _run(view)
        if run.cfg.eval_every == 0 or step % run.cfg.eval_every != 0:
            return
        with run.clock.paused():  # not training time
            scores = self.quality.run()
        run.metrics.write({"step": step, "event": "eval", **scores,
                           **({"weights": run.sampling_weights} if run.ema is not None else {})})
        run.events.emit("on_eval", view, scores)
        if run.cfg.keep_best and run.out is not None:
            self.keep_best(run, scores, step)

    def keep_best(self, run: Any, scores: dict[str, float], step: int) -> None:
        """Write ``best.safetensors`` (atomically) when ``scores`` better the best so far."""
        from gancore.assembly import checkpoint
        from gancore.core.errors import RecipeError
        from gancore.evaluation.stats import direction
        from gancore.train import runstate

        key = score_key(scores, run.cfg.keep_best)
        if key is None:
            raise RecipeError(
                f"the in-training evaluation has no score {run.cfg.keep_best!r} (it has "
                f"{', '.join(scores) or 'none'})", source=run.recipe.source,
                key="train.keep_best", hint="name one of those scores, or add its metric to "
                "[eval] metrics")
        value, sign = scores[key], direction(key) or -1
        if not math.isfinite(value):
            return
        if self.best is not None and isinstance(self.best.get("value"), int | float) \
                and sign * value <= sign * self.best["value"]:
            return
        self.best = {"key": key, "value": value, "step": step}
        tensors, meta = runstate.checkpoint_payload(run)
        checkpoint.save(run.gan, run.out / BEST, step=step, extra_tensors=tensors,
                        extra_meta={**meta, BEST_META: json.dumps(self.best)},
                        registry=run.registry)


def _check_keep_best(run: Any) -> None:
    """``train.keep_best`` names a score with a direction, and the run evaluates."""
    from gancore.core.errors import RecipeError, suggest
    from gancore.evaluation.stats import DIRECTIONS, direction

    keep = run.cfg.keep_best
    if direction(keep) is None:
        raise RecipeError(
            f"keep_best needs a score whose better direction is known (got {keep!r}"
            f"{suggest(keep.partition('/')[0], DIRECTIONS)})", source=run.recipe.source,
            key="train.keep_best", hint="one of " + ", ".join(DIRECTIONS))
    if run.cfg.eval_every == 0:
        raise RecipeError(
            "keep_best needs in-training evaluation, but train.eval_every is 0",
            source=run.recipe.source, key="train.keep_best",
            hint=f"set train.eval_every (e.g. {max(1, run.cfg.steps // 10)}), or remove "
                 "keep_best")
