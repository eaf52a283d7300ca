"""Images/s of the data paths against what the DCGAN-64 training step consumes, in one run.

  python bench/data_throughput.py                 # 3,000 JPEGs of 178x218, batch 128
  python bench/data_throughput.py --images 500 --seconds 1 --rounds 1   # a quick look

Paths, each batched as training batches them, at the recipe's batch size, on the run's device
(the copy to the device and the conversion to float included):

- ``folder 64``: 218x178 JPEGs decoded, resized and cropped by the ``folder`` dataset on every
  batch (a DataLoader with ``train.num_workers`` at its default, ``"auto"``);
- ``prepared 64``: the same JPEGs after ``gancore data prepare --size 64``, memory-mapped uint8;
- ``in-memory 32``: a 32x32 set held as float tensors (the built-in ``shapes``);
- ``prepared 32``: the same set prepared (uint8, converted per batch on the device).

The reference is the training step of the bundled ``dcgan`` recipe (64x64) with the numerics
the trainer picks by rule on this device, timed in the same run. Paths and step take turns
over ``--rounds`` rounds (a burst of load from other processes hits them alike); each rate is
its median over the rounds. Targets: prepared 64 at least 20x folder 64, and at least 10x the
step's consumption.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=3000, help="JPEGs of 178x218 to generate")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: dcgan's)")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per path per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every path and the step")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    p.add_argument("--folder-workers", type=int, default=None,
                   help="also time the folder path with this many DataLoader workers")
    p.add_argument("--work-dir", default=None, help="keep the JPEGs and prepared sets here")
    args = p.parse_args()

    import torch

    import gancore
    from gancore.core.threads import default_threads
    from gancore.train import distributed as dist_mod
    from gancore.train.trainer import pick_device

    device = pick_device(args.device, dist_mod.DistInfo())
    torch.set_num_threads(min(torch.get_num_threads(), default_threads()))
    gan = gancore.build("dcgan", overrides=[f'train.device="{args.device}"'], device=device)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="gancore-data-bench-"))
    try:
        run(args, device, gan, work)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, device: Any, gan: Any, work: Path) -> None:
    """Make the data, time the paths and the step in rounds, print the table."""
    from gancore.core.threads import available_cpus
    from gancore.data.folder import ImageFolder
    from gancore.data.prepared import writer
    from gancore.data.prepared.dataset import PreparedImages
    from gancore.data.prepared.imaging import Settings
    from gancore.data.prepared.sources import open_source
    from gancore.data.prepared.standins import write_photos
    from gancore.data.shapes import Shapes
    from gancore.train import numerics
    from gancore.train.batches import make_batches
    from gancore.train.datapath import auto_workers, describe_path, measure_batches

    batch = args.batch or gan.recipe.train.batch_size
    jpegs = work / "jpegs"
    t0 = time.perf_counter()
    if len(list(jpegs.glob("*.jpg"))) != args.images:
        write_photos(jpegs, args.images)
    made = time.perf_counter() - t0
    t0 = time.perf_counter()
    if not (work / "prepared-64" / "manifest.json").is_file():
        writer.prepare(open_source(str(jpegs)), work / "prepared-64", Settings(64))
    prep_s = time.perf_counter() - t0
    shapes_options = {"image_size": 32, "num_samples": max(args.images, batch)}
    if not (work / "prepared-32" / "manifest.json").is_file():
        writer.prepare(open_source("shapes", options=shapes_options), work / "prepared-32",
                       Settings(32))

    paths = {
        "folder 64": make_batches(ImageFolder(str(jpegs), image_size=64), batch, 0, device,
                                  num_workers="auto"),
        "prepared 64": make_batches(PreparedImages(root=str(work / "prepared-64")), batch, 0,
                                    device),
        "in-memory 32": make_batches(Shapes(**shapes_options), batch, 0, device),
        "prepared 32": make_batches(PreparedImages(root=str(work / "prepared-32")), batch, 0,
                                    device),
    }
    if args.folder_workers is not None:
        paths[f"folder 64, {args.folder_workers} workers"] = make_batches(
            ImageFolder(str(jpegs), image_size=64), batch, 0, device,
            num_workers=args.folder_workers)
    probe = numerics.probe_for(gan, batch, device)
    cand = numerics.rule(device, images=True, precision="auto", channels_last="auto")

    print(f"device {numerics.device_model(device)} ({device}), {numerics.threads_text(device)}, "
          f"{available_cpus()} CPUs available, default num_workers here: "
          f"{auto_workers(device)}; batch {batch}")
    print(f"{args.images:,} JPEGs of 178x218 written in {made:.1f} s; prepared to 64x64 in "
          f"{prep_s:.1f} s ({args.images / max(prep_s, 1e-9):,.0f} images/s, once)")
    rates: dict[str, list[float]] = {name: [] for name in paths}
    steps: list[float] = []
    for r in range(args.rounds):
        for name, batches in paths.items():
            rates[name].append(measure_batches(batches, seconds=args.seconds))
        timing = numerics.measure(probe, [cand], args.seconds)[0]
        if timing.safe:
            steps.append(timing.images_per_s)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{n} {v[-1]:,.0f}" for n, v in rates.items())
            + (f", dcgan-64 step {steps[-1]:,.1f} images/s" if steps else ""), flush=True)
    if not steps:
        raise SystemExit(f"the dcgan step failed on {device}: {timing.problem}")
    step = statistics.median(steps)
    med = {name: statistics.median(v) for name, v in rates.items()}
    print()
    print(f"| path | how | images/s | x dcgan-64 step ({step:,.1f} images/s, "
          f"{cand.label}) |")
    print("|---|---|---:|---:|")
    for name, batches in paths.items():
        print(f"| {name} | {describe_path(batches)} | {med[name]:,.0f} | "
              f"{med[name] / step:,.1f}x |")
    print()
    ratio = med["prepared 64"] / med["folder 64"]
    over_step = med["prepared 64"] / step
    print(f"prepared 64 / folder 64: {ratio:,.1f}x (target >= 20)")
    print(f"prepared 64 / dcgan-64 step: {over_step:,.1f}x (target >= 10)")
    print(f"prepared 32 / in-memory 32: {med['prepared 32'] / med['in-memory 32']:,.2f}x")
    if args.work_dir is not None:
        print(f"work folder (kept): {work}")


if __name__ == "__main__":
    main()
