"""Checkpoint format: metadata, atomic writes, tensors namespaced by network."""

from __future__ import annotations

import json
import os

import pytest
from safetensors import safe_open

import gancore
from gancore.assembly.checkpoint import atomic_write_bytes, read
from gancore.core.errors import GancoreError


def test_metadata_is_self_describing(tmp_path):
    gan = gancore.build("cgan", seed=7)
    path = gancore.save(gan, tmp_path / "c.safetensors", step=42)
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        keys = list(fh.keys())
    assert meta["format"] == "gancore-checkpoint" and meta["format_version"] == "1"
    assert meta["gancore_version"] == gancore.__version__
    assert meta["seed"] == "7" and meta["step"] == "42"
    assert json.loads(meta["recipe"])["generator"]["conditioning"] == "concat"
    assert "builtin" in json.loads(meta["plugins"])
    assert all(k.startswith(("generator.", "discriminator.")) for k in keys)
    assert read(path).step == 42


def test_atomic_write_keeps_previous_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "last.safetensors"
    atomic_write_bytes(target, b"old")

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(GancoreError, match="No space left on device") as info:
        atomic_write_bytes(target, b"new")
    assert str(target) in str(info.value)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["last.safetensors"]  # no temporary file left behind


def test_save_into_unwritable_folder_is_a_clear_error(tmp_path, monkeypatch):
    import tempfile

    from gancore.core.errors import CheckpointError

    gan = gancore.build("dcgan-32")
    path = gancore.save(gan, tmp_path / "x.safetensors")

    def denied(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # as in a read-only folder
    with pytest.raises(CheckpointError, match="cannot write the checkpoint") as info:
        gancore.save(gan, path)
    assert "Permission denied" in str(info.value) and str(path) in str(info.value)
    monkeypatch.undo()
    assert gancore.load(path) is not None
