"""A study's ``against`` and ``published``: each variant tested against the variant it changes,
its published direction beside the measured verdict."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import tomli_w
from scipy import stats as sps

from gancore.core.errors import GancoreError
from gancore.evaluation import EvalSettings, compare, load_study
from gancore.evaluation.stats import (
    BETTER,
    CONTRADICTED,
    NOT_REPRODUCED,
    REPRODUCED,
    SAME,
    WORSE,
    holm,
    published_verdict,
    study_stats,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


_HEAD = '[study]\nbase = "dcgan-32"\n[variants.a]\n[variants.b]\nset = ["train.steps=7"]\n'


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (_HEAD + 'against = "c"\n', "variants.b.against", "against 'c' is not a variant"),
        (_HEAD + 'against = "aa"\n', "variants.b.against", "did you mean 'a'"),
        (_HEAD + 'against = "b"\n', "variants.b.against", "cannot be tested against itself"),
        (_HEAD + '[variants.c]\nset = ["train.steps=8"]\nagainst = "d"\n[variants.d]\n'
         'set = ["train.steps=9"]\nagainst = "c"\n', "variants.c.against",
         "against forms a cycle: c -> d -> c"),
        ('[study]\nbase = "dcgan-32"\n[variants.a]\nagainst = "b"\n[variants.b]\n',
         "variants.a.against", "the baseline 'a' is tested against nothing"),
        (_HEAD + 'published = { metric = "fid", direction = "lower", source = "X 2020" }\n',
         "variants.b.published.direction", "direction must be better, worse or same"),
        (_HEAD + 'published = { metric = "fid", direction = "beter", source = "X 2020" }\n',
         "variants.b.published.direction", "did you mean 'better'"),
        (_HEAD + 'published = { metric = "fid", direction = "better" }\n',
         "variants.b.published.source", "source"),
        (_HEAD + 'published = { metric = "fid", direction = "better", source = "X", '
         'sorce = "Y" }\n', "variants.b.published.sorce", "did you mean 'source'"),
    ],
)
def test_against_and_published_errors_name_file_and_key(tmp_path, text, key, words):
    path = _write(tmp_path, text)
    with pytest.raises(GancoreError) as info:
        load_study(path)
    message = info.value.format()
    assert message.startswith(f"{path}: {key}:"), message
    assert words in message


def test_against_and_published_are_read(tmp_path):
    path = _write(tmp_path, _HEAD + 'against = "a"\npublished = { metric = "fid", direction = '
                  '"better", source = "Zhang et al. 2019, Table 1" }\n[variants.c]\n'
                  'set = ["train.steps=8"]\n')
    study = load_study(path)
    b = next(e for e in study.entries if e.name == "b")
    assert b.against == "a" and b.published.direction == "better"
    assert b.published.source == "Zhang et al. 2019, Table 1"
    assert study.against("b") == "a" and study.against("c") == "a"  # c: the baseline


@pytest.mark.parametrize(
    ("published", "measured", "verdict"),
    [
        ("better", BETTER, REPRODUCED), ("better", SAME, NOT_REPRODUCED),
        ("better", WORSE, CONTRADICTED), ("worse", WORSE, REPRODUCED),
        ("worse", SAME, NOT_REPRODUCED), ("worse", BETTER, CONTRADICTED),
        ("same", SAME, REPRODUCED), ("same", BETTER, CONTRADICTED),
        ("same", WORSE, CONTRADICTED), ("better", "", None),
        ("better", "no test (no spread)", None),
    ],
)
def test_published_verdict(published, measured, verdict):
    assert published_verdict(published, measured) == verdict


def test_each_variant_is_tested_against_its_reference():
    noise = (0.0, 0.3, -0.3, 0.1)
    runs = {"base": [{"fid": 40.0 + d} for d in noise],
            "sn": [{"fid": 30.0 + 2 * d} for d in noise],
            "sa": [{"fid": 31.0 + d} for d in noise]}
    st = study_stats(runs, "base", 4, against={"sa": "sn", "sn": "base"})
    assert st.against == {"sa": "sn"} and st.reference("sa") == "sn"
    assert st.reference("sn") == "base"
    sa, sn = st.tests["sa"]["fid"], st.tests["sn"]["fid"]
    assert sa.against == "sn" and sn.against == "base"
    mean = {v: sum(r["fid"] for r in rows) / 4 for v, rows in runs.items()}
    assert sa.delta == pytest.approx(mean["sa"] - mean["sn"])
    assert sn.delta == pytest.approx(mean["sn"] - mean["base"])
    want = [sps.ttest_ind([r["fid"] for r in runs[v]], [r["fid"] for r in runs[ref]],
                          equal_var=False).pvalue for v, ref in (("sn", "base"), ("sa", "sn"))]
    assert [sn.p, sa.p] == pytest.approx(want)
    assert [sn.p_holm, sa.p_holm] == pytest.approx(holm(want))
    assert sn.verdict == BETTER and sa.verdict == (WORSE if sa.p_holm < 0.05 else SAME)
    assert "`sa` with `sn`" in st.method()
    assert st.as_dict()["variants"]["sa"]["fid"]["test"]["against"] == "sn"


def test_published_directions_in_the_comparison(tmp_path, make_tiny, eval_cache):
    """Three tiny variants over two seeds: a variant tested against another one, the published
    directions beside the verdicts the statistics gave, in the JSON and the Markdown."""
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(make_tiny()), encoding="utf-8")
    path = tmp_path / "study.toml"
    path.write_text(textwrap.dedent("""
        [study]
        name = "pub"
        base = "tiny.toml"
        [variants.bce]
        [variants.hinge]
        set = ['loss={ type = "hinge" }']
        published = { metric = "fid", direction = "better", source = "A 2017, Table 1" }
        [variants.hinge-lr]
        set = ['loss={ type = "hinge" }', "train.batch_size=6"]
        against = "hinge"
        published = { metric = "fid", direction = "same", source = "B 2018, Table 2" }
        [variants.plain]
        set = ["train.batch_size=4"]
        published = { metric = "recall", direction = "worse", source = "C 2019" }
    """), encoding="utf-8")
    study = load_study(path)
    out = tmp_path / "out"
    settings = EvalSettings(metrics=["fid"], num_samples=64,
                            extractor_options={"max_train": 512, "epochs": 1},
                            cache_dir=str(eval_cache))
    result = compare(study.entries, out, steps=2, seeds=[0, 1], settings=settings,
                     name=study.name, study=study)
    rows = {r["variant"]: r for r in result.published()}
    assert list(rows) == ["hinge", "hinge-lr", "plain"]
    stats = result.stats
    for name, ref in (("hinge", "bce"), ("hinge-lr", "hinge")):
        row = rows[name]
        key = row["metric"]
        assert key.startswith("fid/") and row["against"] == ref
        test = stats.tests[name][key]
        assert test.against == ref
        means = {v: sum(r.scores[key] for r in result.results if r.entry.name == v) / 2
                 for v in (name, ref)}
        assert row["delta"] == pytest.approx(means[name] - means[ref])
        assert row["measured"] == test.verdict
        assert row["verdict"] == published_verdict(row["published"], test.verdict)
    assert rows["plain"]["verdict"] == "not measured: no recall score"
    md = (out / "comparison.md").read_text(encoding="utf-8")
    assert "## Published directions" in md and "B 2018, Table 2" in md
    assert f"| hinge-lr | hinge | {rows['hinge-lr']['metric']} | same |" in md
    # a variant's recipe differences are those from the variant it is tested against
    assert [d.partition(":")[0] for d in result.diffs["hinge-lr"]] == ["train.batch_size"]
    assert "differs from `hinge` in: `train.batch_size" in md
    assert any(d.startswith("loss") for d in result.diffs["hinge"])
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<table id="published">' in page and "A 2017, Table 1" in page
    data = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert [r["variant"] for r in data["published"]] == ["hinge", "hinge-lr", "plain"]
    assert data["statistics"]["against"] == {"hinge-lr": "hinge"}
