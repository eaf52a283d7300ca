"""The ``gancore`` command line (typer + rich).

Only typer and rich are imported at start-up; each command imports torch when it runs, so
``gancore --help`` stays fast. User mistakes print one message and exit with status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gancore.commands import build as build_commands
from gancore.commands import info
from gancore.commands.common import STATE, err_console
from gancore.core.version import __version__

app = typer.Typer(
    name="gancore",
    help="Build, train and evaluate GANs from interchangeable components.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        print(f"gancore {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of errors")] = False,
    strict_plugins: Annotated[
        bool, typer.Option("--strict-plugins", help="fail when any plugin pack fails to load")
    ] = False,
    block_plugin: Annotated[
        list[str] | None,
        typer.Option("--block-plugin", help="do not load this plugin pack (repeatable)"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    STATE.debug = debug
    STATE.strict_plugins = strict_plugins
    STATE.block_plugins = tuple(block_plugin or ())


app.command("build")(build_commands.build_cmd)
app.command("check")(build_commands.check_cmd)
app.command("plugins")(info.plugins_cmd)
app.command("list")(info.list_cmd)
app.command("show")(info.show_cmd)
app.command("recipes")(info.recipes_cmd)
app.command("schema")(info.schema_cmd)


def _register_optional() -> None:
    """Commands that live in their own modules (training, evaluation, plugin kit, docs)."""
    import importlib

    for module in ("gancore.commands.train", "gancore.commands.evaluate", "gancore.commands.kit",
                   "gancore.commands.bench", "gancore.commands.data", "gancore.commands.cache",
                   "gancore.commands.export", "gancore.commands.sweep"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(app)


_register_optional()


_PACK_COMMANDS: dict[str, str] = {}  # command name -> pack, once loaded
_PACKS_LOADED = False


def _blocked(argv: list[str]) -> set[str]:
    """Packs blocked by ``GANCORE_BLOCK_PLUGINS`` or ``--block-plugin`` (read before typer)."""
    import os

    names = {s.strip() for s in os.environ.get("GANCORE_BLOCK_PLUGINS", "").split(",")}
    for i, arg in enumerate(argv):
        if arg == "--block-plugin" and i + 1 < len(argv):
            names.add(argv[i + 1])
        elif arg.startswith("--block-plugin="):
            names.add(arg.partition("=")[2])
    return {n for n in names if n}


def _command_name(info: typer.models.CommandInfo) -> str:
    return info.name or (info.callback.__name__ if info.callback else "").replace("_", "-")


def load_pack_commands(argv: list[str] | None = None) -> dict[str, str]:
    """Add the commands of installed packs (hook ``gancore_commands``) to :data:`app`.

    Entry points are imported one by one, in name order; a pack that fails to import is
    skipped here (``gancore plugins`` reports it), one whose hook raises or whose command name
    is taken loses those commands with a warning. Returns ``{command: pack}``.
    """
    global _PACKS_LOADED
    import os

    if _PACKS_LOADED:
        return _PACK_COMMANDS
    _PACKS_LOADED = True
    if os.environ.get("GANCORE_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0"):
        return _PACK_COMMANDS
    from importlib import metadata

    from gancore.packs.hookspecs import PROJECT as ENTRY_POINT_GROUP  # the entry-point group

    blocked = _blocked(list(sys.argv[1:] if argv is None else argv))
    taken = {_command_name(c) for c in app.registered_commands}
    taken |= {g.name or "" for g in app.registered_groups}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        if ep.name in blocked or (dist is not None and dist.name in blocked):
            continue
        try:
            obj = ep.load()
        except Exception:  # reported by `gancore plugins` and the registry's warning
            continue
        hook = getattr(obj, "gancore_commands", None)
        if hook is None or not hasattr(hook, "gancore_impl"):
            continue
        n_cmds, n_groups = len(app.registered_commands), len(app.registered_groups)
        try:
            hook(app=app)
        except Exception as exc:
            del app.registered_commands[n_cmds:], app.registered_groups[n_groups:]
            _warn(f"gancore plugin {ep.name!r}: its commands are unavailable: gancore_commands "
                  f"raised {type(exc).__name__}: {exc}")
            continue
        for registered in (app.registered_commands, app.registered_groups):
            added = registered[n_cmds if registered is app.registered_commands else n_groups:]
            for item in list(added):
                name = (_command_name(item) if registered is app.registered_commands
                        else item.name or "")
                if not name or name in taken:
                    registered.remove(item)
                    owner = _PACK_COMMANDS.get(name, "gancore")
                    _warn(f"gancore plugin {ep.name!r}: command {name!r} is refused: "
                          f"{owner} already has it")
                    continue
                taken.add(name)
                _PACK_COMMANDS[name] = ep.name
                if not isinstance(item.rich_help_panel, str):
                    item.rich_help_panel = f"Commands from {ep.name}"
    return _PACK_COMMANDS


def _warn(text: str) -> None:
    from rich.markup import escape

    err_console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)


#: The exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from gancore.core.errors import GancoreError

    load_pack_commands(argv)
    try:
        app(args=argv, prog_name="gancore")
    except GancoreError as exc:
        if STATE.debug:
            raise
        from rich.markup import escape

        # a Ctrl-C that stopped cleanly (exit status 130) is no error: it says "interrupted ..."
        label = "" if exc.exit_code == INTERRUPTED else "[bold red]error:[/] "
        err_console.print(f"{label}{escape(exc.format())}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
