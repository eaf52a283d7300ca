"""Extension points beyond components: callbacks, component state, trackers, in-training
evaluation, pack commands."""

from __future__ import annotations

import json
import sys

import pytest
import torch

from gancore.assembly import checkpoint
from gancore.core.errors import CheckpointError
from gancore.plugin import hookimpl
from gancore.testing import resume_matches
from gancore.train.events import CallbackError, CallbackWarning
from gancore.train.trainer import Trainer, train

from . import ext_pack


@pytest.fixture
def pack(register_plugin):
    return register_plugin(ext_pack, name="ext-pack")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gancore-cache")


def _stateful_recipe(tiny):
    tiny["augment"] = [{"type": "adaptive_flip"}]
    tiny["penalty"] = [{"type": "lecam_avg", "weight": 0.3}, {"type": "lecam"}]  # + built-in
    tiny["train"]["callbacks"] = [{"type": "ada_tune", "interval": 1, "target": -2.0}]
    return tiny


def test_the_pack_passes_check_pack(check_pack):
    checked = check_pack(ext_pack, "ext-pack")
    assert {"augment:adaptive_flip", "callback:ada_tune", "penalty:lecam_avg",
            "tracker:recorder", "callback:boom"} <= set(checked)


def test_adapted_augment_and_lecam_state_resume_bit_exactly(tiny, tmp_path, pack):
    recipe = _stateful_recipe(tiny)
    one = Trainer(recipe, out=tmp_path / "one", steps=4, registry=pack)
    one.fit()
    train(recipe, out=tmp_path / "two", steps=2, registry=pack)
    two = Trainer(recipe, out=tmp_path / "two", steps=4, resume=True, registry=pack)
    assert two.augments[0].p == checkpoint.read(tmp_path / "two" / "step_0000002.safetensors"
                                                ).info.trainer.components["augment[0]"].state[
                                                    "p"]
    two.fit()
    assert one.augments[0].p == two.augments[0].p and one.augments[0].p > 0
    assert one.callbacks[0].obj.history == two.callbacks[0].obj.history
    assert torch.equal(one.penalties[0].ema_real, two.penalties[0].ema_real)
    assert one.penalties[0].calls == two.penalties[0].calls == 4
    a = checkpoint.read(tmp_path / "one" / "last.safetensors")
    b = checkpoint.read(tmp_path / "two" / "last.safetensors")
    assert {"state.penalty[0].ema_real", "state.train.callbacks[0].total"} <= set(a.tensors)
    assert any(k.startswith("state.penalty[1].") for k in a.tensors)  # an nn.Module's buffers
    assert set(a.tensors) == set(b.tensors)
    for key in a.tensors:
        assert torch.equal(a.tensors[key], b.tensors[key]), key
    assert a.info.trainer.components == b.info.trainer.components


def test_component_state_that_does_not_match_is_one_error(tiny, tmp_path, register_plugin):
    registry = register_plugin(ext_pack.DefaultOn(), name="counter-pack")
    result = train(tiny, out=tmp_path / "run", steps=2, registry=registry)
    meta = checkpoint.read(result.checkpoint).info.trainer
    assert meta.components["callback:counter"].state == {"steps": 2}
    from gancore.packs.loader import load_plugins

    bare = load_plugins(autoload=False).registry  # the pack is gone
    with pytest.raises(CheckpointError) as info:
        Trainer(tiny, out=tmp_path / "run", steps=4, resume=True, registry=bare)
    assert info.value.exit_code == 2
    assert "component state does not match" in str(info.value)
    assert "callback:counter ('counter' from counter-pack)" in str(info.value)
    # and the pack's default callback can be turned off for a new run
    tiny["train"]["default_callbacks"] = False
    assert Trainer(tiny, registry=registry).callbacks == []


def test_a_failing_callback_stops_the_run_with_a_checkpoint(tiny, tmp_path, pack):
    tiny["train"]["callbacks"] = [{"type": "boom", "at": 3}]
    with pytest.raises(CallbackError) as info:
        train(tiny, out=tmp_path / "run", steps=4, registry=pack)
    msg = str(info.value)
    assert "callback 'boom' from ext-pack" in msg and "boom at 3" in msg
    assert "stopped at step 3" in msg
    assert checkpoint.read(tmp_path / "run" / "last.safetensors").step == 3


def test_an_optional_callback_that_fails_is_disabled(tiny, pack):
    tiny["train"]["callbacks"] = [{"type": "boom", "at": 1, "optional": True}]
    with pytest.warns(CallbackWarning, match="callback 'boom' from ext-pack .* disabled"):
        result = train(tiny, registry=pack)
    assert result.step == 4


def test_a_pack_tracker_gets_scalars_images_and_hparams(tiny, tmp_path, pack):
    tiny["train"]["trackers"] = ["recorder"]
    train(tiny, out=tmp_path / "run", registry=pack)
    items = [json.loads(x) for x in (tmp_path / "run" / "recorder.jsonl").read_text().splitlines()]
    assert items[0]["hparams"]["train.batch_size"] == 8
    assert [i["step"] for i in items if "scalars" in i] == [2, 4]
    assert {"d_loss", "g_loss"} <= set(items[1]["scalars"])
    assert [i["step"] for i in items if "image" in i] == [2, 4]
    assert items[-1] == {"closed": True}


def test_a_missing_extra_is_one_error_naming_it(tiny, monkeypatch):
    import importlib.util

    from gancore.tracking import MissingExtraError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r'pip install "gancore\[mlflow\]"'):
        Trainer(tiny, trackers=["mlflow"])


def _tiny_eval(tiny, cache_dir, monkeypatch):
    monkeypatch.setenv("GANCORE_CACHE", str(cache_dir))
    tiny["train"].update(eval_every=2, eval_samples=64)
    tiny["eval"] = {"metrics": ["fid"], "extractor": {"type": "classifier", "max_train": 1000}}
    return tiny


def test_tensorboard_through_the_cli(tiny, tmp_path, cache_dir, monkeypatch):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    import tomli_w
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gancore.cli import main

    recipe = tmp_path / "tiny.toml"
    recipe.write_text(tomli_w.dumps(_tiny_eval(tiny, cache_dir, monkeypatch)))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(recipe), "--out", str(out), "--tracker", "tensorboard", "-q",
              "--set", "train.device='cpu'"])
    assert exit_info.value.code in (0, None)
    acc = EventAccumulator(str(out / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("d_loss")] == [2, 4]
    assert [e.step for e in acc.Images("samples")] == [2, 4]
    fid = acc.Scalars("eval/fid/classifier:shapes")
    assert [e.step for e in fid] == [2, 4] and all(e.value > 0 for e in fid)
    assert "recipe/text_summary" in acc.Tags()["tensors"]
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r.get("event") == "eval"] == [2, 4]
    assert (out / "eval_curves.png").is_file()


def test_evaluation_during_training_keeps_resume_exact(tiny, tmp_path, cache_dir, monkeypatch):
    recipe = _tiny_eval(tiny, cache_dir, monkeypatch)
    train(recipe, out=tmp_path / "one", steps=4)
    recipe["train"]["eval_every"] = 0  # evaluation settings may change on resume
    train(recipe, out=tmp_path / "two", steps=2)
    recipe["train"]["eval_every"] = 2
    train(recipe, out=tmp_path / "two", steps=4, resume=True)
    a = checkpoint.read(tmp_path / "one" / "last.safetensors").tensors
    b = checkpoint.read(tmp_path / "two" / "last.safetensors").tensors
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_keep_best_keeps_the_checkpoint_of_the_best_score(tiny, tmp_path, cache_dir,
                                                          monkeypatch, capsys):
    from gancore.cli import main
    from gancore.evaluation.during_training import BEST_META

    recipe = _tiny_eval(tiny, cache_dir, monkeypatch)
    recipe["train"].update(eval_every=1, keep_best="fid")
    out = tmp_path / "run"
    train(recipe, out=out, steps=3)
    train(recipe, out=out, steps=5, resume=True)  # the resumed run betters its own best
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    fids = {r["step"]: r["fid/classifier:shapes"] for r in records if r.get("event") == "eval"}
    assert sorted(fids) == [1, 2, 3, 4, 5]
    step = min(fids, key=fids.__getitem__)
    best = checkpoint.read(out / "best.safetensors")
    assert best.step == step
    assert json.loads(best.meta[BEST_META]) == {"key": "fid/classifier:shapes",
                                                "value": fids[step], "step": step}
    assert not list(out.glob(".*.tmp"))
    # sample --best draws from it (a run folder alone: from last.safetensors)
    for args, path in ((["--best"], out / "best.safetensors"), ([], out / "last.safetensors")):
        with pytest.raises(SystemExit) as code:
            main(["sample", str(out), *args, "-n", "4", "--npy", str(tmp_path / "a.npy")])
        assert code.value.code in (0, None)
        with pytest.raises(SystemExit) as code:
            main(["sample", str(path), "-n", "4", "--npy", str(tmp_path / "b.npy")])
        assert code.value.code in (0, None)
        assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


def test_keep_best_needs_an_evaluation_and_a_direction(tiny, tmp_path, capsys):
    from gancore.cli import main
    from gancore.core.errors import GancoreError, RecipeError

    tiny["train"]["keep_best"] = "fid"
    with pytest.raises(RecipeError, match=r"train\.eval_every is 0") as info:
        train(tiny, out=tmp_path / "a", steps=1)
    assert info.value.key == "train.keep_best"
    tiny["train"].update(keep_best="d_f1", eval_every=1)
    with pytest.raises(RecipeError, match="better direction is known") as info:
        train(tiny, out=tmp_path / "b", steps=1)
    assert info.value.key == "train.keep_best" and "fid" in info.value.hint
    # --best on a run that kept none
    tiny["train"].update(keep_best="", eval_every=0)
    train(tiny, out=tmp_path / "c", steps=1)
    with pytest.raises(SystemExit) as code:
        main(["sample", str(tmp_path / "c"), "--best", "--npy", str(tmp_path / "x.npy")])
    assert code.value.code == 2
    assert "the run kept no best.safetensors" in capsys.readouterr().err
    from gancore.evaluation.evaluator import checkpoint_path

    with pytest.raises(GancoreError, match="--best takes a run folder"):
        checkpoint_path(tmp_path / "c" / "last.safetensors", best=True)


def test_mlflow_logs_to_the_local_store(tiny, tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    train(tiny, out=tmp_path / "run", trackers=["mlflow"])
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("gancore")
    (run,) = client.search_runs([exp.experiment_id])
    assert [m.step for m in client.get_metric_history(run.info.run_id, "d_loss")] == [2, 4]
    assert run.data.params["train.batch_size"] == "8"
    assert run.data.params["generator.blocks.0.type"] == "upsample"
    assert run.info.status == "FINISHED"
    arts = [a.path for a in client.list_artifacts(run.info.run_id, "samples")]
    assert any(a.endswith(".png") for a in arts)


def _wandb_records(path):
    """The records of a wandb ``.wandb`` file: a LevelDB-style log of protobuf Records."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, out, pending = 7, 32768, [], b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            out.append(record)
    return out


def test_wandb_runs_offline_without_an_api_key(tiny, tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="the wandb extra is not installed")
    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc credentials either
    train(tiny, out=tmp_path / "run", trackers=["wandb"])
    (run_file,) = (tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb")
    import time

    for _ in range(300):  # wandb's service process finishes writing the file after finish()
        records = _wandb_records(run_file)
        if any(r.HasField("exit") for r in records):
            break
        time.sleep(0.1)
    history = [r.history for r in records if r.HasField("history")]
    steps = []
    for h in history:
        items = {i.key or "/".join(i.nested_key): i.value_json for i in h.item}
        if "d_loss" in items:
            steps.append(json.loads(items["_step"]))
    assert steps == [2, 4]


def test_pack_commands_show_in_help_without_torch(tmp_path):
    from tests.conftest import make_dist, run_cli

    good = ("import typer\nfrom gancore.plugin import hookimpl\n\n"
            "def hello(name: str = 'world'):\n    'Say hello.'\n    print(f'hello {name}')\n\n"
            "@hookimpl\ndef gancore_commands(app):\n    app.command('hello')(hello)\n"
            "    app.command('train')(hello)\n")
    bad = ("from gancore.plugin import hookimpl\n\n@hookimpl\ndef gancore_commands(app):\n"
           "    app.command('never')(lambda: None)\n    raise RuntimeError('no commands today')\n")
    make_dist(tmp_path, "gancore-hello", "0.1.0", "hello_pack", good)
    make_dist(tmp_path, "gancore-badcmd", "0.1.0", "badcmd_pack", bad)
    env = {"PYTHONPATH": str(tmp_path)}
    res = run_cli("--help", env=env)
    assert res.returncode == 0, res.stderr
    assert "hello" in res.stdout and "Commands from hello_pack" in res.stdout
    assert "never" not in res.stdout
    assert "badcmd_pack" in res.stderr and "no commands today" in res.stderr
    assert "command 'train' is refused" in res.stderr
    res = run_cli("hello", "--name", "pack", env=env)
    assert res.returncode == 0 and "hello pack" in res.stdout
    res = run_cli("--block-plugin", "hello_pack", "--help", env=env)
    assert "hello" not in res.stdout.replace("gancore-hello", "")
    code = ("import sys\nfrom gancore.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')")
    import subprocess

    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, **env})
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr


def test_the_kit_s_resume_check_passes_the_stateful_pack(tiny, check_resume, pack):
    done = check_resume(_stateful_recipe(tiny), steps=(2, 2), registry=pack)
    assert done.straight.augments[0].p == done.resumed.augments[0].p > 0
    assert done.straight.step == done.resumed.step == 4


class _ForgetfulTune:
    """Moves the flip probability by 0.01 per step of each ``interval``-step window, and saves
    nothing: a run resumed inside a window forgets the steps it had counted."""

    def __init__(self, interval: int = 2) -> None:
        self.interval, self.count = interval, 0

    def on_step_end(self, trainer, step):
        self.count += 1
        if step % self.interval == 0:
            trainer.augments[0].p = min(1.0, trainer.augments[0].p + 0.01 * self.count)
            self.count = 0


class _ForgetfulPack:
    @hookimpl
    def gancore_register_components(self, registry):
        registry.add("callback", "forgetful_tune", _ForgetfulTune)


def test_the_kit_s_resume_check_catches_a_callback_that_forgets_its_state(
        tiny, tmp_path, pack, register_plugin):
    registry = register_plugin(_ForgetfulPack(), name="forgetful-pack")
    recipe = _stateful_recipe(tiny)
    recipe["train"]["callbacks"] = [{"type": "forgetful_tune", "interval": 2}]
    with pytest.raises(AssertionError, match="differs after") as info:
        resume_matches(recipe, tmp_path, steps=(3, 1), registry=registry)
    assert "augment[0]" in str(info.value) or "checkpoint tensor" in str(info.value)
