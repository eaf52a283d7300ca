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
    import typer

    from gancore.core.registry import Registry

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


@hookspec
def gancore_commands(app: typer.Typer) -> None:
    """Add commands to the ``gancore`` command line.

    ``app`` is the root typer app: ``app.command("name")(function)`` adds ``gancore name``,
    ``app.add_typer(sub_app, name="name")`` a group of sub-commands. Called each time the CLI
    starts (``gancore --help`` lists the commands, under a panel named after the pack), so keep
    the plugin module light and import torch inside the command functions. A pack whose hook
    raises, or that takes a name already used, loses those commands with a one-line warning;
    every other command keeps working.
    """
