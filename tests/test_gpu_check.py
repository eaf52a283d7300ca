"""bench/gpu_check.sh: its CPU parts pass on a machine without a GPU (the gpu tests skip)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_check_runs_its_cpu_parts(tmp_path):
    env = {**os.environ, "GPU_CHECK_QUICK": "1", "PYTHON": sys.executable,
           "GANCORE_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "all parts passed" in out
    for part in ("== tests marked gpu", "== gancore bench dcgan-32",
                 "== train_throughput dcgan-32 vs the tutorial loop", "roofline: gancore",
                 "roofline: variant", "== data_throughput", "prepared 64 / folder 64:"):
        assert part in out, part
    import torch

    if not torch.cuda.is_available():
        assert "no CUDA device" in out and "needs a CUDA GPU" in out
