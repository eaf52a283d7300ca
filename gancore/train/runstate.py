"""A run's state on disk, in one place: the run folder, resume, ``--init-from``, restore, save.

A checkpoint holds the networks (``generator``, ``discriminator``, ``ema``), both optimizers,
the schedules, the RNG states, the step counters and the state of every stateful component
(losses, penalties, augments, techniques, callbacks: :mod:`gancore.train.component_state`),
so a run resumed at step N continues exactly as if it had not stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gancore.core.errors import CheckpointError, GancoreError, WriteError
from gancore.core.values import is_int
from gancore.recipe.diff import recipe_differences
from gancore.train import state as state_mod
from gancore.train.component_state import Stateful, is_stateful, restore_states, save_states

if TYPE_CHECKING:
    from gancore.train.run import Run

LAST = "last.safetensors"


class TrainingError(GancoreError):
    """Training cannot go on (a NaN loss, an unusable run folder, a failed save)."""


class RecipeMismatch(TrainingError):
    """The run folder holds a run of another recipe (:attr:`differences` lists them)."""

    def __init__(self, message: str, differences: list[str], **kwargs: Any) -> None:
        self.differences = differences
        super().__init__(message, **kwargs)


# -- the run folder ---------------------------------------------------------------------------
def check_out_dir(out: Path) -> None:
    """Refuse a run folder that is a file or cannot be created/written; creates nothing.

    The folder itself is made by :func:`write_recipe` once every check has passed, so a run
    that fails at start-up leaves no empty folder behind.
    """
    from gancore.storage.io import check_writable_dir

    try:
        check_writable_dir(out, what="the run folder")
    except WriteError as exc:
        raise TrainingError(
            exc.message, source=exc.source,
            hint="give --out a writable folder (it is created if missing)",
        ) from None


def make_out_dir(out: Path) -> list[Path]:
    """Create the run folder (and its parents); returns the folders created."""
    from gancore.storage.io import make_folders

    try:
        return make_folders(out)
    except OSError as exc:
        raise TrainingError(
            f"cannot create the run folder: {exc.strerror or exc}",
            source=str(out), hint="choose a writable location with --out",
        ) from None


def write_recipe(run: Run) -> None:
    """Create the run folder and write the resolved ``recipe.toml`` into it."""
    from gancore.storage.io import atomic_write_text, remove_empty

    assert run.out is not None
    created = make_out_dir(run.out)
    try:
        atomic_write_text(run.out / "recipe.toml", run.recipe.to_toml(), what="the run's recipe")
    except WriteError as exc:
        remove_empty(created)  # leave no empty run folder behind
        raise TrainingError(exc.message, source=exc.source,
                            hint="choose a writable folder with --out") from None


# -- resume -----------------------------------------------------------------------------------
def read_resume(out: Path, recipe: dict[str, Any], *, tensors: bool = True) -> Any:
    """The checkpoint to resume the run in ``out`` from, checked against ``recipe``
    (``tensors=False``: the metadata only, for a check)."""
    from gancore.assembly import checkpoint

    last = out / LAST
    if not last.is_file():
        raise TrainingError(
            "nothing to resume: the run folder has no last.safetensors",
            source=str(out), hint="start the run without --resume",
        )
    if tensors:
        for torn in out.glob(".*.safetensors.*.tmp"):
            torn.unlink(missing_ok=True)
    ckpt = checkpoint.read(last, tensors=tensors)
    diffs = recipe_differences(ckpt.recipe, recipe)
    if diffs:
        raise RecipeMismatch(
            "the recipe differs from the checkpoint's, so the run cannot be resumed: "
            + "; ".join(diffs), diffs, source=str(last),
            hint="resume with the same recipe and --set values, or start a new run (--out)",
        )
    if ckpt.info.trainer is None:
        raise CheckpointError(
            "the checkpoint holds no training state (no optimizer or schedule state), so "
            "the run cannot be resumed", source=str(last),
            hint="start a new run from these weights with --init-from",
        )
    return ckpt


def resume_target(out: Path) -> int | None:
    """The total steps of the run in ``out`` (its checkpoint's ``train.steps``: the target it
    was started or last resumed with), or None when there is no readable checkpoint (then
    :func:`read_resume` says why)."""
    from gancore.assembly import checkpoint

    try:
        steps = checkpoint.read(out / LAST, tensors=False).recipe["train"]["steps"]
    except (GancoreError, KeyError, TypeError):
        return None
    return steps if is_int(steps) else None


def saved_numerics(ckpt: Any) -> Any:
    """The precision and memory format a resumed run was trained with (None: unknown)."""
    from gancore.train.numerics import Candidate

    meta = getattr(getattr(ckpt, "info", None), "trainer", None)
    precision = getattr(meta, "precision", None)
    if precision not in ("fp32", "tf32", "bf16", "fp16"):
        return None
    cl = getattr(meta, "channels_last", None)
    return Candidate(precision, bool(cl)) if isinstance(cl, bool) else None


def init_from(run: Run, path: Path) -> None:
    """Start from another checkpoint's weights (names and shapes that match; EMA preferred)."""
    from gancore.assembly import checkpoint

    ckpt = checkpoint.read(path)
    loaded = weights = total = 0
    for prefix, module in (("generator", run.G), ("discriminator", run.D)):
        source = ckpt.section(prefix)
        if prefix == "generator" and ckpt.section("ema"):
            source = ckpt.section("ema")
        own = module.state_dict()
        match = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
        module.load_state_dict(match, strict=False)
        loaded += len(match)
        weights += sum(1 for v in match.values() if v.dim() >= 2)
        total += len(own)
    if weights == 0:
        raise CheckpointError(
            "no weight of the checkpoint fits this recipe's networks", source=str(path),
            hint="--init-from needs a checkpoint of the same or a compatible architecture",
        )
    if run.ema is not None:
        run.ema.restart()
    run.echo(f"initialised {loaded} of {total} tensors from {path}")


def stateful_components(run: Run) -> list[Stateful]:
    """The run's components that keep state across ``--resume`` (the averaged generator is
    the checkpoint's ``ema`` section, not a component state)."""
    registry = run.registry

    def origin(kind: str, name: str) -> str | None:
        return registry.get(kind, name).origin if (kind, name) in registry else None

    recipe = run.recipe
    items = [("loss", "loss", recipe.loss.type, run.loss)]
    items += [(f"penalty[{i}]", "penalty", spec.type, obj)
              for i, (spec, obj) in enumerate(zip(recipe.penalty, run.penalties, strict=True))]
    items += [(f"augment[{i}]", "augment", spec.type, obj)
              for i, (spec, obj) in enumerate(zip(recipe.augment, run.augments, strict=True))]
    items += [(t.key, "technique", t.name, t.obj) for t in run.techniques
              if t.obj is not run.ema]
    items += [(b.key, "callback", b.name, b.obj) for b in run.callbacks]
    return [Stateful(key, name, origin(kind, name), obj)
            for key, kind, name, obj in items if is_stateful(obj)]


def restore(run: Run, ckpt: Any) -> None:
    """Load weights, optimizer, schedule, RNG and component states; damaged parts are named."""
    from gancore.assembly.checkpoint import load_state, relay

    meta = ckpt.info.trainer  # validated by gancore.assembly.checkpoint.parse_meta
    path = ckpt.path
    load_state(run.G, ckpt.section("generator"), section="generator", path=path)
    load_state(run.D, ckpt.section("discriminator"), section="discriminator", path=path)
    if run.ema is not None and ckpt.section("ema"):
        load_state(run.ema.module, ckpt.section("ema"), section="ema", path=path)
        record = meta.ema or {}
        run.ema.updates = int(record.get("updates", max(0, meta.step - run.ema.start)))
    for prefix, opt, net in (("opt_g", run.opt_g, "generator"),
                             ("opt_d", run.opt_d, "discriminator")):
        state_mod.load_optimizer(opt, ckpt.tensors, getattr(meta, prefix), prefix,
                                 source=path, network=net)
    saved = {k: v.model_dump() for k, v in (meta.components or {}).items()}
    restore_states(stateful_components(run), saved, ckpt.tensors, source=path,
                   device=run.device)
    try:
        run.sched_g.load_state_dict(dict(meta.sched_g))
        run.sched_d.load_state_dict(dict(meta.sched_d))
        run.clock.step = meta.step
        run.clock.images_seen = meta.images_seen
        run.clock.seconds = meta.seconds
        if run.dist.enabled:
            torch.manual_seed(run.recipe.seed + run.dist.rank + 7919 * meta.step)
            run.batches.generator.set_state(ckpt.tensors["rng.batches"])
        else:
            state_mod.restore_rng(ckpt.tensors, *run.batches.state())
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"corrupt checkpoint: the training state (schedules, RNG) cannot be "
            f"restored: {relay(exc)}", source=path,
            hint="resume from an earlier checkpoint of the run (step_*.safetensors), or "
            "start from these weights with --init-from",
        ) from None


# -- save -------------------------------------------------------------------------------------
def checkpoint_payload(run: Run) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata a checkpoint adds to the weights."""
    tensors: dict[str, torch.Tensor] = {}
    if run.ema is not None:
        tensors.update({f"ema.{k}": v for k, v in run.ema.state_dict().items()})
    tg, mg = state_mod.flatten_optimizer(run.opt_g, "opt_g")
    td, md = state_mod.flatten_optimizer(run.opt_d, "opt_d")
    tensors.update(tg)
    tensors.update(td)
    tensors.update(state_mod.rng_tensors(*run.batches.state()))
    component_tensors, components = save_states(stateful_components(run))
    tensors.update(component_tensors)
    meta: dict[str, Any] = {
        "step": run.clock.step,
        "images_seen": run.clock.images_seen,
        "seconds": run.clock.seconds,
        "opt_g": mg,
        "opt_d": md,
        "sched_g": run.sched_g.state_dict(),
        "sched_d": run.sched_d.state_dict(),
        "world_size": run.dist.world_size,
        "precision": run.precision,
        "channels_last": run.channels_last,
    }
    if components:
        meta["components"] = components
    if run.ema is not None:
        meta["ema"] = run.ema.record()
    return tensors, {"trainer": state_mod.dumps(meta)}


def save(run: Run, path: Path | None = None) -> Path | None:
    """Write ``last.safetensors`` (and ``path`` if given) on the main rank."""
    from gancore.assembly import checkpoint

    if run.out is None or not run.is_main:
        return None
    tensors, meta = checkpoint_payload(run)
    for target in [run.out / LAST] + ([path] if path is not None else []):
        checkpoint.save(run.gan, target, step=run.clock.step, extra_tensors=tensors,
                        extra_meta=meta, registry=run.registry)
    run.last_checkpoint = run.out / LAST
    return run.out / LAST


def save_quietly(run: Run) -> Path | None:
    """:func:`save`, or None when it fails (the run is already failing)."""
    try:
        return save(run)
    except GancoreError:
        return None
