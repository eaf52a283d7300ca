"""Studies people can trust: seeds, verdicts, resumable runs, failures, executors, validation,
the HTML report."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w

from gancore.core.errors import GancoreError
from gancore.evaluation import EvalSettings, compare, load_study
from gancore.evaluation import runs as runs_mod
from gancore.evaluation.runs import StudyFailed, status_rows

ROOT = Path(__file__).resolve().parents[2]
HINGE = 'set = [\'loss={ type = "hinge" }\']\n'


def _study(tmp_path: Path, recipe: dict, text: str) -> Path:
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(recipe), encoding="utf-8")
    path = tmp_path / "study.toml"
    path.write_text('[study]\nname = "tiny-study"\nbase = "tiny.toml"\nsteps = 3\n' + text,
                    encoding="utf-8")
    return path


def _settings(eval_cache: Path, metrics: tuple[str, ...] = ("fid", "f1")) -> EvalSettings:
    return EvalSettings(metrics=list(metrics), num_samples=64,
                        extractor_options={"max_train": 512, "epochs": 1},
                        cache_dir=str(eval_cache))


@pytest.fixture
def two_variants(tmp_path, make_tiny) -> Path:
    return _study(tmp_path, make_tiny(), f"[variants.bce]\n[variants.hinge]\n{HINGE}")


def _mtimes(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("last.safetensors")}


def test_seeds_give_intervals_verdicts_and_a_rerun_trains_nothing(two_variants, tmp_path,
                                                                  eval_cache):
    study = load_study(two_variants)
    out = tmp_path / "out"
    result = compare(study.entries, out, steps=3, seeds=[0, 1], settings=_settings(eval_cache),
                     name=study.name, study=study)
    assert [r.id for r in result.results] == ["bce/seed-0", "hinge/seed-0", "bce/seed-1",
                                               "hinge/seed-1"]
    assert (out / "bce" / "seed-1" / "last.safetensors").is_file()
    for name in ("comparison.md", "comparison.json", "samples.png", "losses.png", "report.html"):
        assert (out / name).is_file(), name
    data = json.loads((out / "comparison.json").read_text())
    st = data["statistics"]
    assert st["seeds"] == 2 and st["correction"] == "holm-bonferroni"
    fid = st["variants"]["hinge"]["fid/classifier:shapes"]
    assert fid["n"] == 2 and len(fid["ci95"]) == 2 and fid["test"]["p_holm"] is not None
    assert fid["test"]["verdict"] in ("better", "worse", "no difference at this budget")
    assert "d_loss_final" in st["variants"]["bce"]
    assert data["differences"]["hinge"] and any("loss.type" in d
                                                for d in data["differences"]["hinge"])
    md = (out / "comparison.md").read_text()
    assert "95% interval" in md and "Holm" in md and "Welch" in md and "p (Holm)" in md
    assert "| hinge | fid/classifier:shapes | lower |" in md
    assert "| bce/seed-1 |" in md
    states = sorted((out / "state").glob("*.json"))
    assert len(states) == 4 and all(json.loads(p.read_text())["status"] == "done"
                                    for p in states)

    before = _mtimes(out)
    keys = {p.name: json.loads(p.read_text())["eval_key"] for p in states}
    again = compare(study.entries, out, steps=3, seeds=[0, 1], settings=_settings(eval_cache),
                    name=study.name, study=study)
    assert not any(r.trained for r in again.results)
    assert _mtimes(out) == before
    assert {p.name: json.loads(p.read_text())["eval_key"] for p in states} == keys
    assert again.stats.summaries["hinge"]["fid/classifier:shapes"].mean == pytest.approx(
        result.stats.summaries["hinge"]["fid/classifier:shapes"].mean)

    # other metrics: evaluated again, nothing trained
    more = compare(study.entries, out, steps=3, seeds=[0, 1],
                   settings=_settings(eval_cache, ("fid", "kid")), study=study)
    assert not any(r.trained for r in more.results) and _mtimes(out) == before
    assert all("kid_mean/classifier:shapes" in r.scores for r in more.results)


def test_one_seed_says_no_interval_is_possible(two_variants, tmp_path, eval_cache):
    study = load_study(two_variants)
    result = compare(study.entries, tmp_path / "one", steps=3, seeds=[4],
                     settings=_settings(eval_cache), study=study)
    md = (tmp_path / "one" / "comparison.md").read_text()
    assert "no interval or test is possible" in md
    assert result.results[0].id == "bce/seed-4"


def test_a_failed_run_is_recorded_and_the_rest_go_on(two_variants, tmp_path, eval_cache,
                                                     monkeypatch, capsys):
    study = load_study(two_variants)
    real = runs_mod.train_or_load

    def flaky(entry, run, **kwargs):
        if entry.variant == "hinge":
            raise RuntimeError("simulated crash in hinge")
        return real(entry, run, **kwargs)

    monkeypatch.setattr(runs_mod, "train_or_load", flaky)
    out = tmp_path / "out"
    with pytest.raises(StudyFailed) as info:
        compare(study.entries, out, steps=3, settings=_settings(eval_cache), study=study)
    assert info.value.exit_code == 1
    assert "hinge" in info.value.message and "simulated crash" in info.value.message
    assert (out / "comparison.md").is_file()  # the finished run is still compared
    rows = {r["id"]: r for r in status_rows(out)}
    assert rows["bce"]["status"] == "done"
    assert rows["hinge"]["status"] == "failed" and "simulated crash" in rows["hinge"]["error"]

    from gancore.cli import main

    with pytest.raises(SystemExit) as code:
        main(["compare", "--status", str(out)])
    assert code.value.code in (0, None)
    text = capsys.readouterr().out
    assert "failed" in text and "simulated crash" in text and "done" in text

    monkeypatch.setattr(runs_mod, "train_or_load", real)
    stamp = (out / "bce" / "last.safetensors").stat().st_mtime_ns
    fixed = compare(study.entries, out, steps=3, settings=_settings(eval_cache), study=study)
    assert [r.trained for r in fixed.results] == [False, True]
    assert (out / "bce" / "last.safetensors").stat().st_mtime_ns == stamp


def test_status_shows_pending_runs(two_variants, tmp_path):
    out = tmp_path / "out"
    runs_mod.write_state(out / "study.json", {"runs": ["bce", "hinge"]})
    runs_mod.write_state(runs_mod.state_path(out, "bce"),
                         {"id": "bce", "status": "running", "pid": 2**22 + 12345,
                          "host": __import__("socket").gethostname()})
    rows = {r["id"]: r["status"] for r in status_rows(out)}
    assert rows == {"bce": "killed", "hinge": "pending"}
    with pytest.raises(GancoreError, match="not a study folder"):
        status_rows(tmp_path / "nothing")


def test_status_shows_each_run_s_step_and_latest_losses(tmp_path, capsys):
    """A running run without a checkpoint yet shows the step and losses of its last log
    record (not its events, nor a torn line being written)."""
    out = tmp_path / "out"
    runs_mod.write_state(out / "study.json", {"runs": ["bce", "hinge", "wgan"]})
    logs = {"bce": [{"step": 10, "d_loss": 1.25, "g_loss": 0.75},
                    {"step": 20, "d_loss": 1.5, "g_loss": 0.625},
                    {"step": 20, "event": "eval", "fid": 3.0}],
            "hinge": [{"step": 40, "d_loss": 0.125, "g_loss": 2.5}]}
    for run_id, records in logs.items():
        (out / run_id).mkdir(parents=True)
        text = "".join(json.dumps(r) + "\n" for r in records)
        (out / run_id / "metrics.jsonl").write_text(text + '{"step": 30, "d_lo', "utf-8")
    runs_mod.write_state(runs_mod.state_path(out, "bce"), {
        "id": "bce", "status": "running", "pid": os.getpid(), "host": socket.gethostname(),
        "run": str(out / "bce"), "target_steps": 100})
    runs_mod.write_state(runs_mod.state_path(out, "hinge"), {
        "id": "hinge", "status": "done", "run": str(out / "hinge"), "step": 40,
        "target_steps": 40, "seconds": 12.5})
    rows = {r["id"]: r for r in status_rows(out)}
    assert (rows["bce"]["status"], rows["bce"]["step"]) == ("running", 20)
    assert rows["bce"]["losses"] == {"d_loss": 1.5, "g_loss": 0.625}
    assert rows["hinge"]["losses"] == {"d_loss": 0.125, "g_loss": 2.5}
    assert rows["wgan"]["status"] == "pending" and rows["wgan"]["losses"] is None

    from gancore.cli import main

    with pytest.raises(SystemExit) as code:
        main(["compare", "--status", str(out)])
    assert code.value.code in (0, None)
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines[1:])) <= 80  # the table fits 80 columns
    header = next(line for line in lines if "D loss" in line).split()
    assert header == ["run", "status", "step", "D", "loss", "G", "loss", "seconds"]
    assert next(line for line in lines if line.split()[:1] == ["bce"]).split()[:5] == [
        "bce", "running", "20/100", "1.5", "0.625"]
    assert next(line for line in lines if line.split()[:1] == ["hinge"]).split()[:6] == [
        "hinge", "done", "40/40", "0.125", "2.5", "12.5"]
    assert next(line for line in lines if line.split()[:1] == ["wgan"]).split()[:5] == [
        "wgan", "pending", "-", "-", "-"]
    assert "bce (running): training" in lines  # the phase of a running run, below the table


def _start_compare(tmp_path: Path, recipe: dict, steps: int, eval_cache: Path, *args: str,
                   **popen: object) -> tuple[Path, Path, subprocess.Popen]:
    """A bce-vs-hinge study of ``steps`` steps, started as ``gancore compare`` in a process
    of its own: (study file, output folder, process)."""
    path = _study(tmp_path, recipe, f"[variants.bce]\n[variants.hinge]\n{HINGE}")
    path.write_text(path.read_text().replace("steps = 3", f"steps = {steps}"), encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "GANCORE_CACHE": str(eval_cache), "COLUMNS": "160"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gancore", "compare", str(path), "--out", str(out), "-n", "64",
         "--metrics", "f1", *args, "-q"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    return path, out, proc


def test_a_killed_study_loses_no_finished_run(tmp_path, make_tiny, eval_cache):
    recipe = make_tiny(train={"checkpoint_every": 5, "log_every": 5, "sample_every": 1000})
    path, out, proc = _start_compare(tmp_path, recipe, 40, eval_cache, start_new_session=True)
    first = runs_mod.state_path(out, "bce")
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            state = runs_mod.read_state(first) or {}
            if state.get("status") == "done" and (out / "hinge" / "last.safetensors").is_file():
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert runs_mod.read_state(first)["status"] == "done", proc.stdout.read().decode()
    killed = runs_mod.read_state(runs_mod.state_path(out, "hinge"))
    stamp = (out / "bce" / "last.safetensors").stat().st_mtime_ns
    rows = {r["id"]: r["status"] for r in status_rows(out)}
    assert rows["bce"] == "done"
    if killed is not None and killed["status"] == "running":
        assert rows["hinge"] == "killed"

    study = load_study(path)
    lines: list[str] = []
    again = compare(study.entries, out, steps=40, settings=EvalSettings(
        metrics=["f1"], num_samples=64, cache_dir=str(eval_cache)), study=study,
        echo=lines.append)
    assert again.results[0].trained is False
    assert (out / "bce" / "last.safetensors").stat().st_mtime_ns == stamp
    assert again.results[1].evaluation["step"] == 40
    if killed is not None and killed["status"] == "running":
        assert any("hinge: resuming" in line for line in lines), lines


def test_a_worker_whose_study_process_is_killed_stops_instead_of_training_on(
        tmp_path, make_tiny, eval_cache):
    recipe = make_tiny(train={"checkpoint_every": 100000, "log_every": 5, "sample_every": 1000})
    _, out, proc = _start_compare(tmp_path, recipe, 100000, eval_cache, "--jobs", "2")
    worker = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None and worker is None:
            state = runs_mod.read_state(runs_mod.state_path(out, "bce")) or {}
            if state.get("status") == "running" and (out / "bce" / "metrics.jsonl").is_file():
                worker = state["pid"]
            time.sleep(0.05)
    finally:
        proc.kill()  # the study process only: its workers are left without a parent
        proc.wait()
    assert worker is not None and worker != proc.pid, proc.stdout.read().decode()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and runs_mod.pid_alive(worker, socket.gethostname()):
        time.sleep(0.1)
    alive = runs_mod.pid_alive(worker, socket.gethostname())
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the worker trained on after its study process was killed"
    state = runs_mod.read_state(runs_mod.state_path(out, "bce"))
    assert state["status"] == "interrupted" and "interrupted at step" in state["error"]
    saved = runs_mod._step(runs_mod.RunSpec("bce", "bce", None, out / "bce"))
    assert saved is not None and 0 < saved < 100000  # its checkpoint, for the next command


def test_everything_is_checked_before_training(tmp_path, make_tiny, eval_cache):
    path = _study(tmp_path, make_tiny(),
                  "[variants.bce]\n[variants.typo]\nset = ['loss.typ=\"hinge\"']\n")
    study = load_study(path)
    out = tmp_path / "out"
    with pytest.raises(GancoreError) as info:
        compare(study.entries, out, steps=3, settings=_settings(eval_cache), study=study)
    message = info.value.format()
    assert str(path) in message and "variants.typo" in message and "typ" in message
    assert not (out / "bce").exists()  # nothing trained

    path = _study(tmp_path, make_tiny(), "[variants.a]\n[variants.b]\n")
    study = load_study(path)
    with pytest.raises(GancoreError, match="do not differ") as info:
        compare(study.entries, out, steps=3, settings=_settings(eval_cache), study=study)
    assert info.value.key == "variants.b"

    path = _study(tmp_path, make_tiny(), f"[variants.a]\n[variants.b]\n{HINGE}")
    study = load_study(path)
    with pytest.raises(GancoreError, match="metric") as info:
        compare(study.entries, out, steps=3, settings=EvalSettings(metrics=["fdi"]),
                study=study)
    assert "fid" in info.value.format()
    with pytest.raises(GancoreError) as info:
        compare(study.entries, out, steps=3, overrides=["train.bach_size=4"],
                settings=_settings(eval_cache), study=study)
    message = info.value.format()
    assert "--set" in message and "variants.a" in message and str(path) in message
    with pytest.raises(GancoreError, match="baseline 'c' is not a variant"):
        compare(study.entries, out, steps=3, baseline="c", settings=_settings(eval_cache))
    assert not out.exists() or not any(out.rglob("last.safetensors"))


def test_bad_study_files(tmp_path, make_tiny):
    path = _study(tmp_path, make_tiny(), f'baseline = "hing"\n[variants.bce]\n[variants.hinge]\n'
                  f"{HINGE}")
    with pytest.raises(GancoreError, match="did you mean 'hinge'") as info:
        load_study(path)
    assert info.value.key == "study.baseline"
    path = _study(tmp_path, make_tiny(), "seeds = [1, 1]\n[variants.bce]\n")
    with pytest.raises(GancoreError, match="distinct"):
        load_study(path)


def test_seeds_given_twice_on_the_command_line(tmp_path, make_tiny, capsys):
    from gancore.cli import main

    path = _study(tmp_path, make_tiny(), f"seeds = [0, 1]\n[variants.bce]\n[variants.hinge]\n"
                  f"{HINGE}")
    with pytest.raises(SystemExit) as info:
        main(["compare", str(path), "--seeds", "3", "--out", str(tmp_path / "o")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "seeds are given twice" in err and str(path) in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["compare", str(path), "--executor", "slurmm"])
    assert "did you mean 'slurm'" in capsys.readouterr().err


def test_local_jobs_and_a_second_run_trains_nothing(tmp_path, make_tiny, eval_cache,
                                                    monkeypatch, quick_cli):
    """The done-when command, smaller: ``compare study --seeds 2 --jobs 2``, then again."""
    from typer.testing import CliRunner

    from gancore.cli import app

    monkeypatch.setenv("GANCORE_CACHE", str(eval_cache))
    path = _study(tmp_path, make_tiny(), f"[variants.bce]\n[variants.hinge]\n{HINGE}")
    out = tmp_path / "out"
    args = ["compare", str(path), "--seeds", "2", "--jobs", "2", "--steps", "3", "-n", "64",
            "--metrics", "fid,f1", "--out", str(out), "-q"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "over seeds" in result.output and "started (job slot" in result.output
    states = [json.loads(p.read_text()) for p in (out / "state").glob("*.json")]
    assert len(states) == 4 and {s["status"] for s in states} == {"done"}
    assert len({s["pid"] for s in states}) == 4  # a fresh process per run
    assert all(s["pid"] != os.getpid() for s in states)
    assert (out / "report.html").is_file()
    before = _mtimes(out)
    again = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert again.output.count("reused") == 4 and "started" not in again.output
    assert _mtimes(out) == before


def test_jobs_above_the_core_count_warn(monkeypatch, tmp_path, capsys):
    from gancore.commands.evaluate import make_executor
    from gancore.train import threads

    monkeypatch.setattr(threads, "available_cpus", lambda *a: 2)
    executor = make_executor("local", 5, tmp_path)
    assert executor.jobs == 5 and executor.threads >= 1
    assert "more than the 2 CPU" in capsys.readouterr().err


def test_slurm_executor_through_submitit_debug(two_variants, tmp_path, eval_cache):
    pytest.importorskip("submitit")
    from gancore.evaluation.runs import SlurmExecutor, SlurmOptions

    study = load_study(two_variants)
    out = tmp_path / "out"
    options = SlurmOptions(partition="gpu", gpus=1, cpus=2, time_min=30, parallelism=4,
                           cluster="debug")
    executor = SlurmExecutor(out / "slurm", options)
    assert executor.parameters() == {
        "name": "gancore-study", "timeout_min": 30, "gpus_per_node": 1, "cpus_per_task": 2,
        "slurm_partition": "gpu", "slurm_array_parallelism": 4}
    result = compare(study.entries, out, steps=3, settings=_settings(eval_cache), study=study,
                     executor=SlurmExecutor(out / "slurm", SlurmOptions(cluster="debug")))
    assert [r.trained for r in result.results] == [True, True]
    assert (out / "slurm").is_dir()


def test_slurm_without_submitit_names_the_extra(monkeypatch, tmp_path):
    from gancore.evaluation.runs import SlurmExecutor, SlurmOptions

    monkeypatch.setitem(sys.modules, "submitit", None)
    with pytest.raises(GancoreError, match=re.escape("gancore[slurm]")):
        SlurmExecutor(tmp_path, SlurmOptions())


# -- the HTML report --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report(tmp_path_factory, eval_cache) -> Path:
    from tests.evaluation.conftest import TINY

    tmp = tmp_path_factory.mktemp("report")
    path = _study(tmp, TINY, f"[variants.bce]\n[variants.hinge]\n{HINGE}")
    study = load_study(path)
    out = tmp / "out"
    compare(study.entries, out, steps=3, seeds=[0, 1], settings=_settings(eval_cache),
            name=study.name, study=study)
    return out / "report.html"


def test_report_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", text)  # no external file
    assert "http://" not in text and "https://" not in text
    assert text.count('class="sample"') == 4 and text.count("data:image/png;base64,") == 5
    assert 'id="stats"' in text and 'id="runs"' in text and "95% interval" in text
    assert 'name="seed"' in text and "loss.type" in text  # the seed picker, the differences


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


def test_report_renders_in_headless_chromium(report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom",
           report.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-ready="1"' in dom, "the page's script did not run"
    ok = re.search(r'data-images-ok="(\d+)/(\d+)"', dom)
    assert ok and ok.group(1) == ok.group(2) == "5", ok and ok.group(0)
    assert '<table id="stats">' in dom and "<td>hinge</td>" in dom
    errors = [line for line in proc.stderr.splitlines()
              if "Uncaught" in line or ("CONSOLE" in line and "error" in line.lower())]
    assert not errors, errors


def test_a_variant_s_own_steps_train_it_to_its_own_budget(tmp_path, make_tiny, eval_cache):
    """``steps`` on a variant (an equal-wall-time budget) in place of the study's."""
    path = _study(tmp_path, make_tiny(), f"[variants.bce]\n[variants.hinge]\nsteps = 5\n{HINGE}")
    study = load_study(path)
    assert [e.steps for e in study.entries] == [None, 5]
    out = tmp_path / "out"
    result = compare(study.entries, out, steps=study.meta.steps, seeds=[0],
                     settings=_settings(eval_cache), name=study.name, study=study)
    assert [r.id for r in result.results] == ["bce/seed-0", "hinge/seed-0"]
    steps = {v: json.loads(runs_mod.state_path(out, f"{v}/seed-0").read_text())
             for v in ("bce", "hinge")}
    assert {v: s["step"] for v, s in steps.items()} == {"bce": 3, "hinge": 5}
    assert {v: s["target_steps"] for v, s in steps.items()} == {"bce": 3, "hinge": 5}
    data = json.loads((out / "comparison.json").read_text())
    assert data["steps"] == 3 and data["variant_steps"] == {"hinge": 5}
    assert any("train.steps" in d and "5" in d for d in data["differences"]["hinge"])
    assert "3 steps each (hinge: 5)" in (out / "comparison.md").read_text()


def test_steps_on_the_command_line_scale_a_variant_s_own(tmp_path, make_tiny, eval_cache,
                                                           monkeypatch, quick_cli):
    from typer.testing import CliRunner

    from gancore.cli import app

    monkeypatch.setenv("GANCORE_CACHE", str(eval_cache))
    path = _study(tmp_path, make_tiny(), f"[variants.bce]\n[variants.hinge]\nsteps = 5\n{HINGE}")
    out = tmp_path / "out"
    # the study's 3 steps become 6: hinge's own 5 become 10, as an equal-time budget would
    result = CliRunner().invoke(app, ["compare", str(path), "--steps", "6", "-n", "64",
                                      "--metrics", "fid", "--out", str(out), "-q"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert ("variant hinge trains 10 steps (its own 5 scaled as --steps 6 is to the study's 3)"
            in " ".join(result.output.split()))
    steps = {v: json.loads(runs_mod.state_path(out, v).read_text())["step"]
             for v in ("bce", "hinge")}
    assert steps == {"bce": 6, "hinge": 10}


def test_a_variant_s_steps_must_be_positive(tmp_path, make_tiny):
    path = _study(tmp_path, make_tiny(), "[variants.bce]\n[variants.hinge]\nsteps = 0\n")
    with pytest.raises(GancoreError) as exc:
        load_study(path)
    assert "variants.hinge.steps" in str(exc.value)
