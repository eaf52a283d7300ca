"""Shared state and helpers of the command-line interface."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from gancore.core.registry import Registry
    from gancore.packs.loader import LoadedPlugins

console = Console()
err_console = Console(stderr=True)


class State:
    """Options given before the sub-command (``gancore --debug build ...``)."""

    debug: bool = False
    strict_plugins: bool = False
    block_plugins: tuple[str, ...] = ()
    _warned: bool = False


STATE = State()


def plugins(warn: bool = True) -> LoadedPlugins:
    """The loaded plugins, honouring ``--strict-plugins`` and ``--block-plugin``."""
    from gancore.packs import loader as plugin_mod

    loaded = plugin_mod._DEFAULT
    if loaded is None:
        loaded = plugin_mod.load_plugins(
            strict=STATE.strict_plugins, block=STATE.block_plugins, warn=False
        )
        plugin_mod.set_default(loaded)
    if warn and not STATE._warned:
        STATE._warned = True
        from rich.markup import escape

        for info in loaded.plugins:
            for problem in info.problems():
                err_console.print(
                    f"[yellow]warning:[/] {escape(problem)}; see `gancore plugins`",
                    highlight=False, soft_wrap=True,
                )
    return loaded


def registry() -> Registry:
    return plugins().registry


def warn(text: str) -> None:
    """Print ``warning: text`` to stderr (``text`` may already start with ``warning:``)."""
    from rich.markup import escape

    text = text.removeprefix("warning: ")
    err_console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Print JSON to stdout without rich markup or wrapping."""
    import json

    print(json.dumps(data, indent=2, default=str))


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")
