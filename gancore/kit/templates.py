"""File templates of a new plugin pack (``string.Template``: ``$name`` placeholders).

Placeholders: ``dist`` (``gancore-demo``), ``package`` (``gancore_demo``), ``slug`` (``demo``),
``block`` (``demo_block``), ``cls`` (``DemoBlock``), ``recipe`` (``demo-example``),
``gancore_version`` (``0.1``).
"""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A gancore plugin pack"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["gancore>=$gancore_version", "torch>=2.2"]

[project.optional-dependencies]
test = ["pytest>=8"]

# gancore finds the pack through this entry point; the value is the plugin module.
[project.entry-points.gancore]
$dist = "$package.plugin"

[tool.setuptools.packages.find]
include = ["$package*"]

[tool.setuptools.package-data]
$package = ["recipes/*.toml"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra"
"""

README = """\
# $dist

A [gancore](https://github.com/) plugin pack.

```bash
pip install -e .            # registers the pack through the `gancore` entry point
gancore plugins             # lists $dist as loaded
gancore show block $block   # its parameters
gancore build $recipe       # a recipe that uses the block
pytest                      # the pack's tests
```

## Components

- block `$block`: a residual 3x3 conv block that keeps the resolution.
"""

INIT = '''\
"""$dist: a gancore plugin pack."""

__version__ = "0.1.0"
'''

PLUGIN = '''\
"""The gancore plugin of $dist.

Factories are given as lazy ``"module:attribute"`` strings: gancore imports them (and torch)
only when a component is used, so loading the plugin stays fast.
"""

from __future__ import annotations

from pathlib import Path

from gancore.plugin import hookimpl


@hookimpl
def gancore_register_components(registry) -> None:
    """Add this pack's components to the registry."""
    registry.add(
        "block",
        "$block",
        "$package.blocks:$cls",
        summary="residual 3x3 conv block keeping the resolution",
    )


@hookimpl
def gancore_recipe_dirs() -> list[str]:
    """Recipes shipped with this pack (``gancore recipes`` lists them)."""
    return [str(Path(__file__).resolve().parent / "recipes")]
'''

BLOCKS = '''\
"""Blocks of $dist.

A block is built as ``Factory(in_channels, **params, ctx=BuildContext)``: the builder passes
``in_channels`` and the context, the recipe gives ``params``. It exposes ``out_channels`` and
``scale`` (2 up, 0.5 down, 1 same) and has ``forward(x, cond=None)``.
"""

from __future__ import annotations

import torch
from pydantic import Field, field_validator
from torch import nn

from gancore.plugin import ActivationSpec, BuildContext, NormSpec, Params, is_conditional


class ${cls}Params(Params):
    """Recipe parameters of ``$block`` (unknown keys are refused)."""

    out_channels: int | None = Field(
        None, gt=0, le=16384, description="output channels (default: the input's)"
    )
    kernel_size: int = Field(3, gt=0, le=7, description="odd convolution kernel size")
    norm: NormSpec | None = Field(None, description="feature norm (default: the network's)")
    activation: ActivationSpec | None = Field(
        None, description="activation (default: the network's)"
    )

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("kernel_size must be odd to keep the resolution")
        return value


class $cls(nn.Module):
    """Residual block: norm, act, conv, norm, act, conv, plus a (1x1 conv) shortcut."""

    Params = ${cls}Params

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        kernel_size: int = 3,
        norm: NormSpec | None = None,
        activation: ActivationSpec | None = None,
        *,
        ctx: BuildContext,
    ) -> None:
        super().__init__()
        out = out_channels or in_channels
        self.out_channels, self.scale = out, 1.0
        pad = kernel_size // 2
        self.norm1 = ctx.feature_norm(in_channels, norm) if ctx.uses_norm(norm) else nn.Identity()
        self.norm2 = ctx.feature_norm(out, norm) if ctx.uses_norm(norm) else nn.Identity()
        self.act = ctx.act(activation)
        self.conv1 = ctx.apply_weight_norm(nn.Conv2d(in_channels, out, kernel_size, 1, pad))
        self.conv2 = ctx.apply_weight_norm(nn.Conv2d(out, out, kernel_size, 1, pad))
        self.shortcut = (
            nn.Identity() if out == in_channels else nn.Conv2d(in_channels, out, 1, bias=False)
        )

    def _norm(self, norm: nn.Module, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        return norm(x, cond) if is_conditional(norm) else norm(x)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(self.act(self._norm(self.norm1, x, cond)))
        h = self.conv2(self.act(self._norm(self.norm2, h, cond)))
        return h + self.shortcut(x)
'''

RECIPE = """\
# A 16x16 GAN on the built-in shapes that uses $dist's `$block` in both networks.
[recipe]
name = "$recipe"
description = "example recipe of the $dist plugin pack"
requires = ["$dist>=0.1"]

[data]
type = "shapes"
image_size = 16

[generator]
type = "stack"
latent_dim = 32
norm = "batch"
stem = { type = "dense", out_channels = 64, resolution = 4 }
  [[generator.blocks]]
  type = "upsample"
  out_channels = 32
  [[generator.blocks]]
  type = "$block"
  [[generator.blocks]]
  type = "upsample"
  out_channels = 16

[discriminator]
type = "stack"
activation = "leaky_relu"
stem = { type = "conv", out_channels = 16 }
  [[discriminator.blocks]]
  type = "down"
  out_channels = 32
  [[discriminator.blocks]]
  type = "$block"
  out_channels = 48
  [[discriminator.blocks]]
  type = "down"
  out_channels = 64

[loss]
type = "hinge"

[train]
batch_size = 16
steps = 1000
"""

TESTS = '''\
"""Tests of $dist, using the fixtures of gancore's pytest plugin (gancore.testing)."""

from __future__ import annotations

import pytest
import torch

import gancore
from gancore.plugin import RecipeError
from gancore.testing import check_component
from $package import plugin


def test_plugin_registers_its_block(register_plugin):
    registry = register_plugin(plugin, name="$dist")
    entry = registry.get("block", "$block")
    assert entry.origin == "$dist"


def test_every_component_builds_and_runs(check_pack):
    assert check_pack(plugin, "$dist") == ["block:$block"]


def test_block_keeps_resolution_and_sets_channels(register_plugin):
    registry = register_plugin(plugin, name="$dist")
    x = torch.randn(2, 8, 16, 16)
    block = check_component(registry, "block", "$block", {"out_channels": 12}, example=x)
    assert block(x).shape == (2, 12, 16, 16)


def test_even_kernel_is_a_recipe_error(register_plugin):
    registry = register_plugin(plugin, name="$dist")
    with pytest.raises(RecipeError, match="odd"):
        check_component(registry, "block", "$block", {"kernel_size": 4})


def test_example_recipe_trains_two_steps(train_smoke):
    run = train_smoke("$recipe")
    assert (run / "last.safetensors").is_file()


def test_example_recipe_builds():
    gan = gancore.build("$recipe")
    images = gan.generator(gan.sample_latent(2))
    assert images.shape == (2, 3, 16, 16)
    assert gan.discriminator(images).shape == (2,)
'''

#: Relative path -> template.
FILES: dict[str, str] = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "$package/__init__.py": INIT,
    "$package/plugin.py": PLUGIN,
    "$package/blocks.py": BLOCKS,
    "$package/recipes/$recipe.toml": RECIPE,
    "tests/test_$package.py": TESTS,
}
