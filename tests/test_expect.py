"""``[expect]`` in recipes and study variants: validated with the key at fault, data about the
recipe (not inherited, not a difference between recipes)."""

from __future__ import annotations

import textwrap

import pytest

from gancore.core.errors import GancoreError, RecipeError
from gancore.evaluation import load_study
from gancore.recipe import load_recipe
from gancore.recipe.diff import recipe_differences
from gancore.recipe.expect import check_expect

BAND = ('metric = "fid"\ninterval = [30.0, 45.5]\nsteps = 600\nseeds = [0, 1, 2]\n'
        'data = { type = "fashion_mnist", limit = 2000 }\nrecorded = "by hand"\n')


def _recipe(tmp_path, text: str, name: str = "r.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_recipe_records_its_band_and_children_do_not_inherit_it(tmp_path):
    parent = _recipe(tmp_path, 'extends = "dcgan-32"\n[expect]\n' + BAND, "parent.toml")
    recipe = load_recipe(str(parent))
    band = recipe.expect
    assert band.metric == "fid" and (band.low, band.high) == (30.0, 45.5)
    assert band.steps == 600 and band.seeds == [0, 1, 2] and band.recorded == "by hand"
    assert band.data == {"type": "fashion_mnist", "limit": 2000}
    assert recipe.to_dict()["expect"]["interval"] == [30.0, 45.5]
    assert "num_samples" not in recipe.to_dict()["expect"]  # unset keys left out
    assert load_recipe(recipe.to_dict()).expect == band  # what a checkpoint reads back
    child = _recipe(tmp_path, 'extends = "parent.toml"\n', "child.toml")
    assert load_recipe(str(child)).expect is None
    assert "expect" not in load_recipe("sngan").to_dict()  # a recipe without a band
    # data about the recipe: never a difference between two recipes (resume, studies)
    assert recipe_differences(load_recipe("dcgan-32").to_dict(), recipe.to_dict()) == []


@pytest.mark.parametrize(
    ("band", "key", "words"),
    [
        (BAND.replace("interval = [30.0, 45.5]", "interval = [45.0, 30.0]"),
         "expect.interval", "low end 45.0 is above its high end 30.0"),
        (BAND.replace("interval = [30.0, 45.5]", 'interval = [30.0, "x"]'),
         "expect.interval", "[low, high], two finite numbers"),
        (BAND.replace("steps = 600\n", ""), "expect", "missing steps"),
        (BAND.replace("seeds = [0, 1, 2]", "seeds = [0, 0, 1]"), "expect.seeds",
         "distinct"),
        (BAND.replace("metric", "metrc"), "expect.metrc", "did you mean 'metric'"),
        (BAND.replace('data = { type = "fashion_mnist", limit = 2000 }', "data = { limit = 2 }"),
         "expect.data", "with its type"),
        (BAND.replace("steps = 600", "steps = 0"), "expect.steps", "at least 1"),
    ],
)
def test_bad_bands_name_file_and_key(tmp_path, band, key, words):
    path = _recipe(tmp_path, 'extends = "dcgan-32"\n[expect]\n' + band)
    with pytest.raises(RecipeError) as info:
        load_recipe(str(path))
    message = info.value.format()
    assert message.startswith(f"{path}: {key}:"), message
    assert words in message


def test_a_study_variant_records_its_band(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('[study]\nbase = "dcgan-32"\n[variants.a]\n[variants.b]\n'
                    'set = ["train.steps=7"]\n[variants.b.expect]\n' + BAND, encoding="utf-8")
    study = load_study(path)
    by_name = {e.name: e for e in study.entries}
    assert by_name["a"].expect is None
    assert by_name["b"].expect.interval == (30.0, 45.5)
    path.write_text(path.read_text(encoding="utf-8").replace("steps = 600", "stepz = 600"),
                    encoding="utf-8")
    with pytest.raises(GancoreError) as info:
        load_study(path)
    assert info.value.format().startswith(f"{path}: variants.b.expect.stepz:")
    assert "did you mean 'steps'" in info.value.format()


def test_check_expect_round_trips():
    raw = {"metric": "recall", "interval": [0.25, 0.5], "steps": 10, "seeds": [3, 1, 2],
           "data": {"type": "shapes"}, "num_samples": 64}
    band = check_expect(raw, source=None)
    assert band.to_toml_dict() == raw
    assert check_expect(band.to_toml_dict(), source=None) == band


def test_bundled_recipes_carry_the_bands_their_course_variants_measured():
    """The recipes the course and ablation studies train as bundled record their bands, and
    bench/bands.py checks each on the data its band names (the type included: SAGAN's own
    data is shapes, its band holds for Fashion-MNIST)."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    checked = set()
    for name, variants in (("course", {v: v for v in ("dcgan-32", "lsgan", "wgan-gp", "sagan")}),
                           ("ablation", {"cgan": "cgan", "wgan": "wgan"}),
                           ("biggan", {"biggan": "biggan-32"})):  # the gancore-biggan pack's
        study = load_study(root / "studies" / f"{name}.toml")
        for entry in study.variants:
            if entry.name not in variants:
                continue
            own = load_recipe(variants[entry.name]).expect
            assert own is not None, entry.name
            assert own.interval == entry.expect.interval and own.steps == entry.expect.steps
            assert own.seeds == entry.expect.seeds and own.data == entry.expect.data
            assert own.num_samples == entry.expect.num_samples
            checked.add(entry.name)
    assert len(checked) == 7
    spec = importlib.util.spec_from_file_location("bench_bands", root / "bench" / "bands.py")
    bands = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bands)
    everything = dict(bands.targets([]))
    assert {"recipe:biggan-32", "study:biggan", "study:precision"} <= set(everything)
    assert everything["recipe:biggan-32"][1:5] == ["--steps", "100", "--seeds", "3"]
    found = dict(bands.targets([root / "gancore" / "recipes" / "sagan.toml"]))
    args = found["recipe:sagan"]
    assert args[1:5] == ["--steps", "600", "--seeds", "3"]
    assert 'data.type="fashion_mnist"' in args and "data.image_size=32" in args
