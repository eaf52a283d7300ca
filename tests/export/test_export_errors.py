"""Bad input to `gancore export`: one message, exit status 2, and nothing half-written."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch

import gancore
from gancore.core.errors import CheckpointError, ExportError
from gancore.export import export
from tests.bad_input.conftest import cli_error, rewrite_checkpoint, snapshot
from tests.export.pack import PACK, needs_onnx, tiny_with


def _nothing_left(parent: Path, out: Path) -> None:
    """No export folder and no temporary folder beside it."""
    assert not out.exists()
    assert not [p.name for p in parent.iterdir() if p.name.startswith(f".{out.name}.")]


def test_not_a_gancore_checkpoint(tmp_path, capsys):
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    message = cli_error(capsys, "export", str(plain), "--out", str(tmp_path / "x"))
    assert "plain.safetensors: not a gancore checkpoint" in message
    _nothing_left(tmp_path, tmp_path / "x")


def test_newer_checkpoint_format(tiny_ckpt, tmp_path, capsys):
    newer = rewrite_checkpoint(tiny_ckpt, tmp_path / "newer.safetensors",
                               meta=lambda m: m.update(format_version="2"))
    message = cli_error(capsys, "export", str(newer), "--out", str(tmp_path / "x"))
    assert "written in checkpoint format 2" in message and "this gancore reads format 1" in message
    assert "pip install -U gancore" in message
    _nothing_left(tmp_path, tmp_path / "x")


def test_discriminator_only_checkpoint(tiny_ckpt, tmp_path):
    def only_d(tensors: dict[str, torch.Tensor]) -> None:
        for key in [k for k in tensors if not k.startswith("discriminator.")]:
            del tensors[key]

    d_only = rewrite_checkpoint(tiny_ckpt, tmp_path / "d.safetensors", tensors=only_d)
    with pytest.raises(CheckpointError, match=r"holds no generator weights \(only discriminator\)"):
        export(d_only, tmp_path / "x")
    _nothing_left(tmp_path, tmp_path / "x")


def test_damaged_checkpoint(tiny_ckpt, tmp_path, capsys):
    data = tiny_ckpt.read_bytes()
    torn = tmp_path / "torn.safetensors"
    torn.write_bytes(data[: len(data) // 2])
    message = cli_error(capsys, "export", str(torn), "--out", str(tmp_path / "x"))
    assert "torn.safetensors: corrupt or truncated checkpoint" in message
    _nothing_left(tmp_path, tmp_path / "x")


def test_damaged_generator_weights_are_named(tiny_ckpt, tmp_path):
    def shrink(tensors: dict[str, torch.Tensor]) -> None:
        key = next(k for k in tensors if k.startswith("ema.") and tensors[k].dim() == 2)
        tensors[key] = tensors[key][:1]

    bad = rewrite_checkpoint(tiny_ckpt, tmp_path / "bad.safetensors", tensors=shrink)
    with pytest.raises(CheckpointError, match="the ema weights do not match"):
        export(bad, tmp_path / "x")
    _nothing_left(tmp_path, tmp_path / "x")


def test_a_folder_that_is_not_an_export_is_refused_unless_forced(tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    before = snapshot(out)
    message = cli_error(capsys, "export", str(tiny_ckpt), "--out", str(out))
    assert "mine: --out: the folder exists and is not an earlier export (it holds notes.txt)" \
        in message and "--force" in message
    assert snapshot(out) == before
    export(tiny_ckpt, out, force=True)
    assert (out / "notes.txt").read_text() == "keep me"
    assert gancore.export.read_manifest(out)["name"] == "tiny"


def test_an_earlier_export_is_replaced(tiny_ckpt, tmp_path):
    out = tmp_path / "ex"
    export(tiny_ckpt, out, formats=["torch-export"])
    assert (out / "generator.pt2").is_file()
    export(tiny_ckpt, out, formats=["safetensors"], ema=False)  # no --force needed
    manifest = gancore.export.read_manifest(out)
    assert manifest["source"]["weights"] == "raw"
    assert not (out / "generator.pt2").exists()  # the earlier export's file is gone
    assert sorted(p.name for p in out.iterdir()) == sorted(manifest["files"].values())
    _nothing_left(tmp_path, tmp_path / "absent")


def test_onnx_packages_missing_names_the_extra(tiny_ckpt, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime fails
    with pytest.raises(ExportError) as info:
        export(tiny_ckpt, tmp_path / "x", formats=["onnx"])
    assert "--format onnx needs onnxruntime, which is not installed" in info.value.message
    assert "pip install 'gancore[export]'" in (info.value.hint or "")
    _nothing_left(tmp_path, tmp_path / "x")


def test_export_that_does_not_match_says_by_how_much(pack_registry, tmp_path):
    gan = gancore.build(tiny_with({"type": "shifty"}), registry=pack_registry)
    ckpt = gancore.save(gan, tmp_path / "shifty.safetensors", registry=pack_registry)
    with pytest.raises(ExportError) as info:
        export(ckpt, tmp_path / "x", formats=["torch-export"], registry=pack_registry)
    message = info.value.format()
    assert "the torch.export export does not match gancore's generator: on a batch of 1" \
        in message
    largest = float(re.search(r"it differs by up to ([0-9.e+-]+) ", message).group(1))
    assert 1e-3 < largest < 0.25  # the block's 0.25 shift, damped by the layers after it
    assert f"the part that differs: block 'shifty' from {PACK} (generator.blocks[1]): its " \
        "export differs from it by up to 0.25" in message
    _nothing_left(tmp_path, tmp_path / "x")
    # a tolerance above the difference accepts it
    export(ckpt, tmp_path / "y", formats=["torch-export"], registry=pack_registry,
           tolerance=0.5)
    assert gancore.export.read_manifest(tmp_path / "y")["checks"]["torch-export"][
        "max_abs_diff"] > 1e-3


def test_a_nested_component_that_cannot_be_traced_is_named(pack_registry, tmp_path):
    block = {"type": "conv", "out_channels": 8, "norm": "numpy_norm"}
    gan = gancore.build(tiny_with(block), registry=pack_registry)
    ckpt = gancore.save(gan, tmp_path / "np.safetensors", registry=pack_registry)
    with pytest.raises(ExportError) as info:
        export(ckpt, tmp_path / "x", formats=["torch-export"], registry=pack_registry)
    assert info.value.message.startswith(
        "the generator cannot be exported to torch.export; the part that fails: norm "
        f"'numpy_norm' from {PACK} (in generator.blocks[1]): ")
    _nothing_left(tmp_path, tmp_path / "x")


@needs_onnx
def test_a_custom_op_without_onnx_translation_is_named(pack_registry, tmp_path):
    gan = gancore.build(tiny_with({"type": "wiggle"}), registry=pack_registry)
    ckpt = gancore.save(gan, tmp_path / "wiggle.safetensors", registry=pack_registry)
    with pytest.raises(ExportError) as info:
        export(ckpt, tmp_path / "x", formats=["onnx"], registry=pack_registry)
    message = info.value.message
    assert message.startswith("the generator cannot be exported to ONNX; the part that fails: "
                              f"block 'wiggle' from {PACK} (generator.blocks[1]): ")
    assert "gancore_exporttest.wiggle" in message  # the exporter's own reason
    assert info.value.source == str(ckpt)
    _nothing_left(tmp_path, tmp_path / "x")
    # torch.export keeps the custom op: that format works
    export(ckpt, tmp_path / "y", formats=["torch-export"], registry=pack_registry)


@pytest.mark.parametrize(("args", "expected"), [
    (["-f", "onx"], "--format: unknown export format 'onx'; did you mean 'onnx'?"),
    (["--tolerance", "0"], "--tolerance: --tolerance must be a number between 0 and 1"),
    (["--tolerance", "nan"], "--tolerance: --tolerance must be a number between 0 and 1"),
])
def test_bad_options(tiny_ckpt, tmp_path, capsys, args, expected):
    message = cli_error(capsys, "export", str(tiny_ckpt), "--out", str(tmp_path / "x"), *args)
    assert expected in message
    _nothing_left(tmp_path, tmp_path / "x")


def test_scores_of_another_step_are_refused_or_passed_over(tiny_ckpt, tmp_path):
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"step": 999, "ema": True, "metrics": ["fid"],
                                  "fid/raw": 1.0}))
    with pytest.raises(ExportError, match="it scores step 999, the checkpoint is at step 2"):
        export(tiny_ckpt, tmp_path / "x", scores=scores)
    _nothing_left(tmp_path, tmp_path / "x")
    # the same file found beside the checkpoint is passed over with a note
    run = tmp_path / "run"
    shutil.copytree(tiny_ckpt.parent, run)
    shutil.copy(scores, run / "last.eval.json")
    result = export(run / "last.safetensors", tmp_path / "y")
    assert result.manifest["scores"] is None
    assert any("it scores step 999" in note for note in result.notes)


def test_missing_scores_file(tiny_ckpt, tmp_path, capsys):
    message = cli_error(capsys, "export", str(tiny_ckpt), "--out", str(tmp_path / "x"),
                        "--scores", str(tmp_path / "none.json"))
    assert "none.json: --scores: cannot use these scores: the file does not exist" in message


def test_export_folder_of_a_newer_or_damaged_format(tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "ex"
    export(tiny_ckpt, out)
    manifest = json.loads((out / "export.json").read_text())
    (out / "export.json").write_text(json.dumps({**manifest, "format_version": 2}))
    with pytest.raises(CheckpointError, match="written in export format 2 by gancore"):
        gancore.load(out)
    message = cli_error(capsys, "export", str(out), "--out", str(tmp_path / "again"))
    assert "this gancore reads format 1" in message and "pip install -U gancore" in message
    (out / "export.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="damaged export manifest"):
        gancore.load(out)
    # a folder that is no export at all
    with pytest.raises(CheckpointError, match=r"not a gancore export folder \(no export.json\)"):
        gancore.load(tiny_ckpt.parent)


def test_an_export_that_does_not_run_is_an_error():
    from gancore.export.checks import Tolerance, check
    from gancore.export.model import Signature

    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
            return self.fc(z)

    def run(args):
        raise RuntimeError("Got invalid dimensions for input: z\nmore detail")

    with pytest.raises(ExportError) as info:
        check(run, Linear(), Signature(4, 0, (2,), truncation=False), Tolerance(), label="ONNX")
    assert info.value.message == ("the ONNX export does not run on a batch of 1: "
                                  "Got invalid dimensions for input: z")
    assert info.value.key == "--format"
