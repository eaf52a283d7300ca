"""EvalInputs needs, evaluate() merging, and the lazy registration of metrics and extractors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gancore.core.errors import GancoreError
from gancore.core.registry import Registry
from gancore.metrics.base import EvalInputs, evaluate, metric_key, required_fields
from gancore.metrics.classification import DiscriminatorF1
from gancore.metrics.fid import FID
from gancore.metrics.kid import KID
from gancore.metrics.prdc import PrecisionRecall

ROOT = Path(__file__).resolve().parents[2]


def test_needs_with_alternatives() -> None:
    inputs = EvalInputs(real_stats=object(), fake_features=torch.zeros(2, 2))  # type: ignore[arg-type]
    assert inputs.has("real_features|real_stats")
    assert inputs.missing(FID.needs) == []
    assert inputs.missing(KID.needs) == ["real_features"]
    assert required_fields([FID(), KID()]) == {"real_features", "fake_features"}
    assert required_fields([FID()], available={"real_stats"}) == {"real_stats", "fake_features"}


def test_evaluate_merges_and_prefixes_collisions() -> None:
    gen = torch.Generator().manual_seed(0)
    inputs = EvalInputs(real_features=torch.randn(40, 3, generator=gen),
                        fake_features=torch.randn(40, 3, generator=gen), extractor_name="x")
    out = evaluate({"fid": FID(), "pr": PrecisionRecall(), "pr5": PrecisionRecall(k=5)}, inputs)
    assert set(out) == {"fid/x", "pr.precision/x", "pr.recall/x", "pr5.precision/x",
                        "pr5.recall/x"}
    assert all(isinstance(v, float) for v in out.values())


def test_evaluate_names_missing_inputs() -> None:
    with pytest.raises(GancoreError, match="real_logits"):
        evaluate({"f1": DiscriminatorF1()}, EvalInputs())


def test_metric_key() -> None:
    assert metric_key("fid", "inception") == "fid/inception"
    assert metric_key("modes_captured", None) == "modes_captured"


def test_registration_names_and_params() -> None:
    from gancore.metrics.registration import register

    registry = Registry()
    register(registry)
    assert registry.names("metric") == [
        "class_coverage", "dc", "f1", "fid", "is", "kid", "modes", "pr"
    ]
    assert registry.names("feature_extractor") == ["classifier", "inception"]
    kid = registry.create("metric", "kid", subsets=7)
    assert (kid.subsets, kid.subset_size, kid.degree, kid.seed) == (7, 1000, 3, 0)
    assert registry.create("metric", "pr").k == 3
    assert registry.create("metric", "dc").k == 5
    assert "weights" in registry.get("feature_extractor", "inception").params_model().model_fields
    with pytest.raises(GancoreError, match="unknown parameter"):
        registry.create("metric", "pr", kk=3)


def test_registration_and_package_import_no_torch() -> None:
    code = ("import sys, gancore.metrics, gancore.metrics.registration; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"


def test_lazy_package_attributes() -> None:
    import gancore.metrics as metrics

    assert metrics.FID is FID
    with pytest.raises(AttributeError):
        metrics.no_such_thing  # noqa: B018
