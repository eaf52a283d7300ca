"""``gancore plugins``, ``list``, ``show``, ``recipes`` and ``schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from gancore.commands.common import console, plugins, print_json, registry


def plugins_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List plugin packs: name, version, status and components."""
    loaded = plugins(warn=False)
    rows = [p.as_dict() for p in loaded.plugins]
    if as_json:
        print_json(rows)
        return
    table = Table(title="gancore plugins")
    for col in ("name", "version", "status", "components", "details"):
        table.add_column(col)
    for p in loaded.plugins:
        colour = {"loaded": "green", "failed": "red", "blocked": "yellow"}.get(p.status, "")
        details = [escape(p.error or (p.dist or ""))]
        details += [f"[yellow]clash:[/] {escape(c)}" for c in p.clashes]
        details += [f"override: {escape(o)}" for o in p.overrides]
        details += [f"[cyan]shared name:[/] {escape(n)}" for n in p.shared]
        table.add_row(
            escape(p.name),
            escape(p.version or ""),
            f"[{colour}]{p.status}[/]",
            str(len(p.components)),
            "\n".join(d for d in details if d),
        )
    console.print(table)


def list_cmd(
    kind: Annotated[str | None, typer.Argument(help="component kind, or a name pattern")] = None,
    pattern: Annotated[str, typer.Argument(help="fnmatch pattern, e.g. '*res*'")] = "*",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List registered components, optionally of one KIND and matching PATTERN."""
    from gancore.core.errors import GancoreError, suggest
    from gancore.core.kinds import KINDS

    reg = registry()
    if kind is not None and kind not in KINDS:
        if any(c in kind for c in "*?[") or pattern == "*":
            kind, pattern = None, kind if any(c in kind for c in "*?[") else f"*{kind}*"
        else:
            raise GancoreError(
                f"unknown component kind {kind!r}{suggest(kind, KINDS)}",
                hint="kinds: " + ", ".join(KINDS),
            )
    entries = list(reg.entries(kind, pattern))
    if as_json:
        print_json(
            [
                {"kind": e.kind, "name": e.name, "origin": e.origin, "summary": e.summary}
                for e in entries
            ]
        )
        return
    table = Table(title=escape(f"{kind or 'components'} matching {pattern!r}"))
    for col in ("kind", "name", "from", "summary"):
        table.add_column(col)
    for e in entries:
        table.add_row(escape(e.kind), escape(e.name), escape(e.origin), escape(e.summary))
    console.print(table)


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("gancore.core.refs.", "")


def show_cmd(
    kind: Annotated[str, typer.Argument(help="component kind")],
    name: Annotated[str, typer.Argument(help="component name")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show a component's parameters, defaults and documentation."""
    import inspect

    from pydantic_core import PydanticUndefined

    entry = registry().get(kind, name)
    model = entry.params_model()
    params = []
    for pname, f in model.model_fields.items():
        default = (
            "(required)"
            if f.default is PydanticUndefined and f.default_factory is None
            else (f.default_factory() if f.default_factory else f.default)
        )
        if hasattr(default, "model_dump"):
            default = default.model_dump()
        elif isinstance(default, list):
            default = [d.model_dump() if hasattr(d, "model_dump") else d for d in default]
        params.append(
            {
                "name": pname,
                "type": _type_name(f.annotation),
                "default": default,
                "description": f.description or "",
            }
        )
    doc = inspect.getdoc(entry.load()) or entry.summary
    if as_json:
        print_json(
            {
                "kind": kind,
                "name": name,
                "origin": entry.origin,
                "overrides": entry.overrides,
                "summary": entry.summary,
                "doc": doc,
                "params": params,
            }
        )
        return
    origin = entry.origin + (f", overriding {entry.overrides}'s" if entry.overrides else "")
    console.print(f"[bold]{escape(kind)} {escape(name)}[/]  (from {escape(origin)})")
    console.print(doc, markup=False, highlight=False)
    table = Table()
    for col in ("parameter", "type", "default", "description"):
        table.add_column(col)
    for p in params:
        table.add_row(*(escape(text) for text in (
            p["name"], p["type"], json.dumps(p["default"], default=str), p["description"])))
    console.print(table)


def _recipe_summary(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line:
            break
    return ""


def _recipe_data(path: Path) -> dict[str, Any]:
    """``data``, ``image_size`` and ``steps`` of the recipe at ``path`` (None where it cannot
    be read: ``gancore check`` says why)."""
    from gancore.core.errors import GancoreError
    from gancore.recipe import load_recipe
    from gancore.recipe.data_identity import bare

    try:
        recipe = load_recipe(str(path)).to_dict()
    except GancoreError:
        return {"data": None, "image_size": None, "steps": None}
    data = recipe.get("data") or {}
    return {"data": bare(str(data.get("type"))) if data.get("type") else None,
            "image_size": data.get("image_size"), "steps": recipe["train"]["steps"]}


def recipes_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the recipes bundled with gancore and plugin packs."""
    rows = []
    for origin, folder in registry().recipe_dirs:
        for path in sorted(Path(folder).glob("*.toml")):
            rows.append(
                {
                    "name": path.stem,
                    "from": origin,
                    "path": str(path),
                    **_recipe_data(path),
                    "summary": _recipe_summary(path),
                }
            )
    if as_json:
        print_json(rows)
        return
    table = Table(title="bundled recipes")
    for col in ("name", "from", "data", "size", "steps", "summary"):
        table.add_column(col, justify="right" if col in ("size", "steps") else "left")
    for r in rows:
        size = r["image_size"]
        table.add_row(escape(r["name"]), escape(r["from"]), escape(r["data"] or "?"),
                      f"{size}×{size}" if isinstance(size, int) else str(size or "-"),
                      f"{r['steps']:,}" if r["steps"] else "?", escape(r["summary"]))
    console.print(table)


def schema_cmd(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to FILE")] = None,
) -> None:
    """Write the JSON Schema of recipes, with every registered component."""
    from gancore.recipe import json_schema
    from gancore.storage.io import atomic_write_text, check_writable

    if output is not None:
        check_writable(output, what="the -o file")
    text = json.dumps(json_schema(registry()), indent=2)
    if output is None:
        print(text)
    else:
        atomic_write_text(output, text, what="the -o file")
        console.print(f"wrote {output}", markup=False, highlight=False)
