"""The training loop for any built GAN, configured by the recipe's ``[train]`` section.

>>> trainer = Trainer("recipes/dcgan-32.toml", overrides=["data.type=shapes"], out="runs/x")
>>> trainer.fit()

Every random draw comes from the global torch RNG (seeded ``seed + rank``) or the batch
sampler's generator, both saved in checkpoints, so a run resumed at step N continues exactly as
if it had not stopped. Loss values stay on the device; they are read only at log steps (and
checked for NaN every step on the CPU, where reading costs nothing).
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancore.errors import CheckpointError, GancoreError, RecipeError
from gancore.metrics.classification import decision_threshold, threshold_of
from gancore.recipe import Recipe, load_recipe, resolve
from gancore.registry import Registry
from gancore.train import acgan, freezed, numerics
from gancore.train import distributed as dist_mod
from gancore.train import state as state_mod
from gancore.train.batches import joint_batch, make_batches
from gancore.train.ema import EMA
from gancore.train.events import Bound, CallbackError, Events
from gancore.train.numerics import bf16_supported  # noqa: F401  (kept importable here)
from gancore.train.runlog import MetricsLog, ProgressBar
from gancore.train.topk import TopK, steps_per_epoch

#: ``[train]`` keys and others that may change when a run is resumed.
RESUMABLE_KEYS = (
    "train.steps",
    "train.log_every",
    "train.sample_every",
    "train.checkpoint_every",
    "train.num_workers",
    "train.device",
    "train.compile",
    "train.grid_size",
    "train.callbacks",
    "train.callbacks[",
    "train.default_callbacks",
    "train.trackers",
    "train.trackers[",
    "train.eval_every",
    "train.eval_samples",
    "data.root",
    "eval.",
    "recipe.",
)

LAST = "last.safetensors"


class TrainingError(GancoreError):
    """Training cannot go on (a NaN loss, an unusable run folder, a failed save)."""


class Interrupted(GancoreError):
    """Training stopped by Ctrl-C after saving a checkpoint."""

    exit_code = 130


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` did."""

    step: int
    out: Path | None
    checkpoint: Path | None
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    images_per_s: float = 0.0


# -- helpers ----------------------------------------------------------------------------------
def flatten_dict(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [{"d": 2}]}`` -> ``{"a.b": 1, "c[0].d": 2}``."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(flatten_dict(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list) and data and any(isinstance(v, dict | list) for v in data):
        for i, v in enumerate(data):
            out.update(flatten_dict(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def _same_form(a: Any, b: Any) -> tuple[Any, Any]:
    """``a`` and ``b`` with a reference written ``"name"`` on one side and ``{type = ...}`` on
    the other both in the table form, so they compare key by key."""
    if isinstance(a, str) and isinstance(b, dict) and "type" in b:
        a = {"type": a}
    elif isinstance(b, str) and isinstance(a, dict) and "type" in a:
        b = {"type": b}
    if isinstance(a, dict) and isinstance(b, dict):
        pairs = {k: _same_form(a.get(k), b.get(k)) for k in a.keys() & b.keys()}
        a = {k: pairs[k][0] if k in pairs else v for k, v in a.items()}
        b = {k: pairs[k][1] if k in pairs else v for k, v in b.items()}
    elif isinstance(a, list) and isinstance(b, list):
        pairs_list = [_same_form(x, y) for x, y in zip(a, b, strict=False)]
        a = [p[0] for p in pairs_list] + a[len(pairs_list):]
        b = [p[1] for p in pairs_list] + b[len(pairs_list):]
    return a, b


_UNSET = "<unset>"


def recipe_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every setting that differs, ignoring :data:`RESUMABLE_KEYS`.

    A component of another type is its ``type`` line and the settings of the new one (those
    of the old type alone are left out); a component on one side only is one line.
    """
    old, new = _same_form(old, new)
    a, b = flatten_dict(old), flatten_dict(new)
    components = sorted({k[: -len(".type")] for k in (*a, *b) if k.endswith(".type")}, key=len)
    out: list[str] = []
    whole: set[str] = set()
    type_first = {k: k[: -len("type")] + "\0" if k.endswith(".type") else k for k in (*a, *b)}
    for key in sorted(set(a) | set(b), key=type_first.__getitem__):
        if any(key == k or (k.endswith((".", "[")) and key.startswith(k))
               for k in RESUMABLE_KEYS):
            continue
        owner = next((c for c in components if key.startswith(c + ".")
                      and a.get(c + ".type", _UNSET) != b.get(c + ".type", _UNSET)), None)
        if owner is not None and (owner + ".type" not in a or owner + ".type" not in b):
            if owner not in whole:  # added or removed: the whole component in one line
                whole.add(owner)
                out.append(f"{owner}: {_inline(a, owner)} -> {_inline(b, owner)}")
            continue
        if owner is not None and key not in b:
            continue  # a setting of the old type only
        if a.get(key, _UNSET) != b.get(key, _UNSET):
            out.append(f"{key}: {a.get(key, _UNSET)!r} -> {b.get(key, _UNSET)!r}")
    return out


def _inline(flat: dict[str, Any], prefix: str) -> str:
    """The component at ``prefix`` of a flattened recipe as ``{type = 'x', k = v}``."""
    if prefix + ".type" not in flat:
        return repr(_UNSET)
    items = {k[len(prefix) + 1:]: v for k, v in flat.items() if k.startswith(prefix + ".")}
    order = ["type", *sorted(k for k in items if k != "type")]
    return "{" + ", ".join(f"{k} = {items[k]!r}" for k in order) + "}"


def pick_device(name: str, info: dist_mod.DistInfo) -> torch.device:
    """``auto`` -> the local GPU when there is one, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RecipeError(
                "train.device is cuda, but no GPU is available",
                key="train.device",
                hint='set train.device = "auto" or "cpu"',
            )
        if device.index is None:
            device = torch.device("cuda", info.local_rank)
    return device


def check_out_dir(out: Path) -> None:
    """Refuse a run folder that is a file or cannot be created/written; creates nothing.

    The folder itself is made by :func:`make_out_dir` once every check has passed, so a run
    that fails at start-up leaves no empty folder behind.
    """
    from gancore.errors import WriteError
    from gancore.io import check_writable_dir

    try:
        check_writable_dir(out, what="the run folder")
    except WriteError as exc:
        raise TrainingError(
            exc.message, source=exc.source,
            hint="give --out a writable folder (it is created if missing)",
        ) from None


def make_out_dir(out: Path) -> list[Path]:
    """Create the run folder (and its parents); returns the folders created."""
    from gancore.io import make_folders

    try:
        return make_folders(out)
    except OSError as exc:
        raise TrainingError(
            f"cannot create the run folder: {exc.strerror or exc}",
            source=str(out),
            hint="choose a writable location with --out",
        ) from None


@contextmanager
def sigint_flag() -> Iterator[list[bool]]:
    """Within the block, Ctrl-C sets ``flag[0]`` instead of raising (main thread only)."""
    flag = [False]
    try:
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if flag[0]:  # a second Ctrl-C stops at once
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            flag[0] = True

        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class _Stats:
    """Loss and D-output sums on the device between two log steps."""

    KEYS = ("d_loss", "g_loss", "penalty", "d_real", "d_fake", "tp", "fp", "fn", "tn")

    def __init__(self, device: torch.device, threshold: float | None = 0.0) -> None:
        self.device = device
        self.threshold = threshold  # the loss's decision threshold (None: midpoint of means)
        self.reset()

    def reset(self) -> None:
        self.sums = torch.zeros(len(self.KEYS), device=self.device)
        self.d_count = 0
        self.g_count = 0

    def add_d(
        self,
        loss: torch.Tensor,
        penalty: torch.Tensor | None,
        real: torch.Tensor,
        fake: torch.Tensor,
    ) -> None:
        real, fake = real.detach().float(), fake.detach().float()
        cut = threshold_of(real, fake, self.threshold)
        pos_r, pos_f = (real > cut).float(), (fake > cut).float()
        zero = torch.zeros((), device=self.device)
        values = torch.stack(
            [
                loss.detach().float(),
                zero,
                zero if penalty is None else penalty.detach().float(),
                torch.sigmoid(real).mean(),
                torch.sigmoid(fake).mean(),
                pos_r.sum(),
                pos_f.sum(),
                (1 - pos_r).sum(),
                (1 - pos_f).sum(),
            ]
        )
        self.sums += values
        self.d_count += 1

    def add_g(self, loss: torch.Tensor) -> None:
        self.sums[1] += loss.detach().float()
        self.g_count += 1

    def record(self) -> dict[str, float]:
        s = dict(zip(self.KEYS, self.sums.tolist(), strict=True))
        d, g = max(self.d_count, 1), max(self.g_count, 1)
        tp, fp, fn, tn = s["tp"], s["fp"], s["fn"], s["tn"]
        total = max(tp + fp + fn + tn, 1.0)
        return {
            "d_loss": s["d_loss"] / d,
            "g_loss": s["g_loss"] / g,
            "penalty": s["penalty"] / d,
            "d_real": s["d_real"] / d,
            "d_fake": s["d_fake"] / d,
            "d_accuracy": (tp + tn) / total,
            "d_f1": 2 * tp / max(2 * tp + fp + fn, 1.0),
        }


# -- the trainer ------------------------------------------------------------------------------
class Trainer:
    """Trains a GAN built from a recipe; writes a run folder when ``out`` is given.

    ``overrides`` are ``--set`` assignments; ``steps`` overrides ``train.steps`` (the total
    number of generator updates). ``resume`` continues from ``out/last.safetensors``;
    ``init_from`` starts from another checkpoint's weights (matching names and shapes).
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
        registry: Registry | None = None,
        progress: bool = False,
        echo: Callable[[str], None] | None = None,
        trackers: Sequence[str] = (),
    ) -> None:
        from gancore.assembly.build import build
        from gancore.plugins import get_registry
        from gancore.tracking import Trackers

        self.registry = registry or get_registry()
        self.echo = echo or (lambda text: None)
        overrides = list(overrides)
        if steps is not None:
            if steps <= 0:
                raise RecipeError(
                    f"the step count must be 1 or more (got {steps})",
                    key="--steps",
                    hint="give --steps a positive number of generator updates",
                )
            overrides.append(f"train.steps={steps}")
        loaded = load_recipe(recipe, overrides)
        if data_root is not None:
            loaded = self._with_data_root(loaded, data_root)
        self.recipe = resolve(loaded, self.registry)
        self.cfg = self.recipe.train
        self.out = Path(out) if out is not None else None
        self.progress = progress

        self.dist = dist_mod.setup(self.cfg.device)
        self.device = pick_device(self.cfg.device, self.dist)
        self.is_main = self.dist.is_main

        resume_ckpt = None
        if self.out is not None:
            if self.is_main:
                check_out_dir(self.out)  # the folder itself is made when fit() starts
            last = self.out / LAST
            if resume:
                resume_ckpt = self._read_resume(last)
            elif last.exists():
                raise TrainingError(
                    "the output folder already holds a run",
                    source=str(self.out),
                    hint="pass --resume to continue it, or choose another --out",
                )
        elif resume:
            raise TrainingError("--resume needs the run folder", hint="give --out RUN_DIR")

        acgan.check_labelled(self.recipe, self.registry)
        self.gan = build(self.recipe, registry=self.registry, device=self.device)
        self.G, self.D = self.gan.generator, self.gan.discriminator
        self.images = len(self.gan.data.shape) == 3
        self.seed = self.recipe.seed
        self.g_conditional = self.gan.num_classes > 0
        self.d_conditional = int(getattr(self.D, "num_classes", 0)) > 0
        self.class_loss = acgan.check_networks(self.gan.loss, self.G, self.D,
                                               self.gan.num_classes, self.recipe.source)

        self._resumed_numerics = _saved_numerics(resume_ckpt)
        self._setup_numerics()
        self._setup_data()
        # -- data path check (gancore.train.datapath): says when the data cannot keep up --
        from gancore.train.datapath import check_at_start
        self.data_path = check_at_start(self.batches, self.gan, self.cfg, self.device,
                                        self.numerics, self.recipe.data.type,
                                        self.echo if self.is_main else None)
        # -- end of the data path check --
        self._setup_optim()
        self.ema = EMA(self.G, self.cfg.ema, self.cfg.ema_start) if self.cfg.ema > 0 else None
        self._setup_callbacks()
        self.tracker_specs = self._tracker_specs(trackers)
        self.trackers = Trackers([])
        self.last_real_logits: torch.Tensor | None = None
        self.last_fake_logits: torch.Tensor | None = None
        self.step = 0
        self.d_updates = 0
        self.stats = _Stats(self.device, decision_threshold(self.loss))
        self.images_seen = 0
        self.seconds = 0.0
        torch.manual_seed(self.seed + self.dist.rank)
        if init_from is not None:
            self._init_from(Path(init_from))
        if resume_ckpt is not None:
            self._restore(resume_ckpt)
        self.G_train = dist_mod.wrap(self.G, self.dist, self.device)
        self.D_train = dist_mod.wrap(self.D, self.dist, self.device)
        if self.cfg.compile:
            self.G_train = torch.compile(self.G_train)  # type: ignore[assignment]
            self.D_train = torch.compile(self.D_train)  # type: ignore[assignment]
        self.fixed_z, self.fixed_y, self.grid_rows = self._fixed_noise()
        self.log = MetricsLog(self.out / "metrics.jsonl" if self.out and self.is_main else None)
        self.log.truncate_after(self.step)  # a fresh or resumed run redoes later records
        self.quality = None
        if self.cfg.eval_every > 0 and self.is_main:
            from gancore.train.quality import InTrainingEval

            self.quality = InTrainingEval(self, data_root)

    # -- set-up ---------------------------------------------------------------------------
    def _with_data_root(self, recipe: Recipe, root: str) -> Recipe:
        entry = self.registry.get("dataset", recipe.data.type, key="data.type")
        if "root" not in entry.params_model().model_fields:
            return recipe
        return load_recipe(recipe, [f"data.root={json.dumps(root)}"])

    def _setup_numerics(self) -> None:
        cfg, device = self.cfg, self.device
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        else:  # torch's default, capped by the CPUs affinity and cgroup quota allow
            from gancore.train.threads import default_threads

            torch.set_num_threads(min(torch.get_num_threads(), default_threads()))
        if cfg.precision in ("fp16", "tf32") and device.type != "cuda":
            raise RecipeError(
                f"{cfg.precision} training needs a GPU",
                key="train.precision",
                hint='use "bf16" or "auto" on the CPU',
            )
        self.numerics = self._choose_numerics()
        self.echo(self.numerics.describe())
        precision = self.numerics.candidate.precision
        self.precision = precision
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        if precision == "tf32":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.channels_last = self.numerics.candidate.channels_last
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)

    def _choose_numerics(self) -> numerics.Choice:
        """Precision and memory format: the resumed run's, else chosen by gancore.train.numerics."""
        cfg = self.cfg
        saved = self._resumed_numerics
        if saved is not None and "auto" in (cfg.precision, cfg.channels_last):
            precision = saved.precision if cfg.precision == "auto" else cfg.precision
            cl = saved.channels_last if cfg.channels_last == "auto" else cfg.channels_last == "on"
            return numerics.Choice(numerics.Candidate(precision, self.images and cl), "resumed")
        probe = numerics.probe_for(self.gan, cfg.batch_size, self.device,
                                    joint=cfg.joint_d_pass)
        sig = numerics.signature_for(self.recipe, cfg.batch_size, self.gan.data.shape,
                                     self.device)
        return numerics.choose(
            probe, precision=cfg.precision, channels_last=cfg.channels_last,
            images=self.images, steps=cfg.steps, network_signature=sig,
            measure_allowed=not self.dist.enabled,
        )

    def autocast(self) -> Any:
        """The autocast context of the configured precision (a no-op in fp32)."""
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _setup_data(self) -> None:
        try:
            dataset = self.registry.make("dataset", self.recipe.data, key="data",
                                         source=self.recipe.source)
        except GancoreError as exc:
            raise exc.located(source=self.recipe.source, key_prefix=None) from None
        except OSError as exc:
            from gancore.errors import DataError

            raise DataError(f"cannot read the dataset: {exc}", key="data") from None
        from gancore.data.filters import prepare_training_data

        #: data.inject_noise and data.filters applied: what was kept, dropped and planted
        self.training_data = prepare_training_data(
            dataset, self.recipe, self.registry, num_classes=self.gan.data.num_classes,
            echo=self.echo if self.is_main else None,
        )
        dataset = self.training_data.dataset
        self.dataset = dataset
        self.batches = make_batches(
            dataset,
            self.cfg.batch_size,
            self.seed,
            self.device,
            num_workers=self.cfg.num_workers,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        self.augments: list[Callable[[torch.Tensor], torch.Tensor]] = [
            self.registry.make("augment", a, key=f"augment[{i}]")
            for i, a in enumerate(self.recipe.augment)
        ]
        self.penalties = [
            self.registry.make("penalty", p, key=f"penalty[{i}]")
            for i, p in enumerate(self.recipe.penalty)
        ]
        self.loss = self.gan.loss
        if self.cfg.label_smoothing > 0 and hasattr(self.loss, "real_target"):
            self.loss.real_target = self.loss.real_target * (1.0 - self.cfg.label_smoothing)

    def _setup_callbacks(self) -> None:
        """The recipe's ``train.callbacks``, then the packs' default callbacks."""
        bound: list[Bound] = []
        for i, spec in enumerate(self.cfg.callbacks):
            key = f"train.callbacks[{i}]"
            obj = self.registry.make("callback", spec, key=key, source=self.recipe.source)
            origin = self.registry.get("callback", spec.type).origin
            bound.append(Bound(key, spec.type, origin, obj))
        if self.cfg.default_callbacks:
            named = {b.name for b in bound}
            for entry in self.registry.entries("callback"):
                if entry.meta.get("default") and entry.name not in named:
                    obj = self.registry.make("callback", entry.name,
                                             key=f"callback:{entry.name} (on by default)")
                    bound.append(Bound(f"callback:{entry.name}", entry.name, entry.origin, obj))
        self.callbacks = bound
        self.events = Events(bound, echo=self.echo)

    def _tracker_specs(self, extra: Sequence[str]) -> list[tuple[str, Any]]:
        """``(key, reference)`` of the trackers besides ``jsonl``: the recipe's, then
        ``--tracker`` names; each package a built-in tracker needs is checked here, before
        anything is written."""
        import importlib.util

        from gancore.recipe.refs import as_spec
        from gancore.tracking import MissingExtraError

        specs = [(f"train.trackers[{i}]", s) for i, s in enumerate(self.cfg.trackers)]
        specs += [("--tracker", as_spec("tracker", name)) for name in extra]
        out: list[tuple[str, Any]] = []
        seen = {"jsonl"}
        for key, spec in specs:
            entry = self.registry.get("tracker", spec.type, key=f"{key}.type"
                                      if key != "--tracker" else key)
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

    def _open_trackers(self) -> Any:
        from gancore.tracking import Trackers, _Tracker

        if not self.is_main:
            return Trackers([])
        opened = []
        try:
            for key, spec in self.tracker_specs:
                obj = self.registry.make("tracker", spec, self.out, key=key,
                                         source=self.recipe.source)
                origin = self.registry.get("tracker", spec.type).origin
                opened.append(_Tracker(spec.type, origin, obj))
        except BaseException:
            Trackers(opened).close()
            raise
        return Trackers(opened, echo=self.echo)

    def stateful_components(self) -> list[Any]:
        """The run's components that declare ``state_dict``/``load_state_dict`` (saved in
        checkpoints, restored on resume); schedules are stored with the trainer state."""
        from gancore.train.component_state import Stateful, is_stateful

        def origin(kind: str, name: str) -> str | None:
            return self.registry.get(kind, name).origin if (kind, name) in self.registry else None

        items = [("loss", "loss", self.recipe.loss.type, self.loss)]
        items += [(f"penalty[{i}]", "penalty", spec.type, obj)
                  for i, (spec, obj) in enumerate(zip(self.recipe.penalty, self.penalties,
                                                      strict=True))]
        items += [(f"augment[{i}]", "augment", spec.type, obj)
                  for i, (spec, obj) in enumerate(zip(self.recipe.augment, self.augments,
                                                      strict=True))]
        items += [(b.key, "callback", b.name, b.obj) for b in self.callbacks]
        return [Stateful(key, name, origin(kind, name), obj)
                for key, kind, name, obj in items if is_stateful(obj)]

    def _setup_optim(self) -> None:
        cfg = self.cfg
        make = self.registry.make
        self.opt_g = make("optimizer", cfg.g_optimizer, self.G.parameters(),
                          key="train.g_optimizer")
        # FreezeD: the first train.freeze_d blocks of D get no gradient and no optimizer state
        self.d_frozen = freezed.freeze(self.D, cfg.freeze_d, self.recipe.source)
        self.d_params = freezed.trainable(self.D, self.d_frozen)
        self.opt_d = make("optimizer", cfg.d_optimizer, self.d_params,
                          key="train.d_optimizer")
        self.top_k = None if cfg.top_k is None else TopK.from_settings(
            cfg.top_k, steps_per_epoch(len(self.dataset), cfg.batch_size, cfg.n_critic,
                                       self.dist.world_size), self.recipe.source)
        self.sched_g = make("schedule", cfg.g_schedule, self.opt_g, cfg.steps,
                            key="train.g_schedule")
        self.sched_d = make("schedule", cfg.d_schedule, self.opt_d, cfg.steps,
                            key="train.d_schedule")

    def _fixed_noise(self) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        g = torch.Generator().manual_seed(self.seed + 1)
        n = self.cfg.grid_size
        if not self.images:
            n = max(n, 1000)
        y = None
        rows = None
        if self.g_conditional:
            k = self.gan.num_classes
            per_class = max(1, min(16, n // k))
            y = torch.arange(k).repeat_interleave(per_class).to(self.device)
            n, rows = k * per_class, per_class
        z = torch.randn(n, self.gan.latent_dim, generator=g).to(self.device)
        return z, y, rows

    # -- checkpoints ----------------------------------------------------------------------
    def _read_resume(self, last: Path) -> Any:
        from gancore import checkpoint

        if not last.is_file():
            raise TrainingError(
                "nothing to resume: the run folder has no last.safetensors",
                source=str(self.out),
                hint="start the run without --resume",
            )
        for torn in self.out.glob(".*.safetensors.*.tmp") if self.out else ():
            torn.unlink(missing_ok=True)
        ckpt = checkpoint.read(last)
        diffs = recipe_differences(ckpt.recipe, self.recipe.to_dict())
        if diffs:
            raise TrainingError(
                "the recipe differs from the checkpoint's, so the run cannot be resumed: "
                + "; ".join(diffs),
                source=str(last),
                hint="resume with the same recipe and --set values, or start a new run (--out)",
            )
        if ckpt.info.trainer is None:
            raise CheckpointError(
                "the checkpoint holds no training state (no optimizer or schedule state), so "
                "the run cannot be resumed",
                source=str(last),
                hint="start a new run from these weights with --init-from",
            )
        return ckpt

    def _init_from(self, path: Path) -> None:
        from gancore import checkpoint

        ckpt = checkpoint.read(path)
        loaded = weights = total = 0
        for prefix, module in (("generator", self.G), ("discriminator", self.D)):
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
                "no weight of the checkpoint fits this recipe's networks",
                source=str(path),
                hint="--init-from needs a checkpoint of the same or a compatible architecture",
            )
        if self.ema is not None:
            self.ema = EMA(self.G, self.cfg.ema, self.cfg.ema_start)
        self.echo(f"initialised {loaded} of {total} tensors from {path}")

    def _restore(self, ckpt: Any) -> None:
        """Load weights, optimizer, schedule and RNG states; damaged parts are named."""
        from gancore.checkpoint import load_state, relay

        meta = ckpt.info.trainer  # validated by gancore.checkpoint.parse_meta
        path = ckpt.path
        load_state(self.G, ckpt.section("generator"), section="generator", path=path)
        load_state(self.D, ckpt.section("discriminator"), section="discriminator", path=path)
        if self.ema is not None and ckpt.section("ema"):
            load_state(self.ema.module, ckpt.section("ema"), section="ema", path=path)
        for prefix, opt, net in (("opt_g", self.opt_g, "generator"),
                                 ("opt_d", self.opt_d, "discriminator")):
            state_mod.load_optimizer(opt, ckpt.tensors, getattr(meta, prefix), prefix,
                                     source=path, network=net)
        from gancore.train.component_state import restore_states

        saved = {k: v.model_dump() for k, v in (meta.components or {}).items()}
        restore_states(self.stateful_components(), saved, ckpt.tensors,
                       source=path, device=self.device)
        try:
            self.sched_g.load_state_dict(dict(meta.sched_g))
            self.sched_d.load_state_dict(dict(meta.sched_d))
            self.step = meta.step
            self.images_seen = meta.images_seen
            self.seconds = meta.seconds
            if self.dist.enabled:
                torch.manual_seed(self.seed + self.dist.rank + 7919 * self.step)
                self.batches.generator.set_state(ckpt.tensors["rng.batches"])
            else:
                state_mod.restore_rng(ckpt.tensors, *self.batches.state())
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"corrupt checkpoint: the training state (schedules, RNG) cannot be "
                f"restored: {relay(exc)}",
                source=path,
                hint="resume from an earlier checkpoint of the run (step_*.safetensors), or "
                "start from these weights with --init-from",
            ) from None

    def checkpoint_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """The tensors and metadata a checkpoint adds to the weights."""
        tensors: dict[str, torch.Tensor] = {}
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
        tg, mg = state_mod.flatten_optimizer(self.opt_g, "opt_g")
        td, md = state_mod.flatten_optimizer(self.opt_d, "opt_d")
        tensors.update(tg)
        tensors.update(td)
        tensors.update(state_mod.rng_tensors(*self.batches.state()))
        from gancore.train.component_state import save_states

        component_tensors, components = save_states(self.stateful_components())
        tensors.update(component_tensors)
        meta = {
            "step": self.step,
            "images_seen": self.images_seen,
            "seconds": self.seconds,
            "opt_g": mg,
            "opt_d": md,
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "world_size": self.dist.world_size,
            "precision": self.precision,
            "channels_last": self.channels_last,
        }
        if components:
            meta["components"] = components
        return tensors, {"trainer": state_mod.dumps(meta)}

    def save(self, path: Path | None = None) -> Path | None:
        """Write ``last.safetensors`` (and ``path`` if given) on the main rank."""
        from gancore import checkpoint

        if self.out is None or not self.is_main:
            return None
        tensors, meta = self.checkpoint_payload()
        targets = [self.out / LAST] + ([path] if path is not None else [])
        for target in targets:
            checkpoint.save(
                self.gan,
                target,
                step=self.step,
                extra_tensors=tensors,
                extra_meta=meta,
                registry=self.registry,
            )
        return self.out / LAST

    # -- one update -----------------------------------------------------------------------
    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.gan.latent_dim, device=self.device)

    def _d_input(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        for augment in self.augments:
            x = augment(x)
        if sigma > 0:
            x = x + sigma * torch.randn_like(x)
        return x

    def _backward_step(
        self, loss: torch.Tensor, opt: torch.optim.Optimizer, params: list[nn.Parameter]
    ) -> None:
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if self.cfg.grad_clip > 0:
                self.scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
            self.scaler.step(opt)
            self.scaler.update()
        else:
            loss.backward()
            if self.cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip, foreach=True)
            opt.step()

    def train_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One generator update after ``n_critic`` discriminator updates; returns the losses.

        As in the DCGAN reference loop, the generator step reuses the fakes of the last
        discriminator step (generated with gradients kept), saving one generator forward pass.
        """
        cfg = self.cfg
        sigma = cfg.instance_noise * max(0.0, 1.0 - self.step / cfg.steps)
        d_params = self.d_params  # without the blocks train.freeze_d freezes
        d_loss = torch.zeros((), device=self.device)
        real = fake = y = None
        for i in range(cfg.n_critic):
            real, y = self.batches.next()
            if self.channels_last:
                real = real.contiguous(memory_format=torch.channels_last)
            y_g = y if self.g_conditional else None
            y_d = y if self.d_conditional else None
            keep = i == cfg.n_critic - 1
            with torch.set_grad_enabled(keep), self.autocast():
                fake = self.G_train(self._noise(real.shape[0]), y_g)
            real_in = self._d_input(real, sigma)
            fake_in = self._d_input(fake.detach(), sigma)
            (real_logits, real_cls), (fake_logits, fake_cls) = self._d_pair(
                self.D_train, real_in, fake_in, y_d)
            d_loss = self.loss.d_loss(real_logits, fake_logits)
            if self.class_loss:
                d_loss = d_loss + self.loss.d_class_loss(real_cls, fake_cls, y)
            pen_total = None
            self.d_updates += 1
            for pen in self.penalties:
                if self.d_updates % pen.interval == 0:
                    with self.autocast():
                        value = pen(self.D, real_in, fake_in, y_d)
                    term = (pen.weight * pen.interval) * value.float()
                    pen_total = term if pen_total is None else pen_total + term
            total = d_loss if pen_total is None else d_loss + pen_total
            self.opt_d.zero_grad(set_to_none=True)
            self._backward_step(total, self.opt_d, d_params)
            if cfg.clip_weights > 0:
                with torch.no_grad():
                    torch._foreach_clamp_min_(d_params, -cfg.clip_weights)
                    torch._foreach_clamp_max_(d_params, cfg.clip_weights)
            self.stats.add_d(d_loss, pen_total, real_logits, fake_logits)
            if self.callbacks:  # for callbacks that read D's outputs (no copy, no sync)
                self.last_real_logits = real_logits.detach()
                self.last_fake_logits = fake_logits.detach()
        assert real is not None and fake is not None
        g_loss = self._g_step(real, fake, y, sigma)
        self.step += 1
        if self.ema is not None:
            self.ema.update(self.G, self.step)
        self.sched_g.step()
        self.sched_d.step()
        self.images_seen += cfg.n_critic * real.shape[0] * self.dist.world_size
        return d_loss, g_loss

    def _d_forward(
        self, d_fn: Any, x: torch.Tensor, y: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's logits (fp32) and, for a loss with class logits (ACGAN), its class logits."""
        with self.autocast():
            if self.class_loss:
                return acgan.forward_with_classes(d_fn, x, y)
            return d_fn(x, y).float(), None

    def _d_pair(
        self, d_fn: Any, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None
    ) -> tuple[tuple[torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor | None]]:
        """D's outputs on the real and the fake batch: two passes, or one of both batches
        together with ``train.joint_d_pass``."""
        if not self.cfg.joint_d_pass:
            return self._d_forward(d_fn, real, y), self._d_forward(d_fn, fake, y)
        n = real.shape[0]
        logits, cls = self._d_forward(d_fn, *joint_batch(real, fake, y, self.channels_last))
        return ((logits[:n], None if cls is None else cls[:n]),
                (logits[n:], None if cls is None else cls[n:]))

    def _g_step(
        self, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None, sigma: float
    ) -> torch.Tensor:
        y_d = y if self.d_conditional else None
        self.D.requires_grad_(False)  # no discriminator weight gradients in the G step
        d_fn = self.D_train if self.cfg.compile else self.D
        try:
            real_logits = None
            needs_real = getattr(self.loss, "needs_real_for_g", False)  # relativistic losses
            if needs_real and self.cfg.joint_d_pass:
                (real_logits, _), (fake_logits, fake_cls) = self._d_pair(
                    d_fn, self._d_input(real, sigma), self._d_input(fake, sigma), y_d)
            else:
                fake_logits, fake_cls = self._d_forward(d_fn, self._d_input(fake, sigma), y_d)
                if needs_real:
                    with self.autocast():
                        real_logits = d_fn(self._d_input(real, sigma), y_d).float()
            # top-k: only the fakes D scores highest update G (None: the whole batch)
            top = None if self.top_k is None else self.top_k.select(fake_logits, self.step)
            g_loss = self.loss.g_loss(fake_logits if top is None else fake_logits[top],
                                      real_logits)
            if self.class_loss:
                assert y is not None
                g_loss = g_loss + self.loss.g_class_loss(
                    *((fake_cls, y) if top is None else (fake_cls[top], y[top])))
            self.opt_g.zero_grad(set_to_none=True)
            self._backward_step(g_loss, self.opt_g, list(self.G.parameters()))
        finally:
            self.D.requires_grad_(True)
            for p in self.d_frozen:  # FreezeD: frozen blocks stay without gradients
                p.requires_grad_(False)
        self.stats.add_g(g_loss)
        return g_loss

    # -- sampling -------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Samples (fp32, on the CPU) from the EMA generator if any, else G, in eval mode."""
        net = self.ema.module if self.ema is not None else self.G
        was = net.training
        net.eval()
        try:
            out = torch.cat([net(zc, None if y is None else yc) for zc, yc in _chunks(z, y)])
        finally:
            net.train(was)
        return out.float().cpu()

    def write_samples(self, name: str) -> Path | None:
        """Save a grid (or 2D scatter plot) of samples from the fixed noise."""
        from gancore.train.plots import save_samples

        if self.out is None or not self.is_main:
            return None
        images = self.sample(self.fixed_z, self.fixed_y)
        reference = None
        if not self.images:
            reference = self.batches.x[: len(images)].float().cpu()
        return save_samples(
            images,
            self.out / "samples" / name,
            nrow=self.grid_rows,
            reference=reference,
            title=f"step {self.step}",
        )

    # -- the loop -------------------------------------------------------------------------
    def _check_finite(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        """Stop with one message naming the network (D or G loss), the step, the last finite
        losses of both networks and what to try, when a loss is NaN or infinite."""
        d_value, g_value = float(d_loss.detach()), float(g_loss.detach())
        if math.isfinite(d_value) and math.isfinite(g_value):
            # the last finite losses (this method's own field: set here, read only here)
            self._last_finite_losses = (self.step, d_value, g_value)
            return
        net, short, value, opt = (
            ("discriminator", "D", d_value, "d_optimizer")
            if not math.isfinite(d_value)
            else ("generator", "G", g_value, "g_optimizer")
        )
        both = " (and the generator loss too)" if not any(
            math.isfinite(v) for v in (d_value, g_value)) else ""
        previous = getattr(self, "_last_finite_losses", None)
        if previous is None:
            before = "; no finite losses were recorded before it (check the recipe's values)"
        else:
            at, d_last, g_last = previous
            before = f"; the last finite losses were D {d_last:.4g} and G {g_last:.4g} " \
                f"(step {at})"
        last = self.out / LAST if self.out else None
        kept = (
            f"; the last good checkpoint is {last}"
            if last is not None and last.exists()
            else ""
        )
        tips = []
        lr = getattr(self, "opt_d" if short == "D" else "opt_g").param_groups[0]["lr"]
        tips.append(f"lower the learning rate (train.{opt}.lr is {lr:.3g}; try {lr / 4:.2g})")
        if not any(p.type in ("gradient_penalty", "r1", "dragan") for p in self.recipe.penalty):
            tips.append('add a gradient penalty ([[penalty]] type = "gradient_penalty" or "r1")')
        if not self.cfg.grad_clip:
            tips.append("set train.grad_clip (e.g. 10)")
        if getattr(self, "precision", "fp32") != "fp32":
            tips.append('use precision = "fp32"')
        raise TrainingError(
            f"the {net} loss became {value} at step {self.step} (the {short} loss){both}"
            f"{before}{kept}",
            hint="; ".join(tips),
        )

    def _log_record(self, interval_images: int, interval_s: float) -> dict[str, Any]:
        record: dict[str, Any] = {"step": self.step}
        record.update(self.stats.record())
        record["lr_g"] = self.opt_g.param_groups[0]["lr"]
        record["lr_d"] = self.opt_d.param_groups[0]["lr"]
        record["images_per_s"] = interval_images / max(interval_s, 1e-9)
        record["images_seen"] = self.images_seen
        record["elapsed_s"] = round(self.seconds, 3)
        return record

    def fit(self) -> TrainResult:
        """Train up to ``train.steps`` generator updates; returns a :class:`TrainResult`.

        Callbacks hear the run's events, trackers get its records (rank 0); a callback that
        raises stops the run with a checkpoint saved (see :mod:`gancore.train.events`).
        """
        if self.out is not None and self.is_main:
            self._write_recipe()
        self.trackers = self._open_trackers()
        try:
            result = self._fit()
        except CallbackError as exc:
            saved = self._save_after_failure()
            self.events.fail_quietly(self, exc)
            where = f"; the run stopped at step {self.step}"
            where += f" with the checkpoint saved to {saved}" if saved else ""
            raise CallbackError(exc.message + where, hint=exc.hint) from exc.__cause__
        except BaseException as exc:
            self.events.fail_quietly(self, exc)
            raise
        finally:
            self.trackers.close()
        return result

    def _save_after_failure(self) -> Path | None:
        try:
            return self.save()
        except GancoreError:
            return None

    def _fit(self) -> TrainResult:
        from gancore.tracking import hparams, scalars

        cfg = self.cfg
        events, trackers = self.events, self.trackers
        self.stats = _Stats(self.device, decision_threshold(self.loss))
        self.d_updates = self.step * cfg.n_critic
        check_each_step = self.device.type == "cpu"
        start_step = self.step
        if trackers:
            trackers.log_hparams(hparams(self.recipe.to_dict()))
        events.start(self)
        t_start = t_log = time.perf_counter()
        seconds_at_start = self.seconds
        images_at_log = self.images_seen
        self.G_train.train()
        self.D_train.train()
        bar = ProgressBar(cfg.steps, self.step, enabled=self.progress and self.is_main)
        with bar, sigint_flag() as stop:
            while self.step < cfg.steps:
                d_loss, g_loss = self.train_step()
                self.seconds = seconds_at_start + time.perf_counter() - t_start
                if events.step:
                    events.step_end(self, self.step)
                at_log = self.step % cfg.log_every == 0 or self.step == cfg.steps
                if check_each_step or at_log:
                    self._check_finite(d_loss, g_loss)
                record = None
                if at_log:
                    now = time.perf_counter()
                    record = self._log_record(self.images_seen - images_at_log, now - t_log)
                    self.stats.reset()
                    t_log, images_at_log = now, self.images_seen
                    events.emit("on_log", self, record)
                    if self.is_main:
                        self.log.write(record)
                        if trackers:
                            trackers.log_scalars(scalars(record), self.step)
                bar.advance(self.step, record)
                if self.step % cfg.sample_every == 0:
                    self._samples(f"step_{self.step:07d}.png")
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    self._checkpoint(self.out / f"step_{self.step:07d}.safetensors"
                                     if self.out else None)
                if self.quality is not None and self.step % cfg.eval_every == 0:
                    t_eval = time.perf_counter()
                    self._evaluate()
                    spent = time.perf_counter() - t_eval  # not training time
                    t_start, t_log = t_start + spent, t_log + spent
                interrupted = stop[0]
                if self.dist.enabled:
                    interrupted = at_log and dist_mod.any_flag(stop[0], self.dist, self.device)
                if interrupted:
                    path = self.save()
                    self._finish_files()
                    raise Interrupted(
                        f"interrupted at step {self.step}"
                        + (f"; checkpoint saved to {path}" if path else ""),
                        hint="continue with --resume" if path else None,
                    )
        path = self._checkpoint(
            self.out / f"step_{self.step:07d}.safetensors"
            if self.out and self.step % cfg.checkpoint_every == 0
            else None
        )
        self._finish_files()
        elapsed = max(self.seconds - seconds_at_start, 1e-9)
        done = (self.step - start_step) * cfg.n_critic * cfg.batch_size * self.dist.world_size
        result = TrainResult(
            step=self.step,
            out=self.out,
            checkpoint=path,
            records=list(self.log.records),
            seconds=elapsed,
            images_per_s=done / elapsed,
        )
        events.emit("on_run_end", self, result)
        return result

    def _samples(self, name: str) -> Path | None:
        path = self.write_samples(name)
        if path is not None:
            if self.trackers:
                self.trackers.log_image("samples", path, self.step)
            self.events.emit("on_samples", self, path)
        return path

    def _checkpoint(self, path: Path | None) -> Path | None:
        saved = self.save(path)
        if saved is not None:
            self.events.emit("on_checkpoint", self, path or saved)
        return saved

    def _evaluate(self) -> dict[str, float]:
        """The ``[eval]`` metrics now, on ``train.eval_samples`` samples (rank 0)."""
        assert self.quality is not None
        scores = self.quality.run()
        record = {"step": self.step, "event": "eval", **scores}
        self.log.write(record)
        if self.trackers:
            self.trackers.log_scalars({f"eval/{k}": v for k, v in scores.items()}, self.step)
        self.events.emit("on_eval", self, scores)
        return scores

    def _write_recipe(self) -> None:
        from gancore.errors import WriteError
        from gancore.io import atomic_write_text, remove_empty

        assert self.out is not None
        created = make_out_dir(self.out)
        try:
            atomic_write_text(self.out / "recipe.toml", self.recipe.to_toml(),
                              what="the run's recipe")
        except WriteError as exc:
            remove_empty(created)  # leave no empty run folder behind
            raise TrainingError(exc.message, source=exc.source,
                                hint="choose a writable folder with --out") from None

    def _finish_files(self) -> None:
        from gancore.train.plots import save_loss_curves

        if self.out is None or not self.is_main:
            return
        if self.step % self.cfg.sample_every == 0:
            self.write_samples("final.png")  # the same grid as the last step's, logged already
        else:
            self._samples("final.png")
        losses = [r for r in self.log.records if r.get("event") is None]
        if losses:
            save_loss_curves(losses, self.out / "loss_curves.png")
        scores = [r for r in self.log.records if r.get("event") == "eval"]
        if scores:
            from gancore.train.quality import save_eval_curves

            save_eval_curves(scores, self.out / "eval_curves.png")

    def close(self) -> None:
        """Leave the distributed process group, if one was joined."""
        dist_mod.teardown(self.dist)


def _saved_numerics(ckpt: Any) -> numerics.Candidate | None:
    """The precision and memory format a resumed run was trained with (None: unknown)."""
    meta = getattr(getattr(ckpt, "info", None), "trainer", None)
    precision = getattr(meta, "precision", None)
    if precision not in ("fp32", "tf32", "bf16", "fp16"):
        return None
    cl = getattr(meta, "channels_last", None)
    return numerics.Candidate(precision, bool(cl)) if isinstance(cl, bool) else None


def _chunks(
    z: torch.Tensor, y: torch.Tensor | None, size: int = 256
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    for start in range(0, z.shape[0], size):
        yield z[start : start + size], None if y is None else y[start : start + size]


def train(recipe: str | Path | dict[str, Any] | Recipe, **kwargs: Any) -> TrainResult:
    """Build a :class:`Trainer` with ``kwargs`` and run it to the end."""
    trainer = Trainer(recipe, **kwargs)
    try:
        return trainer.fit()
    finally:
        trainer.close()
