"""``gancore eval`` on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GANCORE_INCEPTION_WEIGHTS"}
    env["COLUMNS"] = "160"
    return subprocess.run([sys.executable, "-m", "gancore", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_eval_writes_json_and_names_the_extractor(tiny_run, tmp_path, quick_cli):
    from gancore.cli import app

    out = tmp_path / "scores.json"
    result = CliRunner().invoke(
        app, ["eval", str(tiny_run), "--metrics", "fid,kid,f1", "-n", "64", "--json", str(out),
              "-q"],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "classifier:shapes" in result.output
    assert "fid" in result.output and "d_f1" in result.output
    data = json.loads(out.read_text())
    assert "fid/classifier:shapes" in data
    assert data["num_samples"] == 64 and data["extractor"] == "classifier:shapes"


def test_eval_cli_on_ring(ring_run, tmp_path):
    out = tmp_path / "ring.json"
    proc = _run("eval", str(ring_run / "last.safetensors"), "-n", "300", "--json", str(out),
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "raw" in proc.stdout and "modes_captured" in proc.stdout
    data = json.loads(out.read_text())
    assert {"fid/raw", "modes_captured", "d_f1", "step", "checkpoint"} <= set(data)


def test_eval_cli_user_errors_are_one_line(tiny_run, tmp_path, capsys):
    from gancore.cli import main

    missing = tmp_path / "missing.pth"
    with pytest.raises(SystemExit) as info:
        main(["eval", str(tiny_run), "--extractor", "inception", "--inception-weights",
              str(missing)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "missing.pth" in err and "GANCORE_INCEPTION_WEIGHTS" in err
    with pytest.raises(SystemExit) as info:
        main(["eval", str(tmp_path)])
    assert info.value.code == 2
    assert "last.safetensors" in capsys.readouterr().err
