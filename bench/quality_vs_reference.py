"""Quality at equal cost: gancore's ``dcgan-32`` against the PyTorch DCGAN tutorial loop.

    python bench/quality_vs_reference.py [--seeds 3] [--steps 1000] [--n 5000]

For each seed both sides train on the same Fashion-MNIST training images (gancore's data
pipeline: 28x28 padded to 32x32, lossless): gancore with the recipe's defaults for ``--steps``
generator updates, the tutorial loop (``bench/train_throughput.py``'s ``Reference``: fp32, BCE,
Adam 2e-4/0.5) for ``--steps`` updates *and* for gancore's wall-clock time, whichever comes
later. Samples of both are cropped back to the native 28x28 and scored against the native test
split with the Fréchet distance in the features of gancore's Fashion-MNIST classifier (the
``classifier`` extractor, trained once and cached). The tutorial samples in training mode (batch
statistics), as the tutorial does; gancore samples as ``gancore sample`` does.

Printed: each seed's FIDs and times, then per side the mean with a 95% t interval, and the
ratios gancore / tutorial at equal steps and at equal wall-clock (lower FID is better, so a
ratio below 1 favours gancore). Needs ``apt-get install dataset-fashion-mnist``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_throughput import Reference

from gancore.data.fashion_mnist import FashionMNIST
from gancore.data.transforms import crop_to_native, to_signed
from gancore.evaluation.stats import summarize, welch_p
from gancore.metrics.classifier import ClassifierExtractor
from gancore.metrics.fid import fid_from_features


@torch.no_grad()
def reference_samples(g: torch.nn.Module, n: int, nz: int = 100, batch: int = 64) -> torch.Tensor:
    """``n`` samples of the tutorial generator in training mode, as the tutorial draws them."""
    g = copy.deepcopy(g).train()
    return torch.cat([g(torch.randn(min(batch, n - i), nz, 1, 1)) for i in range(0, n, batch)])


def interval(values: list[float]) -> str:
    s = summarize(values)
    if s.low is None:
        return f"{s.mean:.1f}"
    return f"{s.mean:.1f} [{s.low:.1f}, {s.high:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per side (default 3)")
    parser.add_argument("--steps", type=int, default=1000, help="generator updates (gancore)")
    parser.add_argument("--n", type=int, default=5000, help="samples scored per run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        help="recipe override for the gancore side")
    args = parser.parse_args()

    from gancore.train.trainer import Trainer

    test = FashionMNIST(split="test", limit=args.n)
    fit = FashionMNIST(limit=20000)
    extractor = ClassifierExtractor(max_train=10000, device="cpu")
    extractor.fit(to_signed(fit.images[10000:]), fit.labels[10000:], dataset="fashion_mnist",
                  params={"bench": "quality_vs_reference", "limit": 20000}, num_classes=10)
    test_features = extractor.features(to_signed(test.images))

    def score(images_32: torch.Tensor) -> float:
        return fid_from_features(extractor.features(crop_to_native(images_32.float(), 28)),
                                 test_features)

    rows = []
    print(f"dcgan-32 vs the tutorial loop, {args.steps} steps, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, {args.n} samples vs the native test split")
    print("| seed | gancore FID | s | tutorial FID (equal steps) | s | tutorial FID (equal "
          "time) | its steps |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for seed in range(args.seeds):
        trainer = Trainer("dcgan-32", steps=args.steps, overrides=[
            f"seed={seed}", f"train.batch_size={args.batch_size}", "train.log_every=1000000",
            *args.overrides])
        start = time.perf_counter()
        trainer.fit()
        ours_s = time.perf_counter() - start
        z = torch.randn(args.n, trainer.gan.latent_dim, generator=torch.Generator().manual_seed(99))
        ours = score(trainer.sample(z))

        torch.manual_seed(seed)
        ref = Reference(trainer.batches.x, args.batch_size)
        ref.gen.manual_seed(seed)
        steps, spent, at_time, at_time_steps, at_steps, ref_s = 0, 0.0, None, 0, None, 0.0
        while at_steps is None or at_time is None:
            t = time.perf_counter()
            ref.step()
            spent += time.perf_counter() - t
            steps += 1
            if at_time is None and spent >= ours_s:
                at_time, at_time_steps = copy.deepcopy(ref.g.state_dict()), steps
            if at_steps is None and steps >= args.steps:
                at_steps, ref_s = copy.deepcopy(ref.g.state_dict()), spent
        scores = []
        for state in (at_steps, at_time):
            ref.g.load_state_dict(state)
            scores.append(score(reference_samples(ref.g, args.n)))
        rows.append((ours, scores[0], scores[1]))
        print(f"| {seed} | {ours:.1f} | {ours_s:.0f} | {scores[0]:.1f} | {ref_s:.0f} | "
              f"{scores[1]:.1f} | {at_time_steps} |", flush=True)
    ours_v, steps_v, time_v = ([r[i] for r in rows] for i in range(3))
    print()
    print(f"gancore dcgan-32:          FID {interval(ours_v)}")
    print(f"tutorial at equal steps:   FID {interval(steps_v)}")
    print(f"tutorial at equal time:    FID {interval(time_v)}")
    mean = summarize
    for label, other in (("equal steps", steps_v), ("equal wall-clock", time_v)):
        p = welch_p(ours_v, other)
        print(f"ratio gancore / tutorial at {label}: {mean(ours_v).mean / mean(other).mean:.2f}"
              + (f" (Welch p = {p:.3f})" if p is not None else ""))


if __name__ == "__main__":
    main()
