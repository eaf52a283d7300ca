"""One D accuracy: held-out evaluation and the training log agree on a batch-norm D."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from gancore.assembly.checkpoint import load
from gancore.evaluation import EvalSettings
from gancore.evaluation.evaluator import batch_statistics, evaluate_gan
from tests.evaluation.conftest import TINY

ADAM = {"type": "adam", "lr": 2e-3, "betas": [0.5, 0.999]}


@pytest.fixture(scope="module")
def bn_run(tmp_path_factory):
    """60 steps of the tiny recipe, whose D has batch norm, at a rate where D learns."""
    from gancore.train import train

    recipe = copy.deepcopy(TINY)
    recipe["data"]["num_samples"] = 512
    recipe["train"].update(steps=60, log_every=20, batch_size=16, techniques=[],
                           g_optimizer=ADAM, d_optimizer=ADAM)
    out = tmp_path_factory.mktemp("runs") / "bn"
    train(recipe, out=out)
    return out


def test_training_log_and_evaluation_d_accuracy_agree_on_a_batch_norm_d(bn_run):
    records = [json.loads(line) for line in (bn_run / "metrics.jsonl").read_text().splitlines()]
    logged = [r["d_accuracy"] for r in records if "d_accuracy" in r][-1]
    gan = load(bn_run / "last.safetensors")
    norms = [m for m in gan.discriminator.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms, "the test needs a batch-norm D"
    before = {k: v.clone() for k, v in gan.discriminator.state_dict().items()}
    result = evaluate_gan(gan, EvalSettings(metrics=["f1"], num_samples=512, cache=False))
    assert result["d_accuracy"] == pytest.approx(logged, abs=0.1)
    assert 0.6 < logged  # D tells them apart, so agreement is not two coin flips
    after = gan.discriminator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats untouched
    assert all(not m.training for m in norms)


def test_batch_statistics_normalise_each_batch_and_restore_the_layer():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).eval()
    net[1].running_mean.fill_(5.0)
    x = torch.randn(32, 3) * 3 + 1
    with torch.no_grad(), batch_statistics(net) as has_bn:
        out = net(x)
    assert has_bn
    h = net[0](x).detach()
    ref = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + net[1].eps)
    assert torch.allclose(out, ref * net[1].weight + net[1].bias, atol=1e-5)
    assert torch.all(net[1].running_mean == 5.0) and int(net[1].num_batches_tracked) == 0
    assert not net[1].training and net[1].momentum == 0.1
