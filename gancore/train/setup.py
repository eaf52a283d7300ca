"""Setting a run up: recipe, devices, networks, numerics, data, techniques, optimizers,
callbacks and the run's state on disk, in the order that keeps every random draw where it was.

:func:`assemble` returns a :class:`~gancore.train.run.Run` ready for
:func:`gancore.train.loop.fit`.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from gancore.core.errors import GancoreError, RecipeError
from gancore.core.registry import declares
from gancore.core.requirements import Finding
from gancore.recipe import Recipe, load_recipe, resolve
from gancore.recipe.requirements import announce
from gancore.storage.lock import RUN_FOLDER_HINT, folder_lock
from gancore.train import acgan, numerics, runstate
from gancore.train import distributed as dist_mod
from gancore.train.batches import make_batches
from gancore.train.datapath import check_at_start
from gancore.train.events import Bound, Events
from gancore.train.report import LogStats, Report
from gancore.train.run import Clock, Run, RunView
from gancore.train.runlog import MetricsLog
from gancore.train.techniques import BoundTechnique, Techniques
from gancore.train.update import GanUpdate


def pick_device(name: str, info: dist_mod.DistInfo) -> torch.device:
    """``auto`` -> the local GPU when there is one, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RecipeError("train.device is cuda, but no GPU is available",
                              key="train.device", hint='set train.device = "auto" or "cpu"')
        if device.index is None:
            device = torch.device("cuda", info.local_rank)
    return device


accepts = declares  # whether a factory takes a parameter of that name


def make(run: Run, kind: str, spec: Any, key: str, *args: Any) -> Any:
    """Make the component ``spec`` names; its factory gets the run's view if it declares
    ``run``. An error in its parameters is reported at ``key``."""
    entry = run.registry.get(kind, spec, key=key)
    extra = {"run": run.view} if accepts(entry.load(), "run") else {}
    try:
        return run.registry.make(kind, spec, *args, key=key, source=run.recipe.source, **extra)
    except GancoreError as exc:
        raise _located(exc, key, run.recipe.source) from None


def _legacy_key(recipe: Recipe, i: int) -> str:
    """The key a technique is reported at: its old ``[train]`` flag when it came from one."""
    return recipe.legacy_keys.get(i, f"train.techniques[{i}]")


def _located(exc: GancoreError, key: str, source: str | None) -> GancoreError:
    """``exc`` (raised by a component made at ``key``) with its key under ``key``; a
    technique from an old ``[train]`` flag is reported at the flag itself."""
    from gancore.recipe.migrate import LEGACY_KEYS

    if exc.key and exc.key.startswith(key.split("[")[0].split(" ")[0]):
        return exc.located(source=source)
    if key.removeprefix("train.") in LEGACY_KEYS and key != "train.top_k":
        exc.key = None
    return exc.located(source=source, key_prefix=key)


def assemble(
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
) -> Run:
    """Everything a run needs, made and checked before anything is written; the run folder's
    lock is held from here until the run ends (or :meth:`Run.lock` is released)."""
    from gancore.packs.loader import get_registry

    registry = registry or get_registry()
    told = echo  # warnings go to the console when there is one, else to warnings.warn
    echo = echo or (lambda text: None)
    overrides = list(overrides)
    out_path = Path(out) if out is not None else None
    if steps is not None:
        if steps <= 0:
            raise RecipeError(f"the step count must be 1 or more (got {steps})", key="--steps",
                              hint="give --steps a positive number of generator updates")
        overrides.append(f"train.steps={steps}")
    elif resume and out_path is not None:
        # a resumed run keeps its own target (the steps it was started or last resumed with)
        target = runstate.resume_target(out_path)
        if target is not None:
            overrides.append(f"train.steps={target}")
    loaded = load_recipe(recipe, overrides)
    if data_root is not None:
        loaded = _with_data_root(loaded, data_root, registry)
    resolved = resolve(loaded, registry)
    announce(resolved.findings, told)
    run = Run(recipe=resolved, registry=registry, clock=Clock(resolved.train.steps),
              report=Report(), echo=echo, out=out_path, progress=progress, data_root=data_root)
    run.view = RunView(run)
    run.dist = dist_mod.setup(run.cfg.device)
    run.device = pick_device(run.cfg.device, run.dist)
    # one writer per run folder, taken before the folder is checked or read (main rank)
    run.lock = folder_lock(out_path if run.is_main else None, check=runstate.check_out_dir,
                           hint=RUN_FOLDER_HINT).acquire()
    try:
        _assemble(run, resume, init_from, trackers, told)
    except BaseException:
        run.lock.release()
        raise
    return run


def _assemble(run: Run, resume: bool, init_from: str | Path | None,
              trackers: Sequence[str], told: Callable[[str], None] | None = None) -> None:
    from gancore.assembly.build import build

    resolved, registry, out_path = run.recipe, run.registry, run.out
    resume_ckpt = None
    if out_path is not None:
        if resume:
            resume_ckpt = runstate.read_resume(out_path, resolved.to_dict())
        elif (out_path / runstate.LAST).exists():
            raise runstate.TrainingError(
                "the output folder already holds a run", source=str(out_path),
                hint="pass --resume to continue it, or choose another --out")
    elif resume:
        raise runstate.TrainingError("--resume needs the run folder", hint="give --out RUN_DIR")

    acgan.check_labelled(resolved, registry)
    _threads(run.cfg.threads)  # before building: spectral norm's first estimate sums floats
    run.gan = build(resolved, registry=registry, device=run.device, findings=False)
    run.G, run.D = run.gan.generator, run.gan.discriminator
    run.images = len(run.gan.data.shape) == 3
    run.g_conditional = run.gan.num_classes > 0
    run.d_conditional = int(getattr(run.D, "num_classes", 0)) > 0
    run.class_loss = acgan.check_networks(run.gan.loss, run.G, run.D, run.gan.num_classes,
                                          resolved.source)
    _numerics(run, runstate.saved_numerics(resume_ckpt), told)
    _data(run)
    # says at the start when the data cannot keep up with the step (and what to do)
    run.data_path = check_at_start(run.batches, run.gan, run.cfg, run.device, run.numerics,
                                   resolved.data.type, run.echo if run.is_main else None)
    _techniques(run)
    _optimizers(run)
    _callbacks(run)
    run.tracker_specs = _tracker_specs(run, trackers)
    torch.manual_seed(resolved.seed + run.dist.rank)
    if init_from is not None:
        runstate.init_from(run, Path(init_from))
    if resume_ckpt is not None:
        runstate.restore(run, resume_ckpt)
    run.G_train = dist_mod.wrap(run.G, run.dist, run.device)
    run.D_train = dist_mod.wrap(run.D, run.dist, run.device)
    if run.cfg.compile:
        run.G_train = torch.compile(run.G_train)
        run.D_train = torch.compile(run.D_train)
    run.fixed_z, run.fixed_y, run.grid_rows = _fixed_noise(run)
    run.metrics = MetricsLog(out_path / "metrics.jsonl" if out_path and run.is_main else None)
    run.metrics.truncate_after(run.clock.step)  # a fresh or resumed run redoes later records
    run.log_stats = LogStats(run.device, run.view.decision_threshold)
    run.update = GanUpdate(run)


def _with_data_root(recipe: Recipe, root: str, registry: Any) -> Recipe:
    entry = registry.get("dataset", recipe.data, key="data.type")
    if "root" not in entry.params_model().model_fields:
        return recipe
    return load_recipe(recipe, [f"data.root={json.dumps(root)}"])


def _threads(threads: int) -> None:
    """``train.threads`` CPU threads, or torch's default capped by the CPUs at hand."""
    if threads > 0:
        torch.set_num_threads(threads)
    else:  # torch's default, capped by the CPUs affinity and cgroup quota allow
        from gancore.core.threads import default_threads

        torch.set_num_threads(min(torch.get_num_threads(), default_threads()))


def _numerics(run: Run, saved: numerics.Candidate | None,
              told: Callable[[str], None] | None = None) -> None:
    """Precision and memory format: the resumed run's, else measured or set."""
    cfg, device = run.cfg, run.device
    if cfg.precision in ("fp16", "tf32") and device.type != "cuda":
        raise RecipeError(f"{cfg.precision} training needs a GPU", key="train.precision",
                          hint='use "bf16" or "auto" on the CPU')
    joint = any(t.type == "joint_d_pass" for t in cfg.techniques)
    if saved is not None and "auto" in (cfg.precision, cfg.channels_last):
        precision = saved.precision if cfg.precision == "auto" else cfg.precision
        cl = saved.channels_last if cfg.channels_last == "auto" else cfg.channels_last == "on"
        choice = numerics.Choice(numerics.Candidate(precision, run.images and cl), "resumed")
    else:
        probe = numerics.probe_for(run.gan, cfg.batch_size, device, joint=joint)
        sig = numerics.signature_for(run.recipe, cfg.batch_size, run.gan.data.shape, device,
                                     joint=joint)
        choice = numerics.choose(
            probe, precision=cfg.precision, channels_last=cfg.channels_last,
            images=run.images, steps=cfg.steps, network_signature=sig,
            measure_allowed=not run.dist.enabled)
    run.numerics = choice
    run.echo(choice.describe())
    precision = choice.candidate.precision
    if precision == "bf16" and device.type == "cpu" and not numerics.bf16_supported(device):
        announce([Finding(
            "warning", "train.precision", "train.precision",
            "bf16 was asked for, but this CPU has neither AVX-512 BF16 nor AMX, so bf16 autocast "
            "is emulated and trains many times slower than fp32",
            'leave train.precision at "auto" (fp32 here) unless bf16 itself is what you test, '
            "or train on a GPU or a CPU with bf16 support", source=run.recipe.source)], told)
    run.precision = precision
    run.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    run.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    if precision == "tf32":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    run.channels_last = choice.candidate.channels_last
    if run.channels_last:
        run.G.to(memory_format=torch.channels_last)
        run.D.to(memory_format=torch.channels_last)


def _data(run: Run) -> None:
    """The training data (filters applied), its batches, the augments and penalties."""
    from gancore.core.errors import DataError
    from gancore.data.filters import prepare_training_data

    recipe = run.recipe
    try:
        dataset = run.registry.make("dataset", recipe.data, key="data", source=recipe.source)
    except GancoreError as exc:
        raise exc.located(source=recipe.source, key_prefix=None) from None
    except OSError as exc:
        raise DataError(f"cannot read the dataset: {exc}", key="data") from None
    run.training_data = prepare_training_data(
        dataset, recipe, run.registry, num_classes=run.gan.data.num_classes,
        echo=run.echo if run.is_main else None)
    run.dataset = run.training_data.dataset
    run.batches = make_batches(run.dataset, run.cfg.batch_size, recipe.seed, run.device,
                               num_workers=run.cfg.num_workers, rank=run.dist.rank,
                               world_size=run.dist.world_size)
    run.augments = [make(run, "augment", a, f"augment[{i}]")
                    for i, a in enumerate(recipe.augment)]
    run.penalties = [make(run, "penalty", p, f"penalty[{i}]")
                     for i, p in enumerate(recipe.penalty)]
    run.loss = run.gan.loss


def _techniques(run: Run) -> None:
    """The techniques (``train.techniques``), their one-time hooks, frozen parameters."""
    from gancore.train.freezed import trainable

    registry, recipe = run.registry, run.recipe
    bound = []
    for i, spec in enumerate(run.cfg.techniques):
        key = _legacy_key(recipe, i)
        obj = make(run, "technique", spec, key)
        bound.append(BoundTechnique(key, spec.type, registry.get("technique", spec).origin,
                                    obj))
    run.techniques = Techniques(bound, recipe.source)
    for fn in run.techniques.d_targets:
        fn(run.loss)
    frozen: list[torch.nn.Parameter] = []
    for t in run.techniques:
        if callable(getattr(t.obj, "freeze", None)):
            try:
                frozen += list(t.obj.freeze(run.view))
            except GancoreError as exc:
                raise _located(exc, t.key, recipe.source) from None
    for p in frozen:
        p.requires_grad_(False)
    run.d_frozen = [p for p in frozen if any(p is q for q in run.D.parameters())]
    run.d_params = trainable(run.D, frozen)
    run.g_params = trainable(run.G, frozen)


def _optimizers(run: Run) -> None:
    cfg, make_ = run.cfg, run.registry.make
    run.opt_g = make_("optimizer", cfg.g_optimizer, run.g_params, key="train.g_optimizer")
    run.opt_d = make_("optimizer", cfg.d_optimizer, run.d_params, key="train.d_optimizer")
    run.sched_g = make_("schedule", cfg.g_schedule, run.opt_g, cfg.steps,
                        key="train.g_schedule")
    run.sched_d = make_("schedule", cfg.d_schedule, run.opt_d, cfg.steps,
                        key="train.d_schedule")


def _callbacks(run: Run) -> None:
    """The recipe's ``train.callbacks``, then the packs' default callbacks, then gancore's
    own (the run folder's writers: samples, checkpoints, evaluation, trackers, plots)."""
    registry, cfg = run.registry, run.cfg
    bound: list[Bound] = []
    for i, spec in enumerate(cfg.callbacks):
        key = f"train.callbacks[{i}]"
        obj = make(run, "callback", spec, key)
        origin = registry.get("callback", spec).origin
        bound.append(Bound(key, spec.type, origin, obj,
                           forced_optional=bool(getattr(spec, "optional", False))))
    named = {b.name for b in bound}
    defaults = [e for e in registry.entries("callback") if e.meta.get("default")]
    packs = [e for e in defaults if not e.meta.get("core")] if cfg.default_callbacks else []
    core = sorted((e for e in defaults if e.meta.get("core")),
                  key=lambda e: e.meta.get("order", 0))
    for entry in [*packs, *core]:
        if entry.name in named:
            continue
        key = f"callback:{entry.name}"
        # gancore's writers take no parameters: made as they are, with nothing to validate
        obj = entry.create() if entry.meta.get("core") else make(
            run, "callback", entry.name, key + " (on by default)")
        bound.append(Bound(key, entry.name, entry.origin, obj,
                           core=bool(entry.meta.get("core"))))
    run.callbacks = bound
    run.events = Events(bound, echo=run.echo, stop=run.view.stop)


def _tracker_specs(run: Run, extra: Sequence[str]) -> list[tuple[str, Any]]:
    """``(key, reference)`` of the trackers besides ``jsonl``: the recipe's, then
    ``--tracker`` names; each package a built-in tracker needs is checked here, before
    anything is written."""
    from gancore.core.refs import as_spec
    from gancore.tracking import MissingExtraError

    specs = [(f"train.trackers[{i}]", s) for i, s in enumerate(run.cfg.trackers)]
    specs += [("--tracker", as_spec("tracker", name)) for name in extra]
    out: list[tuple[str, Any]] = []
    seen = {"jsonl"}
    for key, spec in specs:
        entry = run.registry.get("tracker", spec,
                                 key=f"{key}.type" if key != "--tracker" else key)
        if spec.type in seen:
            continue
        seen.add(spec.type)
        module, extra_name = entry.meta.get("needs", (None, None))
        if module and importlib.util.find_spec(module) is None:
            raise MissingExtraError(
                f"the {spec.type} tracker needs the {module!r} package, which is not "
                "installed", key=key, hint=f'pip install "gancore[{extra_name}]"')
        out.append((key, spec))
    return out


def _fixed_noise(run: Run) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
    """The latents (and labels) of the run's sample grids, from their own generator."""
    g = torch.Generator().manual_seed(run.recipe.seed + 1)
    n = run.cfg.grid_size
    if not run.images:
        n = max(n, 1000)
    y = rows = None
    if run.g_conditional:
        k = run.gan.num_classes
        per_class = max(1, min(16, n // k))
        y = torch.arange(k).repeat_interleave(per_class).to(run.device)
        n, rows = k * per_class, per_class
    z = torch.randn(n, run.gan.latent_dim, generator=g).to(run.device)
    return z, y, rows
