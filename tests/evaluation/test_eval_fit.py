"""Tables that fit: the terminal tables at 80 columns (columns left out, never cut "no di…"),
the report's tables inside the page."""

from __future__ import annotations

import pytest
import tomli_w
from rich.console import Console

from gancore.commands import evaluate as evaluate_cmd
from gancore.commands.evaluate import fit_columns, print_comparison
from gancore.evaluation import EvalSettings, compare, load_study


@pytest.fixture(scope="module")
def wide(tmp_path_factory, eval_cache):
    from tests.evaluation.conftest import TINY

    tmp = tmp_path_factory.mktemp("fit")
    (tmp / "tiny.toml").write_text(tomli_w.dumps(TINY), encoding="utf-8")
    (tmp / "study.toml").write_text(
        '[study]\nname = "a-rather-long-study-name"\nbase = "tiny.toml"\nsteps = 3\n'
        '[variants.baseline-variant]\n[variants.hinge-with-a-long-name]\n'
        'set = [\'loss={ type = "hinge" }\']\n', encoding="utf-8")
    study = load_study(tmp / "study.toml")
    settings = EvalSettings(metrics=["fid", "kid", "pr", "dc", "f1"], num_samples=64,
                            extractor_options={"max_train": 512, "epochs": 1},
                            cache_dir=str(eval_cache))
    return compare(study.entries, tmp / "out", steps=3, seeds=[0, 1], settings=settings,
                   name=study.name, study=study)


def test_comparison_tables_fit_80_columns(wide, monkeypatch):
    console = Console(width=80, record=True, color_system=None)
    monkeypatch.setattr(evaluate_cmd, "console", console)
    print_comparison(wide)
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "no difference" in text or "better" in text or "worse" in text
    assert "hinge-with-a-long-name/seed-1" in text  # a name is never wrapped or cut
    assert "left out at 80 columns" in text


def test_fit_columns_drops_in_order_until_it_fits():
    headers = ["variant", "a", "b", "c"]
    rows = [["x" * 10, "y" * 20, "z" * 20, "w" * 20]]
    kept, cut, dropped = fit_columns(headers, rows, 60, ["c", "b", "a"])
    assert kept == ["variant", "a", "b"] and dropped == ["c"]
    assert cut == [["x" * 10, "y" * 20, "z" * 20]]
    same = fit_columns(headers, rows, 200, ["c"])
    assert same[0] == headers and same[2] == []


def test_the_report_tables_are_held_to_the_page(wide):
    text = (wide.out / "report.html").read_text(encoding="utf-8")
    assert '<div class="fit"><table id="runs">' in text
    assert ".fit { max-width: 100%; overflow-x: auto; }" in text
    assert "fid/<wbr>classifier:shapes" in text
    # numbers never break inside; a run's name only after its "/"
    assert "th, td { border: 1px solid #d0d0d0; padding: .25rem .55rem; text-align: right; }" \
        in text and "td { overflow-wrap" not in text
    assert '<span class="nw">hinge-with-a-long-name</span>/<wbr><span class="nw">seed-1</span>' \
        in text
