"""Ctrl-C during ``gancore train``: a checkpoint is saved and the command says "interrupted"
(not ``error:``), with exit status 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w

from gancore.assembly import checkpoint

ROOT = Path(__file__).resolve().parents[2]


def test_ctrl_c_says_interrupted_saves_and_exits_130(tiny, tmp_path):
    tiny["train"].update(steps=100_000, log_every=1, sample_every=100_000,
                         checkpoint_every=100_000, precision="fp32", channels_last="off")
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(tomli_w.dumps(tiny), encoding="utf-8")
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gancore", "train", str(recipe), "--out", str(run), "-q"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 240
        log = run / "metrics.jsonl"
        while not (log.is_file() and log.stat().st_size > 0):  # training: a step is logged
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the run did not start training: {proc.communicate()}")
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    said = " ".join(err.split())
    assert "error:" not in said and "Traceback" not in said
    saved = checkpoint.read(run / "last.safetensors", tensors=False)
    assert f"interrupted at step {saved.step}; checkpoint saved to " \
           f"{run / 'last.safetensors'} hint: continue with --resume" in said
    assert saved.step >= 1
