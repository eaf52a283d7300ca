"""Sweeps end to end: the bundled small sweep with two workers, a re-run that trains nothing,
workers sharing one storage, the submitit path, pruning, killed trials resumed or retried, the
report in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import SPACE, write_sweep

optuna = pytest.importorskip("optuna", reason='optuna is not installed: pip install '
                             '"gancore[sweep]"')

ROOT = Path(__file__).resolve().parents[2]


def _env(eval_cache: Path) -> dict[str, str]:
    return {**os.environ, "GANCORE_CACHE": str(eval_cache), "COLUMNS": "200"}


def _cli(*args: str, eval_cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gancore", *args], capture_output=True,
                          text=True, env=_env(eval_cache), cwd=ROOT, timeout=600)


def _stamps(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("last.safetensors")}


def _trials(folder: Path, name: str = "tiny") -> list:
    storage = f"sqlite:///{folder / 'optuna.db'}"
    return optuna.load_study(study_name=name, storage=storage).get_trials()


# -- the bundled small sweep, --jobs 2, and its re-run ----------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory, eval_cache) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("small") / "out"
    proc = _cli("sweep", "sweeps/shapes-small.toml", "--out", str(out), "--jobs", "2", "-q",
                eval_cache=eval_cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc


def test_the_small_sweep_writes_the_report_and_the_confirmation(small):
    out, _ = small
    data = json.loads((out / "trials.json").read_text())
    trials = data["targets"]["base"]["trials"]
    assert len(trials) == 4 and {t["state"] for t in trials} <= {"done", "pruned"}
    assert len(data["confirmed"]) == 2
    finished = sorted((t for t in trials if t["state"] == "done"), key=lambda t: t["values"][0])
    assert data["confirmed"][0]["trial"] == finished[0]["number"]  # the best one first
    comparison = json.loads((out / "confirm" / "comparison.json").read_text())
    assert comparison["seeds"] == [1, 2] and len(comparison["entries"]) == 4
    assert comparison["baseline"] == data["confirmed"][0]["name"]
    html = (out / "report.html").read_text()
    assert 'id="confirm"' in html and 'id="trials-base"' in html and "95% interval" in html
    assert 'id="history-base"' in html and 'id="slices-base"' in html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)  # self-contained
    assert "| trial | state | fid |" in (out / "sweep.md").read_text()
    # each trial trained once into its own folder, with the sweep's seed and budget
    for t in trials:
        state = json.loads((out / "trials" / "state" / f"trial-{t['number']}.json").read_text())
        assert "seed=0" in state["overrides"] and state["target_steps"] == 12


def test_a_second_run_trains_nothing(small, eval_cache):
    out, _ = small
    before = _stamps(out)
    proc = _cli("sweep", "sweeps/shapes-small.toml", "--out", str(out), "--jobs", "2", "-q",
                eval_cache=eval_cache)
    assert proc.returncode == 0, proc.stderr
    assert "every trial has finished earlier" in proc.stderr
    assert "0 trial(s) run by this command" in proc.stdout
    assert proc.stderr.count("finished and evaluated earlier, reused") == 4
    assert _stamps(out) == before


def test_status_lists_the_trials_and_the_confirmation_runs(small, eval_cache):
    out, _ = small
    proc = _cli("sweep", "--status", str(out), eval_cache=eval_cache)
    assert proc.returncode == 0, proc.stderr
    for n in range(4):
        assert f"trial-{n}" in proc.stdout
    assert "confirm/" in proc.stdout and "train.g_optimizer.lr=" in proc.stdout


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


def test_the_report_renders_in_headless_chromium(small, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    out, _ = small
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom",
           (out / "report.html").as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-ready="1"' in dom, "the page's script did not run"
    ok = re.search(r'data-images-ok="(\d+)/(\d+)"', dom)
    # history, slices, importances and one sample grid per confirmed setting
    assert ok and ok.group(1) == ok.group(2) and int(ok.group(2)) >= 4, ok and ok.group(0)
    assert '<table id="confirm">' in dom and '<table id="trials-base">' in dom
    errors = [line for line in proc.stderr.splitlines()
              if "Uncaught" in line or ("CONSOLE" in line and "error" in line.lower())]
    assert not errors, errors


# -- workers sharing one storage ----------------------------------------------------------------
def _context(tmp_path: Path, head: str = "", body: str = SPACE, **kwargs):
    from gancore.evaluation.evaluator import EvalSettings
    from gancore.packs.loader import get_registry
    from gancore.sweep.objective import TrialContext
    from gancore.sweep.spec import check_sweep, load_sweep
    from gancore.sweep.storage import prepare

    sweep = load_sweep(write_sweep(tmp_path, head, body, **kwargs))
    check_sweep(sweep, get_registry())
    out = (tmp_path / "out").resolve()
    url = prepare(sweep, out, None)
    settings = EvalSettings(metrics=sweep.metrics(), num_samples=64)
    return TrialContext(sweep, out, url, settings)


def test_two_workers_on_one_storage_split_the_trials(tmp_path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from gancore.sweep.workers import work

    ctx = _context(tmp_path, steps=12, trials=4)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(work, [ctx, ctx], [0, 1]))
    ran = [[t["id"] for t in r["trials"]] for r in results]
    assert sorted(ran[0] + ran[1]) == [f"trial-{n}" for n in range(4)], ran  # none twice
    assert results[0]["pid"] != results[1]["pid"]
    assert all(ran), f"one worker ran every trial: {ran}"
    trials = _trials(ctx.folder)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert len({t.params["train.g_optimizer.lr"] for t in trials}) == 4
    for n in range(4):  # each trained once: one log record per logged step, no resume
        records = [json.loads(line) for line in
                   (ctx.folder / "trials" / f"trial-{n}" / "metrics.jsonl").read_text()
                   .splitlines()]
        steps = [r["step"] for r in records if r.get("event") is None]
        assert steps == sorted(set(steps)) and steps[-1] == 12


def test_the_submitit_path_runs_on_its_debug_cluster(tmp_path):
    pytest.importorskip("submitit")
    from gancore.evaluation.runs import SlurmOptions
    from gancore.sweep.run import run_sweep

    ctx = _context(tmp_path, trials=2, body=SPACE + "[confirm]\nbest = 2\nseeds = [1, 2]\n")
    result = run_sweep(ctx.sweep, ctx.folder, jobs=2, executor="slurm",
                       slurm=SlurmOptions(cluster="debug"), settings=ctx.settings)
    assert sorted(t["id"] for t in result.trained) == ["trial-0", "trial-1"]
    assert (ctx.folder / "slurm").is_dir() and (ctx.folder / "confirm" / "slurm").is_dir()
    assert result.comparison is not None and len(result.comparison.results) == 4
    assert (ctx.folder / "report.html").is_file()


# -- pruning -------------------------------------------------------------------------------------
def test_a_trial_below_the_median_is_pruned_and_stops_cleanly(tmp_path):
    from gancore.sweep.storage import load_study
    from gancore.sweep.workers import work

    ctx = _context(tmp_path, 'pruner = { type = "median", startup_trials = 1 }\neval_every = 2',
                   steps=6, trials=2)
    study = load_study(ctx.sweep, ctx.sweep.targets[0], ctx.storage)
    dist = optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    study.add_trial(optuna.trial.create_trial(  # a finished trial no FID can beat
        params={"train.g_optimizer.lr": 2e-4}, distributions={"train.g_optimizer.lr": dist},
        value=-1.0, intermediate_values={2: -1.0, 4: -1.0}))
    lines: list[str] = []
    work(ctx, 0, lines.append)
    trials = _trials(ctx.folder)
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED"], lines
    run = ctx.folder / "trials" / "trial-1"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    stop = records[-1]
    assert stop["event"] == "stop" and stop["step"] == 2 and "pruned at step 2" in stop["reason"]
    assert trials[1].intermediate_values.keys() == {2}
    from gancore.assembly import checkpoint

    assert checkpoint.read(run / "last.safetensors", tensors=False).step == 2
    state = json.loads((ctx.folder / "trials" / "state" / "trial-1.json").read_text())
    assert state["status"] == "stopped" and state.get("evaluation") is None
    # the report's note gives the reason once, not "stopped early at step 2: pruned at step 2"
    from gancore.sweep.report import read_trials, trial_table

    [item] = read_trials(ctx.sweep, ctx.folder, ctx.storage)
    headers, rows = trial_table(ctx.sweep, item)
    note = rows[1][headers.index("note")]
    assert note.startswith("pruned at step 2: fid") and "stopped early" not in note


# -- killed trials -------------------------------------------------------------------------------
def test_a_killed_trial_is_resumed_from_its_checkpoint(tmp_path, eval_cache):
    path = write_sweep(tmp_path, steps=60, trials=1)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gancore", "sweep", str(path), "--out", str(out), "--worker",
         "-q"], cwd=tmp_path, env=_env(eval_cache), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True)
    ckpt = out / "trials" / "trial-0" / "step_0000010.safetensors"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None and not ckpt.is_file():
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert ckpt.is_file(), proc.stdout.read().decode()
    (trial,) = _trials(out)
    assert trial.state.name == "RUNNING"  # killed: nobody told the storage

    from gancore.evaluation.evaluator import EvalSettings
    from gancore.sweep.run import run_sweep
    from gancore.sweep.spec import load_sweep

    lines: list[str] = []
    result = run_sweep(load_sweep(path), out, settings=EvalSettings(), echo=lines.append,
                       worker_only=True)  # the trials only: no confirmation
    text = "\n".join(lines)
    assert "trial-0: resuming" in text and "resuming" in text and "from step" in text, text
    from_step = int(re.search(r"from step (\d+) to 60", text).group(1))
    assert from_step >= 10
    (trial,) = _trials(out)
    assert trial.state.name == "COMPLETE" and trial.user_attrs["attempts"] == 2
    assert [t["id"] for t in result.trained] == ["trial-0"]


def test_a_trial_killed_twice_is_failed_and_retried_once(tmp_path):
    from gancore.sweep.storage import load_study, trial_id
    from gancore.sweep.workers import work

    ctx = _context(tmp_path, trials=1)
    target = ctx.sweep.targets[0]
    study = load_study(ctx.sweep, target, ctx.storage)
    trial = study.ask()
    trial.suggest_float("train.g_optimizer.lr", 1e-4, 1e-2, log=True)
    trial.set_user_attr("attempts", 2)  # started and resumed once already
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs
    from gancore.evaluation import runs

    runs.write_state(runs.state_path(ctx.folder / "trials", trial_id(target, 0)),
                     {"id": "trial-0", "status": "running", "pid": gone.pid,
                      "host": __import__("socket").gethostname(), "started": time.time()})
    lines: list[str] = []
    result = work(ctx, 0, lines.append)
    trials = _trials(ctx.folder)
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"], lines
    assert trials[1].user_attrs["retry_of"] == 0 and trials[1].params == trials[0].params
    assert [t["id"] for t in result["trials"]] == ["trial-1"]
    assert work(ctx, 0, lines.append)["trials"] == []  # the budget (1 trial) is spent
