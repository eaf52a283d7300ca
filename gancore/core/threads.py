"""How many CPU threads this process may use: CPU affinity and cgroup CPU quotas.

``os.cpu_count()`` (and torch's default thread count) see every core of the host, also in a
container limited to two CPUs by a cgroup quota or pinned to a few cores by ``taskset``; torch
then runs more threads than it gets cores, and they wait on each other. :func:`default_threads`
counts what the process may really use:

- the CPUs of ``os.sched_getaffinity(0)`` (``taskset``, ``cpuset``; ``os.cpu_count()`` where the
  platform has no affinity);
- the CPU quota of its cgroup, rounded up: cgroup v2 ``cpu.max`` (``"200000 100000"`` is 2 CPUs,
  ``"max 100000"`` no limit), cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (a quota of
  -1 is no limit), the tightest along the cgroup's path;

and divides them among ``jobs`` processes that run side by side.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: Where the cgroup file systems are mounted.
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: This process's cgroup membership.
PROC_CGROUP = Path("/proc/self/cgroup")


def affinity_cpus() -> int:
    """The number of CPUs this process may run on (``os.sched_getaffinity``)."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None:
        try:
            return max(1, len(getaffinity(0)))
        except OSError:
            pass
    return os.cpu_count() or 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _quota_v2(folder: Path) -> float | None:
    """CPUs allowed by ``folder/cpu.max``, or None (no file, ``max``, unreadable)."""
    text = _read(folder / "cpu.max")
    if not text:
        return None
    parts = text.split()
    try:
        if parts[0] == "max":
            return None
        quota = float(parts[0])
        period = float(parts[1]) if len(parts) > 1 else 100_000.0
    except (ValueError, IndexError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _quota_v1(folder: Path) -> float | None:
    """CPUs allowed by ``folder/cpu.cfs_quota_us`` and ``cpu.cfs_period_us``, or None."""
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        q, p = float(quota or "-1"), float(period or "100000")
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _ancestors(mount: Path, relative: str) -> list[Path]:
    """``mount/relative`` and each parent folder up to ``mount`` itself."""
    parts = [p for p in relative.strip("/").split("/") if p and p != ".."]
    return [mount.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def cgroup_cpu_limit(root: Path | None = None, proc_cgroup: Path | None = None) -> float | None:
    """The CPUs this process's cgroup quota allows (e.g. ``1.5``), or None when unlimited.

    Reads ``proc_cgroup`` (default ``/proc/self/cgroup``) for the cgroup path and looks for
    quotas under ``root`` (default ``/sys/fs/cgroup``) along that path and at the root itself
    (inside a container the path is often ``/``): cgroup v2 ``cpu.max`` and cgroup v1
    ``cpu.cfs_quota_us`` in the ``cpu`` (or ``cpu,cpuacct``) hierarchy. The tightest wins.
    """
    root = CGROUP_ROOT if root is None else root
    proc_cgroup = PROC_CGROUP if proc_cgroup is None else proc_cgroup
    v2_paths: list[str] = []
    v1_paths: list[str] = []
    for line in (_read(proc_cgroup) or "").splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if controllers == "":
            v2_paths.append(path)
        elif "cpu" in controllers.split(","):
            v1_paths.append(path)
    limits: list[float] = []
    for folder in {f for p in [*v2_paths, "/"] for f in _ancestors(root, p)}:
        limit = _quota_v2(folder)
        if limit is not None:
            limits.append(limit)
    mounts = [root / name for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu")]
    for folder in {f for m in mounts for p in [*v1_paths, "/"] for f in _ancestors(m, p)}:
        limit = _quota_v1(folder)
        if limit is not None:
            limits.append(limit)
    return min(limits) if limits else None


def available_cpus(root: Path | None = None, proc_cgroup: Path | None = None) -> int:
    """CPUs this process may use: its affinity, capped by its cgroup quota (rounded up)."""
    cpus = affinity_cpus()
    limit = cgroup_cpu_limit(root, proc_cgroup)
    if limit is not None:
        cpus = min(cpus, max(1, math.ceil(limit - 1e-9)))
    return cpus


def default_threads(jobs: int | None = None) -> int:
    """Threads for one of ``jobs`` side-by-side processes: ``max(1, available_cpus() // jobs)``.

    ``jobs`` defaults to ``$LOCAL_WORLD_SIZE`` (set by ``torchrun`` for the processes of one
    machine), else 1.
    """
    if jobs is None:
        try:
            jobs = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        except ValueError:
            jobs = 1
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1 (got {jobs})")
    return max(1, available_cpus() // jobs)


#: Most DataLoader workers ``"auto"`` starts.
MAX_AUTO_WORKERS = 8


def auto_workers(device: torch.device, cpus: int | None = None) -> int:
    """DataLoader workers for ``train.num_workers = "auto"`` on ``device`` with ``cpus``."""
    if cpus is None:
        cpus = available_cpus()
    if device.type in ("cuda", "mps", "xpu"):
        return max(0, min(MAX_AUTO_WORKERS, cpus - 1))
    return min(MAX_AUTO_WORKERS // 2, cpus // 8)


def resolve_workers(value: int | str, device: torch.device) -> int:
    """``train.num_workers`` as a number (``"auto"`` resolved by :func:`auto_workers`)."""
    return auto_workers(device) if value == "auto" else int(value)
