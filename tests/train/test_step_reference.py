"""Every bundled recipe, study variant and former technique flag trains to the weights recorded
from the trainer before the training step became components (see ``step_reference.py``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.train.step_reference import DATA, all_cases, platform_id, train_case

REFERENCE = json.loads(DATA.read_text(encoding="utf-8"))
CASES = {c.id: c for c in all_cases()}


def _needs_data(case_id: str) -> None:
    text = " ".join(CASES[case_id].overrides) + Path(CASES[case_id].recipe).read_text()
    if "fashion_mnist" in text and not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")


def test_every_recorded_case_still_exists() -> None:
    """Every recipe, study variant and technique case recorded from the trainer before the
    step became components is still bundled (recipes and studies added since have no
    "before"; their own tests train them)."""
    missing = sorted(set(REFERENCE["cases"]) - set(CASES))
    assert not missing, f"recorded cases no longer bundled: {missing}"


@pytest.mark.parametrize("case_id", sorted(REFERENCE["cases"]))
def test_weights_match_reference(case_id: str, tmp_path: Path) -> None:
    _needs_data(case_id)
    got = train_case(CASES[case_id], tmp_path / "run")
    want = REFERENCE["cases"][case_id]["sections"]
    assert sorted(got) == sorted(want), f"sections differ: {sorted(got)} vs {sorted(want)}"
    exact = platform_id() == REFERENCE["platform"]
    for section, ref in want.items():
        mine = got[section]
        assert mine["count"] == ref["count"], f"{section}: tensor count differs"
        if exact:
            assert mine["sha256"] == ref["sha256"], f"{section}: weights differ bit for bit"
        else:  # another platform rounds differently in the last bits
            for key in ("sum", "sumsq"):
                assert math.isclose(mine[key], ref[key], rel_tol=1e-5, abs_tol=1e-6), (
                    f"{section}: {key} {mine[key]} vs {ref[key]}")
