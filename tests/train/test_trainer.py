"""The training loop: run folders, resume equality, faults and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from gancore.assembly import checkpoint
from gancore.core.errors import CheckpointError, GancoreError, RecipeError
from gancore.storage import io as gancore_io
from gancore.train.trainer import Trainer, TrainingError, recipe_differences, train


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    return checkpoint.read(path).tensors


def test_run_folder_contents(tiny, tmp_path):
    out = tmp_path / "run"
    result = train(tiny, out=out)
    assert result.step == 4
    names = {p.name for p in out.iterdir()}
    assert {"recipe.toml", "metrics.jsonl", "loss_curves.png", "last.safetensors"} <= names
    assert {"step_0000002.safetensors", "step_0000004.safetensors"} <= names
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    expected = {
        "step",
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "d_accuracy",
        "d_f1",
        "lr_g",
        "lr_d",
        "images_per_s",
    }
    assert expected <= set(records[0])
    assert 0 <= records[0]["d_accuracy"] <= 1 and 0 <= records[0]["d_f1"] <= 1
    for png in [out / "loss_curves.png", *sorted((out / "samples").glob("*.png"))]:
        with Image.open(png) as im:
            im.verify()
    assert (out / "samples" / "step_0000002.png").exists()
    assert "[train]" in (out / "recipe.toml").read_text()
    ckpt = checkpoint.read(out / "last.safetensors")
    assert ckpt.step == 4
    assert ckpt.section("ema") and any(k.startswith("opt_g.") for k in ckpt.tensors)
    assert "rng.torch" in ckpt.tensors and "rng.batches" in ckpt.tensors
    gan = checkpoint.load(out / "last.safetensors", ema=True)
    assert gan.generator(torch.randn(2, 8)).shape == (2, 3, 16, 16)


def test_conditional_grid_has_one_row_per_class(tiny, tmp_path):
    tiny["generator"]["conditioning"] = "concat"
    tiny["discriminator"]["conditioning"] = "concat"
    tiny["train"]["steps"] = 2
    trainer = Trainer(tiny, out=tmp_path / "run")
    assert trainer.fixed_y is not None
    per_row = trainer.grid_rows
    assert trainer.fixed_y.view(4, per_row).eq(torch.arange(4).view(4, 1)).all()
    trainer.fit()
    with Image.open(tmp_path / "run" / "samples" / "final.png") as im:
        assert im.height == 4 * 18 + 2


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_resume_gives_the_same_tensors(tiny, tmp_path, precision):
    tiny["train"]["precision"] = precision
    train(tiny, out=tmp_path / "one", steps=4)
    train(tiny, out=tmp_path / "two", steps=2)
    train(tiny, out=tmp_path / "two", steps=4, resume=True)
    a, b = (
        _tensors(tmp_path / "one" / "last.safetensors"),
        _tensors(tmp_path / "two" / "last.safetensors"),
    )
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    log = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4]


def test_resume_refuses_a_different_recipe(tiny, tmp_path):
    train(tiny, out=tmp_path / "run", steps=2)
    tiny["train"]["batch_size"] = 4
    tiny["loss"] = {"type": "hinge"}
    with pytest.raises(TrainingError) as info:
        Trainer(tiny, out=tmp_path / "run", steps=4, resume=True)
    msg = str(info.value)
    assert "train.batch_size: 8 -> 4" in msg and "loss.type: 'bce' -> 'hinge'" in msg


def test_recipe_differences_ignore_run_length():
    old = {"train": {"steps": 2, "batch_size": 8}, "penalty": [{"type": "r1", "weight": 1.0}]}
    new = {"train": {"steps": 9, "batch_size": 8}, "penalty": [{"type": "r1", "weight": 2.0}]}
    assert recipe_differences(old, new) == ["penalty[0].weight: 1.0 -> 2.0"]


def test_recipe_differences_name_a_replaced_or_added_component_once():
    old = {"loss": "bce", "d": {"blocks": [{"type": "down", "out_channels": 64, "bias": False},
                                           {"type": "down", "out_channels": 128}]}}
    new = {"loss": {"type": "hinge"},
           "d": {"blocks": [{"type": "down", "out_channels": 64, "bias": None},
                            {"type": "dropout", "p": 0.3},
                            {"type": "down", "out_channels": 128}]}}
    assert recipe_differences(old, new) == [
        "d.blocks[0].bias: False -> None",
        "d.blocks[1].type: 'down' -> 'dropout'",  # out_channels belonged to `down` alone
        "d.blocks[1].p: '<unset>' -> 0.3",
        "d.blocks[2]: '<unset>' -> {type = 'down', out_channels = 128}",
        "loss.type: 'bce' -> 'hinge'",
    ]
    assert recipe_differences(new, old)[-2] == (
        "d.blocks[2]: {type = 'down', out_channels = 128} -> '<unset>'")


def test_existing_run_needs_resume(tiny, tmp_path):
    train(tiny, out=tmp_path / "run", steps=1)
    with pytest.raises(TrainingError, match="already holds a run"):
        Trainer(tiny, out=tmp_path / "run")
    with pytest.raises(TrainingError, match="nothing to resume"):
        Trainer(tiny, out=tmp_path / "new", resume=True)


@pytest.mark.parametrize("steps", [0, -3])
def test_non_positive_steps_are_refused(tiny, steps):
    with pytest.raises(RecipeError, match="1 or more"):
        Trainer(tiny, steps=steps)
    tiny["train"]["steps"] = steps
    with pytest.raises(RecipeError, match=r"train\.steps"):
        Trainer(tiny)


def test_output_folder_that_is_a_file(tiny, tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(TrainingError, match="is a file"):
        Trainer(tiny, out=path)


def test_failed_save_keeps_the_previous_checkpoint(tiny, tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(tiny, out=out, steps=2)
    before = _tensors(out / "last.safetensors")

    real_fsync = gancore_io.os.fsync

    def full_disk(fd):  # the disk fills up while a checkpoint is written
        if ".safetensors." in gancore_io.os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(gancore_io.os, "fsync", full_disk)
    with pytest.raises(CheckpointError, match="No space left") as info:
        train(tiny, out=out, steps=4, resume=True)
    assert "intact" in str(info.value)
    after = _tensors(out / "last.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not list(out.glob(".*.tmp"))


def test_read_only_folder_keeps_the_previous_checkpoint(tiny, tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(tiny, out=out, steps=2)

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(gancore_io.tempfile, "mkstemp", read_only)
    with pytest.raises(TrainingError, match="Read-only"):  # refused before training starts
        train(tiny, out=out, steps=4, resume=True)
    assert checkpoint.read(out / "last.safetensors").step == 2


def test_kill_during_save_leaves_a_loadable_checkpoint(tiny, tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(tiny, out=out, steps=2)
    real_replace = gancore_io.os.replace

    def killed(src, dst):  # the process dies after writing the temporary file
        raise KeyboardInterrupt

    monkeypatch.setattr(gancore_io.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        train(tiny, out=out, steps=4, resume=True)
    monkeypatch.setattr(gancore_io.os, "replace", real_replace)
    assert checkpoint.read(out / "last.safetensors").step == 2
    result = train(tiny, out=out, steps=4, resume=True)
    assert result.step == 4


def test_nan_names_the_step_and_network(tiny, tmp_path):
    tiny["train"]["steps"] = 6
    trainer = Trainer(tiny, out=tmp_path / "run")
    original = trainer.loss.d_loss
    calls = []

    def poisoned(real, fake):
        calls.append(1)
        value = original(real, fake)
        return value * float("nan") if len(calls) == 3 else value

    trainer.loss.d_loss = poisoned
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    msg = str(info.value)
    assert "discriminator loss became nan at step 3" in msg
    assert "last good checkpoint" in msg
    assert checkpoint.read(tmp_path / "run" / "last.safetensors").step == 2


def test_init_from_copies_compatible_weights(tiny, tmp_path):
    train(tiny, out=tmp_path / "a", steps=2)
    source = _tensors(tmp_path / "a" / "last.safetensors")
    tiny["discriminator"]["blocks"][1]["out_channels"] = 12  # partly incompatible
    trainer = Trainer(tiny, init_from=tmp_path / "a" / "last.safetensors", out=tmp_path / "b")
    g = trainer.G.state_dict()
    for key, value in g.items():
        assert torch.equal(value, source[f"ema.{key}"]), key
    d0 = trainer.D.state_dict()["blocks.0.0.weight"]
    assert torch.equal(d0, source["discriminator.blocks.0.0.weight"])
    other = tmp_path / "other.safetensors"
    tiny2 = json.loads(json.dumps(tiny))
    tiny2["generator"]["latent_dim"] = 5
    tiny2["generator"]["stem"]["out_channels"] = 7
    tiny2["generator"]["blocks"] = [{"type": "upsample", "out_channels": 5}] * 2
    tiny2["discriminator"]["blocks"] = [{"type": "down", "out_channels": 3}] * 2
    Trainer(tiny2, out=tmp_path / "c", steps=1).fit()
    (tmp_path / "c" / "last.safetensors").rename(other)
    with pytest.raises(CheckpointError, match="no weight"):
        Trainer(tiny, init_from=other)


def test_penalties_clipping_and_options_run(tiny):
    tiny["loss"] = {"type": "wasserstein"}
    tiny["penalty"] = [
        {"type": "gradient_penalty", "weight": 10.0},
        {"type": "r1", "weight": 1.0, "interval": 2},
    ]
    tiny["train"].update(
        {
            "n_critic": 2,
            "clip_weights": 0.05,
            "grad_clip": 1.0,
            "instance_noise": 0.1,
            "label_smoothing": 0.1,
            "g_optimizer": {"type": "rmsprop", "lr": 1e-4},
            "d_optimizer": {"type": "sgd", "lr": 1e-3},
            "g_schedule": {"type": "cosine"},
            "d_schedule": {"type": "linear"},
        }
    )
    trainer = Trainer(tiny)
    result = trainer.fit()
    assert result.records[-1]["penalty"] > 0
    assert all(p.abs().max() <= 0.05 + 1e-6 for p in trainer.D.parameters())
    assert result.records[-1]["lr_d"] == pytest.approx(0.0, abs=1e-12)


def test_augment_is_applied_to_real_and_fake(tiny, register_plugin):
    from gancore import hookimpl

    seen: list[tuple[int, bool]] = []

    def counting():
        def apply(x):
            seen.append((x.shape[0], x.requires_grad))
            return x

        return apply

    class Plugin:
        @hookimpl
        def gancore_register_components(self, registry):
            registry.add("augment", "counting", counting)

    registry = register_plugin(Plugin(), name="counting-test")
    tiny["augment"] = [{"type": "counting"}]
    tiny["train"]["steps"] = 2
    Trainer(tiny, registry=registry).fit()
    # per step: D sees real and fake, G sees fake (which carries gradients to G)
    assert len(seen) == 2 * 3
    assert [g for _, g in seen[:3]] == [False, False, True]


def test_missing_and_empty_data(tiny, tmp_path):
    tiny["data"] = {"type": "folder", "root": str(tmp_path / "nowhere"), "image_size": 16}
    with pytest.raises(GancoreError, match="not found"):
        Trainer(tiny)
    (tmp_path / "empty").mkdir()
    tiny["data"]["root"] = str(tmp_path / "empty")
    with pytest.raises(GancoreError, match="no image files"):
        Trainer(tiny)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
    tiny["data"]["root"] = str(tmp_path / "bad")
    with pytest.raises(GancoreError, match="read"):
        Trainer(tiny)


def test_logged_d_accuracy_uses_the_loss_threshold():
    from gancore.train.trainer import _Stats

    real = torch.tensor([0.9, 0.6, 0.4])  # least squares, 0/1 coding
    fake = torch.tensor([0.1, 0.55, 0.2, 0.3])
    loss = torch.tensor(0.0)
    for threshold, accuracy in ((0.5, 5 / 7), (0.0, 3 / 7), (None, 5 / 7)):
        stats = _Stats(torch.device("cpu"), threshold)
        stats.add_d(loss, None, real, fake)
        assert stats.record()["d_accuracy"] == pytest.approx(accuracy)


def test_trainer_takes_the_threshold_from_its_loss(tiny):
    tiny["loss"] = {"type": "least_squares"}
    assert Trainer(tiny).stats.threshold == 0.5
    tiny["loss"] = {"type": "wasserstein"}
    assert Trainer(tiny).stats.threshold is None
