"""Loss plots by loss family: a comparison draws BCE, least-squares, hinge and Wasserstein
losses on panels of their own, and a Wasserstein run plots its critic's raw outputs and the
Wasserstein estimate rather than sigmoid(logit)."""

from __future__ import annotations

import json

import pytest

from gancore.plotting.figures import loss_bands_figure, loss_curves_figure, loss_family
from gancore.train.trainer import train


def test_loss_families():
    assert loss_family("bce") == loss_family("minimax") == loss_family("gancore:bce")
    assert len({loss_family(t) for t in ("bce", "least_squares", "hinge", "wasserstein")}) == 4
    assert loss_family("gancore:wasserstein") == "Wasserstein"
    assert loss_family("mypack:focal") == "focal"  # a pack's loss is a family of its own


def _records(d: float, g: float) -> list[dict]:
    return [{"step": s, "d_loss": d * s, "g_loss": g * s} for s in (1, 2, 3)]


def test_comparison_plot_has_one_row_of_panels_per_loss_family():
    groups = {"dcgan": [_records(1.0, 2.0), _records(3.0, 4.0)],
              "lsgan": [_records(0.1, 0.2)], "sagan": [_records(5.0, 6.0)],
              "wgan-gp": [_records(-50.0, 70.0)], "ns": [_records(7.0, 8.0)]}
    families = {"dcgan": "cross-entropy", "ns": "cross-entropy", "lsgan": "least squares",
                "sagan": "hinge", "wgan-gp": "Wasserstein"}
    axes = loss_bands_figure(groups, families).axes
    assert len(axes) == 8  # four families, a D and a G panel each
    panels = {ax.get_title().split(" (band")[0]: ax for ax in axes}
    assert set(panels) == {f"{f} {k}" for f in ("cross-entropy", "least squares", "hinge",
                                                "Wasserstein") for k in ("d_loss", "g_loss")}
    ce = panels["cross-entropy d_loss"]
    assert [line.get_label() for line in ce.lines] == ["dcgan (mean of 2)", "ns"]
    assert list(ce.lines[0].get_ydata()) == [2.0, 4.0, 6.0]  # the mean of 1*s and 3*s
    assert [line.get_label() for line in panels["Wasserstein g_loss"].lines] == ["wgan-gp"]
    assert list(panels["Wasserstein g_loss"].lines[0].get_ydata()) == [70.0, 140.0, 210.0]
    # one family: one row, titled by the loss key alone
    axes = loss_bands_figure({"a": [_records(1, 1)], "b": [_records(2, 2)]},
                             {"a": "hinge", "b": "hinge"}).axes
    assert [ax.get_title() for ax in axes] == ["d_loss", "g_loss"]


RECORDS = [{"step": 1, "d_loss": -2.0, "g_loss": 1.0, "d_real": 0.9, "d_fake": 0.2,
            "d_real_logit": 3.0, "d_fake_logit": 1.0},
           {"step": 2, "d_loss": -1.5, "g_loss": 0.5, "d_real": 0.8, "d_fake": 0.3,
            "d_real_logit": 2.0, "d_fake_logit": 0.5}]


def test_a_critic_plots_its_raw_outputs_and_the_wasserstein_estimate():
    bottom = loss_curves_figure(RECORDS, loss="wasserstein").axes[1]
    assert bottom.get_ylabel() == "mean critic output"
    lines = {line.get_label(): list(line.get_ydata()) for line in bottom.lines}
    assert lines == {"D(x)": [3.0, 2.0], "D(G(z))": [1.0, 0.5],
                     "E[D(x)] - E[D(G(z))] (Wasserstein estimate)": [2.0, 1.5]}
    bottom = loss_curves_figure(RECORDS, loss="bce").axes[1]
    assert bottom.get_ylabel() == "mean sigmoid(logit)"
    assert {line.get_label(): list(line.get_ydata()) for line in bottom.lines} == {
        "D(x)": [0.9, 0.8], "D(G(z))": [0.2, 0.3]}


def test_the_log_carries_d_s_raw_outputs(tiny, tmp_path):
    """A Wasserstein D loss is E[D(G(z))] - E[D(x)]: the logged raw means agree with it."""
    tiny["loss"] = "wasserstein"
    tiny["train"].update(log_every=1, steps=2)
    out = tmp_path / "run"
    train(tiny, out=out)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    for r in records:
        assert r["d_loss"] == pytest.approx(r["d_fake_logit"] - r["d_real_logit"], abs=1e-5)
    assert (out / "loss_curves.png").is_file()
