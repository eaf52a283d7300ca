"""Hook specifications of the ``gancore`` plugin system.

A plugin pack is a module (or object) with functions marked by :data:`hookimpl`, announced in
its ``pyproject.toml``::

    [project.entry-points.gancore]
    mypack = "mypack.plugin"

The built-in components are registered through exactly these hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from gancore.registry import Registry

PROJECT = "gancore"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def gancore_register_components(registry: Registry) -> None:
    """Add components to ``registry`` with ``registry.add(kind, name, factory, ...)``.

    Called once per plugin when a registry is built. ``factory`` may be a lazy
    ``"package.module:attribute"`` string so that loading the plugin stays cheap. Registering a
    kind/name that another plugin already registered is an error naming both plugins.
    """


@hookspec
def gancore_recipe_dirs() -> list[str]:
    """Return folders whose ``*.toml`` files are recipes this plugin ships.

    ``gancore recipes`` lists them, and recipes can be named by file stem (``stylegan2-lite``)
    anywhere a recipe path is accepted.
    """
