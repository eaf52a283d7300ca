"""gancore: build, train and evaluate GANs from interchangeable, registered components.

Public API (imported lazily so ``import gancore`` and ``gancore --help`` stay fast)::

    gan = gancore.build("recipes/dcgan.toml")          # path, dict or Recipe
    gancore.save(gan, "init.safetensors")
    gan = gancore.load("init.safetensors")             # rebuilt from the file alone
    registry = gancore.get_registry()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore import compat
from gancore.core.lazy import lazy_attributes
from gancore.core.version import __version__

compat.install()  # the import paths of earlier versions, each with a DeprecationWarning

_LAZY = {
    "build": "gancore.assembly.build:build",
    "GAN": "gancore.assembly.build:GAN",
    "build_network": "gancore.assembly.build:build_network",
    "load": "gancore.assembly.checkpoint:load",
    "save": "gancore.assembly.checkpoint:save",
    "Recipe": "gancore.recipe:Recipe",
    "load_recipe": "gancore.recipe:load_recipe",
    "get_registry": "gancore.packs.loader:get_registry",
    "load_plugins": "gancore.packs.loader:load_plugins",
    "hookimpl": "gancore.packs.hookspecs:hookimpl",
    "Registry": "gancore.core.registry:Registry",
    "GancoreError": "gancore.core.errors:GancoreError",
    "DataSpec": "gancore.core.protocols:DataSpec",
}

__all__ = [
    "GAN", "DataSpec", "GancoreError", "Recipe", "Registry", "__version__", "build",
    "build_network", "get_registry", "hookimpl", "load", "load_plugins", "load_recipe", "save",
]

if TYPE_CHECKING:
    from gancore.assembly.build import GAN, build, build_network
    from gancore.assembly.checkpoint import load, save
    from gancore.core.errors import GancoreError
    from gancore.core.protocols import DataSpec
    from gancore.core.registry import Registry
    from gancore.packs.hookspecs import hookimpl
    from gancore.packs.loader import get_registry, load_plugins
    from gancore.recipe import Recipe, load_recipe

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
