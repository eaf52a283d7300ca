"""default_threads(): CPU affinity, cgroup v1/v2 quotas (fake files) and side-by-side jobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gancore.core.threads import (
    affinity_cpus,
    available_cpus,
    cgroup_cpu_limit,
    default_threads,
)
from gancore.train import threads


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Eight CPUs of affinity and an empty cgroup tree; returns (cgroup root, /proc file)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    root, proc = tmp_path / "cgroup", tmp_path / "proc-self-cgroup"
    root.mkdir()
    _write(proc, "0::/\n")
    monkeypatch.setattr(threads, "CGROUP_ROOT", root)
    monkeypatch.setattr(threads, "PROC_CGROUP", proc)
    return root, proc


def test_affinity_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert affinity_cpus() == 3


def test_no_affinity_falls_back_to_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert affinity_cpus() == 6


def test_no_quota_means_affinity(fake) -> None:
    assert cgroup_cpu_limit() is None
    assert default_threads() == 8


@pytest.mark.parametrize(("text", "expected"), [("200000 100000", 2), ("150000 100000", 2),
                                                 ("50000 100000", 1), ("max 100000", 8),
                                                 ("1600000 100000", 8), ("garbage", 8)])
def test_cgroup_v2_cpu_max(fake, text: str, expected: int) -> None:
    root, _ = fake
    _write(root / "cpu.max", text + "\n")
    assert default_threads() == expected


def test_cgroup_v2_quota_along_the_path_the_tightest_wins(fake) -> None:
    root, proc = fake
    _write(proc, "0::/user.slice/job\n")
    _write(root / "user.slice" / "cpu.max", "300000 100000")
    _write(root / "user.slice" / "job" / "cpu.max", "max 100000")
    assert cgroup_cpu_limit() == pytest.approx(3.0)
    _write(root / "user.slice" / "job" / "cpu.max", "120000 100000")
    assert cgroup_cpu_limit() == pytest.approx(1.2)
    assert available_cpus() == 2


@pytest.mark.parametrize("mount", ["cpu", "cpu,cpuacct"])
def test_cgroup_v1_cfs_quota(fake, mount: str) -> None:
    root, proc = fake
    _write(proc, "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    folder = root / mount / "docker" / "abc"
    _write(folder / "cpu.cfs_quota_us", "300000")
    _write(folder / "cpu.cfs_period_us", "100000")
    assert cgroup_cpu_limit() == pytest.approx(3.0)
    assert default_threads() == 3
    _write(folder / "cpu.cfs_quota_us", "-1")
    assert default_threads() == 8


def test_v1_quota_at_the_namespace_root(fake) -> None:
    root, proc = fake
    _write(proc, "1:cpu:/\n")
    _write(root / "cpu" / "cpu.cfs_quota_us", "400000")
    _write(root / "cpu" / "cpu.cfs_period_us", "200000")
    assert default_threads() == 2


def test_missing_proc_file_still_reads_the_root(fake) -> None:
    root, proc = fake
    proc.unlink()
    _write(root / "cpu.max", "100000 100000")
    assert default_threads() == 1


def test_explicit_paths(tmp_path: Path) -> None:
    _write(tmp_path / "cg" / "a" / "cpu.max", "250000 100000")
    _write(tmp_path / "proc", "0::/a\n")
    assert cgroup_cpu_limit(tmp_path / "cg", tmp_path / "proc") == pytest.approx(2.5)


@pytest.mark.parametrize(("jobs", "expected"), [(1, 8), (2, 4), (3, 2), (8, 1), (20, 1)])
def test_jobs_split_the_cores(fake, jobs: int, expected: int) -> None:
    assert default_threads(jobs=jobs) == expected


def test_jobs_split_the_quota_not_the_host(fake) -> None:
    root, _ = fake
    _write(root / "cpu.max", "400000 100000")
    assert default_threads(jobs=2) == 2


def test_local_world_size_is_the_default_jobs(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_threads() == 2
    assert default_threads(jobs=1) == 8


def test_bad_jobs() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        default_threads(jobs=0)


def test_trainer_caps_torch_threads_at_the_default(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from gancore.train.trainer import Trainer

    monkeypatch.setattr(threads, "default_threads", lambda jobs=None: 1)
    Trainer(tiny)  # train.threads = 0: torch's default, capped
    assert torch.get_num_threads() == 1
    tiny["train"]["threads"] = 2
    Trainer(tiny)  # an explicit count is used as given
    assert torch.get_num_threads() == 2
