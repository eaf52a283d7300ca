"""Two commands on one study folder never train the same run: a run another process holds is
done after the others, waiting for the holder; a hand-started run on a study's folder is
refused; the study's plan is merged, never overwritten."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import tomli_w

from gancore.core.errors import BusyError
from gancore.evaluation import EvalSettings, compare, load_study
from gancore.evaluation import runs as runs_mod
from gancore.storage.lock import LOCK_NAME, read_holder
from gancore.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
HINGE = 'set = [\'loss={ type = "hinge" }\']\n'

#: Holds a run folder's lock until the state file names a finished run, then a second more.
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gancore.storage.lock import folder_lock
    lock = folder_lock(sys.argv[1]).acquire()
    print("held", flush=True)
    state = Path(sys.argv[2])
    while '"done"' not in (state.read_text() if state.is_file() else ""):
        time.sleep(0.05)
    time.sleep(1.0)
""")


def _study(tmp_path: Path, recipe: dict) -> Path:
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(recipe), encoding="utf-8")
    path = tmp_path / "study.toml"
    path.write_text('[study]\nname = "tiny-study"\nbase = "tiny.toml"\nsteps = 3\n'
                    f"[variants.bce]\n[variants.hinge]\n{HINGE}", encoding="utf-8")
    return path


def _settings(eval_cache: Path) -> EvalSettings:
    return EvalSettings(metrics=["f1"], num_samples=64, cache_dir=str(eval_cache))


def _steps(run: Path) -> list[int]:
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["step"] for line in lines]


def _until(check, what: str, procs: tuple[subprocess.Popen, ...] = (), timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{what}: a process ended early ({proc.returncode}): "
                            f"{proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.05)
    pytest.fail(f"timed out: {what}")


def test_a_run_another_process_holds_is_done_after_the_others(tmp_path, make_tiny, eval_cache):
    study = load_study(_study(tmp_path, make_tiny()))
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out / "hinge"),
         str(runs_mod.state_path(out, "bce"))], stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert holder.stdout.readline().strip() == "held"
        result = compare(study.entries, out, steps=3, settings=_settings(eval_cache),
                         study=study, echo=lines.append)
    finally:
        holder.kill()
        holder.wait()
    assert [(r.run_id, r.trained) for r in result.results] == [("bce", True), ("hinge", True)]
    held = next(i for i, line in enumerate(lines) if line.startswith("hinge: the run folder"))
    assert f"is being written by another process: process {holder.pid} on" in lines[held]
    assert "does the other runs first" in lines[held]
    done_bce = next(i for i, line in enumerate(lines) if line.startswith("bce: done"))
    waiting = lines.index("waiting for hinge: another process holds it")
    done_hinge = next(i for i, line in enumerate(lines) if line.startswith("hinge: done"))
    assert done_bce < waiting < done_hinge and held < waiting
    assert _steps(out / "hinge") == [1, 2, 3]  # one writer: this command, after the holder
    assert runs_mod.read_state(runs_mod.state_path(out, "hinge"))["pid"] == os.getpid()


@pytest.mark.slow  # two gancore compare processes
def test_two_studies_on_one_folder_train_each_run_once(tmp_path, make_tiny, eval_cache):
    path = _study(tmp_path, make_tiny())
    out = tmp_path / "out"
    env = {**os.environ, "GANCORE_CACHE": str(eval_cache), "COLUMNS": "200",
           "OMP_NUM_THREADS": "1"}

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "gancore", "compare", str(path), "--out", str(out), "-n",
             "64", "--metrics", "f1", "-q"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    first = start()
    second = None
    try:
        lock = out / "bce" / LOCK_NAME
        _until(lambda: (h := read_holder(lock)) is not None and h.pid == first.pid
               and (out / "bce" / "metrics.jsonl").is_file(), "the first study trains bce",
               (first,))
        os.kill(first.pid, signal.SIGSTOP)  # holding bce, mid-training
        try:
            # study/train: a hand-started run on the study's run folder is refused
            with pytest.raises(BusyError, match=f"process {first.pid} on") as info:
                Trainer(tmp_path / "tiny.toml", out=out / "bce")
            assert "`gancore compare" in info.value.message
            # study/study: the second study trains hinge, then waits for bce
            second = start()
            hinge = runs_mod.state_path(out, "hinge")
            _until(lambda: (runs_mod.read_state(hinge) or {}).get("status") == "done",
                   "the second study trains hinge", (second,))
        finally:
            os.kill(first.pid, signal.SIGCONT)
        out_first, _ = first.communicate(timeout=300)
        out_second, _ = second.communicate(timeout=300)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert "bce: training 3 steps" in out_first and "hinge: training" not in out_first
    assert "hinge: training 3 steps" in out_second and "bce: training" not in out_second
    assert f"process {first.pid} on" in out_second and "waiting for bce" in out_second
    assert "hinge: loading the finished run" in out_first
    assert "bce: loading the finished run" in out_second
    for run in ("bce", "hinge"):  # each trained by one writer, once
        assert _steps(out / run) == [1, 2, 3]
        assert not (out / run / LOCK_NAME).exists()
        assert runs_mod.read_state(runs_mod.state_path(out, run))["status"] == "done"
    for text in (out_first, out_second):  # both compare both runs
        assert re.search(r"^\s*bce\s", text, re.M) and re.search(r"^\s*hinge\s", text, re.M)
    compared = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert json.dumps(compared).count('"trained": true') == 1  # the last writer trained one


def test_the_study_plan_is_merged_not_overwritten(tmp_path):
    out = tmp_path / "out"
    runs_mod.record_plan(out, {"name": "a", "runs": ["bce", "hinge"], "steps": 3})
    runs_mod.record_plan(out, {"name": "b", "runs": ["hinge", "wgan"], "steps": 5})
    plan = runs_mod.read_state(out / runs_mod.PLAN)
    assert plan["runs"] == ["bce", "hinge", "wgan"] and plan["steps"] == 5
    assert sorted(p.name for p in out.iterdir()) == ["study.json"]  # no lock file left
    # many processes adding their runs at once: every one is kept
    code = ("import sys; from pathlib import Path; from gancore.evaluation import runs\n"
            "for i in range(15):\n"
            "    runs.record_plan(Path(sys.argv[1]), {'runs': [f'{sys.argv[2]}-{i}']})\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(out), tag])
             for tag in ("x", "y", "z")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    runs = runs_mod.read_state(out / runs_mod.PLAN)["runs"]
    assert sorted(runs) == sorted(["bce", "hinge", "wgan"]
                                  + [f"{t}-{i}" for t in "xyz" for i in range(15)])


def test_a_lost_run_is_not_recorded_over_the_process_that_holds_it(tmp_path):
    out = tmp_path / "out"
    spec = runs_mod.RunSpec("bce", "bce", None, out / "bce", recipe="tiny.toml", study=out)
    task = runs_mod.Task(spec, EvalSettings())
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out / "bce"),
                               str(tmp_path / "never")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        runs_mod.write_state(spec.state_file, {"id": "bce", "status": "running",
                                               "pid": holder.pid})
        runs_mod._lost(task, "the worker process died")
        assert runs_mod.read_state(spec.state_file)["status"] == "running"  # not ours to write
        assert runs_mod.run_task(task)["status"] == runs_mod.HELD  # nothing done or written
        assert runs_mod.read_state(spec.state_file)["status"] == "running"
    finally:
        holder.kill()
        holder.wait()
    runs_mod._lost(task, "the worker process died")  # the holder is gone: recorded
    state = runs_mod.read_state(spec.state_file)
    assert state["status"] == "failed" and state["error"] == "the worker process died"
