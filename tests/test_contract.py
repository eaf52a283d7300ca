"""The component contract: the table of kinds, products checked where made, conformance checks."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

import gancore
from gancore.core.errors import ContractError
from gancore.core.kinds import KINDS
from gancore.packs.hookspecs import hookimpl
from gancore.packs.loader import load_plugins
from gancore.testing import check_component

from .conftest import make_dist, run_cli

#: Built-in components whose defaults need files or weights (checked elsewhere).
NEEDS_FILES = {
    "dataset:fashion_mnist", "dataset:mnist", "dataset:cifar10", "dataset:celeba",
    "dataset:folder", "dataset:prepared", "feature_extractor:inception",
    "feature_extractor:classifier",
    # trackers needing an extra (read back by their own library in tests/train/test_extensions)
    "tracker:tensorboard", "tracker:mlflow", "tracker:wandb",
}
#: Stems and heads that do not take an 8x8 feature map (given a suitable example below).
EXAMPLES = {
    "block:dense": torch.randn(2, 8), "block:project": torch.randn(2, 8),
    "block:linear": torch.randn(2, 8), "block:to_vector": torch.randn(2, 8),
}
PARAMS = {
    "block:conv_logit": {"kernel_size": 8},
    "generator:stack": {"blocks": [{"type": "upsample"}, {"type": "upsample"}]},
}


def _builtin_ids() -> list[str]:
    registry = load_plugins(autoload=False).registry
    return [f"{e.kind}:{e.name}" for e in registry.entries() if f"{e.kind}:{e.name}"
            not in NEEDS_FILES]


def _pack(**components):
    mod = types.ModuleType("contract_pack")

    @hookimpl
    def gancore_register_components(registry):
        for cid, factory in components.items():
            kind, name = cid.split(":")
            registry.add(kind, name, factory)

    mod.gancore_register_components = gancore_register_components
    return mod


def _registry(**components):
    return load_plugins(autoload=False, warn=False,
                        extra=[("gancore-broken", _pack(**components))]).registry


def test_every_kind_has_its_contract():
    for kind in KINDS.values():
        assert kind.places and kind.protocol and kind.summary and kind.verifies, kind.name
        assert kind.check, f"{kind.name} has no conformance check"
    registry = load_plugins(autoload=False).registry
    assert {e.kind for e in registry.entries()} <= set(KINDS)


@pytest.mark.parametrize("cid", _builtin_ids())
def test_builtin_components_pass_their_conformance_check(cid, builtin_registry):
    kind, name = cid.split(":")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        check_component(builtin_registry, kind, name, PARAMS.get(cid), example=EXAMPLES.get(cid))


# -- broken components: each fails naming the clause -----------------------------------------
def bad_norm(num_features: int, dims: int = 2, num_classes: int = 0) -> nn.Module:
    return nn.Linear(1, 1)


def shape_changing_norm(num_features: int, dims: int = 2, num_classes: int = 0) -> nn.Module:
    return nn.Flatten()


class NoDescribe(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.zeros(1, 4, 4), torch.tensor(0)


class OutOfRange(NoDescribe):
    @classmethod
    def describe(cls):
        return gancore.DataSpec((1, 4, 4), num_classes=2)

    def __getitem__(self, i):
        return torch.full((1, 4, 4), 3.0), torch.tensor(0)


class BadLabels(OutOfRange):
    def __getitem__(self, i):
        return torch.zeros(1, 4, 4), torch.tensor(7)


class VectorPenalty:
    weight, interval = 1.0, 1

    def __call__(self, d, real, fake, y=None):
        return d(real, y)  # one value per sample, not a scalar


class StringMetric:
    needs = {"real_features"}

    def compute(self, inputs):
        return "excellent"


class StringScore(StringMetric):
    def compute(self, inputs):
        return {"score": "high"}


class NanLoss:
    def d_loss(self, real, fake):
        return (real * float("nan")).mean()

    def g_loss(self, fake, real=None):
        return fake.mean()


class LyingBlock(nn.Module):
    def __init__(self, in_channels: int, *, ctx) -> None:
        super().__init__()
        self.out_channels, self.scale = 99, 1.0
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)

    def forward(self, x, cond=None):
        return self.conv(x)


class NoOutChannels(nn.Module):
    def __init__(self, in_channels: int, *, ctx) -> None:
        super().__init__()

    def forward(self, x, cond=None):
        return x


class OneArgBlock(NoOutChannels):
    def __init__(self, in_channels: int, *, ctx) -> None:
        super().__init__(in_channels, ctx=ctx)
        self.out_channels = in_channels

    def forward(self, x):  # the framework passes cond too
        return x


M = __name__
BROKEN = [
    ("norm:bad", f"{M}:bad_norm", r"raised RuntimeError|does not keep the shape"),
    ("norm:flat", f"{M}:shape_changing_norm", "does not keep the shape"),
    ("dataset:nodesc", f"{M}:NoDescribe", "has no describe"),
    ("dataset:range", f"{M}:OutOfRange", r"outside \[-1, 1\]"),
    ("dataset:labels", f"{M}:BadLabels", r"label 7, outside \[0, 2\)"),
    ("penalty:vector", f"{M}:VectorPenalty", r"returned shape \[2\], not a scalar"),
    ("metric:string", f"{M}:StringMetric", "not a dict of scores"),
    ("metric:stringscore", f"{M}:StringScore", "score = 'high', not a float"),
    ("loss:nan", f"{M}:NanLoss", "not finite"),
    ("block:lying", f"{M}:LyingBlock", "declares out_channels = 99 but made 4"),
    ("block:noout", f"{M}:NoOutChannels", "without out_channels"),
    ("block:onearg", f"{M}:OneArgBlock", "cannot take 2 arguments"),
]


@pytest.mark.parametrize(("cid", "factory", "clause"), BROKEN, ids=[b[0] for b in BROKEN])
def test_check_pack_fails_naming_the_clause(cid, factory, clause, check_pack):
    kind, name = cid.split(":")
    with pytest.raises(ContractError, match=clause) as info:
        check_pack(_pack(**{cid: factory}), "gancore-broken")
    assert f"{kind} {name!r} from gancore-broken" in str(info.value)


def test_a_block_that_lies_is_caught_at_build_time_on_the_meta_device():
    registry = _registry(**{"block:lying": f"{M}:LyingBlock"})
    with pytest.raises(ContractError, match="declares out_channels = 99 but made 4") as info:
        gancore.build("sagan", registry=registry,
                      overrides=['generator.blocks[2]={type="lying"}'])
    assert "generator.blocks[2]" in str(info.value)


def test_a_factory_returning_the_wrong_object_is_one_message_exit_2(tmp_path):
    code = (
        "from gancore.plugin import hookimpl\n"
        "def make(in_channels, *, ctx):\n    return 42\n"
        "@hookimpl\ndef gancore_register_components(registry):\n"
        "    registry.add('block', 'fortytwo', 'wrongpack_plugin:make')\n"
    )
    make_dist(tmp_path, "gancore-wrong", "0.1", "wrongpack_plugin", code)
    res = run_cli("build", "sagan", "--set", 'generator.blocks[0]={type="fortytwo"}',
                  env={"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 2, res.stderr
    assert "block 'fortytwo' from wrongpack_plugin returned a builtins.int" in res.stderr
    assert "Traceback" not in res.stderr


def test_product_check_costs_nothing_in_the_forward_pass():
    gan = gancore.build("dcgan-32")
    # the networks are plain modules: no wrapper, no hook left behind by the checks
    assert type(gan.generator).__module__ == "gancore.nn.networks"
    assert not any(m._forward_hooks for m in gan.generator.modules())
    assert not any(m._forward_hooks for m in gan.discriminator.modules())


def test_the_author_api_and_the_kinds_table_import_no_torch():
    import subprocess
    import sys

    code = ("import sys\nimport gancore.plugin as p\nimport gancore.core.kinds\n"
            "assert p.KINDS is gancore.core.kinds.KINDS\n"
            "p.hookimpl, p.Params, p.DataSpec, p.RecipeError, p.NormSpec, p.Channels\n"
            "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_the_kinds_are_listed_in_one_module():
    """No other module spells out the list of kinds (they read gancore.core.kinds.KINDS)."""
    import re

    from .conftest import ROOT

    names = sorted(KINDS)
    offenders = []
    for path in (ROOT / "gancore").rglob("*.py"):
        if path.name == "kinds.py":
            continue
        text = path.read_text(encoding="utf-8")
        # typed aliases derived from the table (NormSpec = SPECS["norm"]) are not a list
        text = re.sub(r"^\w+Spec = SPECS\[\"\w+\"\]$", "", text, flags=re.M)
        quoted = {n for n in names if re.search(rf"[\"']{n}[\"']", text)}
        if len(quoted) >= len(names) - 2:  # a hand-written list of (nearly) every kind
            offenders.append(path.name)
    assert not offenders, offenders


@pytest.mark.parametrize("bad", ["high", float("nan"), True])
def test_a_loss_with_a_bad_decision_threshold_is_refused(bad):
    from gancore.train.losses import BCE

    class Odd(BCE):
        decision_threshold = bad

    registry = load_plugins(autoload=False).registry
    registry.add("loss", "odd", Odd)
    with pytest.raises(ContractError, match="decision_threshold"):
        check_component(registry, "loss", "odd")
    Odd.decision_threshold = None  # no fixed threshold is allowed
    check_component(registry, "loss", "odd")
