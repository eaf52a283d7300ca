"""Evaluation against Fashion-MNIST (skipped where the dataset is not installed)."""

from __future__ import annotations

import pytest

import gancore
from gancore.core.errors import GancoreError
from gancore.data.fashion_mnist import default_root, find_file
from gancore.evaluation import EvalSettings, evaluate_gan


def _installed() -> bool:
    try:
        for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
            find_file(default_root(), name)
    except GancoreError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _installed(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


def test_fashion_mnist_scores_use_a_domain_classifier(make_tiny, eval_cache):
    recipe = make_tiny(data={"type": "fashion_mnist", "image_size": 16, "limit": 2000})
    del recipe["data"]["num_samples"]
    gan = gancore.build(recipe)
    settings = EvalSettings(metrics=["fid", "is", "f1"], num_samples=128,
                            extractor_options={"max_train": 512, "epochs": 1},
                            cache_dir=str(eval_cache))
    result = evaluate_gan(gan, settings)
    assert result["extractor"] == "classifier:fashion_mnist"
    assert result["split"] == "test" and result["held_out"] is True
    assert result["num_real"] == 128
    assert "fid/classifier:fashion_mnist" in result
    assert 1.0 <= result["is_mean/classifier:fashion_mnist"] <= 10.0
    assert 0.0 <= result["extractor_accuracy"] <= 1.0
