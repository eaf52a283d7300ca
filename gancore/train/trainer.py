"""The trainer: a run of any built GAN, configured by the recipe's ``[train]`` section.

>>> trainer = Trainer("recipes/dcgan-32.toml", overrides=["data.type=shapes"], out="runs/x")
>>> trainer.fit()

:class:`Trainer` is the public face of a run; the work is done by small modules:
:mod:`~gancore.train.setup` makes the run's parts, :mod:`~gancore.train.update` holds the
step's maths in phases, :mod:`~gancore.train.loop` runs steps and events,
:mod:`~gancore.train.runstate` keeps the run on disk (resume, ``--init-from``, checkpoints),
and :mod:`~gancore.train.writers` writes the run folder as callbacks. Every random draw comes
from the global torch RNG (seeded ``seed + rank``) or the batch sampler's generator, both
saved in checkpoints, so a run resumed at step N continues exactly as if it had not stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gancore.recipe import Recipe
from gancore.recipe.diff import RESUMABLE_KEYS, flatten_dict, recipe_differences
from gancore.train import distributed as dist_mod
from gancore.train import runstate, setup, writers
from gancore.train.loop import Interrupted, TrainResult, fit, sigint_flag
from gancore.train.numerics import bf16_supported
from gancore.train.report import LogStats as _Stats
from gancore.train.run import Run
from gancore.train.runstate import (
    LAST,
    RecipeMismatch,
    TrainingError,
    check_out_dir,
    make_out_dir,
)
from gancore.train.setup import pick_device

__all__ = [
    "LAST",
    "RESUMABLE_KEYS",
    "Interrupted",
    "RecipeMismatch",
    "RunOutcome",
    "TrainResult",
    "Trainer",
    "TrainingError",
    "_Stats",
    "bf16_supported",
    "check_out_dir",
    "flatten_dict",
    "make_out_dir",
    "pick_device",
    "recipe_differences",
    "sigint_flag",
    "train",
    "train_run",
]


class Trainer:
    """Trains a GAN built from a recipe; writes a run folder when ``out`` is given.

    ``overrides`` are ``--set`` assignments; ``steps`` overrides ``train.steps`` (the total
    number of generator updates). ``resume`` continues from ``out/last.safetensors``;
    ``init_from`` starts from another checkpoint's weights (matching names and shapes).
    The run's parts (``G``, ``D``, ``loss``, ``opt_g``, ``augments``, ``callbacks``...) are
    attributes of the trainer, read from its :class:`~gancore.train.run.Run`.
    """

    def __init__(
        self,
        recipe: str | Path | dict[str, Any] | Recipe,
        *,
        overrides: Sequence[str] = (),
        steps: int | None = None,
        out: str | Path | None = None,
        resume: bool = False,
        init_from: str | Path | None = None,
        data_root: str | None = None,
        registry: Any = None,
        progress: bool = False,
        echo: Callable[[str], None] | None = None,
        trackers: Sequence[str] = (),
    ) -> None:
        self.run: Run = setup.assemble(
            recipe, overrides=overrides, steps=steps, out=out, resume=resume,
            init_from=init_from, data_root=data_root, registry=registry, progress=progress,
            echo=echo, trackers=trackers)

    def __getattr__(self, name: str) -> Any:
        run = self.__dict__.get("run")
        if run is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(run, name)

    # -- where the run is ---------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self.run.clock.step

    @property
    def images_seen(self) -> int:
        return self.run.clock.images_seen

    @property
    def seconds(self) -> float:
        return self.run.clock.seconds

    @property
    def d_updates(self) -> int:
        return self.run.clock.d_updates

    @property
    def view(self) -> Any:
        """The read-only view callbacks and techniques get."""
        return self.run.view

    @property
    def stats(self) -> _Stats:
        return self.run.log_stats

    @property
    def log(self) -> Any:
        return self.run.metrics

    @property
    def last_real_logits(self) -> torch.Tensor | None:
        return self.run.report.latest("d.real_logits", None)

    @property
    def last_fake_logits(self) -> torch.Tensor | None:
        return self.run.report.latest("d.fake_logits", None)

    @property
    def callbacks(self) -> list[Any]:
        """The run's callbacks (``Bound``): the recipe's, then the packs' defaults; gancore's
        own writers (``run.callbacks``) left out."""
        return [b for b in self.run.callbacks if not b.core]

    @property
    def top_k(self) -> Any:
        """The top-k schedule of a ``top_k`` technique, or None."""
        for t in self.run.techniques:
            if t.name == "top_k":
                return t.obj.schedule
        return None

    # -- what it does -------------------------------------------------------------------------
    def fit(self, stop_at: int | None = None) -> TrainResult:
        """Train up to ``train.steps`` generator updates (or ``stop_at``, as if the run were
        killed there); returns a :class:`TrainResult`."""
        return fit(self.run, stop_at)

    def train_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One generator update after ``n_critic`` discriminator updates; returns the losses."""
        return self.run.update.step()

    def sample(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Samples (fp32, on the CPU) from the EMA generator if any, else G, in eval mode."""
        return writers.sample(self.run, z, y)

    def write_samples(self, name: str) -> Path | None:
        """Save a grid (or 2D scatter plot) of samples from the fixed noise."""
        return writers.write_samples(self.run, name)

    def save(self, path: Path | None = None) -> Path | None:
        """Write ``last.safetensors`` (and ``path`` if given) on the main rank."""
        return runstate.save(self.run, path)

    def checkpoint_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """The tensors and metadata a checkpoint adds to the weights."""
        return runstate.checkpoint_payload(self.run)

    def stateful_components(self) -> list[Any]:
        """The run's components whose state goes into checkpoints."""
        return runstate.stateful_components(self.run)

    def close(self) -> None:
        """Let go of the run folder; leave the distributed process group, if one was joined."""
        self.run.lock.release()
        dist_mod.teardown(self.run.dist)


@dataclass
class RunOutcome:
    """What :func:`train_run` did: the run's checkpoint, whether it trained (False: the run
    in the folder was finished already), the step it started from, and the result."""

    checkpoint: Path
    trained: bool
    started_at: int
    result: TrainResult | None = None


def train_run(
    recipe: str | Path | dict[str, Any] | Recipe,
    out: str | Path,
    *,
    steps: int | None = None,
    overrides: Sequence[str] = (),
    init_from: str | Path | None = None,
    registry: Any = None,
    echo: Callable[[str], None] | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> RunOutcome:
    """Make sure the run folder ``out`` holds ``recipe`` trained to ``steps`` (default: the
    recipe's ``train.steps``): a finished run is left as it is, a shorter or killed one is
    resumed from its last checkpoint, a missing one is trained (from ``init_from``'s weights
    when given). A folder holding another recipe's run is a :class:`RecipeMismatch` naming the
    differences. ``kwargs`` go to :class:`Trainer` (``data_root``, ``progress``...)."""
    from gancore.assembly.checkpoint import read
    from gancore.packs.loader import get_registry
    from gancore.recipe import load_recipe, resolve

    registry = registry or get_registry()
    say = echo or (lambda text: None)
    who = f"{name}: " if name else ""
    out = Path(out)
    target = steps or load_recipe(recipe, list(overrides)).train.steps
    last = out / LAST
    resume, started = False, 0
    if last.is_file():
        wanted = resolve(load_recipe(recipe, list(overrides)), registry).to_dict()
        runstate.read_resume(out, wanted, tensors=False)  # a different recipe is refused
        started = read(last, tensors=False).step
        if started >= target:
            say(f"{who}loading the finished run in {out} (step {started})")
            return RunOutcome(last, False, started)
        say(f"{who}resuming {out} from step {started} to {target}")
        resume = True
    else:
        say(f"{who}training {target} steps -> {out}")
    trainer = Trainer(recipe, overrides=overrides, steps=target, out=out, resume=resume,
                      init_from=None if resume else init_from, registry=registry, echo=echo,
                      **kwargs)
    try:
        result = trainer.fit()
    finally:
        trainer.close()
    return RunOutcome(result.checkpoint or last, True, started, result)


def train(recipe: str | Path | dict[str, Any] | Recipe, **kwargs: Any) -> TrainResult:
    """Build a :class:`Trainer` with ``kwargs`` and run it to the end."""
    trainer = Trainer(recipe, **kwargs)
    try:
        return trainer.fit()
    finally:
        trainer.close()
