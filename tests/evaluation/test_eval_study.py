"""Study files: validation errors and the bundled studies."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gancore.core.errors import GancoreError
from gancore.evaluation import is_study_file, load_study

STUDIES = Path(__file__).resolve().parents[2] / "studies"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_studies_resolve(path):
    assert is_study_file(path)
    study = load_study(path)
    assert study.meta.steps and study.meta.description
    assert len(study.entries) >= 2
    assert len(study.meta.seeds) >= 3, "one run is one sample: a study trains 3 seeds or more"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#")
    for entry in study.entries:
        recipe = study.recipe(entry.name)
        assert recipe.train.steps > 0


def test_bundled_studies_include_the_course_comparisons():
    assert {p.stem for p in STUDIES.glob("*.toml")} >= {
        "losses", "optimizers", "architectures", "precision", "optimizers-losses",
        "upsample-dropout", "wasserstein", "ablation", "dcgan-lsgan", "transfer",
        "small-data", "regularisers", "outliers", "biggan"}


def test_precision_study_differs_only_in_precision_and_memory_format():
    study = load_study(STUDIES / "precision.toml")
    bf16, fp32 = study.recipe("bf16"), study.recipe("fp32")
    assert (bf16.train.precision, bf16.train.channels_last) == ("bf16", "on")
    assert (fp32.train.precision, fp32.train.channels_last) == ("fp32", "off")
    a, b = bf16.model_dump(), fp32.model_dump()
    for key in ("precision", "channels_last"):
        del a["train"][key], b["train"][key]
    assert a == b


def test_variants_combine_base_study_and_own_overrides(tmp_path):
    path = _write(tmp_path, """
        [study]
        name = "s"
        base = "dcgan-32"
        set = ["train.batch_size=32"]
        [variants.lsgan]
        set = ["loss.type=least_squares"]
        [variants.wgan]
        recipe = "wgan-gp"
    """)
    study = load_study(path)
    assert [e.name for e in study.entries] == ["lsgan", "wgan"]
    assert study.entries[0].overrides == ["train.batch_size=32", "loss.type=least_squares"]
    assert study.recipe("lsgan").loss.type == "least_squares"
    assert study.recipe("wgan").loss.type == "wasserstein"
    assert study.recipe("wgan").train.batch_size == 32


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[study]\nbase = "dcgan-32"\n[variants.a]\nsett = []\n', "variants.a.sett",
         "did you mean 'set'"),
        ('[study]\nbase = "dcgan-32"\nstep = 3\n[variants.a]\n', "study.step",
         "did you mean 'steps'"),
        ('[study]\nbase = "dcgan-32"\n[variants.a]\nset = "loss.type=hinge"\n',
         "variants.a.set", "list"),
        ('[study]\nbase = "dcgan-32"\nsteps = 0\n[variants.a]\n', "study.steps", "greater"),
        ('[study]\nbase = "dcgan-32"\n', "variants", "[variants]"),
        ('[variants.a]\n', "study", "[study]"),
        ('[study]\nbase = "dcgan-32"\n[variants.a]\nrecipe = "nope-gan"\n',
         "variants.a.recipe", "not found"),
        ('[study]\nbase = "nope-gan"\n[variants.a]\n', "study.base", "not found"),
        ('[study]\n[variants.a]\n', "variants.a", "no recipe"),
        ('[study]\nbase = "dcgan-32"\n[variants."a b"]\n', "variants", "variant name"),
        ('[study]\nbase = "dcgan-32"\n[variants.scratch]\n[variants.b]\ninit_from = "scrach"\n',
         "variants.b.init_from",
         "init_from 'scrach' is not a variant or pretrain run; did you mean 'scratch'?"),
        ('[study]\nbase = "dcgan-32"\n[variants.a]\ninit_from = "a"\n', "variants.a.init_from",
         "'a' cannot start from its own checkpoint"),
        ('[study]\nbase = "dcgan-32"\n[variants.a]\ninit_from = "b"\n[variants.b]\n'
         'init_from = "c"\n[pretrain.c]\ninit_from = "a"\n', "pretrain.c.init_from",
         "init_from forms a cycle: c -> a -> b -> c"),
        ('[study]\nbase = "dcgan-32"\n[pretrain.a]\n[variants.a]\n', "pretrain.a",
         "'a' names both a pretrain run and a variant"),
        ('[study]\nbase = "dcgan-32"\n[pretrain.p]\nsett = []\n[variants.a]\n',
         "pretrain.p.sett", "did you mean 'set'"),
        ('[study]\n[pretrain.p]\nrecipe = "dcgan-32"\n[variants.a]\nrecipe = "dcgan-32"\n'
         '[pretrain.q]\n', "pretrain.q", "the pretrain run names no recipe"),
        ('[study]\nbase = "dcgan-32"\nbaseline = "p"\n[pretrain.p]\n[variants.a]\n',
         "study.baseline", "the baseline 'p' is not a variant"),
    ],
)
def test_study_errors_name_file_and_key(tmp_path, text, key, words):
    path = _write(tmp_path, text)
    with pytest.raises(GancoreError) as info:
        load_study(path)
    message = info.value.format()
    assert str(path) in message
    assert f"{key}:" in message or f"{key}[" in message or info.value.key == key
    assert words in message


def test_bad_override_names_the_variant(tmp_path):
    path = _write(tmp_path, """
        [study]
        base = "dcgan-32"
        [variants.a]
        set = ["loss.typo=1"]
    """)
    study = load_study(path)
    with pytest.raises(GancoreError) as info:
        study.recipe("a")
    message = info.value.format()
    assert str(path) in message and "variants.a" in message and "typo" in message


def test_invalid_toml_names_the_file(tmp_path):
    path = _write(tmp_path, "[study\n")
    with pytest.raises(GancoreError, match="invalid TOML"):
        load_study(path)


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_studies_pass_the_checks_before_training(path, tmp_path):
    """Every variant builds without a requirement warning (no part joined to one it cannot
    work with), differs from every other one, and is tested against a named baseline that is
    one of the variants."""
    import warnings

    from gancore.core.requirements import RequirementWarning
    from gancore.evaluation import EvalSettings
    from gancore.evaluation.plan import validate
    from gancore.packs.loader import get_registry
    from gancore.train.trainer import recipe_differences

    study = load_study(path)
    assert study.meta.baseline in [e.name for e in study.entries]
    # studies of a small training set use Fashion-MNIST's data.limit: they keep their data
    on_fmnist = "data.limit" in path.read_text(encoding="utf-8")
    if on_fmnist and not Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recipes = validate(study.entries, overrides=[] if on_fmnist else ["data.type=shapes"],
                           seed=0, steps=10, settings=EvalSettings(metrics=study.meta.metrics),
                           registry=get_registry(), study=study)
    joined = [str(w.message) for w in caught if issubclass(w.category, RequirementWarning)]
    assert not joined, joined
    base = recipes[study.baseline]
    starts = {e.name: e.init_from for e in study.entries}
    for entry in study.variants:
        if entry.name != study.baseline:
            assert (recipe_differences(base, recipes[entry.name])
                    or starts[entry.name] != starts[study.baseline]), entry.name
