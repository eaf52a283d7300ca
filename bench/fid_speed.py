"""Time gancore's FID against the SciPy reference (pytorch-fid style) on random features.

    python bench/fid_speed.py [--n 10000] [--dim 2048] [--rounds 3] [--seed 0] [--device cpu]

Both sides start from the same float32 feature matrices and compute means, covariances and the
distance. The reference is pytorch-fid's: ``np.cov`` and ``scipy.linalg.sqrtm`` of Σ₁Σ₂, retried
with 1e-6·I on the diagonals when the result is not finite. gancore's takes one float64 matrix
product per covariance and the symmetric form: a factor Σ₁ = H Hᵀ (Cholesky, or ``eigh`` when Σ₁
is singular), then ``eigvalsh`` of Hᵀ Σ₂ H, which has the eigenvalues of Σ₁Σ₂.

The two sides alternate for ``--rounds`` rounds so that both see the same machine load; the
ratio of the median times and of the best times (the least disturbed round) are printed.
``--device cuda`` runs gancore's side on the GPU (transfer included); the reference stays on
the CPU.
"""

from __future__ import annotations

import argparse
import statistics
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


def _timed(fn) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples per set")
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="gancore's device: cpu or cuda")
    args = parser.parse_args()

    real = correlated_features(args.n, args.dim, args.seed, shift=0.3)
    fake = correlated_features(args.n, args.dim, args.seed + 1, shift=0.35)
    device = torch.device(args.device)
    print(f"features: 2 x {args.n} x {args.dim} float32, torch threads: "
          f"{torch.get_num_threads()}, gancore on {device}")

    def ours_fn() -> float:
        value = fid_from_features(torch.from_numpy(real).to(device),
                                  torch.from_numpy(fake).to(device))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return value

    if device.type == "cuda":
        ours_fn()  # CUDA context and cuSOLVER handles: not part of the measurement
    sides = {"gancore": ours_fn, "scipy": lambda: scipy_fid(real, fake)}
    times: dict[str, list[float]] = {name: [] for name in sides}
    values: dict[str, float] = {}
    for r in range(args.rounds):
        for name in list(sides)[:: -1 if r % 2 else 1]:  # alternate who goes first
            seconds, values[name] = _timed(sides[name])
            times[name].append(seconds)
        print(f"round {r + 1}: gancore {times['gancore'][-1]:6.2f} s   "
              f"scipy sqrtm {times['scipy'][-1]:6.2f} s",
              flush=True)

    t_ours, t_ref = times["gancore"], times["scipy"]
    print(f"{'':20}{'median (s)':>11}{'best (s)':>10}{'FID':>22}")
    for label, name in (("gancore", "gancore"), ("scipy sqrtm", "scipy")):
        t = times[name]
        print(f"{label:20}{statistics.median(t):11.2f}{min(t):10.2f}{values[name]:22.10f}")
    rel = abs(values["gancore"] - values["scipy"]) / abs(values["scipy"])
    print(f"speed-up: median {statistics.median(t_ref) / statistics.median(t_ours):.2f}x, "
          f"best {min(t_ref) / min(t_ours):.2f}x   relative difference: {rel:.2e}")


if __name__ == "__main__":
    main()
