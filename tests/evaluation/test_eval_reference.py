"""The real-vs-real reference beside each evaluation: same metrics, features and count, cached."""

from __future__ import annotations

import pytest

from gancore.evaluation import evaluate_checkpoint
from gancore.evaluation.reference import compute_reference, reference_metrics
from gancore.metrics import EvalInputs, evaluate
from gancore.metrics.fid import FID
from gancore.metrics.kid import KID


def test_evaluation_reports_a_cached_real_vs_real_reference(tiny_run, settings, eval_cache):
    settings.metrics = ["fid", "kid", "pr", "f1"]
    folder = eval_cache / "reference"  # shared by the session: other tests may fill it too
    before = set(folder.glob("shapes-*.json")) if folder.is_dir() else set()
    result = evaluate_checkpoint(tiny_run, settings)
    ref = result["reference"]
    assert result["reference_set"] == "train split"
    assert set(ref) >= {"fid/classifier:shapes", "kid_mean/classifier:shapes",
                        "precision/classifier:shapes", "recall/classifier:shapes"}
    assert not any(k.startswith("d_") for k in ref)  # D scores get no reference
    # a 3-step generator is far from the data; two real sets are close
    assert ref["fid/classifier:shapes"] < result["fid/classifier:shapes"]
    assert ref["recall/classifier:shapes"] > result["recall/classifier:shapes"]
    files = set(folder.glob("shapes-*.json"))
    assert files and len(files - before) <= 1  # one entry for these settings, at most new
    stamps = {f: f.stat().st_mtime_ns for f in files}
    again = evaluate_checkpoint(tiny_run, settings)
    assert again["reference"] == pytest.approx(ref)
    assert set(folder.glob("shapes-*.json")) == files  # read from the cache: nothing new,
    assert {f: f.stat().st_mtime_ns for f in files} == stamps  # nothing rewritten


class Identity:
    name = "raw"

    def extract(self, x):
        return x.flatten(1).double(), None


def test_the_reference_is_the_metric_on_two_real_sets():
    import torch

    gen = torch.Generator().manual_seed(0)
    real, other = torch.randn(300, 4, generator=gen), torch.randn(300, 4, generator=gen) + 0.2
    metrics = {"fid": FID(), "kid": KID(subsets=5, subset_size=100, seed=1)}
    inputs = EvalInputs(real_features=real.double(), fake_features=torch.zeros(300, 4),
                        extractor_name="raw")
    got = compute_reference(metrics, inputs, other, Identity(), 64, evaluate)
    want = evaluate({"fid": FID(), "kid": KID(subsets=5, subset_size=100, seed=1)},
                    EvalInputs(real_features=real.double(), fake_features=other.double(),
                               extractor_name="raw"))
    assert got == pytest.approx(want)
    from gancore.metrics.classification import DiscriminatorF1

    assert list(reference_metrics({"f1": DiscriminatorF1(), **metrics})) == ["fid", "kid"]
