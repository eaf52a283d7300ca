"""Every bundled recipe, study variant and former technique flag trains to the weights recorded
from the trainer before the training step became components (see ``step_reference.py``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.train.step_reference import DATA, all_cases, platform_id, recorded_case, train_case

REFERENCE = json.loads(DATA.read_text(encoding="utf-8"))
PLATFORM = platform_id()
#: Cases recorded again since, because their maths changed on purpose (and why).
RERECORDED = {k: v["rerecorded"] for k, v in REFERENCE["cases"].items() if "rerecorded" in v}


def _needs_data(case_id: str) -> None:
    case = recorded_case(case_id, REFERENCE["cases"][case_id])
    text = " ".join(case.overrides) + Path(case.recipe).read_text()
    if "fashion_mnist" in text and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")


def test_every_recorded_recipe_still_exists() -> None:
    """Every recipe a case was recorded on is still bundled (each case trains with the
    overrides it was recorded with, so edits of a study do not move its reference; recipes
    and studies added since have no "before", their own tests train them)."""
    bundled = {Path(c.recipe).name for c in all_cases()}
    missing = sorted({e["recipe"] for e in REFERENCE["cases"].values()} - bundled)
    assert not missing, f"recorded recipes no longer bundled: {missing}"


def test_rerecorded_cases_say_why() -> None:
    """A case recorded again names the change that moved it (a reason of a few words at
    least), and the set is the one reviewed: LeCam and bCR as their reference code."""
    assert sorted(RERECORDED) == ["study-regularisers-bcr", "study-regularisers-bcr-light",
                                  "study-regularisers-lecam", "study-regularisers-lecam-light"]
    assert all(len(why.split()) >= 8 for why in RERECORDED.values()), RERECORDED


@pytest.mark.parametrize("case_id", sorted(REFERENCE["cases"]))
def test_weights_match_reference(case_id: str, tmp_path: Path) -> None:
    _needs_data(case_id)
    got = train_case(recorded_case(case_id, REFERENCE["cases"][case_id]), tmp_path / "run")
    want = REFERENCE["cases"][case_id]["sections"]
    assert sorted(got) == sorted(want), f"sections differ: {sorted(got)} vs {sorted(want)}"
    # this platform's own record: the original's, or one added since (None: neither)
    exact = want if PLATFORM == REFERENCE["platform"] else (
        REFERENCE.get("platforms", {}).get(PLATFORM, {}).get(case_id))
    for section, ref in want.items():
        mine = got[section]
        assert mine["count"] == ref["count"], f"{section}: tensor count differs"
        if exact is not None:
            assert mine["sha256"] == exact[section]["sha256"], (
                f"{section}: weights differ bit for bit")
        else:  # another platform rounds differently in the last bits
            for key in ("sum", "sumsq"):
                assert math.isclose(mine[key], ref[key], rel_tol=1e-5, abs_tol=1e-6), (
                    f"{section}: {key} {mine[key]} vs {ref[key]}")


def test_platform_records_cover_every_case_with_the_same_tensors() -> None:
    """A platform recorded since holds every case the original does (a rerecorded case is
    dropped there until recorded again), with the same sections and tensor counts."""
    for platform, own in REFERENCE.get("platforms", {}).items():
        assert platform != REFERENCE["platform"]
        missing = sorted(set(REFERENCE["cases"]) - set(own))
        assert not missing, f"{platform}: cases not recorded: {missing}"
        for case_id, sections in own.items():
            want = REFERENCE["cases"][case_id]["sections"]
            assert {k: v["count"] for k, v in sections.items()} == {
                k: v["count"] for k, v in want.items()}, case_id
