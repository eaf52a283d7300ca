"""Does the data keep up with the training step? Measured, and said with the fix.

:func:`measure_batches` times the run's own batches (decoding, gathering, the copy to the
device and augmentation included) and leaves them as they were; :func:`step_rate` takes the
training step's images/s from the numerics measurement or times two steps.
:func:`check_data_path` compares them: :class:`DataPathCheck` ``.message()`` names the fix when
the data costs the run a noticeable share of its time. ``gancore bench`` prints it, and the
trainer calls :func:`check_at_start` once when a run starts.

``train.num_workers = "auto"`` (the default) is :func:`auto_workers`: on a GPU every available
CPU but one (at most 8) decodes, as the step itself needs little CPU; on the CPU the step uses
every core, so decoding stays in the training process on machines of up to 8 cores.
In-memory and prepared datasets never use workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from gancore.core.threads import MAX_AUTO_WORKERS, auto_workers, resolve_workers  # noqa: F401

#: The share of a run's time spent waiting on data from which :meth:`DataPathCheck.message`
#: speaks up.
WAIT_LIMIT = 0.10
#: Runs shorter than this many steps skip the check at the start (it would cost more than it
#: could save).
MIN_RUN_STEPS = 100


def describe_path(batches: Any) -> str:
    """What kind of data path ``batches`` is, in words."""
    from gancore.train.batches import LoaderBatches, StoredBatches

    if isinstance(batches, StoredBatches):
        where = "held on the device" if batches.on_device else "gathered from the memory map"
        return f"uint8 images ({where}), converted on the device"
    if isinstance(batches, LoaderBatches):
        workers = batches.loader.num_workers
        return f"files decoded by a DataLoader ({workers} worker{'s' if workers != 1 else ''})"
    return "float tensors in memory"


def measure_batches(batches: Any, *, seconds: float = 0.5, min_batches: int = 3,
                    max_batches: int = 500) -> float:
    """Images/s that ``batches.next()`` delivers on its device (after one warm-up batch).

    The batches' random state (and a DataLoader's place in its epoch) is restored afterwards,
    so the run draws exactly the batches it would have drawn without the measurement.
    """
    saved = [(g, g.get_state()) for _, g in batches.state()]
    epoch = getattr(batches, "epoch", 0)
    device = getattr(batches, "device", torch.device("cpu"))
    try:
        x, _ = batches.next()  # warm-up: worker start-up, first page faults, kernels
        _sync(device)
        done, images, start = 0, 0, time.perf_counter()
        while done < min_batches or (time.perf_counter() - start < seconds
                                     and done < max_batches):
            x, _ = batches.next()
            images += int(x.shape[0])
            done += 1
        _sync(device)
        elapsed = time.perf_counter() - start
    finally:
        for generator, state in saved:
            generator.set_state(state)
        rewind = getattr(batches, "rewind", None)
        if callable(rewind):
            rewind(epoch)
    return images / max(elapsed, 1e-9)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class DataPathCheck:
    """Images/s of the data path and of the training step, and what to do about a gap."""

    path: str
    data_images_per_s: float
    step_images_per_s: float
    dataset: str = ""
    device: str = "cpu"
    num_workers: int = 0
    cpus: int = 1
    overlapped: bool = False

    @property
    def ratio(self) -> float:
        """How many times the step's consumption the data path delivers."""
        return self.data_images_per_s / max(self.step_images_per_s, 1e-9)

    @property
    def wait_share(self) -> float:
        """The share of the run's time spent waiting on data: with the data made while the
        step runs (DataLoader workers, a GPU step), the part the data cannot cover; with both
        in turn in one process, the data's part of each step's time."""
        if self.overlapped:
            return max(0.0, 1.0 - self.ratio)
        return 1.0 / (1.0 + self.ratio)

    @property
    def bottleneck(self) -> bool:
        """Whether the data costs at least :data:`WAIT_LIMIT` of the run's time."""
        return self.wait_share >= WAIT_LIMIT

    def summary(self) -> str:
        """One line: both rates and their ratio."""
        times = f"{self.ratio:,.0f}x" if self.ratio >= 10 else f"{self.ratio:.2f}x"
        return (f"data path: {self.path} deliver {self.data_images_per_s:,.0f} images/s, "
                f"{times} what the training step consumes "
                f"({self.step_images_per_s:,.0f} images/s)")

    def message(self) -> str | None:
        """The warning with the fix when the data is the bottleneck, else None."""
        if not self.bottleneck:
            return None
        text = (f"the data path is a bottleneck: {self.path} deliver "
                f"{self.data_images_per_s:,.0f} images/s, the training step consumes "
                f"{self.step_images_per_s:,.0f}, so the {self.device} waits on data about "
                f"{self.wait_share:.0%} of the time")
        if "DataLoader" in self.path:
            fixes = ["prepare the data once: gancore data prepare SOURCE OUT --size N, then "
                     'data.type = "prepared" with data.root = "OUT" (nothing is decoded while '
                     "training)"]
            if self.num_workers < self.cpus:
                fixes.append(f"or raise train.num_workers (now {self.num_workers}; "
                             f"{self.cpus} CPUs here)")
            return text + ". Fix: " + " ".join(fixes)
        if "memory map" in self.path:
            return text + (". Fix: keep the prepared folder on a local SSD with enough free "
                           "RAM to cache it, or lower data.limit so that it fits the device")
        return text + (". Fix: lower the data's augmentation (data.rotate/shift run per "
                       "batch) or train on the GPU, where batches are converted on the device")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"path": self.path, "data_images_per_s": round(self.data_images_per_s, 1),
                "step_images_per_s": round(self.step_images_per_s, 1),
                "ratio": round(self.ratio, 2), "wait_share": round(self.wait_share, 3),
                "bottleneck": self.bottleneck, "message": self.message()}


def step_rate(probe: Any, choice: Any) -> float:
    """The training step's images/s: from the numerics measurement of the chosen candidate
    when there is one, else timed here (a warm-up and two steps on copies of the networks,
    with the random state restored)."""
    from gancore.train import numerics

    for timing in getattr(choice, "timings", []) or []:
        if timing.candidate == choice.candidate and timing.safe:
            return float(timing.images_per_s)
    devices = [probe.device] if probe.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        timing = numerics.time_candidate(probe, choice.candidate, 0.0, warmup=1, min_steps=2)
    return float(timing.images_per_s) if timing.safe else 0.0


def check_data_path(batches: Any, step_images_per_s: float, *, dataset: str = "",
                    seconds: float = 0.5) -> DataPathCheck:
    """Measure ``batches`` and compare it with the step's consumption."""
    from gancore.core.threads import available_cpus
    from gancore.train.batches import LoaderBatches

    device = getattr(batches, "device", torch.device("cpu"))
    rate = measure_batches(batches, seconds=seconds)
    workers = batches.loader.num_workers if isinstance(batches, LoaderBatches) else 0
    return DataPathCheck(
        path=describe_path(batches), data_images_per_s=rate,
        step_images_per_s=step_images_per_s, dataset=dataset,
        device="GPU" if device.type == "cuda" else str(device.type).upper(),
        num_workers=workers, cpus=available_cpus(),
        overlapped=workers > 0 or device.type != "cpu")


def check_at_start(batches: Any, gan: Any, cfg: Any, device: torch.device, choice: Any,
                   dataset: str, echo: Callable[[str], None] | None) -> DataPathCheck | None:
    """The check a training run makes once at its start; ``echo`` hears the warning (or the
    summary line when the data keeps up). Skipped (None) for runs shorter than
    :data:`MIN_RUN_STEPS` steps and where ``echo`` is None (ranks other than the first)."""
    from gancore.train import numerics

    if echo is None or cfg.steps < MIN_RUN_STEPS or len(gan.data.shape) != 3:
        return None
    probe = numerics.probe_for(gan, cfg.batch_size, device,
                              joint=any(t.type == "joint_d_pass" for t in cfg.techniques))
    rate = step_rate(probe, choice)
    if rate <= 0:
        return None
    check = check_data_path(batches, rate, dataset=dataset)
    message = check.message()
    echo(f"warning: {message}" if message else check.summary())
    return check
