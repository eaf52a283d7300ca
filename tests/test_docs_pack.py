"""A pack written only from docs/plugins.md: every example of the kinds reference works."""

from __future__ import annotations

import importlib
import json
import re
import sys

import pytest
import torch

from gancore.core.kinds import KINDS
from gancore.kit.catalogue import EXAMPLE_IMPORTS, KINDS_BEGIN, KINDS_END
from gancore.packs.loader import load_plugins

from .conftest import ROOT, make_dist, run_cli

MODULE = "docpack_components"


def pack_source() -> str:
    """The pack's module: the imports and examples of docs/plugins.md, and their registration
    lines, exactly as the reference prints them."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    reference = text[text.index(KINDS_BEGIN):text.index(KINDS_END)]
    blocks = re.findall(r"```python\n(.*?)```", reference, re.S)
    assert blocks[0].strip() == EXAMPLE_IMPORTS
    adds = re.findall(r'^# (registry\.add\(.*\))$', reference, re.M)
    code = "\n\n".join(b for b in blocks if "registry.add" not in b or "# registry" in b)
    hook = "\n".join(f"    {a.replace('mypack.components', MODULE)}" for a in adds)
    return (f"{code}\n\nfrom gancore.plugin import hookimpl\n\n\n@hookimpl\n"
            f"def gancore_register_components(registry):\n{hook}\n")


@pytest.fixture(scope="module")
def docpack(tmp_path_factory):
    root = tmp_path_factory.mktemp("docpack")
    make_dist(root, "gancore-docpack", "0.1.0", MODULE, pack_source(),
              entry_name="gancore-docpack")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield root, importlib.import_module(MODULE)
    sys.path.remove(str(root))
    sys.modules.pop(MODULE, None)


def test_the_reference_has_an_example_for_the_kinds_authors_write():
    names = {k.name for k in KINDS.values() if k.example}
    assert {"norm", "loss", "penalty", "dataset", "metric", "block", "generator",
            "discriminator", "activation", "init", "weight_norm", "optimizer", "schedule",
            "augment"} <= names


def test_every_example_passes_check_pack(docpack, check_pack):
    _, module = docpack
    checked = check_pack(module, "gancore-docpack")
    assert {"norm:rms", "loss:softplus", "penalty:zero_centred", "dataset:stripes",
            "metric:mean_gap", "block:gate", "generator:tiny", "discriminator:tiny"} <= set(checked)
    assert len(checked) == len([k for k in KINDS.values() if k.example])


def test_the_examples_show_in_show_and_schema(docpack):
    root, _ = docpack
    env = {"PYTHONPATH": str(root)}
    for kind, name, param in [("norm", "rms", "eps"), ("loss", "softplus", "scale"),
                              ("penalty", "zero_centred", "weight"),
                              ("dataset", "stripes", "image_size"), ("metric", "mean_gap", "p")]:
        res = run_cli("show", kind, name, "--json", env=env)
        assert res.returncode == 0, res.stderr
        shown = json.loads(res.stdout)
        assert shown["origin"] == "gancore-docpack"
        assert param in {p["name"] for p in shown["params"]}
    res = run_cli("schema", env=env)
    assert res.returncode == 0, res.stderr
    defs = json.loads(res.stdout)["$defs"]
    for ref in ("norm__rms", "loss__softplus", "penalty__zero_centred", "dataset__stripes",
                "metric__mean_gap"):
        assert ref in defs, ref
    assert {"$ref": "#/$defs/norm__rms"} in defs["NormSpec"]["oneOf"]
    assert "rms" in defs["NormSpec"]["oneOf"][0]["enum"]
    assert {"$ref": "#/$defs/metric__mean_gap"} in defs["MetricSpec"]["oneOf"]


def test_the_examples_take_their_parameters_from_a_recipe(docpack, tmp_path):
    from gancore.evaluation.evaluator import make_metric
    from gancore.metrics import EvalInputs
    from gancore.train import Trainer

    _, module = docpack
    registry = load_plugins(autoload=False, extra=[("gancore-docpack", module)]).registry
    recipe = {
        "data": {"type": "stripes", "image_size": 16, "size": 32},
        "generator": {"type": "stack", "latent_dim": 8, "norm": {"type": "rms", "eps": 1e-3},
                      "stem": {"type": "dense", "out_channels": 8, "resolution": 4},
                      "blocks": [{"type": "upsample"}, {"type": "upsample"}]},
        "discriminator": {"type": "stack", "blocks": [{"type": "down", "out_channels": 8}]},
        "loss": {"type": "softplus", "scale": 2.0},
        "penalty": [{"type": "zero_centred", "weight": 5.0}],
        "train": {"steps": 2, "batch_size": 4, "log_every": 1, "sample_every": 2,
                  "checkpoint_every": 2, "grid_size": 4, "device": "cpu"},
        "eval": {"metrics": ["fid", {"type": "mean_gap", "p": 1.0}]},
    }
    trainer = Trainer(recipe, out=tmp_path / "run", registry=registry)
    trainer.fit()
    norms = [m for m in trainer.G.modules() if type(m).__name__ == "RMSNorm"]
    assert norms and all(m.eps == 1e-3 for m in norms)
    assert trainer.gan.loss.scale == 2.0
    assert trainer.penalties[0].weight == 5.0
    assert trainer.gan.data.shape == (1, 16, 16)
    metric = make_metric(registry, trainer.recipe.eval.metrics[1], seed=0)
    assert metric.p == 1.0
    x, y = torch.ones(4, 3), torch.zeros(4, 3)
    scores = metric.compute(EvalInputs(real_features=x, fake_features=y, extractor_name="raw"))
    assert scores == {"mean_gap/raw": pytest.approx(3.0)}


# -- section 11: training (techniques, the run view, callbacks, requirements, filters) -----------
TRAINING = "## 11. Training"
TRAINING_MODULE = "docpack_training"


def training_blocks() -> list[str]:
    """The Python examples of docs/plugins.md's training section, in order."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text[text.index(TRAINING):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    return re.findall(r"```python\n(.*?)```", section, re.S)


def training_source() -> str:
    """A pack of the training section's examples (with the kinds reference's, which they use),
    registering the early stop and the penalty with a requirement."""
    code = [b for b in training_blocks() if not b.lstrip().startswith("registry.add")
            and "def test_" not in b]
    return (pack_source() + "\n\n" + "\n\n".join(code) + "\n\n@hookimpl\n"
            "def gancore_register_components(registry):\n"
            f"    registry.add('callback', 'stop_when_d_wins', '{TRAINING_MODULE}:StopWhenDWins')\n"
            f"    registry.add('penalty', 'my_penalty', '{TRAINING_MODULE}:MyPenalty')\n"
            f"    registry.add('technique', 'decaying_noise', '{TRAINING_MODULE}:DecayingNoise',"
            " points=('d_input',))\n"
            f"    registry.add('filter', 'drop_dark', '{TRAINING_MODULE}:drop_dark')\n")


@pytest.fixture(scope="module")
def trainingpack(tmp_path_factory):
    root = tmp_path_factory.mktemp("trainingpack")
    make_dist(root, "gancore-trainingpack", "0.1.0", TRAINING_MODULE, training_source(),
              entry_name="gancore-trainingpack")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield root, importlib.import_module(TRAINING_MODULE)
    sys.path.remove(str(root))
    sys.modules.pop(TRAINING_MODULE, None)


def test_the_training_section_s_registration_line_works():
    from gancore.core.registry import Registry

    [line] = [b for b in training_blocks() if b.lstrip().startswith("registry.add")]
    registry = Registry()
    exec(line, {"registry": registry})
    assert registry.get("technique", "decaying_noise").meta["points"] == ("d_input",)


def test_the_training_section_s_filter_test_passes(trainingpack):
    _, module = trainingpack
    [block] = [b for b in training_blocks() if "def test_" in b]
    space = dict(vars(module))
    exec(block, space)
    tests = [v for k, v in space.items() if k.startswith("test_")]
    assert tests
    for test in tests:
        test()


def test_the_training_examples_pass_check_pack(trainingpack, check_pack):
    _, module = trainingpack
    checked = check_pack(module, "gancore-trainingpack")
    assert {"callback:stop_when_d_wins", "penalty:my_penalty",
            "technique:decaying_noise"} <= set(checked)


def test_the_d_wins_example_ends_a_run_normally(trainingpack, tmp_path):
    root, _ = trainingpack
    run = tmp_path / "run"
    res = run_cli("train", "dcgan-32", "--steps", "20", "--out", str(run), "-q",
                  "--set", 'data={ type = "shapes", image_size = 32, num_samples = 64 }',
                  "--set", "train.batch_size=8", "--set", "train.log_every=1",
                  "--set", 'train.callbacks=[{ type = "stop_when_d_wins", accuracy = 0.0, '
                  'patience = 2 }]', env={"PYTHONPATH": str(root)})
    assert res.returncode == 0, res.stderr
    assert "stopped step 2" in res.stdout
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == "stop"
    assert records[-1]["reason"].startswith("D accuracy >= 0.0 for 2 log steps")
    from gancore.assembly.checkpoint import read

    assert read(run / "last.safetensors").step == 2


def test_the_requirement_example_is_reported(trainingpack):
    root, _ = trainingpack
    res = run_cli("check", "dcgan-32", "--set", 'data={ type = "shapes", image_size = 32 }',
                  "--set", 'penalty="my_penalty"', env={"PYTHONPATH": str(root)})
    assert res.returncode == 0, res.stderr
    assert "penalty[0] (my_penalty): my output penalty with a batch-norm discriminator" in \
        res.stdout
