"""One writer per run folder: a second ``train`` or ``--resume`` is refused and writes nothing, a
run killed while holding the folder blocks nothing, and a torn log line is skipped and repaired."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from gancore.assembly import checkpoint
from gancore.core.errors import BusyError
from gancore.storage.lock import LOCK_NAME, read_holder
from gancore.train.runlog import read_metrics
from gancore.train.trainer import Trainer, TrainingError

ROOT = Path(__file__).resolve().parents[2]


def _recipe(tiny: dict[str, Any], tmp_path: Path) -> Path:
    """The tiny recipe as a file, long enough to be stopped while it trains."""
    tiny["train"].update(steps=100_000, log_every=5, sample_every=100_000, checkpoint_every=20,
                         precision="fp32", channels_last="off")
    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(tiny), encoding="utf-8")
    return path


def _start(recipe: Path, run: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gancore", "train", str(recipe), "--out", str(run), "-q", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})


def _wait_training(proc: subprocess.Popen, run: Path, past: int = 0) -> None:
    """Until ``proc`` holds ``run`` (its details in the lock file) and has logged a step after
    ``past``."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended early ({proc.returncode}): {out}{err}")
        holder = read_holder(run / LOCK_NAME)
        log = run / "metrics.jsonl"
        steps = [r.get("step", 0) for r in read_metrics(log)] if log.is_file() else []
        if holder is not None and holder.pid == proc.pid and steps and max(steps) > past:
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run did not start training")


def _steps(run: Path) -> list[int]:
    """The steps of every line of ``metrics.jsonl`` (each line must be a whole record)."""
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["step"] for line in lines]


@pytest.mark.slow  # two gancore train processes
def test_a_second_train_or_resume_is_refused_and_writes_nothing(tiny, tmp_path):
    recipe = _recipe(tiny, tmp_path)
    run = tmp_path / "run"
    first = _start(recipe, run)
    try:
        _wait_training(first, run)
        # train/train: the same command with another seed, from the command line
        second = subprocess.run(
            [sys.executable, "-m", "gancore", "train", str(recipe), "--out", str(run), "-q",
             "--set", "seed=11", "--steps", "7"],
            cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert second.returncode == 2, second.stderr
        message = " ".join(second.stderr.split())
        message = message[message.index("error: "):]  # after the recipe's deprecation note
        assert message.startswith(f"error: {run}: the run folder is being written by another "
                                  f"process: process {first.pid} on {socket.gethostname()} ")
        assert f"(`gancore train {recipe} --out {run} -q`, since 20" in message
        assert "hint:" in message and "--resume" in message and "--out" in message
        assert "Traceback" not in second.stderr
        # train/resume: a resume in this process is refused the same way
        with pytest.raises(BusyError, match=f"process {first.pid} on") as info:
            Trainer(recipe, out=run, resume=True)
        assert info.value.source == str(run)
        assert first.poll() is None  # the first run trained on
    finally:
        first.send_signal(signal.SIGINT)  # saves a checkpoint and stops
        _, err = first.communicate(timeout=240)
    assert first.returncode == 130, err
    assert not (run / LOCK_NAME).exists()  # let go (and removed) on the way out
    # every file comes from the first run: its seed, one unbroken sequence of log records
    assert "seed = 3" in (run / "recipe.toml").read_text(encoding="utf-8")
    last = checkpoint.read(run / "last.safetensors", tensors=False)
    assert last.recipe["seed"] == 3
    steps = _steps(run)
    assert steps == list(range(5, 5 * len(steps) + 1, 5)) and steps[-1] <= last.step
    assert {p.name for p in run.iterdir()} >= {"recipe.toml", "metrics.jsonl",
                                                "last.safetensors"}


def test_a_run_killed_holding_its_folder_blocks_nothing_and_its_torn_line_is_repaired(
        tiny, tmp_path):
    recipe = _recipe(tiny, tmp_path)
    run = tmp_path / "run"
    killed = _start(recipe, run)
    try:
        _wait_training(killed, run, past=20)  # a checkpoint at step 20 or later
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.communicate(timeout=60)
    assert read_holder(run / LOCK_NAME).pid == killed.pid  # its record is left behind
    # a crash in the middle of a write leaves one torn last line, which readers skip
    with (run / "metrics.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"step": 99999, "d_lo')
    records = read_metrics(run / "metrics.jsonl")
    assert records and all(r["step"] != 99999 for r in records)
    saved = checkpoint.read(run / "last.safetensors", tensors=False).step
    assert saved >= 20

    resumed = Trainer(recipe, out=run, resume=True, steps=saved + 4)  # at once: no BusyError
    assert resumed.run.lock.held and read_holder(run / LOCK_NAME).pid == os.getpid()
    try:
        resumed.fit()
    finally:
        resumed.close()
    steps = _steps(run)  # every line whole again: the torn one is gone
    assert steps == sorted(set(steps)) and steps[-1] == saved + 4
    assert not (run / LOCK_NAME).exists()


def test_a_run_that_cannot_start_leaves_no_folder_and_no_lock(tiny, tmp_path):
    run = tmp_path / "deep" / "run"
    with pytest.raises(TrainingError, match="nothing to resume"):  # refused under the lock
        Trainer(tiny, out=run, resume=True)
    assert not (tmp_path / "deep").exists()
    # a refused start in an existing folder leaves it as it was
    run.mkdir(parents=True)
    (run / "notes.txt").write_text("mine")
    with pytest.raises(TrainingError, match="nothing to resume"):
        Trainer(tiny, out=run, resume=True)
    assert [p.name for p in run.iterdir()] == ["notes.txt"]


def test_a_trainer_holds_its_folder_from_construction_to_close(tiny, tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(tiny, out=run)
    assert trainer.run.lock.held and (run / LOCK_NAME).is_file()
    assert read_holder(run / LOCK_NAME).pid == os.getpid()
    trainer.close()
    assert not trainer.run.lock.held and not run.exists()  # nothing written: nothing left
    done = Trainer(tiny, out=run)
    done.fit()
    assert not done.run.lock.held and not (run / LOCK_NAME).exists()  # let go when fit ends
    done.close()
