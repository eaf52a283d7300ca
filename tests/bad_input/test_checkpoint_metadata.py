"""Damaged checkpoints: every metadata field, tensor names/shapes/dtypes, optimizer state.

Each case: one ``CheckpointError`` (on the CLI: status 2, ``error:``, no traceback) naming the
file and the field or tensors, and the damaged file left byte for byte as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable

import pytest
import torch

import gancore
from gancore.assembly.checkpoint import read, relay
from gancore.core.errors import CheckpointError

from .conftest import cli_error, cli_ok, rewrite_checkpoint, snapshot


def _set(key: str, value: str) -> Callable[[dict[str, str]], None]:
    return lambda meta: meta.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict[str, str]], None]:
    return lambda meta: meta.pop(key)


def _trainer(**changes: object) -> Callable[[dict[str, str]], None]:
    def edit(meta: dict[str, str]) -> None:
        state = json.loads(meta["trainer"])
        for key, value in changes.items():
            if value is _DROP:
                state.pop(key)
            else:
                state[key] = value
        meta["trainer"] = json.dumps(state)
    return edit


_DROP = object()

META_CASES = [
    # (edit of the raw metadata, what the one message must say)
    (_set("format_version", "one"), "metadata field 'format_version' must be a whole number"),
    (_set("format_version", "1.5"), "'format_version' must be a whole number"),
    (_set("format_version", ""), "'format_version' must be a whole number"),
    (_set("format_version", "0x1"), "'format_version' must be a whole number"),
    (_set("format_version", "0"), "'format_version'"),
    (_set("format_version", "-3"), "'format_version'"),
    (_drop("format_version"), "metadata field 'format_version' is missing"),
    (_set("format", "gancore-checkpoint-v2"), "not a gancore checkpoint"),
    (_drop("format"), "not a gancore checkpoint"),
    (_drop("recipe"), "carries no recipe"),
    (_set("recipe", "{not json"), "metadata field 'recipe': is not valid JSON"),
    (_set("recipe", "[1, 2]"), "metadata field 'recipe'"),
    (_set("recipe", "{}"), "metadata field 'recipe'"),
    (_set("recipe", "null"), "metadata field 'recipe'"),
    (_set("recipe", '"a string"'), "metadata field 'recipe'"),
    (_set("plugins", "nope"), "metadata field 'plugins': is not valid JSON"),
    (_set("plugins", '{"builtin": 1}'), "metadata field 'plugins' (at builtin)"),
    (_set("plugins", "[]"), "metadata field 'plugins'"),
    (_set("components", "garbage"), "metadata field 'components': is not valid JSON"),
    (_set("components", '{"generator": "gancore-x==1"}'), 'not of the form "kind:name"'),
    (_set("components", '{"block:": "gancore-x==1"}'), 'not of the form "kind:name"'),
    (_set("components", '{"block:x": "gancore-x"}'), 'not of the form "pack==version"'),
    (_set("components", '{"block:x": "==1"}'), 'not of the form "pack==version"'),
    (_set("components", '{"block:x": 3}'), 'not of the form "pack==version"'),
    (_set("components", '["block:x"]'), "metadata field 'components'"),
    (_set("seed", "abc"), "metadata field 'seed': must be a whole number (got 'abc')"),
    (_set("seed", "1.5"), "metadata field 'seed': must be a whole number"),
    (_set("seed", "1e3"), "metadata field 'seed': must be a whole number"),
    (_set("seed", "99999999999999999999"), "metadata field 'seed'"),
    (_set("step", "-1"), "metadata field 'step'"),
    (_set("step", "ten"), "metadata field 'step': must be a whole number"),
    (_set("step", ""), "metadata field 'step': must be a whole number"),
    (_set("trainer", "{"), "metadata field 'trainer': is not valid JSON"),
    (_set("trainer", "[]"), "metadata field 'trainer'"),
    (_trainer(step="x"), "metadata field 'trainer' (at step)"),
    (_trainer(step=-2), "metadata field 'trainer' (at step)"),
    (_trainer(step=_DROP), "metadata field 'trainer' (at step) is missing"),
    (_trainer(seconds=float("nan")), "metadata field 'trainer' (at seconds)"),
    (_trainer(images_seen=-5), "metadata field 'trainer' (at images_seen)"),
    (_trainer(world_size=0), "metadata field 'trainer' (at world_size)"),
    (_trainer(opt_g={"param_groups": []}), "metadata field 'trainer' (at opt_g.param_groups)"),
    (_trainer(opt_d="adam"), "metadata field 'trainer' (at opt_d)"),
    (_trainer(opt_g={"param_groups": [{}], "scalars": {"x": {}}}), "(at opt_g.scalars.x"),
    (_trainer(sched_g=[1]), "metadata field 'trainer' (at sched_g)"),
]


@pytest.mark.parametrize("edit, message", META_CASES)
def test_damaged_metadata_is_one_corrupt_error(ckpt, tmp_path, capsys, edit, message):
    bad = rewrite_checkpoint(ckpt, tmp_path / "bad.safetensors", meta=edit)
    before = snapshot(tmp_path)
    with pytest.raises(CheckpointError) as info:
        gancore.load(bad)
    text = str(info.value)
    assert message in text and str(bad) in text
    assert "pip install -U" not in text  # damaged is never "written by a newer gancore"
    if "not a gancore" not in message and "no recipe" not in message:
        assert "corrupt checkpoint" in text and "hint:" in text
    err = cli_error(capsys, "sample", str(bad), "--grid", str(tmp_path / "out.png"))
    assert message in err
    assert snapshot(tmp_path) == before  # the file is untouched and nothing was written


def test_a_newer_format_still_asks_for_an_upgrade(ckpt, tmp_path):
    bad = rewrite_checkpoint(ckpt, tmp_path / "new.safetensors", meta=_set("format_version", "7"))
    with pytest.raises(CheckpointError, match="format 7") as info:
        read(bad)
    assert "pip install -U gancore" in str(info.value)


def _first(prefix: str) -> Callable[[dict[str, torch.Tensor]], str]:
    def pick(tensors: dict[str, torch.Tensor]) -> str:
        return next(k for k, v in tensors.items() if k.startswith(prefix) and v.dim() >= 2)
    return pick


def _drop_tensor(prefix: str) -> Callable[[dict[str, torch.Tensor]], None]:
    return lambda t: t.pop(_first(prefix)(t))


def _cast(prefix: str, dtype: torch.dtype) -> Callable[[dict[str, torch.Tensor]], None]:
    def edit(t: dict[str, torch.Tensor]) -> None:
        key = _first(prefix)(t)
        t[key] = t[key].to(dtype)
    return edit


def _reshape(prefix: str) -> Callable[[dict[str, torch.Tensor]], None]:
    def edit(t: dict[str, torch.Tensor]) -> None:
        key = _first(prefix)(t)
        t[key] = torch.zeros(t[key].shape[0] + 1, *t[key].shape[1:])
    return edit


def _drop_section(prefix: str) -> Callable[[dict[str, torch.Tensor]], None]:
    def edit(t: dict[str, torch.Tensor]) -> None:
        for key in [k for k in t if k.startswith(prefix)]:
            t.pop(key)
    return edit


def _counter_as_float(t: dict[str, torch.Tensor]) -> None:
    key = next(k for k in t if k.startswith("discriminator.") and "num_batches_tracked" in k)
    t[key] = t[key].float()


TENSOR_CASES = [
    # (edit of the tensors, load the EMA weights?, what the message must say)
    (_drop_tensor("generator."), False, "missing tensors: generator."),
    (_drop_tensor("discriminator."), False, "missing tensors: discriminator."),
    (_drop_section("discriminator."), False, "missing tensors: discriminator."),
    (lambda t: t.__setitem__("generator.extra.weight", torch.zeros(2)), False,
     "unexpected tensors: generator.extra.weight"),
    (_reshape("generator."), False, "wrong shape: generator."),
    (_reshape("discriminator."), False, "the recipe needs ["),
    (_cast("generator.", torch.int32), False, "wrong dtype: generator."),
    (_cast("discriminator.", torch.int32), False, "is int32, the recipe needs float32"),
    (_cast("generator.", torch.bool), False, "is bool, the recipe needs float32"),
    (_cast("generator.", torch.uint8), False, "is uint8, the recipe needs float32"),
    (_counter_as_float, False, "num_batches_tracked is float32, the recipe needs int64"),
    (_reshape("ema."), True, "wrong shape: ema."),
    (_cast("ema.", torch.int64), True, "wrong dtype: ema."),
    (_drop_tensor("ema."), True, "missing tensors: ema."),
]


@pytest.mark.parametrize("edit, ema, message", TENSOR_CASES)
def test_weights_that_do_not_fit_are_named(ckpt, tmp_path, capsys, edit, ema, message):
    bad = rewrite_checkpoint(ckpt, tmp_path / "bad.safetensors", tensors=edit)
    before = snapshot(tmp_path)
    with pytest.raises(CheckpointError) as info:
        gancore.load(bad, ema=ema)
    assert message in str(info.value) and str(bad) in str(info.value)
    assert "do not match the checkpoint's recipe" in str(info.value)
    args = ["sample", str(bad), "--grid", str(tmp_path / "o.png")] + ([] if ema else ["--no-ema"])
    assert message in cli_error(capsys, *args)
    assert snapshot(tmp_path) == before


def test_other_float_precisions_load(ckpt, tmp_path):
    half = rewrite_checkpoint(ckpt, tmp_path / "bf16.safetensors", tensors=lambda t: t.update(
        {k: v.to(torch.bfloat16) for k, v in t.items() if v.is_floating_point()}))
    gan = gancore.load(half)
    assert next(gan.generator.parameters()).dtype == torch.float32


def _strip(prefix: str, only_one: bool = False) -> Callable[[dict[str, torch.Tensor]], None]:
    def edit(t: dict[str, torch.Tensor]) -> None:
        keys = [k for k in t if k.startswith(prefix)]
        for key in keys[:1] if only_one else keys:
            t.pop(key)
    return edit


def _rename(old_prefix: str, new: str) -> Callable[[dict[str, torch.Tensor]], None]:
    def edit(t: dict[str, torch.Tensor]) -> None:
        key = next(k for k in t if k.startswith(old_prefix))
        t[new] = t.pop(key)
    return edit


def _groups(prefix: str) -> Callable[[dict[str, str]], None]:
    def edit(meta: dict[str, str]) -> None:
        state = json.loads(meta["trainer"])
        state[prefix]["param_groups"][0]["params"] = state[prefix]["param_groups"][0]["params"][:1]
        meta["trainer"] = json.dumps(state)
    return edit


RESUME_CASES = [
    # (edit of the metadata, edit of the tensors, what the message must say)
    (None, _strip("opt_g."), "generator's optimizer state is incomplete: missing tensors opt_g."),
    (None, _strip("opt_d.", only_one=True), "discriminator's optimizer state is incomplete"),
    (_trainer(opt_g=_DROP), None, "no optimizer state for the generator (opt_g)"),
    (_trainer(opt_d=None), None, "no optimizer state for the discriminator (opt_d)"),
    (_drop("trainer"), None, "holds no training state"),
    (_groups("opt_g"), None, "generator's optimizer state is for 1 parameters"),
    (None, _rename("opt_d.", "opt_d.x.exp_avg"), "optimizer state is incomplete: missing"),
    (None, lambda t: t.__setitem__("opt_g.x.y", torch.zeros(1)), "is not named opt_g.<index>."),
    (None, lambda t: t.__setitem__("opt_g.7", torch.zeros(1)), "is not named opt_g.<index>."),
    (None, lambda t: t.__setitem__("rng.torch", torch.zeros(3)), "cannot be restored"),
    (None, _cast("generator.", torch.int32), "wrong dtype: generator."),
    (None, _reshape("ema."), "wrong shape: ema."),
    (_trainer(sched_g={"last_epoch": "x", "base_lrs": 3}), None, "cannot be restored"),
]


@pytest.mark.parametrize("meta, tensors, message", RESUME_CASES)
def test_resume_from_damaged_training_state(run_copy, capsys, meta, tensors, message):
    last = run_copy / "last.safetensors"
    rewrite_checkpoint(last, last, meta=meta, tensors=tensors)
    before = snapshot(run_copy)
    err = cli_error(capsys, "train", str(run_copy.parent / "tiny.toml"), "--out", str(run_copy),
                    "--steps", "4", "--resume", "-q")
    assert message in err and str(last) in err and "hint:" in err
    assert snapshot(run_copy) == before  # nothing written, nothing removed


PICKLE_CASES = [
    # (how the file is made, what the message must say)
    (lambda p: torch.save({"w": torch.zeros(2)}, p), "PyTorch zip pickle file"),
    (lambda p: p.write_bytes(b"\x80\x04\x95" + b"\0" * 64), "PyTorch pickle file"),
    (lambda p: p.write_bytes(b"\x80\x02}q\x00." + b"\0" * 8), "PyTorch pickle file"),
]


@pytest.mark.parametrize("make, message", PICKLE_CASES)
def test_pickles_are_refused_without_suggesting_unpickling(tmp_path, capsys, make, message):
    path = tmp_path / "model.pt"
    make(path)
    before = snapshot(tmp_path)
    with pytest.raises(CheckpointError) as info:
        read(path)
    text = str(info.value)
    assert message in text and "never unpickles" in text and str(path) in text
    assert "weights_only" not in text
    assert message in cli_error(capsys, "sample", str(path), "--grid", str(tmp_path / "o.png"))
    assert snapshot(tmp_path) == before


RELAYED = [
    "Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` will "
    "likely succeed",
    "Unpickling error: invalid load key",
    "Please use torch.load(f, weights_only=False) to load this file",
]


@pytest.mark.parametrize("text", RELAYED)
def test_relayed_messages_never_suggest_unpickling(text):
    out = relay(RuntimeError(text))
    assert "weights_only" not in out and "False" not in out and "never unpickles" in out


def test_relayed_safetensors_error_is_reworded(ckpt, tmp_path, monkeypatch):
    import safetensors

    def fake(*_a, **_k):
        raise safetensors.SafetensorError("try torch.load(weights_only=False)")

    monkeypatch.setattr(safetensors, "safe_open", fake)
    with pytest.raises(CheckpointError) as info:
        read(ckpt)
    assert "weights_only" not in str(info.value) and "never unpickles" in str(info.value)


def test_loads_from_a_read_only_location_without_opening_for_writing(ckpt, tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "last.safetensors"
    shutil.copy(ckpt, path)
    opened: list[tuple[str, object]] = []

    def audit(event: str, args: tuple) -> None:
        if event == "open" and args and str(args[0]).startswith(str(folder)):
            opened.append((str(args[0]), args[1]))

    sys.addaudithook(audit)  # hooks cannot be removed: it only records paths under `folder`
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)
    before = snapshot(folder)
    try:
        gan = gancore.load(path)
        cli_ok(capsys, "sample", str(path), "-n", "4", "--grid", str(tmp_path / "s.png"))
    finally:
        os.chmod(folder, 0o755)
    assert gan.step == 2 and (tmp_path / "s.png").is_file()
    writes = [(p, m) for p, m in opened if m not in (None, "r", "rb")]
    assert not writes, writes  # gancore opens checkpoints for reading only
    assert snapshot(folder) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores file permissions, so a 0o555 folder is not read-only")
def test_loads_from_a_permission_read_only_folder(ckpt, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(ckpt, folder / "c.safetensors")
    os.chmod(folder / "c.safetensors", 0o444)
    os.chmod(folder, 0o555)
    try:
        assert gancore.load(folder / "c.safetensors").step == 2
    finally:
        os.chmod(folder, 0o755)
