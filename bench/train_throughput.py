"""Training throughput: gancore's trainer vs the same DCGAN written by hand in plain PyTorch.

Both train DCGAN-32 (the ``dcgan-32`` recipe's networks) on 1x32x32 images, alternating in one
process so that both see the same machine load. The hand-written side follows the PyTorch DCGAN
example's loop in fp32 (contiguous tensors, BCE, Adam 2e-4/0.5, D gradients computed in the G
step); gancore runs with the recipe's defaults (``precision = "auto"``, ``channels_last =
"auto"``). Prints images/s of both and their ratio.

    python bench/train_throughput.py [--rounds 12] [--steps 3] [--batch-size 64] [--set k=v]...
        [--variant k=v]...

Short alternating rounds make the comparison fair on a loaded machine; the median and the best
round of each side are reported (the best round is the least disturbed by other processes).
Then ``--single-rounds`` rounds with one thread for both loops give the single-thread ratio.
``--variant k=v`` (repeatable) adds a third side: gancore with these overrides on top of
``--set``, timed in the same alternation, so a recipe option's speed is a ratio of one run
(e.g. ``--variant 'train.techniques=["joint_d_pass"]'``).

The roofline: the FLOPs of one training step of each side, counted with
``torch.utils.flop_counter.FlopCounterMode`` (matrix products and convolutions, forward and
backward), per training image; the machine's fp32 and bf16 matrix-product rates, measured in
the same run (square products of ``--matmul-size``); and the fraction of the rate of the
precision in use that each side reaches. The rates are measured before and after the timed
rounds, and the rate of the precision in use also in a short burst after every round; the best
of all is the peak, so that a slow moment of a shared machine does not inflate the fraction.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn


def reference_networks(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 1):
    """DCGAN-32 as in the PyTorch example, one stage fewer (4 -> 8 -> 16 -> 32)."""
    g = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False),
    )

    def init(m: nn.Module) -> None:
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    g.apply(init)
    d.apply(init)
    return g, d


class Reference:
    """The PyTorch DCGAN example's training step (fp32), on in-memory data."""

    def __init__(self, data: torch.Tensor, batch_size: int, nz: int = 100) -> None:
        self.data, self.batch_size, self.nz = data, batch_size, nz
        self.device = data.device
        g, d = reference_networks(nz, nc=data.shape[1])
        self.g, self.d = g.to(self.device), d.to(self.device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.criterion = nn.BCEWithLogitsLoss()
        self.gen = torch.Generator().manual_seed(0)

    def step(self) -> None:
        b, dev = self.batch_size, self.device
        real = self.data[torch.randint(len(self.data), (b,), generator=self.gen).to(dev)]
        ones, zeros = torch.ones(b, device=dev), torch.zeros(b, device=dev)
        self.d.zero_grad()
        err_real = self.criterion(self.d(real).view(-1), ones)
        err_real.backward()
        fake = self.g(torch.randn(b, self.nz, 1, 1, device=dev))
        err_fake = self.criterion(self.d(fake.detach()).view(-1), zeros)
        err_fake.backward()
        self.opt_d.step()
        self.g.zero_grad()
        err_g = self.criterion(self.d(fake).view(-1), ones)
        err_g.backward()
        self.opt_g.step()


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def images_per_second(step, n_steps: int, batch_size: int) -> float:
    _sync()
    start = time.perf_counter()
    for _ in range(n_steps):
        step()
    _sync()
    return n_steps * batch_size / (time.perf_counter() - start)


def step_flops(step, batch_size: int) -> float:
    """FLOPs per training image of one call of ``step`` (FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops() / batch_size


def matmul_rate(dtype: torch.dtype, size: int, seconds: float = 1.0) -> float:
    """FLOP/s of ``size`` x ``size`` matrix products in ``dtype`` (best of a few bursts)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    for _ in range(2):
        a @ b
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        n = 3 if device == "cpu" else 50
        _sync()
        start = time.perf_counter()
        for _ in range(n):
            a @ b
        _sync()
        best = max(best, n * 2 * size**3 / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="alternations (default 12)")
    parser.add_argument("--steps", type=int, default=3, help="steps per side per round")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per side first")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--single-rounds", type=int, default=6,
                        help="rounds with 1 thread for both loops afterwards (0: skip)")
    parser.add_argument("--recipe", default="dcgan-32",
                        help="gancore's side (default dcgan-32; the tutorial loop stays DCGAN)")
    parser.add_argument("--matmul-size", type=int, default=1024,
                        help="side of the square products that measure the peak rate")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        help="recipe override for the gancore side, e.g. train.precision=fp32",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="override of a third, gancore side timed alongside, e.g. "
        'train.techniques=["joint_d_pass"]',
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from gancore.core.errors import GancoreError
    from gancore.train.trainer import Trainer

    overrides = [f"train.batch_size={args.batch_size}", "train.log_every=1000000", *args.overrides]
    try:
        trainer = Trainer(args.recipe, overrides=overrides, steps=10**6)
        variant = (Trainer(args.recipe, overrides=[*overrides, *args.variant], steps=10**6)
                   if args.variant else None)
    except GancoreError as exc:
        raise SystemExit(f"cannot set up {args.recipe} (dcgan-32 needs Fashion-MNIST; "
                         f"--set data.type=shapes needs no files): {exc}") from None
    data = trainer.batches.x.to(trainer.device)
    reference = Reference(data, args.batch_size)
    print(
        f"{args.recipe}: data {tuple(data.shape[1:])}, batch {args.batch_size}, "
        f"{trainer.device}, {torch.get_num_threads()} threads; {trainer.numerics.describe()}"
    )
    if variant is not None:
        print(f"variant {' '.join(args.variant)}: {variant.numerics.describe()}")
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    peaks = [{name: matmul_rate(dtype, args.matmul_size) for name, dtype in dtypes.items()}]
    in_use = "bf16" if trainer.precision == "bf16" else "fp32"
    bursts: list[float] = []  # the rate in use, between the rounds
    for _ in range(args.warmup):  # oneDNN builds its kernels during the first steps
        trainer.train_step()
        reference.step()
        if variant is not None:
            variant.train_step()
    ours, theirs, other = [], [], []
    for r in range(args.rounds):
        theirs.append(images_per_second(reference.step, args.steps, args.batch_size))
        ours.append(images_per_second(trainer.train_step, args.steps, args.batch_size))
        line = (f"round {r + 1:2d}: gancore {ours[-1]:7.1f} img/s   plain PyTorch "
                f"{theirs[-1]:7.1f} img/s")
        if variant is not None:
            other.append(images_per_second(variant.train_step, args.steps, args.batch_size))
            line += f"   variant {other[-1]:7.1f} img/s"
        print(line, flush=True)
        bursts.append(matmul_rate(dtypes[in_use], args.matmul_size, seconds=0.2))
    for label, pick in (("median", statistics.median), ("best", max)):
        a, b = pick(ours), pick(theirs)
        print(
            f"{label}: gancore {a:.1f} images/s, plain PyTorch fp32 {b:.1f} images/s, "
            f"ratio {a / b:.2f}"
        )
        if variant is not None:
            c = pick(other)
            print(f"{label}: variant {c:.1f} images/s, ratio {c / b:.2f} against plain "
                  f"PyTorch, {c / a:.2f} against gancore's default")
    if torch.cuda.is_available():
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    # the roofline, at the threads of the timed rounds
    ours_flops = step_flops(trainer.train_step, args.batch_size)
    theirs_flops = step_flops(reference.step, args.batch_size)
    peaks.append({name: matmul_rate(dtype, args.matmul_size) for name, dtype in dtypes.items()})
    rate = {name: max(p[name] for p in peaks) for name in dtypes}
    rate[in_use] = max(rate[in_use], *bursts)
    fp32_rate, bf16_rate = rate["fp32"], rate["bf16"]

    def peak_of(precision: str) -> float:
        return rate["bf16" if precision == "bf16" else "fp32"]

    before, after = peaks
    print(f"matmul ({args.matmul_size}^2, best of before and after the rounds): fp32 "
          f"{fp32_rate / 1e9:.0f} GFLOP/s, bf16 {bf16_rate / 1e9:.0f} GFLOP/s "
          f"({bf16_rate / fp32_rate:.2f}x fp32; before {before['fp32'] / 1e9:.0f}/"
          f"{before['bf16'] / 1e9:.0f}, after {after['fp32'] / 1e9:.0f}/"
          f"{after['bf16'] / 1e9:.0f}; {in_use} between the rounds: median "
          f"{statistics.median(bursts) / 1e9:.0f}, best {max(bursts) / 1e9:.0f})")
    peak = peak_of(trainer.precision)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"FLOPs per training image: gancore {ours_flops / 1e9:.3f} GFLOP, plain PyTorch "
          f"{theirs_flops / 1e9:.3f} GFLOP")
    print(f"roofline: gancore {ours_flops * a / 1e9:.0f} GFLOP/s = "
          f"{ours_flops * a / peak:.0%} of the {trainer.precision} matmul rate; plain PyTorch "
          f"{theirs_flops * b / 1e9:.0f} GFLOP/s = {theirs_flops * b / fp32_rate:.0%} of fp32")
    if variant is not None:
        c = statistics.median(other)
        flops = step_flops(variant.train_step, args.batch_size)
        print(f"roofline: variant {flops * c / 1e9:.0f} GFLOP/s = "
              f"{flops * c / peak_of(variant.precision):.0%} of "
              f"the {variant.precision} matmul rate")
    if args.single_rounds > 0 and trainer.device.type == "cpu":  # one thread for both loops
        torch.set_num_threads(1)
        for _ in range(2):
            trainer.train_step()
            reference.step()
        one = [(images_per_second(trainer.train_step, args.steps, args.batch_size),
                images_per_second(reference.step, args.steps, args.batch_size))
               for _ in range(args.single_rounds)]
        a, b = statistics.median(o for o, _ in one), statistics.median(t for _, t in one)
        print(f"1 thread (median of {args.single_rounds}): gancore {a:.1f} images/s, "
              f"plain PyTorch fp32 {b:.1f} images/s, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
