"""The run folder's writers: gancore's own callbacks, registered like a pack's.

Each is a ``callback`` component on by default (``gancore list callback`` shows them), run after
the recipe's callbacks and the packs' defaults, so it sees what they left. They write only on
the main process of a run with a folder; ``train.sample_every``, ``train.checkpoint_every``
and ``train.eval_every`` set their pace.

- ``checkpoints``: ``step_*.safetensors`` every ``checkpoint_every`` steps and
  ``last.safetensors`` with them and at the end (also when stopped or interrupted);
- ``samples``: a grid (or a 2D scatter plot) from the fixed noise every ``sample_every`` steps,
  and ``final.png``;
- ``evaluation`` (:mod:`gancore.evaluation.during_training`): the ``[eval]`` metrics every
  ``eval_every`` steps (``metrics.jsonl`` records with ``"event": "eval"``);
- ``trackers``: the recipe's trackers (TensorBoard, MLflow, W&B, a pack's): hyperparameters,
  every log record, sample grids and evaluation scores;
- ``plots``: ``loss_curves.png`` and ``eval_curves.png`` at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gancore.train import runstate


def _run(view: Any) -> Any:
    """The run behind a view (gancore's own writers may reach it)."""
    return object.__getattribute__(view, "_run")


class _Writer:
    """A writer of the main process of a run with a folder."""

    def wanted(self, view: Any) -> bool:
        return view.out is not None and view.is_main


class Checkpoints(_Writer):
    """``step_*.safetensors`` every ``train.checkpoint_every`` steps; ``last.safetensors``."""

    def on_step_done(self, view: Any, step: int) -> None:
        run = _run(view)
        every = run.cfg.checkpoint_every
        if step % every == 0 and step < run.cfg.steps:
            self.write(view, run.out / f"step_{step:07d}.safetensors")

    def write(self, view: Any, path: Path | None) -> Path | None:
        run = _run(view)
        saved = runstate.save(run, path)
        if saved is not None:
            run.events.emit("on_checkpoint", view, path or saved)
        return saved

    def on_finish(self, view: Any, reason: str) -> None:
        run = _run(view)
        if reason == "interrupt":
            runstate.save(run)
            return
        step = run.clock.step
        aligned = step % run.cfg.checkpoint_every == 0
        self.write(view, run.out / f"step_{step:07d}.safetensors" if aligned else None)


class SampleGrids(_Writer):
    """A grid from the fixed noise every ``train.sample_every`` steps, and ``final.png``."""

    def on_step_done(self, view: Any, step: int) -> None:
        if step % _run(view).cfg.sample_every == 0:
            self.write(view, f"step_{step:07d}.png")

    def write(self, view: Any, name: str, announce: bool = True) -> Path | None:
        run = _run(view)
        path = write_samples(run, name)
        if path is not None and announce:
            run.events.emit("on_samples", view, path)
        return path

    def on_finish(self, view: Any, reason: str) -> None:
        run = _run(view)
        # at a sample step the last grid is already logged: the same grid, written again
        self.write(view, "final.png", announce=run.clock.step % run.cfg.sample_every != 0)


class TrackersWriter:
    """The run's trackers (``train.trackers`` and ``--tracker``), on the main process."""

    def __init__(self) -> None:
        from gancore.tracking import Trackers

        self.trackers = Trackers([])

    def wanted(self, view: Any) -> bool:
        return view.is_main and bool(_run(view).tracker_specs)

    def on_run_start(self, view: Any) -> None:
        from gancore.tracking import Trackers, _Tracker, hparams

        run = _run(view)
        opened = []
        try:
            for key, spec in run.tracker_specs:
                obj = run.registry.make("tracker", spec, run.out, key=key,
                                        source=run.recipe.source)
                origin = run.registry.get("tracker", spec).origin
                opened.append(_Tracker(spec.type, origin, obj))
        except BaseException:
            Trackers(opened).close()
            raise
        self.trackers = Trackers(opened, echo=run.echo)
        self.trackers.log_hparams(hparams(run.recipe.to_dict()))

    def on_log(self, view: Any, record: dict[str, Any]) -> None:
        from gancore.tracking import scalars

        self.trackers.log_scalars(scalars(record), view.step)

    def on_samples(self, view: Any, path: Path) -> None:
        self.trackers.log_image("samples", path, view.step)

    def on_eval(self, view: Any, scores: dict[str, float]) -> None:
        self.trackers.log_scalars({f"eval/{k}": v for k, v in scores.items()}, view.step)

    def on_run_end(self, view: Any, result: Any) -> None:
        self.trackers.close()

    def on_failure(self, view: Any, error: BaseException) -> None:
        self.trackers.close()


class Plots(_Writer):
    """``loss_curves.png`` (and ``eval_curves.png`` with in-training evaluation) at the end."""

    def on_finish(self, view: Any, reason: str) -> None:
        from gancore.plotting.figures import save_loss_curves

        run = _run(view)
        records = run.metrics.records
        losses = [r for r in records if r.get("event") is None]
        if losses:
            save_loss_curves(losses, run.out / "loss_curves.png", loss=run.recipe.loss.type)
        scores = [r for r in records if r.get("event") == "eval"]
        if scores:
            from gancore.plotting.figures import save_eval_curves

            save_eval_curves(scores, run.out / "eval_curves.png")


def sample(run: Any, z: Any, y: Any = None) -> Any:
    """Samples (fp32, on the CPU) from the averaged generator if any, else G, in eval mode;
    the global random state is left as it was."""
    import torch

    net = run.sampling_generator
    was = net.training
    net.eval()
    devices = [run.device.index or 0] if run.device.type == "cuda" else []
    try:  # a generator that draws noise (StyleGAN) leaves the training's random stream alone
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            out = torch.cat([net(zc, None if y is None else yc)
                             for zc, yc in _chunks(z, y)])
    finally:
        net.train(was)
    return out.float().cpu()


def write_samples(run: Any, name: str) -> Path | None:
    """Save a grid (or 2D scatter plot) of samples from the run's fixed noise."""
    from gancore.plotting.figures import save_samples

    if run.out is None or not run.is_main:
        return None
    images = sample(run, run.fixed_z, run.fixed_y)
    reference = None if run.images else run.batches.x[: len(images)].float().cpu()
    return save_samples(images, run.out / "samples" / name, nrow=run.grid_rows,
                        reference=reference, title=f"step {run.clock.step}")


def _chunks(z: Any, y: Any, size: int = 256) -> Any:
    for start in range(0, z.shape[0], size):
        yield z[start : start + size], None if y is None else y[start : start + size]
