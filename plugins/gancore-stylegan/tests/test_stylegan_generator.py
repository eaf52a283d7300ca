"""The stylegan2 generator: shapes, style mixing, noise, recipe and pack registration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gancore_stylegan
import pytest
import torch
from gancore_stylegan import plugin

import gancore
from gancore.plugin import RecipeError

DATA = (3, 16, 16)


@pytest.fixture
def registry():
    return gancore.load_plugins(extra=[("gancore-stylegan", plugin)], autoload=False).registry


def make(registry, data=DATA, **params):
    torch.manual_seed(0)
    return gancore.build_network("generator", {"type": "stylegan2", **params}, data, registry)


def test_output_shape_and_default_layout(registry):
    g = make(registry)
    assert g(torch.randn(3, g.latent_dim)).shape == (3, *DATA)
    assert [float(b.scale) for b in g.blocks] == [1.0, 2.0, 1.0, 2.0, 1.0]
    assert g.num_ws == len(g.blocks) + 3  # one to-RGB per resolution: 4, 8, 16
    g32 = make(registry, data=(1, 32, 32))
    assert g32(torch.randn(2, g32.latent_dim)).shape == (2, 1, 32, 32)


def test_style_mixing_switches_styles_at_the_crossover(registry):
    g = make(registry).eval()
    g.set_noise_mode("const")
    z1, z2 = torch.randn(2, g.latent_dim), torch.randn(2, g.latent_dim)
    w1, w2 = g.mapping(z1), g.mapping(z2)
    seen: list[torch.Tensor] = []
    hooks = [
        m.register_forward_pre_hook(lambda _m, args: seen.append(args[1]))
        for m in [*g.blocks, *g.to_rgb.values()]
    ]
    crossover = 3
    with torch.no_grad():
        g.mix(z1, z2, crossover)
    for h in hooks:
        h.remove()
    # styles are indexed in the order the layers consume them
    assert len(seen) == g.num_ws
    for i, w in enumerate(seen):
        torch.testing.assert_close(w, w1 if i < crossover else w2)
    with torch.no_grad():
        torch.testing.assert_close(g.mix(z1, z2, g.num_ws), g(z1))
        assert not torch.allclose(g.mix(z1, z2, crossover), g(z1))


def test_training_forward_mixes_styles_with_mixing_prob(registry, monkeypatch):
    g = make(registry, mixing_prob=1.0).train()
    crossovers = []
    original = gancore_stylegan.generator.mixed_styles

    def spy(ws1, ws2, crossover):
        crossovers.append(crossover)
        return original(ws1, ws2, crossover)

    monkeypatch.setattr(gancore_stylegan.generator, "mixed_styles", spy)
    g(torch.randn(2, g.latent_dim))
    assert len(crossovers) == 1 and 1 <= crossovers[0] < g.num_ws
    g.mixing_prob = 0.0
    g(torch.randn(2, g.latent_dim))
    assert len(crossovers) == 1


def test_noise_changes_images_only_with_nonzero_strength(registry):
    g = make(registry).eval()
    z = torch.randn(2, g.latent_dim)
    with torch.no_grad():
        torch.testing.assert_close(g(z), g(z))  # strengths start at 0
        for block in g.blocks:
            block.noise.strength.fill_(0.3)
        assert not torch.allclose(g(z), g(z))
        g.set_noise_mode("const")
        torch.testing.assert_close(g(z), g(z))


def test_truncation_pulls_towards_the_mean_w(registry):
    g = make(registry).eval()
    z = torch.randn(4, g.latent_dim)
    with torch.no_grad():
        torch.testing.assert_close(g.mapping(z, truncation=0.0), g.w_avg.expand(4, -1))


def test_conditional_generator_needs_labels(registry):
    g = make(registry, data={"shape": DATA, "num_classes": 5}, conditional=True)
    y = torch.tensor([0, 4])
    assert g(torch.randn(2, g.latent_dim), y).shape == (2, *DATA)
    with pytest.raises(ValueError, match="labels"):
        g(torch.randn(2, g.latent_dim))
    with pytest.raises(RecipeError, match="labelled"):
        make(registry, conditional=True)


def test_mismatched_blocks_are_a_recipe_error(registry):
    with pytest.raises(RecipeError, match="16x16"):
        make(registry, blocks=[{"type": "style_block", "up": True}])
    with pytest.raises(RecipeError, match="start_resolution"):
        make(registry, start_resolution=3)


def test_style_blocks_refuse_labels_as_cond(registry):
    from gancore.plugin import BuildContext

    block = registry.get("block", "style_block").create(4, ctx=BuildContext(registry))
    with pytest.raises(ValueError, match="stylegan2 generator"):
        block(torch.randn(2, 4, 4, 4), torch.tensor([0, 1]))


def test_every_component_builds_and_runs(check_pack):
    checked = check_pack(plugin, "gancore-stylegan")
    assert set(checked) == {
        "generator:stylegan2",
        "block:style_block",
        "block:modulated_conv",
        "block:to_rgb",
    }


def test_bundled_recipe_builds_and_trains_a_step():
    gan = gancore.build("stylegan2-lite")
    assert gan.data.shape == (3, 32, 32)
    z = gan.sample_latent(2)
    fake = gan.generator(z)
    loss = gan.loss.g_loss(gan.discriminator(fake), gan.discriminator(fake.detach()))
    loss.backward()
    assert all(p.grad is not None for p in gan.generator.blocks.parameters())


def test_registered_through_the_entry_point():
    env = {**os.environ}
    env.pop("GANCORE_DISABLE_PLUGIN_AUTOLOAD", None)
    out = subprocess.run(
        [sys.executable, "-m", "gancore", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
        check=True,
    )
    rows = {p["name"]: p for p in json.loads(out.stdout)}
    assert rows["gancore-stylegan"]["status"] == "loaded"
    assert rows["gancore-stylegan"]["version"] == gancore_stylegan.__version__
    assert "generator:stylegan2" in rows["gancore-stylegan"]["components"]
