"""The ``gancore`` command line (typer + rich).

Only typer and rich are imported at start-up; each command imports torch when it runs, so
``gancore --help`` stays fast. User mistakes print one message and exit with status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gancore import __version__
from gancore.commands import build as build_commands
from gancore.commands import info
from gancore.commands.common import STATE, err_console

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
app.command("plugins")(info.plugins_cmd)
app.command("list")(info.list_cmd)
app.command("show")(info.show_cmd)
app.command("recipes")(info.recipes_cmd)
app.command("schema")(info.schema_cmd)


def _register_optional() -> None:
    """Commands that live in their own modules (training, evaluation, plugin kit, docs)."""
    import importlib

    for module in ("gancore.commands.train", "gancore.commands.evaluate", "gancore.commands.kit"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(app)


_register_optional()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from gancore.errors import GancoreError

    try:
        app(args=argv, prog_name="gancore")
    except GancoreError as exc:
        if STATE.debug:
            raise
        from rich.markup import escape

        err_console.print(
            f"[bold red]error:[/] {escape(exc.format())}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
