"""``gancore train`` and ``gancore sample`` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gancore.assembly import checkpoint
from gancore.cli import main
from tests.train.conftest import TINY

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def recipe_file(tmp_path):
    import tomli_w

    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(TINY))
    return path


@pytest.fixture
def trained(recipe_file, tmp_path):
    out = tmp_path / "run"
    assert cli("train", str(recipe_file), "--out", str(out), "--steps", "2", "-q") == 0
    return out / "last.safetensors"


def test_train_writes_a_run(recipe_file, tmp_path, capsys):
    out = tmp_path / "run"
    code = cli(
        "train",
        str(recipe_file),
        "--out",
        str(out),
        "--steps",
        "3",
        "--set",
        "train.log_every=1",
        "--set",
        "train.techniques=[]",
    )
    assert code == 0
    assert checkpoint.read(out / "last.safetensors").step == 3
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
    assert "done step 3" in capsys.readouterr().out
    code = cli(
        "train",
        str(recipe_file),
        "--out",
        str(out),
        "--steps",
        "4",
        "--resume",
        "-q",
        "--set",
        "train.log_every=1",
        "--set",
        "train.techniques=[]",
    )
    assert code == 0
    assert checkpoint.read(out / "last.safetensors").step == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "1 or more"),
        (["--set", "train.batch_size=0"], "train.batch_size"),
        (["--set", "data.type=shapez"], "did you mean 'shapes'"),
    ],
)
def test_train_errors_are_one_line(recipe_file, tmp_path, capsys, args, message):
    code = cli("train", str(recipe_file), "--out", str(tmp_path / "r"), *args)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_train_into_a_file_fails(recipe_file, tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert cli("train", str(recipe_file), "--out", str(tmp_path / "f")) == 2
    assert "is a file" in capsys.readouterr().err


def test_init_from_option(recipe_file, trained, tmp_path, capsys):
    out = tmp_path / "fine"
    assert (
        cli(
            "train",
            str(recipe_file),
            "--out",
            str(out),
            "--steps",
            "1",
            "-q",
            "--init-from",
            str(trained),
        )
        == 0
    )
    assert "initialised" in capsys.readouterr().err


def test_sample_grid_npy_class_and_interpolate(trained, tmp_path):
    grid, npy = tmp_path / "g.png", tmp_path / "s.npy"
    assert (
        cli(
            "sample",
            str(trained),
            "-n",
            "6",
            "--grid",
            str(grid),
            "--npy",
            str(npy),
            "--seed",
            "1",
            "--truncation",
            "0.5",
        )
        == 0
    )
    assert np.load(npy).shape == (6, 3, 16, 16)
    with Image.open(grid) as im:
        assert im.size == (3 * 18 + 2, 2 * 18 + 2)
    walk = tmp_path / "walk.png"
    assert cli("sample", str(trained), "-n", "16", "--interpolate", "--grid", str(walk)) == 0
    with Image.open(walk) as im:
        assert im.size == (4 * 18 + 2, 4 * 18 + 2)
    again = tmp_path / "again.npy"
    cli(
        "sample", str(trained), "-n", "6", "--npy", str(again), "--seed", "1", "--truncation", "0.5"
    )
    assert np.array_equal(np.load(npy), np.load(again))


def test_sample_class_of_a_conditional_generator(tmp_path, capsys):
    import tomli_w

    conditional = json.loads(json.dumps(TINY))
    conditional["generator"]["conditioning"] = "concat"
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(conditional))
    out = tmp_path / "run"
    assert cli("train", str(path), "--out", str(out), "--steps", "1", "-q") == 0
    ckpt = out / "last.safetensors"
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert cli("sample", str(ckpt), "-n", "4", "--class", "1", "--npy", str(a)) == 0
    assert cli("sample", str(ckpt), "-n", "4", "--class", "2", "--npy", str(b)) == 0
    assert not np.array_equal(np.load(a), np.load(b))
    assert cli("sample", str(ckpt), "--class", "9", "--npy", str(a)) == 2
    assert "out of range" in capsys.readouterr().err


def test_sample_class_of_an_unconditional_generator(trained, capsys):
    assert cli("sample", str(trained), "--class", "1") == 2
    assert "not class-conditional" in capsys.readouterr().err


KILL_SCRIPT = """
import os, signal, sys
from gancore.storage import io as gancore_io
from gancore.train.trainer import train

recipe, out = {recipe!r}, {out!r}
train(recipe, out=out, steps=2)

real_fsync = os.fsync

def die(fd):  # killed while writing last.safetensors
    if ".last.safetensors." in os.readlink(f"/proc/self/fd/{{fd}}"):
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)

gancore_io.os.fsync = die  # every gancore write goes through gancore.storage.io
train(recipe, out=out, steps=4, resume=True)
"""


def test_process_killed_while_saving(tmp_path):
    out = tmp_path / "run"
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT.format(recipe=TINY, out=str(out))))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(script)], env=env, timeout=300, capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert list(out.glob(".last.safetensors.*.tmp"))  # the torn write was left behind
    assert checkpoint.read(out / "last.safetensors").step == 2
    assert checkpoint.load(out / "last.safetensors") is not None
    from gancore.train.trainer import train

    assert train(TINY, out=out, steps=4, resume=True).step == 4
    assert not list(out.glob(".*.tmp"))  # resuming clears torn writes


def test_resume_without_steps_keeps_the_run_s_own_target(recipe_file, tmp_path, capsys):
    """A run started with --steps 6 and stopped at step 2 resumes to 6, not to the recipe's
    train.steps (4); --steps given on resume sets a new target."""
    from gancore.train import Trainer

    out = tmp_path / "run"
    trainer = Trainer(str(recipe_file), out=out, steps=6)
    try:
        assert trainer.fit(stop_at=2).step == 2  # as a run killed after its checkpoint at 2
    finally:
        trainer.close()
    assert cli("train", str(recipe_file), "--out", str(out), "--resume", "-q") == 0
    said = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "from step 2 to 6 (the run's own target; --steps N sets another)" in said
    assert checkpoint.read(out / "last.safetensors").step == 6
    assert cli("train", str(recipe_file), "--out", str(out), "--resume", "--steps", "8",
               "-q") == 0
    assert checkpoint.read(out / "last.safetensors").step == 8
    # the new target is the run's own from then on
    assert checkpoint.read(out / "last.safetensors").recipe["train"]["steps"] == 8
