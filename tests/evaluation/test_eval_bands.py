"""Expected bands: ``compare --record-bands`` writes each variant's band from 3 finished seeds,
``compare --check`` says inside, outside or no band per variant and exits 1 unless all banded
variants are inside; tiny runs on shapes data."""

from __future__ import annotations

import json
import math
import statistics
import textwrap
from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

from gancore.cli import app
from gancore.core.errors import GancoreError
from gancore.evaluation import load_study
from gancore.evaluation.bands import FLOOR, MIN_SEEDS, SPREAD, band_rule
from gancore.metrics.scores import score_info
from gancore.recipe import read_toml

ROOT = Path(__file__).resolve().parents[2]
STUDY = textwrap.dedent("""\
    # A tiny study: two losses on shapes.
    [study]
    name = "tiny-bands"
    base = "tiny.toml"   # the test's recipe
    steps = 2
    seeds = [0, 1, 2]
    metrics = ["fid"]
    num_samples = 64
    set = ["train.log_every=1"]

    [variants.bce]
    description = "the tiny recipe"

    # the hinge loss
    [variants.hinge]
    set = ['loss={ type = "hinge" }']
    """)


@pytest.fixture
def cli(monkeypatch, eval_cache, quick_cli):
    """``cli(*args)``: the CLI in-process, with the quick domain classifier."""
    monkeypatch.setenv("GANCORE_CACHE", str(eval_cache))
    return lambda *args: CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_band_rule():
    values = [10.0, 12.0, 11.0]
    mean, sd = statistics.mean(values), statistics.stdev(values)
    low, high = band_rule(values, "fid/classifier:shapes")
    assert low <= mean - SPREAD * sd and high >= mean + SPREAD * sd
    assert low == pytest.approx(mean - SPREAD * sd, abs=1e-2)
    for end in band_rule([152.31, 104.87, 131.93], "fid"):  # 4 digits, written exactly
        assert repr(end) == f"{end:.4g}"
    assert high == pytest.approx(mean + SPREAD * sd, abs=1e-2)
    # no spread: the relative floor
    assert band_rule([20.0, 20.0, 20.0], "fid") == (pytest.approx(20 - 20 * FLOOR),
                                                     pytest.approx(20 + 20 * FLOOR))
    # clipped to the metric's range: recall within [0, 1], FID at least 0
    assert band_rule([0.9, 0.99, 0.6], "recall/x") [1] == score_info("recall").high == 1.0
    assert band_rule([1.0, 9.0, 2.0], "fid")[0] == 0.0
    with pytest.raises(ValueError, match="3 values or more"):
        band_rule([1.0, 2.0], "fid")
    assert MIN_SEEDS == 3


def test_write_bands_keeps_the_file_and_replaces_only_the_bands(tmp_path):
    """Written twice into a copy of a bundled study: its comments and tables stay, the second
    band replaces the first, and the study loads with the bands written."""
    import tomlkit

    from gancore.evaluation.bands import write_bands
    from gancore.recipe.expect import Expect

    # a bundled study with published directions, its recorded bands taken out
    studies = {p: load_study(p).variants for p in sorted((ROOT / "studies").glob("*.toml"))}
    source = next(p for p, variants in studies.items() if any(e.published for e in variants))
    doc = tomlkit.parse(source.read_text(encoding="utf-8"))
    for table in doc["variants"].values():
        table.pop("expect", None)
    bundled = tomlkit.dumps(doc)
    assert ".expect]" not in bundled
    path = tmp_path / source.name
    path.write_text(bundled + "# the end\n", encoding="utf-8")
    names = [e.name for e in load_study(path).variants]
    band = Expect(metric="fid", interval=(40.1, 52.2), steps=1200, seeds=[0, 1, 2],
                  data={"type": "builtin:fashion_mnist", "image_size": 32}, recorded="a")
    write_bands(path, {names[0]: band, names[-1]: band})
    first = path.read_text(encoding="utf-8")
    wider = band.model_copy(update={"interval": (30.0, 60.0), "recorded": "b"})
    write_bands(path, {names[0]: wider, names[-1]: wider})
    second = path.read_text(encoding="utf-8")
    assert second == first.replace("[40.1, 52.2]", "[30.0, 60.0]").replace(
        'recorded = "a"', 'recorded = "b"')
    # the original file, line by line, is still there in order, with the bands in between
    kept = iter(second.splitlines())
    assert all(line in kept for line in (bundled + "# the end\n").splitlines())
    study = load_study(path)
    bands = {e.name: e.expect for e in study.variants}
    assert bands[names[0]] == wider and bands[names[-1]] == wider
    assert all(bands[n] is None for n in names[1:-1])
    assert not list(tmp_path.glob("*.tmp*"))  # written through a temporary file, renamed


def _study(tmp_path: Path, make_tiny) -> Path:
    recipe = make_tiny(data={"type": "shapes", "image_size": 16})
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(recipe), encoding="utf-8")
    path = tmp_path / "study.toml"
    path.write_text(STUDY, encoding="utf-8")
    return path


def test_record_then_check_bands(tmp_path, make_tiny, cli):
    path = _study(tmp_path, make_tiny)
    out = tmp_path / "out"
    result = cli("compare", str(path), "--out", str(out), "-q", "--record-bands")
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert comparison["overrides"] == ["train.log_every=1"]  # the study's shared settings, shown
    # the file keeps its comments and layout, and gains one [expect] table per variant
    text = path.read_text(encoding="utf-8")
    assert text.startswith(STUDY.split("[variants.bce]")[0])
    assert "# the hinge loss" in text and 'base = "tiny.toml"   # the test\'s recipe' in text
    assert text.index("[variants.bce.expect]") < text.index("[variants.hinge]")
    assert "\n\n# the hinge loss\n[variants.hinge]" in text
    data = read_toml(path)
    for name in ("bce", "hinge"):
        band = data["variants"][name]["expect"]
        runs = [e for e in comparison["entries"] if e["name"] == name]
        key = next(k for k in runs[0]["scores"] if k.startswith("fid/"))
        values = [e["scores"][key] for e in runs]
        assert band["metric"] == "fid" and band["steps"] == 2 and band["seeds"] == [0, 1, 2]
        assert band["data"]["type"].endswith("shapes") and band["data"]["image_size"] == 16
        # generated data: the band holds for its sample count and data seed too, the keys
        # that decide whether two variants of a comparison use the same data
        assert {"num_samples", "seed"} <= set(band["data"])
        assert band["num_samples"] == 64 and "3 seeds" in band["recorded"]
        assert band["interval"] == pytest.approx(list(band_rule(values, key)))
        mean = statistics.mean(values)
        half = max(SPREAD * statistics.stdev(values), FLOOR * abs(mean))
        assert band["interval"][0] <= max(0.0, mean - half) + 1e-9
        assert band["interval"][1] >= mean + half - 1e-9
        assert not math.isclose(band["interval"][0], band["interval"][1])
    assert load_study(path).entries[0].expect is not None

    # the check reuses the finished runs: every variant inside, exit 0
    check = cli("compare", str(path), "--out", str(out), "-q", "--check")
    assert check.exit_code == 0, check.output
    assert check.output.count("reused") == 6
    assert "2 of 2 banded variants inside" in check.output
    report = json.loads((out / "bands.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert [(v["variant"], v["status"]) for v in report["variants"]] == [
        ("bce", "inside"), ("hinge", "inside")]

    # a band the runs miss: outside, exit 1; a variant without a band: no band
    data["variants"]["hinge"]["expect"]["interval"] = [1e6, 2e6]
    del data["variants"]["bce"]["expect"]
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    check = cli("compare", str(path), "--out", str(out), "-q", "--check")
    assert check.exit_code == 1, check.output
    report = json.loads((out / "bands.json").read_text(encoding="utf-8"))
    assert [(v["variant"], v["status"]) for v in report["variants"]] == [
        ("bce", "no band"), ("hinge", "outside")]
    assert "0 of 1 banded variants inside their bands: check failed" in check.output

    # a band recorded under other settings is not compared: not comparable, exit 1
    data["variants"]["hinge"]["expect"]["interval"] = [0.0, 1e6]
    data["variants"]["hinge"]["expect"]["steps"] = 5
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    check = cli("compare", str(path), "--out", str(out), "-q", "--check")
    assert check.exit_code == 1, check.output
    hinge = json.loads((out / "bands.json").read_text(encoding="utf-8"))["variants"][1]
    assert hinge["status"] == "not comparable"
    assert hinge["detail"] == "band recorded at 5 steps, runs at 2"


def test_record_bands_needs_three_seeds_and_a_study(tmp_path, make_tiny, cli):
    path = _study(tmp_path, make_tiny)
    path.write_text(STUDY.replace("seeds = [0, 1, 2]", "seeds = [0, 1]"), encoding="utf-8")
    result = cli("compare", str(path), "--out", str(tmp_path / "o"), "--record-bands")
    assert isinstance(result.exception, GancoreError)
    assert result.exception.format().startswith(
        f"{path}: study.seeds: a band is recorded from 3 seeds or more (got 2)")
    assert not (tmp_path / "o" / "bce").exists()  # refused before training
    result = cli("compare", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "p"),
                 "--record-bands")
    assert isinstance(result.exception, GancoreError)
    assert "--record-bands writes into a study file" in str(result.exception)


def test_a_recipe_checks_its_own_band(tmp_path, make_tiny, cli):
    recipe = make_tiny(data={"type": "shapes", "image_size": 16})
    recipe["expect"] = {"metric": "fid", "interval": [0.0, 1e9], "steps": 3, "seeds": [0],
                        "data": {"type": "shapes", "image_size": 16}}
    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(recipe), encoding="utf-8")
    out = tmp_path / "out"
    result = cli("compare", str(path), "--out", str(out), "-q", "--check", "-m", "fid",
                 "-n", "64", "--seed", "0")
    assert result.exit_code == 0, result.output
    (check,) = json.loads((out / "bands.json").read_text(encoding="utf-8"))["variants"]
    assert check["status"] == "inside" and check["metric"].startswith("fid/")
    assert check["detail"] == "mean of 1 seed"
