"""Numerics measured, not assumed: which precision and memory format train a recipe fastest.

With ``train.precision = "auto"`` and ``train.channels_last = "auto"`` (the defaults) the
trainer times a few steps of the recipe's own networks, at its batch size, under each allowed
candidate and keeps the fastest one that stays finite:

- fp32 and bf16 autocast (where the device supports bf16), each with channels_last on and off;
- on CUDA also TF32 matrix products, and fp16 autocast with a gradient scaler.

A step here is the part of a training step that numerics change: the generator's forward pass,
the discriminator on real and fake images, and both backward passes, on copies of the networks
and under a forked RNG, so that the run itself is untouched. The measurement is bounded to
about 3 s, or 2% of the run's estimated length when that is less; a run too short to afford one
uses the rule (bf16 + channels_last where bf16 is fast, else fp32). The choice is cached per
device model, torch and gancore version, thread count and network signature in
``$GANCORE_CACHE/numerics.json`` (default ``~/.cache/gancore``), so later runs start at once.
Each entry carries its versions and a checksum: a damaged, hand-edited or foreign entry (or an
unreadable file) is measured again with a one-line note. The file is updated under a lock and
merged (two runs adding entries at once both keep theirs), and one measurement of a key runs at
a time: a second run wanting the same key waits for the first and reads its result.

``torch.compile`` is timed by ``gancore bench --compile`` only: compiling takes longer than the
whole measurement budget, so it is never picked behind the user's back (``train.compile``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancore.train.techniques.dpass import joint_batch

#: Upper bound of one automatic measurement, in seconds.
BUDGET_S = 3.0
#: Fraction of the estimated run an automatic measurement may take.
RUN_FRACTION = 0.02
#: Below this budget, measuring is not worth it and the rule decides.
MIN_BUDGET_S = 0.5


@dataclass(frozen=True)
class Candidate:
    """One way to run the numbers: a precision, a memory format and the compile switch."""

    precision: str  # "fp32", "tf32", "bf16", "fp16"
    channels_last: bool
    compile: bool = False

    @property
    def label(self) -> str:
        parts = {"fp32": "fp32", "tf32": "tf32", "bf16": "bf16 autocast",
                 "fp16": "fp16 autocast + GradScaler"}[self.precision]
        if self.channels_last:
            parts += " + channels_last"
        if self.compile:
            parts += " + compile"
        return parts

    @property
    def key(self) -> str:
        return f"{self.precision}/{'cl' if self.channels_last else 'nchw'}" + (
            "/compile" if self.compile else "")

    @classmethod
    def from_key(cls, key: str) -> Candidate:
        parts = key.split("/")
        return cls(parts[0], parts[1] == "cl", "compile" in parts[2:])


@dataclass
class Timing:
    """What one candidate measured: images/s (0 when it failed) and why it was refused."""

    candidate: Candidate
    images_per_s: float = 0.0
    steps: int = 0
    problem: str | None = None

    @property
    def safe(self) -> bool:
        return self.problem is None and self.images_per_s > 0


#: How a choice was made when nothing was measured, in words.
SIMPLE_HOW = {
    "rule": "by rule: too short a run to measure",
    "fixed": "as the recipe sets",
    "only": "the only candidate on this device",
    "resumed": "as the resumed run was trained",
}


@dataclass
class Choice:
    """The numerics a run uses and how they were chosen (``measured``, ``cached``, ``rule``)."""

    candidate: Candidate
    how: str
    timings: list[Timing] = field(default_factory=list)
    cache: Path | None = None

    def describe(self) -> str:
        text = f"numerics: {self.candidate.label}"
        rates = {t.candidate.key: t.images_per_s for t in self.timings if t.safe}
        base = rates.get(Candidate("fp32", False).key)
        mine = rates.get(self.candidate.key)
        if self.how in SIMPLE_HOW:
            return text + f" ({SIMPLE_HOW[self.how]})"
        detail = f"{mine:.0f} images/s" if mine else ""
        if mine and base:
            detail += f", {mine / base:.2f}x fp32"
        if self.how == "measured":
            return text + f" (measured now{': ' + detail if detail else ''})"
        # a figure an earlier run measured (maybe on a quieter machine), not this run's speed
        return text + (f" (cached from an earlier run, which measured {detail} then; this "
                       "run's speed is in its log)" if detail else " (cached from an earlier run)")


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast is fast on ``device`` (AVX-512 BF16/AMX CPUs, bf16 GPUs)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)
    return False


def candidates(
    device: torch.device, *, images: bool, precision: str = "auto", channels_last: str = "auto",
    compile: bool = False,
) -> list[Candidate]:
    """The candidates the recipe's ``precision``/``channels_last`` settings leave open."""
    if precision == "auto":
        precisions = ["fp32"]
        if device.type == "cuda":
            precisions.append("tf32")
        if bf16_supported(device):
            precisions.append("bf16")
        if device.type == "cuda":
            precisions.append("fp16")
    else:
        precisions = [precision]
    if not images:
        layouts = [False]
    elif channels_last == "auto":
        layouts = [False, True]
    else:
        layouts = [channels_last == "on"]
    compiles = [False, True] if compile else [False]
    return [Candidate(p, cl, c) for c in compiles for p in precisions for cl in layouts]


def rule(device: torch.device, *, images: bool, precision: str, channels_last: str) -> Candidate:
    """The choice without measuring: bf16 + channels_last where bf16 is fast, else fp32."""
    if precision == "auto":
        precision = "bf16" if images and bf16_supported(device) else "fp32"
    cl = images and channels_last in ("auto", "on")
    return Candidate(precision, cl)


def device_model(device: torch.device) -> str:
    """The device's model name (the CPU model from /proc/cpuinfo, or the GPU's name)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def threads_text(device: torch.device) -> str:
    """``"2 threads"`` on the CPU, ``"GPU"`` otherwise."""
    return f"{torch.get_num_threads()} threads" if device.type == "cpu" else "GPU"


def signature(parts: dict[str, Any]) -> str:
    """A short hash of what decides the speed: the networks, batch and data shape."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_key(device: torch.device, network_signature: str) -> str:
    """The cache key: device model, torch and gancore versions, threads and the network
    signature."""
    from gancore.core.version import __version__

    threads = torch.get_num_threads() if device.type == "cpu" else 0
    return (f"{device_model(device)} | torch {torch.__version__} | gancore {__version__} | "
            f"{threads} threads | {network_signature}")


def cache_path() -> Path:
    """``$GANCORE_CACHE/numerics.json`` (default ``~/.cache/gancore/numerics.json``)."""
    from gancore.storage.cache import kind_path

    return kind_path("numerics")


def read_cache(path: Path | None = None, *, quiet: bool = False) -> dict[str, Any]:
    """The cached entries by key as stored (each checked by :func:`cached_choice`); a file
    that cannot be read counts as empty, with a one-line note (unless ``quiet``)."""
    from gancore.storage.lock import note as say

    def note(text: str) -> None:
        if not quiet:
            say(text)

    path = path or cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        reason = "truncated or corrupted" if isinstance(exc, ValueError) else \
            (getattr(exc, "strerror", None) or type(exc).__name__)
        note(f"the numerics cache {path} is not used: it cannot be read ({reason}); "
             "measuring again")
        return {}
    if not isinstance(data, dict):
        note(f"the numerics cache {path} is not used: it holds no table of entries; "
             "measuring again")
        return {}
    return data


def write_cache(key: str, choice: Choice, path: Path | None = None) -> Path | None:
    """Record ``choice`` under ``key``: merged into the file under its update lock, written
    atomically; returns the file, or None if unwritable."""
    from gancore.core.errors import WriteError
    from gancore.storage.cache import seal
    from gancore.storage.io import atomic_write_text
    from gancore.storage.lock import update_lock

    path = path or cache_path()
    entry = seal({
        "choice": choice.candidate.key,
        "images_per_s": {t.candidate.key: round(t.images_per_s, 1) for t in choice.timings},
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }, key)
    try:
        with update_lock(path, what="the numerics cache"):
            data = read_cache(path, quiet=True)  # a damaged file was named when read
            data[key] = entry
            atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n",
                              what="the numerics cache")
    except WriteError:  # a read-only cache costs a measurement next time, nothing more
        return None
    return path


def cached_choice(key: str, allowed: Sequence[Candidate],
                  path: Path | None = None, *, quiet: bool = False) -> Choice | None:
    """The cached choice for ``key`` if the entry is sound (its checksum and versions hold;
    else a one-line note, unless ``quiet``) and one of ``allowed``."""
    from gancore.storage.cache import unseal

    path = path or cache_path()
    stored = read_cache(path, quiet=quiet)
    if key not in stored:
        return None
    entry = unseal(stored[key], key, what="numerics cache entry",
                   where=f"{path}[{key.rsplit(' | ', 1)[-1]}]", again="measuring again",
                   quiet=quiet)
    if entry is None:
        return None
    try:
        chosen = Candidate.from_key(str(entry.get("choice")))
    except (IndexError, KeyError):
        return None
    if chosen not in allowed:
        return None
    rates = entry.get("images_per_s") or {}
    timings = []
    for k, v in rates.items() if isinstance(rates, dict) else ():
        try:
            timings.append(Timing(Candidate.from_key(k), float(v)))
        except (IndexError, KeyError, TypeError, ValueError):
            continue
    return Choice(chosen, "cached", timings, path or cache_path())


@dataclass
class Probe:
    """What one timed step needs: the networks, a batch shape, labels and the device."""

    generator: nn.Module
    discriminator: nn.Module
    batch_size: int
    latent_dim: int
    data_shape: tuple[int, ...]
    device: torch.device
    g_classes: int = 0
    d_classes: int = 0
    #: real and fake through D in one pass (the ``joint_d_pass`` technique)
    joint: bool = False


def probe_for(gan: Any, batch_size: int, device: torch.device, *, joint: bool = False) -> Probe:
    """The probe of a built GAN (:class:`gancore.assembly.build.GAN`) at ``batch_size``."""
    d_classes = int(getattr(gan.discriminator, "num_classes", 0))
    return Probe(gan.generator, gan.discriminator, batch_size, gan.latent_dim,
                 tuple(gan.data.shape), device, g_classes=gan.num_classes,
                 d_classes=max(d_classes, 0), joint=joint)


def signature_for(recipe: Any, batch_size: int, data_shape: Sequence[int],
                  device: torch.device, *, joint: bool | None = None) -> str:
    """The network signature of a resolved recipe: its networks, batch, data shape, device
    (and the joint D pass, ``joint``: from the recipe's techniques when None)."""
    data = recipe.to_dict()
    parts = {key: data.get(key) for key in ("generator", "discriminator")}
    if joint is None:
        joint = any(t.type == "joint_d_pass" for t in recipe.train.techniques)
    if joint:  # keys of separate passes stay as they were
        parts["joint_d_pass"] = True
    return signature(parts | {"batch": batch_size, "shape": list(data_shape),
                              "device": str(device)})


def _autocast(device: torch.device, precision: str) -> Any:
    from contextlib import nullcontext

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    if dtype is None:
        return nullcontext()
    return torch.autocast(device.type, dtype=dtype)


class _TF32:
    """Turn TF32 matrix products on for a block (CUDA), restoring the previous setting."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __enter__(self) -> None:
        self.saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        if self.on:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    def __exit__(self, *exc: object) -> None:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.saved


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(probe: Probe, cand: Candidate) -> Callable[[], tuple[float, float]]:
    """A timed step of copies of the networks under ``cand``; it returns the two losses."""
    g = copy.deepcopy(probe.generator).train()
    d = copy.deepcopy(probe.discriminator).train()
    if cand.channels_last:
        g.to(memory_format=torch.channels_last)
        d.to(memory_format=torch.channels_last)
    g_run: Any = torch.compile(g) if cand.compile else g
    d_run: Any = torch.compile(d) if cand.compile else d
    dev, b = probe.device, probe.batch_size
    real = torch.rand(b, *probe.data_shape, device=dev) * 2 - 1
    if cand.channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
    y = torch.randint(max(probe.g_classes, probe.d_classes, 1), (b,), device=dev)
    y_g = y if probe.g_classes else None
    y_d = y if probe.d_classes else None
    scaler = torch.amp.GradScaler("cuda") if cand.precision == "fp16" else None

    def backward(loss: torch.Tensor) -> None:
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def step() -> tuple[float, float]:
        with _TF32(cand.precision == "tf32"):
            for p in (*g.parameters(), *d.parameters()):
                p.grad = None
            with _autocast(dev, cand.precision):
                fake = g_run(torch.randn(b, probe.latent_dim, device=dev), y_g)
                if probe.joint:
                    d_both = d_run(*joint_batch(real, fake.detach(), y_d, cand.channels_last))
                    d_real, d_fake = d_both[:b].float(), d_both[b:].float()
                else:
                    d_real = d_run(real, y_d).float()
                    d_fake = d_run(fake.detach(), y_d).float()
            d_loss = nn.functional.softplus(-d_real).mean() + nn.functional.softplus(d_fake).mean()
            backward(d_loss)
            with _autocast(dev, cand.precision):
                g_loss = nn.functional.softplus(-d_run(fake, y_d).float()).mean()
            backward(g_loss)
        return d_loss.detach(), g_loss.detach()  # type: ignore[return-value]

    return step


def _problem(exc: Exception) -> str:
    """Why a candidate failed, in one line."""
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"


def time_candidate(probe: Probe, cand: Candidate, seconds: float, *, warmup: int = 1,
                   min_steps: int = 2) -> Timing:
    """Images/s of ``cand``: ``warmup`` untimed steps, then steps for about ``seconds``."""
    timing = Timing(cand)
    try:
        step = make_step(probe, cand)
        for _ in range(warmup):
            step()
        _sync(probe.device)
        done, start = 0, time.perf_counter()
        losses: list[Any] = []
        while done < min_steps or time.perf_counter() - start < seconds:
            losses.extend(step())
            done += 1
            if done >= 1000:
                break
        _sync(probe.device)
        elapsed = time.perf_counter() - start
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as exc:
        timing.problem = _problem(exc)
        return timing
    values = torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in losses])
    if not bool(torch.isfinite(values).all()):
        timing.problem = "non-finite losses"
        return timing
    timing.images_per_s = done * probe.batch_size / max(elapsed, 1e-9)
    timing.steps = done
    return timing


def measure(probe: Probe, cands: Sequence[Candidate], seconds_each: float,
            *, progress: Callable[[Timing], None] | None = None) -> list[Timing]:
    """Time each candidate for about ``seconds_each``, leaving the networks and RNG as they were.

    The candidates take turns, one step each, so that a burst of load from other processes
    slows them all alike; each one's rate is its median step.
    """
    devices = [probe.device] if probe.device.type == "cuda" else []
    timings = [Timing(c) for c in cands]
    with torch.random.fork_rng(devices=devices):
        steps: list[Callable[[], tuple[float, float]] | None] = []
        for timing in timings:
            try:
                step = make_step(probe, timing.candidate)
                step()  # warm-up: kernels are chosen and built in the first step
            except (RuntimeError, NotImplementedError, TypeError, ValueError) as exc:
                timing.problem = _problem(exc)
                step = None
            steps.append(step)
        times: list[list[float]] = [[] for _ in timings]
        losses: list[list[Any]] = [[] for _ in timings]
        end = time.perf_counter() + seconds_each * len(timings)
        while True:
            for i, step in enumerate(steps):
                if step is None:
                    continue
                try:
                    _sync(probe.device)
                    start = time.perf_counter()
                    losses[i].extend(step())
                    _sync(probe.device)
                    times[i].append(time.perf_counter() - start)
                except (RuntimeError, NotImplementedError, TypeError, ValueError) as exc:
                    timings[i].problem = _problem(exc)
                    steps[i] = None
            done = min((len(t) for t, s in zip(times, steps, strict=True) if s), default=0)
            if not any(steps) or (done >= 2 and time.perf_counter() >= end) or done >= 1000:
                break
    for timing, spent, values in zip(timings, times, losses, strict=True):
        if timing.problem is None and spent:
            finite = bool(torch.isfinite(torch.stack(
                [torch.as_tensor(v, dtype=torch.float32) for v in values])).all())
            if not finite:
                timing.problem = "non-finite losses"
            else:
                timing.steps = len(spent)
                timing.images_per_s = probe.batch_size / statistics.median(spent)
        if progress is not None:
            progress(timing)
    return timings


#: how much faster than the favoured candidate another must measure to be chosen
MARGIN = 1.02


def fastest(timings: Sequence[Timing], prefer: Candidate | None = None) -> Timing | None:
    """The fastest safe timing; within ``MARGIN`` of each other, ``prefer`` (the rule's
    candidate) wins, else the earlier, simpler candidate, so that noise on a shared machine
    does not override the informed default."""
    ordered = sorted(timings, key=lambda t: t.candidate != prefer)  # stable: prefer first
    best = None
    for t in ordered:
        if t.safe and (best is None or t.images_per_s > best.images_per_s * MARGIN):
            best = t
    return best


def choose(
    probe: Probe,
    *,
    precision: str,
    channels_last: str,
    images: bool,
    steps: int,
    network_signature: str,
    measure_allowed: bool = True,
) -> Choice:
    """The run's numerics: the cached choice, else a bounded measurement, else the rule."""
    device = probe.device
    allowed = candidates(device, images=images, precision=precision,
                         channels_last=channels_last)
    by_rule = rule(device, images=images, precision=precision, channels_last=channels_last)
    if len(allowed) == 1:
        fixed = precision != "auto" and (channels_last != "auto" or not images)
        return Choice(allowed[0], "fixed" if fixed else "only")
    key = cache_key(device, network_signature)
    cached = cached_choice(key, allowed, quiet=True)  # a bad entry is named once, below
    if cached is not None:
        return cached
    if not measure_allowed:
        cached_choice(key, allowed)
        return Choice(by_rule, "rule")
    from gancore.storage.cache import fill_lock, key_hash

    # one measurement of a key at a time: a second run waits and reads the first one's result
    with fill_lock(cache_path().parent / f"numerics-{key_hash({'key': key})}",
                   what="the numerics cache entry"):
        cached = cached_choice(key, allowed)
        if cached is not None:
            return cached
        return _measure_and_cache(probe, allowed, by_rule, steps, key)


def _measure_and_cache(probe: Probe, allowed: Sequence[Candidate], by_rule: Candidate,
                       steps: int, key: str) -> Choice:
    device = probe.device
    # one step of the rule's candidate estimates the run's length, and so the budget
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        first = time_candidate(probe, by_rule, 0.0, warmup=1, min_steps=1)
    per_step = probe.batch_size / first.images_per_s if first.safe else math.inf
    budget = min(BUDGET_S, RUN_FRACTION * steps * per_step)
    if not budget >= MIN_BUDGET_S:
        return Choice(by_rule, "rule", [first] if first.safe else [])
    timings = measure(probe, allowed, budget / len(allowed) * 0.6)  # warm-ups take the rest
    best = fastest(timings, prefer=by_rule)
    if best is None:
        return Choice(by_rule, "rule", timings)
    choice = Choice(best.candidate, "measured", timings)
    choice.cache = write_cache(key, choice)
    return choice


def as_dict(choice: Choice) -> dict[str, Any]:
    """A JSON-ready form of ``choice`` (for the run's record)."""
    return {
        "choice": choice.candidate.key,
        "how": choice.how,
        "images_per_s": {t.candidate.key: round(t.images_per_s, 1) for t in choice.timings},
        "problems": {t.candidate.key: t.problem for t in choice.timings if t.problem},
        **{k: v for k, v in asdict(choice.candidate).items()},
    }
