"""Names that last: a pack written for 0.1 registers ``lecam`` and ``flip``, which gancore has
since added too. Its own tests pass unchanged, ``gancore-extras:lecam`` trains its penalty, a
checkpoint made with it keeps its penalty after the core gains one of the same name, and a bare
name means the pack's with a warning naming both (the rule of gancore.core.registry.Registry).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import gancore
from gancore.core.registry import BUILTIN
from gancore.packs.loader import load_plugins
from gancore.recipe import load_recipe, resolve
from gancore.recipe.requirements import RequirementWarning

PACK = "gancore-extras"

PLUGIN = '''
"""gancore-extras 0.1: a LeCam-like penalty and a flip augment (as 0.1's new-plugin wrote)."""
import torch

from gancore.plugin import hookimpl

__version__ = "0.1.0"


class LeCam:
    """|D(real) - D(fake)|, the pack's own regulariser (not Tseng et al.'s)."""

    def __init__(self, weight: float = 1.0, interval: int = 1) -> None:
        self.weight, self.interval = weight, interval

    def __call__(self, discriminator, real, fake, y=None):
        return (discriminator(real, y).float() - discriminator(fake, y).float()).abs().mean()


def flip(p: float = 1.0):
    """Flip every image upside down (the pack's flip)."""
    return lambda x: x.flip(-2) if x.dim() == 4 and p > 0 else x


@hookimpl
def gancore_register_components(registry):
    registry.add("penalty", "lecam", "gancore_extras.plugin:LeCam")
    registry.add("augment", "flip", "gancore_extras.plugin:flip")
'''

PACK_TESTS = '''
from gancore_extras import plugin


def test_every_component_checks(check_pack):
    assert sorted(check_pack(plugin, "gancore-extras")) == ["augment:flip", "penalty:lecam"]


def test_the_bare_names_are_the_pack_s(register_plugin):
    registry = register_plugin(plugin, name="gancore-extras")
    assert registry.get("penalty", "lecam").load() is plugin.LeCam
    assert registry.get("augment", "flip").load() is plugin.flip
'''


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The pack, installed (a folder on sys.path with its .dist-info) and imported."""
    root = tmp_path_factory.mktemp("extras")
    pkg = root / "gancore_extras"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text(textwrap.dedent(PLUGIN))
    (root / "tests").mkdir()
    (root / "tests" / "test_extras.py").write_text(textwrap.dedent(PACK_TESTS))
    info = root / "gancore_extras-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gancore-extras\n"
                                   "Version: 0.1.0\n")
    (info / "entry_points.txt").write_text("[gancore]\ngancore-extras = gancore_extras.plugin\n")
    sys.path.insert(0, str(root))
    import importlib

    importlib.invalidate_caches()
    module = importlib.import_module("gancore_extras.plugin")
    yield root, module
    sys.path.remove(str(root))
    for name in ("gancore_extras.plugin", "gancore_extras"):
        sys.modules.pop(name, None)


def registry_with(module: object, *, core_lecam: bool = True):
    """The built-ins and the pack; ``core_lecam=False``: as before gancore had a lecam."""
    registry = load_plugins(autoload=False, warn=False, extra=[(PACK, module)]).registry
    if not core_lecam:
        registry._by_name["penalty"]["lecam"] = [
            e for e in registry.candidates("penalty", "lecam") if e.origin != BUILTIN]
    return registry


SETTINGS = ['data={ type = "shapes", image_size = 32, num_samples = 32 }',
            'discriminator.norm="none"', "train.batch_size=4", 'train.device="cpu"',
            'train.precision="fp32"', 'train.channels_last="off"', "train.threads=1",
            "train.grid_size=4"]


def test_the_pack_s_own_tests_pass_unchanged(extras):
    root, _ = extras
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests"),
         "--rootdir", str(root)],
        capture_output=True, text=True, cwd=root, timeout=600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get(
            "PYTHONPATH", "")])})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "2 passed" in res.stdout


def test_a_qualified_name_trains_the_pack_s_penalty(extras):
    _, module = extras
    registry = registry_with(module)
    trainer = gancore.train.Trainer("dcgan-32", steps=1, registry=registry, overrides=[
        *SETTINGS, 'penalty="gancore-extras:lecam"', 'augment="builtin:flip"'])
    assert isinstance(trainer.penalties[0], module.LeCam)
    assert trainer.recipe.penalty[0].qualified == "gancore-extras:lecam"
    assert trainer.recipe.to_dict()["augment"] == ["builtin:flip"]
    trainer.fit()


def test_the_bare_name_is_the_pack_s_with_a_warning_naming_both(extras):
    _, module = extras
    registry = registry_with(module)
    recipe = resolve(load_recipe("dcgan-32", [*SETTINGS, 'penalty="lecam"']), registry)
    assert recipe.penalty[0].origin == PACK
    [note] = [f for f in recipe.findings if f.key == "penalty[0].type"]
    assert note.level == "warning"
    assert "'lecam' is registered by gancore-extras and by builtin:lecam" in note.message
    assert note.fix == "write 'gancore-extras:lecam' to keep this one, or 'builtin:lecam' for " \
        "the other"
    with pytest.warns(RequirementWarning, match="registered by gancore-extras and by builtin"):
        gancore.build(recipe, registry=registry)
    both = resolve(load_recipe("dcgan-32", [*SETTINGS, 'penalty="builtin:lecam"']), registry)
    assert both.penalty[0].origin == BUILTIN


def test_a_checkpoint_keeps_the_pack_s_penalty_after_the_core_gains_one(extras, tmp_path):
    _, module = extras
    before = registry_with(module, core_lecam=False)  # gancore 0.1: lecam is the pack's alone
    run = tmp_path / "run"
    gancore.train.train("dcgan-32", steps=2, out=run, registry=before,
                        overrides=[*SETTINGS, 'penalty="lecam"'])
    from gancore.assembly.checkpoint import read

    saved = read(run / "last.safetensors", tensors=False).recipe
    assert saved["penalty"] == ["gancore-extras:lecam"]  # the origin is recorded
    after = registry_with(module)  # the core now has a lecam of its own
    gan = gancore.load(run / "last.safetensors", registry=after)
    assert gan.recipe.penalty[0].origin == PACK
    images = gan.generator(torch.randn(3, gan.latent_dim))
    assert images.shape == (3, 3, 32, 32)
    resumed = gancore.train.Trainer("dcgan-32", steps=3, out=run, resume=True, registry=after,
                                    overrides=[*SETTINGS, 'penalty="gancore-extras:lecam"'])
    assert isinstance(resumed.penalties[0], module.LeCam)
    resumed.fit()


def test_a_checkpoint_without_the_pack_names_it(extras, tmp_path):
    _, module = extras
    run = tmp_path / "run"
    gancore.train.train("dcgan-32", steps=1, out=run, registry=registry_with(module),
                        overrides=[*SETTINGS, 'augment="gancore-extras:flip"'])
    without = load_plugins(autoload=False, warn=False).registry
    with pytest.raises(gancore.GancoreError) as info:
        gancore.load(run / "last.safetensors", registry=without)
    assert "uses augment 'gancore-extras:flip' from the plugin pack 'gancore-extras'" in \
        info.value.message
    assert "gancore-extras==0.1.0" in info.value.hint


def test_an_older_checkpoint_s_bare_names_keep_their_origin(extras, tmp_path):
    """Checkpoints of 0.2 named components bare and listed the packs' in their metadata."""
    from safetensors.torch import load_file, save_file

    _, module = extras
    before = registry_with(module, core_lecam=False)
    run = tmp_path / "run"
    gancore.train.train("dcgan-32", steps=1, out=run, registry=before,
                        overrides=[*SETTINGS, 'penalty="lecam"'])
    path = run / "last.safetensors"
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = dict(f.metadata())
    recipe = json.loads(meta["recipe"])
    recipe["penalty"] = ["lecam"]  # as 0.2 wrote it
    meta["recipe"] = json.dumps(recipe)
    assert json.loads(meta["components"])["penalty:lecam"].startswith("gancore-extras==")
    save_file(load_file(str(path)), str(path), metadata=meta)
    gan = gancore.load(path, registry=registry_with(module))
    assert gan.recipe.penalty[0].origin == PACK
