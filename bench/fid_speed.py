"""Time gancore's FID against the SciPy reference (pytorch-fid style) on random features.

    python bench/fid_speed.py [--n 10000] [--dim 2048] [--seed 0]

Both sides start from the same float32 feature matrices and compute means, covariances and the
distance; the reference takes ``scipy.linalg.sqrtm`` of Σ₁Σ₂ and retries with 1e-6·I on the
diagonals when the result is not finite.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg
import torch

from gancore.metrics.fid import fid_from_features


def correlated_features(n: int, dim: int, seed: int, shift: float) -> np.ndarray:
    """Non-negative, correlated features shaped like Inception pool activations."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(dim, dim)).astype(np.float32) / np.sqrt(dim)
    z = rng.normal(size=(n, dim)).astype(np.float32)
    return np.maximum(z @ mix + shift, 0.0).astype(np.float32)


def scipy_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """FID as pytorch-fid computes it."""
    a, b = real.astype(np.float64), fake.astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples per set")
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    real = correlated_features(args.n, args.dim, args.seed, shift=0.3)
    fake = correlated_features(args.n, args.dim, args.seed + 1, shift=0.35)
    print(f"features: 2 x {args.n} x {args.dim} float32, torch threads: {torch.get_num_threads()}")

    start = time.perf_counter()
    ours = fid_from_features(torch.from_numpy(real), torch.from_numpy(fake))
    t_ours = time.perf_counter() - start

    start = time.perf_counter()
    reference = scipy_fid(real, fake)
    t_ref = time.perf_counter() - start

    print(f"{'':18}{'time (s)':>10}{'FID':>22}")
    print(f"{'gancore (eigvals)':18}{t_ours:10.2f}{ours:22.10f}")
    print(f"{'scipy sqrtm':18}{t_ref:10.2f}{reference:22.10f}")
    print(f"speed-up: {t_ref / t_ours:.2f}x   relative difference: "
          f"{abs(ours - reference) / abs(reference):.2e}")


if __name__ == "__main__":
    main()
