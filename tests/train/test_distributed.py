"""DistributedDataParallel on 2 CPU processes with gloo."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from tests.train.conftest import TINY


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, folder: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    from gancore.train.trainer import Trainer

    out = Path(folder) / "run"
    trainer = Trainer(TINY, steps=3, out=out)
    try:
        assert trainer.dist.world_size == world and trainer.dist.backend == "gloo"
        trainer.fit()
        state = {f"g.{k}": v for k, v in trainer.G.named_parameters()}
        state.update({f"d.{k}": v for k, v in trainer.D.named_parameters()})
        torch.save(
            {k: v.detach().clone() for k, v in state.items()}, Path(folder) / f"rank{rank}.pt"
        )
    finally:
        trainer.close()


def test_two_gloo_replicas_hold_the_same_weights(tmp_path, monkeypatch):
    root = str(Path(__file__).resolve().parents[2])  # spawned workers import this module
    monkeypatch.syspath_prepend(root)  # spawn hands the parent's sys.path to the children
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    from gancore.assembly import checkpoint

    ckpt = checkpoint.read(tmp_path / "run" / "last.safetensors")
    assert ckpt.step == 3
    for key, value in a.items():
        if key.startswith("g."):
            assert torch.equal(ckpt.tensors[f"generator.{key[2:]}"], value)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2  # steps 2 and 3, written by rank 0 alone
