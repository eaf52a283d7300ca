"""``compare``: training or loading each entry, the comparison files, finished runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w

from gancore.core.errors import GancoreError
from gancore.evaluation import EvalSettings, compare, load_study
from gancore.evaluation.plan import entries_from_args

PNG = b"\x89PNG\r\n\x1a\n"


def _study(tmp_path: Path, recipe: dict, variants: str) -> Path:
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(recipe), encoding="utf-8")
    path = tmp_path / "study.toml"
    path.write_text(
        '[study]\nname = "tiny-study"\nbase = "tiny.toml"\nsteps = 3\n' + variants,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def study_path(tmp_path, make_tiny) -> Path:
    return _study(tmp_path, make_tiny(), '[variants.bce]\n[variants.hinge]\n'
                  'set = [\'loss={ type = "hinge" }\']\n')


def _settings(eval_cache: Path) -> EvalSettings:
    return EvalSettings(metrics=["fid", "kid", "f1"], num_samples=64,
                        extractor_options={"max_train": 512, "epochs": 1},
                        cache_dir=str(eval_cache))


def test_compare_writes_the_comparison_and_reuses_finished_runs(study_path, tmp_path,
                                                                 eval_cache):
    study = load_study(study_path)
    out = tmp_path / "out"
    result = compare(study.entries, out, steps=3, seed=0, settings=_settings(eval_cache),
                     name=study.name)
    for name in ("comparison.md", "comparison.json", "samples.png", "losses.png"):
        assert (out / name).is_file()
    assert (out / "samples.png").read_bytes()[:8] == PNG
    assert (out / "losses.png").read_bytes()[:8] == PNG
    data = json.loads((out / "comparison.json").read_text())
    assert [e["name"] for e in data["entries"]] == ["bce", "hinge"]
    assert data["extractor"] == "classifier:shapes" and data["num_samples"] == 64
    for entry in data["entries"]:
        assert entry["trained"] is True and entry["step"] == 3
        assert "fid/classifier:shapes" in entry["scores"]
        assert entry["d_loss_final"] is not None and entry["g_loss_mean"] is not None
        assert entry["images_per_s"] > 0
        assert entry["params_generator"] > 0 and entry["params_discriminator"] > 0
        assert entry["ema"] is True and entry["weights"] == "EMA"
    markdown = (out / "comparison.md").read_text()
    assert "generator weights: EMA" in markdown and "| G weights |" in markdown
    assert "Real vs real (the same metrics, features and sample count, train split" in markdown
    assert "Units: fid: squared distance in classifier:shapes's feature space" in markdown
    assert "| variant |" in markdown and "fid/classifier:shapes" in markdown
    assert "| bce |" in markdown and "| hinge |" in markdown
    assert "kid/classifier:shapes" in markdown and "±" in markdown
    headers, rows = result.table()
    assert len(rows) == 2 and len(rows[0]) == len(headers)

    stamp = (out / "bce" / "last.safetensors").stat().st_mtime_ns
    again = compare(study.entries, out, steps=3, seed=0, settings=_settings(eval_cache))
    assert [r.trained for r in again.results] == [False, False]
    assert (out / "bce" / "last.safetensors").stat().st_mtime_ns == stamp
    first = result.results[0].evaluation["fid/classifier:shapes"]
    assert again.results[0].evaluation["fid/classifier:shapes"] == pytest.approx(first)

    more = compare(study.entries[:1], out, steps=4, seed=0, settings=_settings(eval_cache))
    assert more.results[0].trained is True and more.results[0].evaluation["step"] == 4

    with pytest.raises(GancoreError, match="different recipe"):
        compare(study.entries[:1], out, steps=4, seed=0, overrides=["train.batch_size=4"],
                settings=_settings(eval_cache))


def test_runs_and_checkpoints_are_entries(tiny_run, ring_run, tmp_path):
    entries, study = entries_from_args([str(tiny_run), str(ring_run / "last.safetensors")])
    assert study is None
    assert [e.name for e in entries] == ["tiny", "ring"]
    # the checkpoints train.keep_best kept are named after their runs, not all "best"
    for run in (tiny_run, ring_run):
        (tmp_path / run.name).mkdir()
        (tmp_path / run.name / "best.safetensors").write_bytes(b"")
    best, _ = entries_from_args([str(tmp_path / r.name / "best.safetensors")
                                 for r in (tiny_run, ring_run)])
    assert [e.name for e in best] == ["tiny-best", "ring-best"]
    ring = compare(entries[1:], tmp_path / "ring-out",
                   settings=EvalSettings(num_samples=200, cache=False))
    assert ring.results[0].trained is False
    assert "modes" in ring.table()[0]
    assert (tmp_path / "ring-out" / "samples.png").read_bytes()[:8] == PNG


def test_a_study_is_compared_alone(study_path, tiny_run):
    with pytest.raises(GancoreError, match="on its own"):
        entries_from_args([str(study_path), str(tiny_run)])
    entries, study = entries_from_args([str(study_path)])
    assert study is not None and [e.name for e in entries] == ["bce", "hinge"]
