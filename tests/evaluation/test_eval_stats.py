"""Statistics over seeds: intervals, Welch's test, Holm–Bonferroni, verdicts by direction."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from gancore.evaluation.stats import (
    BETTER,
    SAME,
    WORSE,
    direction,
    holm,
    study_stats,
    summarize,
    welch_p,
)
from gancore.metrics.scores import score_info


def test_summary_is_the_t_interval():
    values = [10.0, 12.0, 11.0, 13.0]
    s = summarize(values)
    mean, sem = sum(values) / 4, sps.sem(values)
    lo, hi = sps.t.interval(0.95, 3, loc=mean, scale=sem)
    assert s.mean == pytest.approx(mean) and s.std == pytest.approx(sps.tstd(values))
    assert (s.low, s.high) == (pytest.approx(lo), pytest.approx(hi))
    one = summarize([5.0])
    assert one.mean == 5.0 and one.std is None and one.low is None


def test_welch_and_holm():
    a, b = [1.0, 1.2, 0.9, 1.1], [2.0, 2.2, 1.9, 2.3]
    assert welch_p(a, b) == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert welch_p([1.0], b) is None
    assert welch_p([1.0, 1.0], [1.0, 1.0]) == 1.0
    # Holm: sorted p = 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04 (monotone), original order kept
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # monotone: max(2 x 0.5, 0.9)


def test_directions():
    assert direction("fid/classifier:shapes") == -1 and direction("kid_mean/x") == -1
    assert direction("recall/x") == 1 and direction("precision") == 1
    assert direction("density/x") is None and direction("d_f1") is None


def test_verdicts_respect_direction_and_correction():
    runs = {
        "base": [{"fid": 10.0 + d, "recall/x": 0.5 + d / 100, "d_loss_final": 1.0}
                 for d in (0.0, 0.1, -0.1, 0.05)],
        "good": [{"fid": 5.0 + d, "recall/x": 0.7 + d / 100, "d_loss_final": 2.0}
                 for d in (0.0, 0.1, -0.1, 0.05)],
        "bad": [{"fid": 20.0 + d, "recall/x": 0.3 + d / 100, "d_loss_final": 0.5}
                for d in (0.0, 0.1, -0.1, 0.05)],
        "noisy": [{"fid": v, "recall/x": 0.5, "d_loss_final": 1.0}
                  for v in (2.0, 18.0, 7.0, 14.0)],
    }
    st = study_stats(runs, "base", 4)
    assert st.comparisons == 6  # 3 variants x 2 directional scores; losses are not tested
    assert st.tests["good"]["fid"].verdict == BETTER
    assert st.tests["good"]["recall/x"].verdict == BETTER
    assert st.tests["bad"]["fid"].verdict == WORSE and st.tests["bad"]["recall/x"].verdict == WORSE
    assert st.tests["noisy"]["fid"].verdict == SAME
    assert st.tests["good"]["d_loss_final"].p is None  # intervals only for losses
    assert st.keys[-1] == "d_loss_final"
    s = st.summaries["good"]["fid"]
    assert s.low < s.mean < s.high
    assert "Holm" in st.method() and "Welch" in st.method()
    for v in ("good", "bad", "noisy"):
        for k in ("fid", "recall/x"):
            t = st.tests[v][k]
            assert t.p_holm >= t.p and math.isfinite(t.p_holm)


def test_one_seed_says_no_interval():
    st = study_stats({"a": [{"fid": 1.0}], "b": [{"fid": 2.0}]}, "a", 1)
    assert not st.intervals and st.comparisons == 0
    assert "no interval" in st.method()
    assert st.tests["b"]["fid"].p is None and st.tests["b"]["fid"].delta == 1.0


def test_a_two_seed_interval_stays_in_range():
    precision = summarize([0.975, 0.2], score_info("precision/classifier:x"))
    t = sps.t.ppf(0.975, 1) * sps.tstd([0.975, 0.2]) / math.sqrt(2)
    assert 0.5875 - t < 0 and 0.5875 + t > 1  # the raw t interval leaves [0, 1] on both sides
    assert (precision.low, precision.high) == (0.0, 1.0) and precision.clipped
    fid = summarize([63.0, 1500.0], score_info("fid/classifier:x"))
    assert fid.low == 0.0 and fid.high == pytest.approx(781.5 + sps.t.ppf(0.975, 1)
                                                        * sps.tstd([63.0, 1500.0]) / math.sqrt(2))
    inside = summarize([0.5, 0.52], score_info("precision"))
    assert not inside.clipped and 0 < inside.low < inside.high < 1
    st = study_stats({"a": [{"precision/x": 0.975}, {"precision/x": 0.2}],
                      "b": [{"precision/x": 0.3}, {"precision/x": 0.35}]}, "a", 2)
    s = st.summaries["a"]["precision/x"]
    assert 0.0 <= s.low and s.high <= 1.0


def test_fewer_than_three_seeds_get_a_note():
    two = study_stats({"a": [{"fid": 1.0}, {"fid": 2.0}], "b": [{"fid": 3.0}, {"fid": 4.0}]},
                      "a", 2)
    note = two.few_seeds_note()
    assert "Only 2 seeds" in note and "1 degree of freedom" in note and "12.7" in note
    assert note in two.method() and two.as_dict()["few_seeds"] == note
    three = study_stats({"a": [{"fid": v} for v in (1.0, 2.0, 1.5)],
                         "b": [{"fid": v} for v in (3.0, 4.0, 3.5)]}, "a", 3)
    assert three.few_seeds_note() == ""


def test_the_ranked_summary_says_how_sure_it_is():
    runs = {"base": [{"fid": 10.0 + d} for d in (0.0, 0.1, -0.1, 0.05)],
            "good": [{"fid": 5.0 + d} for d in (0.0, 0.1, -0.1, 0.05)],
            "same": [{"fid": 5.05 + d} for d in (0.1, -0.1, 0.0, 0.07)]}
    [ranked] = study_stats(runs, "base", 4).ranking
    assert ranked.order == ["good", "same", "base"]
    assert ranked.p_holm[1] < 0.05 and ranked.p_holm[0] > 0.05
    assert ranked.line().startswith("good ≈ same < base (p")
    # the p-value in the line is the one the tables print (tables.fmt_p), not a rounding of its own
    from gancore.evaluation.tables import fmt_p

    p = ranked.p_holm[1]
    assert f"(p{'' if p < 0.001 else '='}{fmt_p(p)})" in ranked.line()
    assert "on fid (4 seeds, Welch, Holm)" in ranked.line()
    noisy = study_stats({"a": [{"fid": 1.0}, {"fid": 9.0}], "b": [{"fid": 2.0}, {"fid": 8.0}]},
                        "a", 2).ranking[0]
    assert "no ranking is supported at 2 seeds" in noisy.line()
    one = study_stats({"a": [{"fid": 1.0}], "b": [{"fid": 2.0}]}, "a", 1).ranking[0]
    assert "no ranking is possible from 1 seed" in one.line()
