"""A training run's parts (:class:`Run`), its clock, and the read-only view components get.

The set-up (:mod:`gancore.train.setup`) fills a :class:`Run`; the update
(:mod:`gancore.train.update`) and the loop (:mod:`gancore.train.loop`) work on it. Callbacks,
techniques, augments and penalties never see it: they get a :class:`RunView`, the documented,
read-only face of the run (step, images seen, networks, optimizers, device, statistics, and
:meth:`RunView.stop`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from gancore.recipe import Recipe
    from gancore.train.report import Report


@dataclass
class Clock:
    """Where the run is: generator updates done, discriminator updates, images, seconds.

    ``step`` counts finished generator updates; during a step it is the number of the step
    being made (0-based), and it advances right after the generator's optimizer step.
    """

    total_steps: int
    step: int = 0
    d_updates: int = 0
    images_seen: int = 0
    seconds: float = 0.0
    #: seconds spent in :meth:`paused` blocks (evaluation), left out of ``seconds``
    paused_s: float = 0.0

    @property
    def progress(self) -> float:
        """``step / total_steps``, in [0, 1]."""
        return min(1.0, self.step / max(self.total_steps, 1))

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside does not count as training time (images/s, ``elapsed_s``)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.paused_s += time.perf_counter() - start


@dataclass
class Run:
    """Everything a run is made of (filled by :func:`gancore.train.setup.assemble`)."""

    recipe: Recipe
    registry: Any
    clock: Clock
    report: Report
    echo: Callable[[str], None]
    out: Path | None = None
    progress: bool = False
    dist: Any = None
    device: Any = None
    gan: Any = None
    G: Any = None
    D: Any = None
    G_train: Any = None
    D_train: Any = None
    loss: Any = None
    class_loss: bool = False
    images: bool = True
    g_conditional: bool = False
    d_conditional: bool = False
    numerics: Any = None
    precision: str = "fp32"
    amp_dtype: Any = None
    scaler: Any = None
    channels_last: bool = False
    training_data: Any = None
    dataset: Any = None
    batches: Any = None
    #: the data path's speed against the step's (:mod:`gancore.train.datapath`), if measured
    data_path: Any = None
    augments: list[Any] = field(default_factory=list)
    penalties: list[Any] = field(default_factory=list)
    techniques: Any = None
    g_params: list[Any] = field(default_factory=list)
    d_params: list[Any] = field(default_factory=list)
    d_frozen: list[Any] = field(default_factory=list)
    opt_g: Any = None
    opt_d: Any = None
    sched_g: Any = None
    sched_d: Any = None
    callbacks: list[Any] = field(default_factory=list)
    events: Any = None
    tracker_specs: list[Any] = field(default_factory=list)
    fixed_z: Any = None
    fixed_y: Any = None
    grid_rows: int | None = None
    metrics: Any = None
    log_stats: Any = None
    update: Any = None
    view: RunView | None = None
    data_root: str | None = None
    stop_reason: str | None = None
    #: who asked for the stop (``callback 'x' from pack (train.callbacks[0])``), if known
    stop_by: str | None = None
    last_checkpoint: Path | None = None
    #: the run folder's one-writer lock (:mod:`gancore.storage.lock`)
    lock: Any = None

    @property
    def cfg(self) -> Any:
        """The ``[train]`` section."""
        return self.recipe.train

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    @property
    def ema(self) -> Any:
        """The averaged generator's technique (``train.techniques`` ``ema``), or None."""
        return None if self.techniques is None else self.techniques.averaged

    @property
    def sampling_generator(self) -> nn.Module:
        """The averaged generator when the run keeps one and it is warm (warmed up by
        ``rampup``, or past its horizon of ``1 / (1 - decay)`` updates), else G: the rule
        evaluation uses (:mod:`gancore.evaluation.weights`), so a run's sample grids and
        in-training scores come from the weights ``gancore eval`` and ``sample`` would use."""
        return self.ema.module if self.sampling_weights == "EMA" else self.G

    @property
    def sampling_weights(self) -> str:
        """``EMA`` or ``raw``: which weights :attr:`sampling_generator` is now (a pack's
        averaging technique without a ``warm`` flag counts as warm)."""
        ema = self.ema
        return "EMA" if ema is not None and getattr(ema, "warm", True) else "raw"

    def steps_per_epoch(self) -> int:
        """Generator updates in one pass over the training data."""
        per_step = self.cfg.batch_size * self.cfg.n_critic * self.dist.world_size
        return max(1, len(self.dataset) // per_step)

    def autocast(self) -> Any:
        """The autocast context of the run's precision (a no-op in fp32)."""
        import torch

        if self.amp_dtype is None:
            from contextlib import nullcontext

            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)


#: Trainer attributes read by callbacks written before :class:`RunView`, and where they are now.
LEGACY = {
    "last_real_logits": 'run.stats.latest("d.real_logits")',
    "last_fake_logits": 'run.stats.latest("d.fake_logits")',
    "augments": 'run.components("augment")',
    "penalties": 'run.components("penalty")',
    "callbacks": 'run.components("callback")',
    "cfg": "run.recipe.train",
    "G": "run.generator",
    "D": "run.discriminator",
    "opt_g": "run.g_optimizer",
    "opt_d": "run.d_optimizer",
    "ema": "run.averaged_generator",
    "gan": "run.generator / run.discriminator / run.recipe",
}


class RunView:
    """The read-only view of a run that callbacks, techniques, augments and penalties get.

    Attributes (read-only): ``step`` (generator updates done; during a step, the step being
    made), ``total_steps``, ``progress`` (``step / total_steps``), ``images_seen``,
    ``d_updates``, ``epoch``, ``steps_per_epoch``; ``recipe`` (the resolved recipe; its
    ``train`` section is ``recipe.train``); ``generator``, ``discriminator``,
    ``averaged_generator`` (the EMA copy, or None), ``sampling_generator`` (the one samples and
    evaluations use: the EMA once warm, else G) and ``sampling_weights`` (``EMA`` or ``raw``);
    ``g_optimizer``, ``d_optimizer``; ``loss`` and its ``decision_threshold``; ``device``,
    ``is_main``, ``rank``, ``world_size``; ``out`` (the run folder, or None); ``stats`` (the
    :class:`~gancore.train.report.Report` channel).

    Methods: :meth:`components`, :meth:`stop`, :meth:`echo`, :meth:`log_event`,
    :meth:`paused`. Writing an attribute is an error: a component changes the run through its
    extension points, never by assignment.
    """

    __slots__ = ("_run", "_warned")

    def __init__(self, run: Run) -> None:
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_warned", set())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the run view is read-only (cannot set {name!r})")

    # -- where the run is ---------------------------------------------------------------------
    @property
    def step(self) -> int:
        return self._run.clock.step

    @property
    def total_steps(self) -> int:
        return self._run.clock.total_steps

    @property
    def progress(self) -> float:
        return self._run.clock.progress

    @property
    def images_seen(self) -> int:
        return self._run.clock.images_seen

    @property
    def d_updates(self) -> int:
        return self._run.clock.d_updates

    @property
    def steps_per_epoch(self) -> int:
        return self._run.steps_per_epoch()

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    # -- what it is made of -------------------------------------------------------------------
    @property
    def recipe(self) -> Recipe:
        return self._run.recipe

    @property
    def generator(self) -> nn.Module:
        return self._run.G

    @property
    def discriminator(self) -> nn.Module:
        return self._run.D

    @property
    def averaged_generator(self) -> nn.Module | None:
        ema = self._run.ema
        return None if ema is None else ema.module

    @property
    def sampling_generator(self) -> nn.Module:
        return self._run.sampling_generator

    @property
    def sampling_weights(self) -> str:
        return self._run.sampling_weights

    @property
    def g_optimizer(self) -> torch.optim.Optimizer:
        return self._run.opt_g

    @property
    def d_optimizer(self) -> torch.optim.Optimizer:
        return self._run.opt_d

    @property
    def loss(self) -> Any:
        return self._run.loss

    @property
    def decision_threshold(self) -> float | None:
        from gancore.metrics.classification import decision_threshold

        return decision_threshold(self._run.loss)

    @property
    def num_classes(self) -> int:
        return int(self._run.gan.num_classes)

    @property
    def latent_dim(self) -> int:
        return int(self._run.gan.latent_dim)

    @property
    def channels_last(self) -> bool:
        return self._run.channels_last

    @property
    def device(self) -> torch.device:
        return self._run.device

    @property
    def is_main(self) -> bool:
        return self._run.is_main

    @property
    def rank(self) -> int:
        return self._run.dist.rank

    @property
    def world_size(self) -> int:
        return self._run.dist.world_size

    @property
    def out(self) -> Path | None:
        return self._run.out

    @property
    def stats(self) -> Report:
        return self._run.report

    @property
    def stop_reason(self) -> str | None:
        return self._run.stop_reason

    def components(self, kind: str) -> list[Any]:
        """The run's objects of ``kind``: ``augment``, ``penalty``, ``technique``,
        ``callback`` (in recipe order), or ``loss``."""
        run = self._run
        if kind == "augment":
            return list(run.augments)
        if kind == "penalty":
            return list(run.penalties)
        if kind == "technique":
            return [] if run.techniques is None else [t.obj for t in run.techniques.bound]
        if kind == "callback":
            return [b.obj for b in run.callbacks if not b.core]
        if kind == "loss":
            return [run.loss]
        raise ValueError(f"no components of kind {kind!r} in a run "
                         "(augment, penalty, technique, callback, loss)")

    # -- what a component may do --------------------------------------------------------------
    def stop(self, reason: str, by: str | None = None) -> None:
        """End the run after the current step, as a normal end: the checkpoint is saved, the
        final files are written, ``reason`` is logged, and ``gancore train`` exits with 0.
        ``by`` names who asked (the log and the console say it)."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("stop() needs a reason: a short sentence for the log")
        if self._run.stop_reason is None:
            self._run.stop_reason = reason.strip()
            self._run.stop_by = by

    def echo(self, text: str) -> None:
        """Print one line to the run's console (stderr of ``gancore train``)."""
        self._run.echo(text)

    def log_event(self, name: str, values: dict[str, Any]) -> None:
        """Write ``{"step", "event": name, **values}`` to ``metrics.jsonl`` now (rank 0)."""
        if not self._run.is_main or self._run.metrics is None:
            return
        if name in ("", None) or not isinstance(name, str):
            raise ValueError("an event record needs a name")
        self._run.metrics.write({"step": self.step, "event": name, **values})

    def paused(self) -> Any:
        """A context in which time does not count as training time (an evaluation)."""
        return self._run.clock.paused()

    # -- callbacks written against the trainer (before the view existed) ----------------------
    def __getattr__(self, name: str) -> Any:
        run = object.__getattribute__(self, "_run")
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "last_real_logits":
            value = run.report.latest("d.real_logits", None)
        elif name == "last_fake_logits":
            value = run.report.latest("d.fake_logits", None)
        elif hasattr(run, name):
            value = getattr(run, name)
        else:
            raise AttributeError(f"the run view has no attribute {name!r}")
        warned = object.__getattribute__(self, "_warned")
        if name not in warned:
            warned.add(name)
            instead = LEGACY.get(name)
            warnings.warn(
                f"callbacks now receive a read-only run view: trainer.{name} is deprecated "
                f"and goes away in gancore 0.5" + (f"; use {instead}" if instead else ""),
                DeprecationWarning, stacklevel=2)
        return value
