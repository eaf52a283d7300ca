"""``gancore new-plugin`` and ``gancore docs``: the plugin authoring kit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gancore.commands.common import console, registry

docs_app = typer.Typer(
    help="Print documentation generated from the registry and the hookspecs (Markdown).",
    no_args_is_help=True,
)


def new_plugin_cmd(
    name: Annotated[str, typer.Argument(help="pack name, e.g. demo -> gancore-demo")],
    directory: Annotated[Path, typer.Option("--dir", help="folder to create the pack in")] = Path(
        "."
    ),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing folder")] = False,
) -> None:
    """Write a working plugin pack NAME: pyproject, plugin, an example block, recipe, tests."""
    from gancore.kit.scaffold import PackNames, new_plugin

    root = new_plugin(name, directory, force=force)
    names = PackNames.from_name(name)
    console.print(f"[green]created[/] {escape(names.dist)} in {escape(str(root))}",
                  highlight=False)
    console.print(
        "next:\n"
        f"  pip install -e {root}\n"
        f"  pytest {root}\n"
        f"  gancore show block {names.block}\n"
        f"  gancore build {names.recipe}",
        highlight=False,
        markup=False,
    )


def _check(output: Path | None) -> None:
    """Refuse an unwritable ``-o`` before generating anything."""
    if output is not None:
        from gancore.storage.io import check_writable

        check_writable(output, what="the -o file")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        print(text, end="")
    else:
        from gancore.storage.io import atomic_write_text

        atomic_write_text(output, text, what="the -o file")
        console.print(f"wrote {output}", markup=False, highlight=False)


@docs_app.command("components")
def components_cmd(
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help="only components of this plugin (repeatable), e.g. builtin"),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to FILE")] = None,
) -> None:
    """Markdown catalogue of every registered component: summary and parameters."""
    from gancore.kit.catalogue import components_markdown

    _check(output)
    _write(components_markdown(registry(), origin or None), output)


@docs_app.command("hooks")
def hooks_cmd(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to FILE")] = None,
) -> None:
    """Markdown reference of the plugin hooks (hookspecs)."""
    from gancore.kit.catalogue import hooks_markdown

    _check(output)
    _write(hooks_markdown(), output)


@docs_app.command("kinds")
def kinds_cmd(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to FILE")] = None,
    update: Annotated[
        Path | None,
        typer.Option("--update", help="replace the reference inside this Markdown file "
                     "(docs/plugins.md)"),
    ] = None,
) -> None:
    """The authoring reference of every component kind (protocol, arguments, checks, example)."""
    from gancore.kit.catalogue import kinds_markdown, with_kinds_reference

    _check(output or update)
    if update is not None:
        from gancore.core.errors import GancoreError

        try:
            text = update.read_text(encoding="utf-8")
        except OSError as exc:
            raise GancoreError(f"cannot read: {exc.strerror}", source=str(update)) from None
        _write(with_kinds_reference(text, source=str(update)), update)
    else:
        _write(kinds_markdown(), output)


def register(app: typer.Typer) -> None:
    """Add ``new-plugin`` and ``docs`` to the CLI."""
    app.command("new-plugin")(new_plugin_cmd)
    app.add_typer(docs_app, name="docs")
