"""Data filters (``data.filters``) and planted noise images (``data.inject_noise``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from gancore.core.errors import ContractError, GancoreError, RecipeError
from gancore.data import outliers
from gancore.data.filters import (
    FilterContext,
    TensorImages,
    inject_noise,
    planted_noise_indices,
    prepare_training_data,
    select,
)
from gancore.data.outliers import AutoencoderOutliers
from gancore.data.shapes import Shapes
from gancore.recipe import load_recipe, resolve

RECIPE: dict[str, Any] = {
    "recipe": {"name": "tiny-filters"},
    "seed": 5,
    "data": {"type": "shapes", "image_size": 16, "num_samples": 64},
    "generator": {
        "type": "stack", "latent_dim": 8,
        "stem": {"type": "dense", "out_channels": 16, "resolution": 4},
        "blocks": [{"type": "upsample", "out_channels": 8},
                   {"type": "upsample", "out_channels": 8}],
    },
    "discriminator": {"type": "stack", "blocks": [{"type": "down", "out_channels": 8}]},
    "train": {"batch_size": 8, "steps": 2, "log_every": 1, "sample_every": 2,
              "checkpoint_every": 2, "grid_size": 4, "device": "cpu", "threads": 1},
}

#: Where the test plants its own noise images among 64 shapes.
PLANTED = [3, 17, 40, 60]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GANCORE_CACHE", str(folder))
    return folder


def recipe(**data: Any) -> Any:
    spec = copy.deepcopy(RECIPE)
    spec["data"].update(data)
    return resolve(load_recipe(spec))


@pytest.fixture(scope="module")
def contaminated() -> TensorImages:
    """64 shapes with uniform noise written by hand at :data:`PLANTED`."""
    x, y = Shapes(image_size=16, num_samples=64, seed=1).as_tensors()
    g = torch.Generator().manual_seed(123)
    x[PLANTED] = torch.rand(len(PLANTED), 3, 16, 16, generator=g) * 2 - 1
    return TensorImages(x, y)


def ctx(tmp_path: Path | None = None, **kwargs: Any) -> FilterContext:
    return FilterContext(seed=0, batch_size=8, num_classes=4, dataset="shapes",
                         cache_dir=tmp_path, **kwargs)


# -- autoencoder_outliers ----------------------------------------------------------------------
def test_autoencoder_drops_exactly_the_planted_images_and_caches(contaminated, tmp_path):
    fraction = len(PLANTED) / len(contaminated)
    before = outliers.TRAININGS["count"]
    first = AutoencoderOutliers(fraction=fraction, steps=40)
    kept = first(contaminated, ctx(tmp_path))
    assert outliers.TRAININGS["count"] == before + 1 and not first.from_cache
    dropped = sorted(set(range(64)) - set(kept.tolist()))
    assert dropped == PLANTED
    assert kept.tolist() == sorted(kept.tolist()) and kept.numel() == 60
    # the threshold separates the dropped from the kept
    assert float(first.scores[PLANTED].min()) > first.threshold > float(first.scores[kept].max())
    assert first.cache_path is not None and first.cache_path.is_file()

    second = AutoencoderOutliers(fraction=fraction, steps=40)
    again = second(contaminated, ctx(tmp_path))
    assert outliers.TRAININGS["count"] == before + 1  # no training: the cache was read
    assert second.from_cache and torch.equal(again, kept)
    assert torch.equal(second.scores, first.scores)
    # another fraction reuses the same cached scores
    wider = AutoencoderOutliers(fraction=8 / 64, steps=40)
    more = wider(contaminated, ctx(tmp_path))
    assert outliers.TRAININGS["count"] == before + 1 and wider.from_cache
    assert set(PLANTED) <= set(range(64)) - set(more.tolist()) and more.numel() == 56


def test_autoencoder_training_is_deterministic(contaminated):
    a = AutoencoderOutliers(fraction=0.1, steps=15, cache=False)
    b = AutoencoderOutliers(fraction=0.1, steps=15, cache=False)
    before = outliers.TRAININGS["count"]
    assert torch.equal(a(contaminated, ctx()), b(contaminated, ctx()))
    assert outliers.TRAININGS["count"] == before + 2  # both trained
    assert torch.equal(a.scores, b.scores)
    other = AutoencoderOutliers(fraction=0.1, steps=15, cache=False)
    other(contaminated, FilterContext(seed=1, batch_size=8))
    assert not torch.equal(other.scores, a.scores)  # the seed matters


def test_autoencoder_cache_is_keyed_by_the_data(contaminated, tmp_path):
    x, y = contaminated.as_tensors()
    AutoencoderOutliers(fraction=0.05, steps=5)(contaminated, ctx(tmp_path))
    changed = x.clone()
    changed[0] = -changed[0]
    other = AutoencoderOutliers(fraction=0.05, steps=5)
    before = outliers.TRAININGS["count"]
    other(TensorImages(changed, y), ctx(tmp_path))
    assert not other.from_cache and outliers.TRAININGS["count"] == before + 1
    assert len(list(tmp_path.glob("autoencoder-shapes-*.safetensors"))) == 2


def test_a_fraction_leaving_less_than_a_batch_names_the_fraction(contaminated):
    with pytest.raises(RecipeError) as info:
        AutoencoderOutliers(fraction=0.9)(contaminated, ctx(key="data.filters[2]"))
    err = info.value
    assert err.key == "data.filters[2].fraction"
    assert "would drop 58 of the 64 images and keep 6, fewer than one batch" in err.message
    # the largest fraction that keeps one batch of 8: round(0.875 * 64) = 56 dropped
    assert "lower data.filters[2].fraction to 0.875 or less" in err.hint
    assert AutoencoderOutliers(fraction=0.875, steps=2, cache=False)(
        contaminated, ctx()).numel() == 8


def test_a_fraction_of_one_is_refused_when_the_recipe_is_resolved():
    with pytest.raises(RecipeError) as info:
        recipe(filters=[{"type": "autoencoder_outliers", "fraction": 1.0}])
    assert info.value.key == "data.filters[0].fraction"
    assert "would drop every image" in info.value.message
    assert "in [0, 1), e.g. 0.05" in info.value.hint


def test_autoencoder_refuses_vectors():
    ring = TensorImages(torch.randn(32, 2))
    with pytest.raises(RecipeError, match="scores images") as info:
        AutoencoderOutliers()(ring, FilterContext(key="data.filters[0]"))
    assert info.value.key == "data.filters[0]"


# -- class_balance -----------------------------------------------------------------------------
def test_class_balance_equalises_a_scripted_imbalance():
    from gancore.data.filters import ClassBalance

    shuffle = torch.randperm(77, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0] * 50 + [1] * 7 + [2] * 20)[shuffle]
    data = TensorImages(torch.zeros(77, 1, 4, 4), labels)
    out = ClassBalance()(data, FilterContext(num_classes=4, seed=2))
    counts = torch.bincount(labels[out], minlength=4).tolist()
    assert counts == [50, 50, 50, 0]  # class 3 has no item and stays absent
    assert set(out.tolist()) == set(range(77))  # nothing is dropped
    per_item = torch.bincount(out, minlength=77)
    assert set(per_item[labels == 0].tolist()) == {1}
    assert set(per_item[labels == 1].tolist()) == {7, 8}  # 50 = 7 * 7 + 1
    assert int((per_item[labels == 1] == 8).sum()) == 1
    assert set(per_item[labels == 2].tolist()) == {2, 3}  # 50 = 2 * 20 + 10
    assert torch.equal(out, ClassBalance()(data, FilterContext(num_classes=4, seed=2)))


def test_class_balance_on_unlabelled_data_names_the_filter():
    from gancore.packs.loader import get_registry

    r = recipe(labels="none", filters=["class_balance"])
    unlabelled = Shapes(image_size=16, num_samples=64, labels="none")
    with pytest.raises(RecipeError) as info:
        prepare_training_data(unlabelled, r, get_registry(), num_classes=0)
    assert info.value.key == "data.filters[0]"
    assert "unlabelled" in info.value.message
    assert "remove data.filters[0]" in info.value.hint


# -- inject_noise ------------------------------------------------------------------------------
def test_inject_noise_plants_noise_at_seeded_indices():
    base = Shapes(image_size=16, num_samples=100, seed=1)
    noisy, planted = inject_noise(base, 0.05, seed=7)
    assert torch.equal(planted, planted_noise_indices(100, 0.05, 7))
    assert planted.numel() == 5 and planted.tolist() == sorted(set(planted.tolist()))
    assert not torch.equal(planted, planted_noise_indices(100, 0.05, 8))
    x, y = noisy.as_tensors()
    clean, labels = base.as_tensors()
    others = torch.ones(100, dtype=torch.bool)
    others[planted] = False
    assert torch.equal(x[others], clean[others]) and torch.equal(y, labels)
    noise = x[planted]
    assert noise.min() >= -1 and noise.max() <= 1
    levels = (noise + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)  # 8-bit levels, like the images
    assert 0.25 < float(noise.var()) < 0.42  # uniform on [-1, 1]: variance 1/3
    assert torch.equal(noisy[int(planted[0])][0], noise[0])
    assert torch.equal(noisy[int(planted[0])][1], labels[planted[0]])
    same, _ = inject_noise(base, 0.05, seed=7)
    assert torch.equal(same.as_tensors()[0], x)
    assert planted_noise_indices(100, 0.0, 7).numel() == 0
    assert planted_noise_indices(10, 0.01, 7).numel() == 1  # at least one when asked


def test_inject_noise_setting_is_bounded_and_needs_images():
    with pytest.raises(RecipeError) as info:
        recipe(inject_noise=0.9)
    assert info.value.key == "data.inject_noise"
    with pytest.raises(RecipeError, match="not images") as info:
        inject_noise(TensorImages(torch.randn(20, 2)), 0.1, 0)
    assert info.value.key == "data.inject_noise"


def test_planted_noise_is_caught_by_the_filter_through_the_recipe():
    from gancore.packs.loader import get_registry

    r = recipe(inject_noise=0.0625,
               filters=[{"type": "autoencoder_outliers", "fraction": 0.0625, "steps": 40}])
    base = Shapes(image_size=16, num_samples=64)
    data = prepare_training_data(base, r, get_registry(), num_classes=4)
    assert torch.equal(data.planted, planted_noise_indices(64, 0.0625, RECIPE["seed"]))
    assert torch.equal(data.dropped, data.planted) and data.planted_dropped == 4
    assert len(data.dataset) == 60 and torch.equal(data.indices, data.dataset.indices)
    x, _ = data.dataset.as_tensors()
    assert torch.equal(x, data.source.as_tensors()[0][data.indices])


# -- the framework -----------------------------------------------------------------------------
def test_filters_chain_and_selections_index_the_source():
    base = TensorImages(torch.arange(10.0).view(10, 1, 1, 1), torch.arange(10) % 2)
    first = select(base, [1, 3, 5, 7, 9])
    second = select(first, [0, 0, 4])
    assert second.base is base and second.indices.tolist() == [1, 1, 9]
    assert [float(second[i][0]) for i in range(3)] == [1.0, 1.0, 9.0]
    assert second.as_tensors()[0].flatten().tolist() == [1.0, 1.0, 9.0]


def _pack(factory: Any) -> Any:
    import types

    from gancore.packs.hookspecs import hookimpl

    mod = types.ModuleType("filter_pack")

    @hookimpl
    def gancore_register_components(registry):
        registry.add("filter", "custom", factory)

    mod.gancore_register_components = gancore_register_components
    return mod


def _registry(factory: Any) -> Any:
    from gancore.packs.loader import load_plugins

    return load_plugins(autoload=False, warn=False,
                        extra=[("gancore-filters", _pack(factory))]).registry


def test_a_filter_keeping_less_than_a_batch_is_refused_naming_it():
    def keep_two():
        return lambda dataset, ctx: torch.tensor([0, 1])

    registry = _registry(keep_two)
    r = resolve(load_recipe({**copy.deepcopy(RECIPE), "data": {
        **RECIPE["data"], "filters": ["custom"]}}), registry)
    with pytest.raises(RecipeError) as info:
        prepare_training_data(Shapes(image_size=16, num_samples=64), r, registry)
    assert info.value.key == "data.filters[0]"
    assert "keeps 2 of 64 images, fewer than one batch (train.batch_size = 8)" in str(info.value)


def test_a_filter_returning_no_indices_breaks_the_contract():
    from gancore.testing import check_component

    def mask():
        return lambda dataset, ctx: torch.ones(len(dataset), dtype=torch.bool)

    with pytest.raises(ContractError, match="not integers") as info:
        check_component(_registry(mask), "filter", "custom")
    assert "filter 'custom' from gancore-filters" in str(info.value)

    def out_of_range():
        return lambda dataset, ctx: torch.tensor([0, len(dataset)])

    with pytest.raises(ContractError, match="outside the 32 items"):
        check_component(_registry(out_of_range), "filter", "custom")


def test_recipes_without_filters_are_written_as_before(tmp_path):
    plain = recipe()
    assert "filters" not in plain.to_dict()["data"]
    assert "inject_noise" not in plain.to_dict()["data"]
    assert plain.data.params()["num_samples"] == 64
    short = resolve(load_recipe({**copy.deepcopy(RECIPE), "data": "shapes"}))
    assert short.to_dict()["data"] == "builtin:shapes"  # resolved: the origin recorded
    with_filters = recipe(inject_noise=0.05, filters=["class_balance"])
    data = with_filters.to_dict()["data"]
    assert data["filters"] == ["builtin:class_balance"] and data["inject_noise"] == 0.05
    assert "filters" not in with_filters.data.params()
    path = tmp_path / "r.toml"
    path.write_text(with_filters.to_toml(), encoding="utf-8")
    assert resolve(load_recipe(path)).to_dict() == with_filters.to_dict()


def test_unknown_filter_has_a_did_you_mean():
    with pytest.raises(GancoreError, match="did you mean 'class_balance'") as info:
        recipe(filters=["class_balanse"])
    assert info.value.key == "data.filters[0].type"


def test_the_schema_accepts_filters():
    import jsonschema

    from gancore.recipe import json_schema

    schema = json_schema()
    good = copy.deepcopy(RECIPE)
    good["data"]["filters"] = [{"type": "autoencoder_outliers", "fraction": 0.1}]
    good["data"]["inject_noise"] = 0.05
    jsonschema.validate(good, schema)
    good["data"]["filters"] = [{"type": "autoencoder_outliers", "fractoin": 0.1}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(good, schema)


# -- training and the command --------------------------------------------------------------------
def test_training_with_an_autoencoder_filter_runs_end_to_end(tmp_path):
    from gancore.assembly import checkpoint
    from gancore.train import Trainer

    spec = copy.deepcopy(RECIPE)
    spec["data"]["inject_noise"] = 0.05
    spec["data"]["filters"] = [{"type": "autoencoder_outliers", "fraction": 0.05}]
    trainer = Trainer(spec, out=tmp_path / "run")
    planted = planted_noise_indices(64, 0.05, RECIPE["seed"])
    assert torch.equal(trainer.training_data.dropped, planted)  # round(0.05 * 64) = 3
    assert len(trainer.dataset) == len(trainer.batches) == 61
    result = trainer.fit()
    assert result.step == 2 and (tmp_path / "run" / "last.safetensors").is_file()
    saved = checkpoint.read(tmp_path / "run" / "last.safetensors", tensors=False).recipe
    assert saved["data"]["filters"][0]["type"] == "builtin:autoencoder_outliers"
    before = outliers.TRAININGS["count"]
    resumed = Trainer(spec, out=tmp_path / "run", resume=True, steps=3)
    assert outliers.TRAININGS["count"] == before  # the cached autoencoder is used
    assert torch.equal(resumed.training_data.indices, trainer.training_data.indices)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``gancore ARGS`` in this process: (exit status, stdout, stderr)."""
    from gancore.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_data_inspect_writes_both_pngs_and_refuses_a_bad_fraction(tmp_path, capsys):
    from PIL import Image

    spec = copy.deepcopy(RECIPE)
    spec["data"]["inject_noise"] = 0.05
    spec["data"]["filters"] = [{"type": "autoencoder_outliers", "fraction": 0.05, "steps": 40}]
    path = tmp_path / "tiny.toml"
    path.write_text(resolve(load_recipe(spec)).to_toml(), encoding="utf-8")
    out = tmp_path / "inspect"
    code, stdout, stderr = _cli(capsys, "data", "inspect", str(path), "-o", str(out), "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    planted = planted_noise_indices(64, 0.05, RECIPE["seed"]).tolist()
    assert summary["planted_indices"] == planted == summary["dropped_indices"]
    assert summary["kept"] == 61 and summary["planted_noise_dropped"] == 3
    assert [c["before"] for c in summary["classes"]] == torch.bincount(
        Shapes(image_size=16, num_samples=64).labels, minlength=4).tolist()
    assert sum(c["dropped"] for c in summary["classes"]) == 3
    assert summary["written"] == [str(out / "dropped.png"), str(out / "scores.png")]
    with Image.open(out / "dropped.png") as grid:
        assert grid.format == "PNG" and grid.width > 64
    with Image.open(out / "scores.png") as hist:
        assert hist.format == "PNG" and hist.height > 100
    assert not list(out.glob(".*.tmp"))

    code, stdout, stderr = _cli(capsys, "data", "inspect", str(path), "-o", str(out))
    assert code == 0, stderr
    assert "kept 61 of 64 images, dropped 3" in stdout
    assert "planted noise dropped: 3 of 3" in stdout and "(cached)" in stdout

    code, stdout, stderr = _cli(capsys, "data", "inspect", str(path), "-o", str(out), "--set",
                                "data.filters[0].fraction=1.0")
    assert code == 2
    assert "data.filters[0].fraction: a fraction of 1 would drop every image" in stderr
    assert "Traceback" not in stderr
