"""A callback that raises StopTraining ends the run cleanly: checkpoint, final files, a stop
record, fit() returns, ``gancore train`` exits 0."""

from __future__ import annotations

import json
import types

import tomli_w

from gancore.assembly import checkpoint
from gancore.plugin import StopTraining, hookimpl
from gancore.train.trainer import train

from ..conftest import run_cli


class StopAt:
    """Asks the run to stop at step ``at``."""

    def __init__(self, at: int = 3) -> None:
        self.at = at
        self.ended: list[object] = []

    def on_step_end(self, trainer, step):
        if step == self.at:
            raise StopTraining(f"enough at {step}")

    def on_run_end(self, trainer, result):
        self.ended.append(result)


def _pack() -> types.ModuleType:
    mod = types.ModuleType("stop_pack")

    @hookimpl
    def gancore_register_components(registry):
        registry.add("callback", "stop_at", StopAt)

    mod.gancore_register_components = gancore_register_components
    return mod


def test_stop_training_ends_the_run_cleanly(tiny, tmp_path, register_plugin):
    registry = register_plugin(_pack(), name="stop-pack")
    tiny["train"].update(steps=8, checkpoint_every=100, sample_every=100, log_every=1)
    tiny["train"]["callbacks"] = [{"type": "stop_at", "at": 3}]
    out = tmp_path / "run"
    result = train(tiny, out=out, registry=registry)
    assert result.stopped == "enough at 3" and result.step == 3
    assert checkpoint.read(out / "last.safetensors", tensors=False).step == 3
    assert (out / "samples" / "final.png").is_file() and (out / "loss_curves.png").is_file()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1] == {"step": 3, "event": "stop", "reason": "enough at 3",
                           "by": "callback 'stop_at' from stop-pack (train.callbacks[0])"}
    # asked in step 3's on_step_end: the step ends as every step does, its record included
    assert [r["step"] for r in records if r.get("event") is None] == [1, 2, 3]


def test_a_run_to_its_end_is_not_stopped(tiny, register_plugin):
    registry = register_plugin(_pack(), name="stop-pack")
    tiny["train"]["callbacks"] = [{"type": "stop_at", "at": 99}]
    result = train(tiny, registry=registry)
    assert result.stopped is None and result.step == 4


def test_gancore_train_exits_0_when_a_callback_stops_it(tiny, tmp_path):
    """Through the CLI, with a pack installed as a real distribution on sys.path."""
    from ..conftest import make_dist

    site = make_dist(tmp_path / "site", "stop-pack", "0.1", "stop_pack_mod", '''
        from gancore.plugin import StopTraining, hookimpl

        class StopAt:
            def __init__(self, at: int = 2) -> None:
                self.at = at

            def on_step_end(self, trainer, step):
                if step == self.at:
                    raise StopTraining("pruned")

        @hookimpl
        def gancore_register_components(registry):
            registry.add("callback", "stop_at", StopAt)
    ''')
    tiny["train"].update(steps=6, checkpoint_every=100, sample_every=100)
    tiny["train"]["callbacks"] = [{"type": "stop_at", "at": 2}]
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(tomli_w.dumps(tiny), encoding="utf-8")
    import os

    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    proc = run_cli("train", str(recipe), "--out", str(tmp_path / "run"), "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "stopped step 2" in proc.stdout and "pruned" in proc.stdout
    assert checkpoint.read(tmp_path / "run" / "last.safetensors", tensors=False).step == 2
