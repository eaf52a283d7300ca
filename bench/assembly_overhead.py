"""Assembly overhead: the recipe-built DCGAN vs the same network written by hand.

Times forward + backward of generator and discriminator for both, alternating in one process
(so machine load affects both alike), and prints the ratio built / hand-written of the median
times. Target: at most 1.02.

    python bench/assembly_overhead.py [--batch 32] [--rounds 30] [--recipe dcgan]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dcgan_reference as ref

import gancore


def step(g: torch.nn.Module, d: torch.nn.Module, z: torch.Tensor) -> float:
    """One forward + backward through G then D; returns seconds."""
    start = time.perf_counter()
    out = d(g(z)).sum()
    out.backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="dcgan")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    torch.manual_seed(0)
    gan = gancore.build(args.recipe)
    size = gan.data.shape[-1]
    g_hand = ref.generator(nz=gan.latent_dim, nc=gan.data.shape[0], image_size=size)
    d_hand = ref.discriminator(nc=gan.data.shape[0], image_size=size)
    g_hand.apply(ref.weights_init)
    d_hand.apply(ref.weights_init)
    built = (gan.generator, gan.discriminator)
    hand = (g_hand, lambda x: d_hand(x).flatten())
    hand_g = g_hand

    z = torch.randn(args.batch, gan.latent_dim)
    z4 = z[:, :, None, None]
    for _ in range(3):  # warm up both
        step(*built, z)
        step(hand_g, hand[1], z4)
    times_built, times_hand = [], []
    for i in range(args.rounds):
        if i % 2:  # alternate the order so neither always runs second
            times_built.append(step(*built, z))
            times_hand.append(step(hand_g, hand[1], z4))
        else:
            times_hand.append(step(hand_g, hand[1], z4))
            times_built.append(step(*built, z))
        gan.zero_grad(set_to_none=True)
        g_hand.zero_grad(set_to_none=True)
        d_hand.zero_grad(set_to_none=True)
    b, h = statistics.median(times_built), statistics.median(times_hand)
    print(f"recipe {args.recipe}: batch {args.batch}, {args.rounds} rounds, "
          f"{torch.get_num_threads()} threads")
    print(f"built from recipe: {b * 1000:8.2f} ms  (forward + backward, median)")
    print(f"written by hand:   {h * 1000:8.2f} ms")
    print(f"ratio built / hand: {b / h:.3f}  (target <= 1.02)")


if __name__ == "__main__":
    main()
