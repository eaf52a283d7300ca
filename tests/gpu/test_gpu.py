"""The CUDA path: training steps, bf16/fp16 autocast, DDP over NCCL, sampling, evaluation.

Marked ``gpu`` and skipped, saying why, where no CUDA device is visible. ``bench/gpu_check.sh``
runs them on a GPU machine (``pytest -m gpu tests/gpu``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import run_cli

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

TINY = {
    "recipe": {"name": "tiny-gpu"},
    "seed": 3,
    "data": {"type": "shapes", "image_size": 16, "num_samples": 256},
    "generator": {"type": "stack", "latent_dim": 16,
                  "stem": {"type": "dense", "out_channels": 32, "resolution": 4},
                  "blocks": [{"type": "upsample", "out_channels": 16},
                             {"type": "upsample", "out_channels": 8}]},
    "discriminator": {"type": "stack", "norm": "batch",
                      "blocks": [{"type": "down", "out_channels": 16, "norm": "none"},
                                 {"type": "down", "out_channels": 32}]},
    "train": {"batch_size": 16, "steps": 6, "log_every": 2, "sample_every": 3,
              "checkpoint_every": 3, "grid_size": 16, "device": "cuda"},
}


def recipe(**train):
    r = copy.deepcopy(TINY)
    r["train"].update(train)
    return r


@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16", "fp16", "auto"])
def test_a_cuda_training_run(precision, tmp_path):
    from gancore.train.trainer import Trainer

    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    trainer = Trainer(recipe(precision=precision), out=tmp_path / "run")
    assert trainer.device.type == "cuda"
    assert next(trainer.G.parameters()).is_cuda and next(trainer.D.parameters()).is_cuda
    if precision != "auto":
        assert trainer.precision == precision
    assert (trainer.scaler is not None) == (trainer.precision == "fp16")
    before = [p.detach().clone() for p in trainer.G.parameters()]
    result = trainer.fit()
    assert result.step == 6
    assert all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all()
               for r in result.records)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))
    assert (tmp_path / "run" / "last.safetensors").exists()


def test_cuda_resume_is_exact(tmp_path):
    from gancore.train.trainer import Trainer

    full = Trainer(recipe(precision="fp32", steps=6), out=tmp_path / "full")
    full.fit()
    part = Trainer(recipe(precision="fp32", steps=3), out=tmp_path / "part")
    part.fit()
    resumed = Trainer(recipe(precision="fp32", steps=6), out=tmp_path / "part", resume=True)
    resumed.fit()
    for a, b in zip(full.G.state_dict().values(), resumed.G.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-5)


def test_sampling_and_evaluation_on_cuda(tmp_path):
    from gancore.train.trainer import Trainer

    Trainer(recipe(precision="bf16" if torch.cuda.is_bf16_supported() else "fp32"),
            out=tmp_path / "run").fit()
    ckpt = tmp_path / "run" / "last.safetensors"
    sampled = run_cli("sample", str(ckpt), "-n", "32", "--grid", str(tmp_path / "g.png"),
                      "--npy", str(tmp_path / "s.npy"))
    assert sampled.returncode == 0, sampled.stderr
    assert (tmp_path / "g.png").stat().st_size > 0
    evaluated = run_cli("eval", str(ckpt), "--metrics", "kid", "--num-samples", "128",
                        "--json", str(tmp_path / "eval.json"))
    assert evaluated.returncode == 0, evaluated.stderr + evaluated.stdout
    assert "kid" in (tmp_path / "eval.json").read_text()


def test_ddp_over_nccl(tmp_path):
    if shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists():
        pytest.skip("torchrun is not on PATH")
    gpus = torch.cuda.device_count()
    if gpus < 2:
        pytest.skip(f"DDP over NCCL needs 2 GPUs; {gpus} visible (NCCL refuses two ranks on "
                    "one GPU)")
    from gancore.recipe import load_recipe

    toml = tmp_path / "tiny.toml"
    toml.write_text(load_recipe(recipe(precision="fp32")).to_toml())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={min(gpus, 4)}",
         "-m", "gancore", "train", str(toml), "--out", str(tmp_path / "ddp"), "--quiet"],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in
               (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert records and records[-1]["step"] == 6


def test_prepared_batches_on_the_gpu_match_the_cpu(tmp_path, monkeypatch):
    """uint8 batches converted on the device: held on the GPU, or gathered on the host into
    pinned buffers (double-buffered, non_blocking), give the CPU path's values."""
    from gancore.data.prepared import writer
    from gancore.data.prepared.dataset import PreparedImages
    from gancore.data.prepared.imaging import Settings
    from gancore.data.prepared.sources import open_source
    from gancore.data.prepared.standins import write_photos
    from gancore.train import batches as batches_mod

    monkeypatch.setenv("GANCORE_CACHE", str(tmp_path / "cache"))
    write_photos(tmp_path / "src", 40, width=40, height=48)
    out = writer.prepare(open_source(str(tmp_path / "src")), tmp_path / "set", Settings(16),
                         workers=1).out
    ds = PreparedImages(root=str(out), flip=True)
    cuda = torch.device("cuda")
    on_cpu = batches_mod.make_batches(ds, 8, 0, torch.device("cpu"))
    held = batches_mod.make_batches(ds, 8, 0, cuda)
    assert held.on_device
    monkeypatch.setattr(batches_mod, "DEVICE_SHARE", 0.0)
    pinned = batches_mod.make_batches(ds, 8, 0, cuda)
    assert not pinned.on_device and all(b.is_pinned() for b in pinned._buffers)
    for _ in range(5):
        x, y = on_cpu.next()
        for other in (held, pinned):
            xg, yg = other.next()
            assert xg.device.type == "cuda" and xg.dtype == torch.float32
            assert torch.equal(xg.cpu(), x) and torch.equal(yg.cpu(), y)
