"""gancore: build, train and evaluate GANs from interchangeable, registered components.

Public API (imported lazily so ``import gancore`` and ``gancore --help`` stay fast)::

    gan = gancore.build("recipes/dcgan.toml")          # path, dict or Recipe
    gancore.save(gan, "init.safetensors")
    gan = gancore.load("init.safetensors")             # rebuilt from the file alone
    registry = gancore.get_registry()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore._lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "build": "gancore.assembly.build:build",
    "GAN": "gancore.assembly.build:GAN",
    "build_network": "gancore.assembly.build:build_network",
    "load": "gancore.checkpoint:load",
    "save": "gancore.checkpoint:save",
    "Recipe": "gancore.recipe:Recipe",
    "load_recipe": "gancore.recipe:load_recipe",
    "get_registry": "gancore.plugins:get_registry",
    "load_plugins": "gancore.plugins:load_plugins",
    "hookimpl": "gancore.hookspecs:hookimpl",
    "Registry": "gancore.registry:Registry",
    "GancoreError": "gancore.errors:GancoreError",
    "DataSpec": "gancore.protocols:DataSpec",
}

__all__ = [
    "GAN", "DataSpec", "GancoreError", "Recipe", "Registry", "__version__", "build",
    "build_network", "get_registry", "hookimpl", "load", "load_plugins", "load_recipe", "save",
]

if TYPE_CHECKING:
    from gancore.assembly.build import GAN, build, build_network
    from gancore.checkpoint import load, save
    from gancore.errors import GancoreError
    from gancore.hookspecs import hookimpl
    from gancore.plugins import get_registry, load_plugins
    from gancore.protocols import DataSpec
    from gancore.recipe import Recipe, load_recipe
    from gancore.registry import Registry

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
