"""Mode coverage on the 2D mixtures: the bundled ``ring`` and ``grid`` recipes over 5 seeds.

PacGAN's protocol: ring = 8 Gaussians (radius 1, std 0.01), grid = 25 Gaussians at
{-4,-2,0,2,4}² (std 0.05); 2,500 samples from the (EMA) generator; a sample is high quality
(HQ) within 3 std of its nearest mode; a mode is captured when at least one HQ sample is nearest
to it. Prints modes captured and % HQ (means over seeds) beside the published rows.

    python bench/mode_coverage.py [--seeds 5] [--recipes ring grid] [--jobs 2] [--set k=v]...

The recipes train on one thread each, so ``--jobs`` runs that many seeds side by side (one per
core); the seconds printed per run are then those of a run sharing the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from gancore.metrics.modes import mode_coverage

#: (method, modes, % HQ) from PacGAN (Lin et al. 2018), Tables 2 and 3.
PUBLISHED = {
    "ring": [("GAN", 6.3, 98.2), ("ALI", 6.6, 97.6), ("PacGAN2", 7.9, 95.6), ("VEEGAN", 8.0, 52.9)],
    "grid": [
        ("GAN", 17.3, 94.8),
        ("ALI", 24.1, 95.7),
        ("PacGAN4", 24.8, 93.6),
        ("VEEGAN", 24.6, 40.0),
    ],
}
NUM_SAMPLES = 2500


def evaluate(trainer, seed: int) -> tuple[int, float]:
    """Coverage of :data:`NUM_SAMPLES` samples of the trainer's (EMA) generator."""
    dataset = trainer.dataset
    gen = torch.Generator().manual_seed(10_000 + seed)
    z = torch.randn(NUM_SAMPLES, trainer.gan.latent_dim, generator=gen).to(trainer.device)
    samples = trainer.sample(z)
    return mode_coverage(samples, dataset.centers, dataset.std)


def run(recipe: str, seed: int, overrides: list[str]) -> tuple[int, float, float]:
    from gancore.train.trainer import Trainer

    start = time.perf_counter()
    trainer = Trainer(recipe, overrides=[f"seed={seed}", *overrides])
    trainer.fit()
    modes, hq = evaluate(trainer, seed)
    return modes, hq, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--recipes", nargs="+", default=["ring", "grid"])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        help="recipe override, e.g. train.steps=2000",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="seeds trained at once, in separate processes"
    )
    args = parser.parse_args()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for recipe in args.recipes:
            report(recipe, args, pool)


def report(recipe: str, args: argparse.Namespace, pool: ProcessPoolExecutor) -> None:
    """Train ``recipe`` over the seeds and print the table beside the published rows."""
    futures = [pool.submit(run, recipe, seed, args.overrides) for seed in range(args.seeds)]
    rows = []
    for seed, future in enumerate(futures):
        modes, hq, seconds = future.result()
        rows.append((modes, hq, seconds))
        print(f"{recipe} seed {seed}: {modes} modes, {hq:.1f}% HQ ({seconds:.0f} s)", flush=True)
    total = 8 if recipe == "ring" else 25
    print(f"\n{recipe} ({total} modes, {NUM_SAMPLES} samples, mean of {args.seeds} seeds)")
    print(f"  {'method':<16}{'modes':>8}{'% HQ':>8}")
    for name, modes, hq in PUBLISHED.get(recipe, []):
        print(f"  {name:<16}{modes:>8.1f}{hq:>8.1f}")
    mean_modes = statistics.mean(r[0] for r in rows)
    mean_hq = statistics.mean(r[1] for r in rows)
    mean_s = statistics.mean(r[2] for r in rows)
    print(
        f"  {'gancore ' + recipe:<16}{mean_modes:>8.1f}{mean_hq:>8.1f}"
        f"   ({mean_s:.0f} s per run)\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
