"""``gancore cache``: gancore's caches with their sizes; ``gancore cache clear`` empties them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gancore.commands.common import console, print_json

cache_app = typer.Typer(
    help="List gancore's caches ($GANCORE_CACHE, default ~/.cache/gancore) with their sizes, "
    "or clear them.",
    invoke_without_command=True,
)


def human_size(size: int) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


@cache_app.callback()
def cache_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List gancore's caches: kind, entries, size and place (``gancore cache clear`` empties
    them; every entry is recomputed when next needed)."""
    if ctx.invoked_subcommand is not None:
        return
    from gancore.storage.cache import cache_home, usage

    home = cache_home()
    rows = usage(home)
    if as_json:
        print_json({"home": str(home), "kinds": [
            {"kind": u.kind.name, "path": str(u.path), "entries": u.entries, "bytes": u.size,
             "description": u.kind.description} for u in rows]})
        return
    table = Table(title=f"gancore caches in {escape(str(home))}")
    for col in ("kind", "entries", "size", "place", "holds"):
        table.add_column(col, justify="right" if col in ("entries", "size") else "left")
    for u in rows:
        table.add_row(u.kind.name, str(u.entries), human_size(u.size),
                      escape(str(u.path)), escape(u.kind.description))
    total = sum(u.size for u in rows)
    console.print(table)
    console.print(f"{human_size(total)} in all; `gancore cache clear [KIND]` empties them "
                  "(downloaded datasets in $GANCORE_DATA are not a cache and stay)",
                  highlight=False)


@cache_app.command("clear")
def clear_cmd(
    kinds: Annotated[
        list[str] | None,
        typer.Argument(help="kinds to clear: numerics, stats, classifiers, filters "
                       "(default: all)", show_default=False),
    ] = None,
) -> None:
    """Remove the entries of the caches of KINDS (all when none is given)."""
    from gancore.core.errors import GancoreError, suggest
    from gancore.storage.cache import CACHE_KINDS, clear, import_kind_modules

    import_kind_modules()
    for name in kinds or []:
        if name not in CACHE_KINDS:
            raise GancoreError(f"unknown cache kind {name!r}{suggest(name, CACHE_KINDS)}",
                               key="KIND", hint="kinds: " + ", ".join(CACHE_KINDS))
    removed = clear(list(kinds) if kinds else None)
    for u in removed:
        console.print(f"cleared {u.kind.name}: {u.entries} entries, {human_size(u.size)} "
                      f"({escape(str(u.path))})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``cache`` to the CLI."""
    app.add_typer(cache_app, name="cache")
