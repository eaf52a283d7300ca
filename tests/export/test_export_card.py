"""The model card: its YAML header, the scores of `gancore eval`, and code that runs without
gancore."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gancore
from gancore.evaluation.evaluator import EvalSettings, evaluate_checkpoint
from gancore.export import export
from tests.bad_input.conftest import cli_ok
from tests.export.pack import ONNX_MISSING

yaml = pytest.importorskip("yaml")


def _header(folder: Path) -> dict:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture(scope="module")
def scored(tiny_ckpt: Path, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the tiny run whose checkpoint was scored by `gancore eval --json` beside it,
    exported with the CLI."""
    import shutil

    run = tmp_path_factory.mktemp("scored") / "run"
    shutil.copytree(tiny_ckpt.parent, run)
    result = evaluate_checkpoint(run / "last.safetensors", EvalSettings(
        metrics=["fid", "pr"], num_samples=64, extractor="raw", cache=False))
    (run / "last.eval.json").write_text(json.dumps(result))
    return run, result


def test_scores_beside_the_checkpoint_go_into_the_header(scored, tmp_path, capsys):
    run, result = scored
    out = tmp_path / "card"
    stdout = cli_ok(capsys, "export", str(run), "--out", str(out), "--license", "mit")
    assert "wrote" in stdout
    header = _header(out)
    assert header["library_name"] == "gancore" and header["license"] == "mit"
    assert {"gancore", "gan", "tiny", "image-generation", "safetensors"} <= set(header["tags"])
    assert header["pipeline_tag"] == "unconditional-image-generation"
    (entry,) = header["model-index"]
    (res,) = entry["results"]
    assert res["dataset"] == {"type": "builtin:shapes", "name": "shapes", "split": "test"}
    metrics = {m["type"]: m for m in res["metrics"]}
    assert set(metrics) == {"fid", "precision", "recall"}
    for name, metric in metrics.items():
        assert metric["value"] == pytest.approx(result[f"{name}/raw"], rel=1e-5)
        assert metric["args"] == {"features": "raw", "num_samples": 64, "num_real": 64,
                                  "dataset": "shapes", "split": "test", "seed": 0,
                                  "weights": "ema", "step": 2}
        assert metric["verified"] is False
    text = (out / "README.md").read_text()
    assert re.search(r"\| FID \| [0-9.e+]+ \| raw \|", text)
    assert "64 generated vs 64 held-out real samples of shapes (test split)" in text
    assert gancore.export.read_manifest(out)["scores"]["fid/raw"] == result["fid/raw"]


def test_scores_of_the_other_weights_are_passed_over(scored, tmp_path):
    run, _ = scored
    result = export(run / "last.safetensors", tmp_path / "raw", ema=False)
    assert result.manifest["source"]["weights"] == "raw"
    assert "model-index" not in _header(tmp_path / "raw")
    assert any("it scores the EMA weights, the export holds the raw weights" in note
               for note in result.notes)


def test_samples_grid_is_gancore_sample_of_the_exported_weights(tiny_ckpt, tmp_path):
    from PIL import Image

    from gancore.plotting.figures import image_grid
    from gancore.train.sample import sample_images

    export(tiny_ckpt, tmp_path / "ex")
    grid = np.asarray(Image.open(tmp_path / "ex" / "samples.png"))
    images, _ = sample_images(gancore.load(tiny_ckpt, ema=True), 64, seed=0)
    assert np.array_equal(grid, image_grid(images).numpy())


def _snippets(text: str) -> dict[str, str]:
    """The card's code blocks under each '### ' heading of 'Use without gancore'."""
    section = text.split("## Use without gancore", 1)[1].split("\n## ", 1)[0]
    out = {}
    for part in section.split("### ")[1:]:
        title, _, body = part.partition("\n")
        code = re.search(r"```python\n(.*?)```", body, re.S)
        if code:
            out[title.split(" ")[0]] = code.group(1)
    return out


_RUN_SNIPPETS = """
import json, pickle, sys
sys.modules["gancore"] = None  # no gancore here: importing it fails
import numpy
out = {}
for name, (code, var) in json.loads(sys.argv[1]).items():
    namespace = {}
    exec(compile(code, name, "exec"), namespace)  # each snippet on its own
    value = namespace[var]
    out[name] = ({k: v.numpy() for k, v in value.items()} if isinstance(value, dict)
                 else numpy.asarray(value))
sys.stdout.buffer.write(pickle.dumps(out))
"""


def test_the_cards_code_runs_without_gancore(tmp_path):
    """The card's snippets run in a fresh interpreter where gancore cannot be imported (the
    ONNX one only when the export extra is installed), and make gancore's images."""
    import pickle

    from tests.bad_input.conftest import tiny_recipe

    # a conditional network: the snippets feed labels too
    gan = gancore.build(tiny_recipe(generator={"conditioning": "concat", "embed_dim": 4}))
    ckpt = gancore.save(gan, tmp_path / "cond.safetensors")
    out = tmp_path / "ex"
    with_onnx = not ONNX_MISSING
    export(ckpt, out, formats=["onnx", "torch-export"] if with_onnx else ["torch-export"])
    snippets = _snippets((out / "README.md").read_text())
    assert set(snippets) == {"torch.export", "safetensors"} | ({"ONNX"} if with_onnx else set())
    jobs = {name: (code, "state" if name == "safetensors" else "images")
            for name, code in snippets.items()}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _RUN_SNIPPETS, json.dumps(jobs)], cwd=out,
                          capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    results = pickle.loads(done.stdout)
    assert set(results["safetensors"]) == {f"generator.{k}" for k in gan.generator.state_dict()}
    for name in set(results) - {"safetensors"}:
        # the snippet's own latents and labels, through gancore's generator
        if name == "ONNX":
            z = torch.from_numpy(np.random.default_rng(0).standard_normal((16, 8))
                                 .astype(np.float32))
        else:
            z = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            want = gan.generator.eval()(z, torch.arange(16) % gan.num_classes)
        assert want.std() > 1e-3
        assert results[name].shape == (16, 3, 16, 16)
        torch.testing.assert_close(torch.from_numpy(results[name]), want, atol=1e-4, rtol=0)
