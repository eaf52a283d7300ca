"""``gancore build``: validate, assemble, shape-check and summarise a recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gancore.commands.common import console, print_json, registry, warn

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="override a recipe key: --set train.steps=100 (TOML value)"),
]


def build_cmd(
    recipe: Annotated[str, typer.Argument(help="recipe file or bundled recipe name")],
    overrides: SetOption = None,
    seed: Annotated[
        int | None, typer.Option(help="initialisation seed (default: recipe's)")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="save the initialised weights (.safetensors)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    print_recipe: Annotated[
        bool, typer.Option("--print-recipe", help="print the resolved recipe as TOML")
    ] = False,
) -> None:
    """Validate and assemble RECIPE, run a dummy forward pass and summarise both networks."""
    import gancore
    from gancore.assembly.summary import summarize

    if output is not None:
        from gancore.storage.io import check_writable

        check_writable(output, what="the checkpoint")  # before building anything
    gan = gancore.build(recipe, overrides=overrides or [], registry=registry(), seed=seed,
                        echo=warn)
    summary = summarize(gan)
    if output is not None:
        gancore.save(gan, output, registry=registry())
    if as_json:
        print_json(
            {
                "recipe": gan.recipe.recipe.name or recipe,
                "data": {
                    "type": gan.recipe.data.type,
                    "shape": list(gan.data.shape),
                    "num_classes": gan.data.num_classes,
                },
                **{k: v.as_dict() for k, v in summary.items()},
                "saved": str(output) if output else None,
            }
        )
        return
    if print_recipe:
        console.print(gan.recipe.to_toml(), markup=False, highlight=False)
    for kind, s in summary.items():
        table = Table(title=f"{kind} ({escape(getattr(gan.recipe, kind).type)})",
                      title_justify="left")
        table.add_column("layer")
        table.add_column("type")
        table.add_column("output shape", justify="right")
        table.add_column("params", justify="right")
        table.add_column("layers", overflow="fold")
        for row in s.layers:
            table.add_row(escape(row.name), escape(row.type), str(tuple(row.output_shape)),
                          f"{row.params:,}", escape(row.layers))
        table.add_section()
        table.add_row("total", "", str(tuple(s.output_shape)), f"{s.params:,}", "")
        console.print(table)
    name = gan.recipe.recipe.name or recipe
    console.print(
        f"[green]ok[/] {escape(name)}: data {escape(gan.recipe.data.type)} "
        f"{tuple(gan.data.shape)}, "
        f"G {summary['generator'].params:,} + D {summary['discriminator'].params:,} "
        "parameters"
    )
    if output is not None:
        console.print(f"saved initial weights to {escape(str(output))}", highlight=False)


def check_cmd(
    recipes: Annotated[list[str], typer.Argument(
        help="recipe files, bundled recipe names or study files (every variant is checked)")],
    overrides: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False,
) -> None:
    """Check what RECIPES' components need from each other: conflicts (errors), known hazards
    (warnings) and deprecated keys, each with the recipe key at fault and the fix.

    Exits with 1 when a recipe has an error, 0 otherwise. Nothing is built or trained.
    """
    from gancore.evaluation.study import is_study_file, load_study
    from gancore.recipe import load_recipe, resolve

    reg = registry()
    targets: list[tuple[str, str, list[str]]] = []
    for arg in recipes:
        if is_study_file(arg):
            study = load_study(arg)
            targets += [(f"{arg} [{e.name}]", e.recipe or arg, [*e.overrides]) for e in
                        study.entries if e.recipe]
        else:
            targets.append((arg, arg, []))
    report = []
    for label, recipe, own in targets:
        resolved = resolve(load_recipe(recipe, [*own, *(overrides or [])]), reg)
        report.append((label, resolved.findings))
    if as_json:
        print_json([{"recipe": label, "findings": [
            {"level": f.level, "component": f.component, "key": f.key, "message": f.message,
             "fix": f.fix} for f in findings]} for label, findings in report])
    else:
        colour = {"error": "red", "warning": "yellow", "deprecated": "cyan"}
        for label, findings in report:
            if not findings:
                console.print(f"[green]ok[/] {escape(label)}: no conflicts, hazards or "
                              "deprecated keys", highlight=False)
                continue
            for f in findings:
                where = f.key if f.component.startswith(f.key) else f"{f.key}: {f.component}"
                console.print(f"[{colour.get(f.level, 'white')}]{f.level}:[/] {escape(label)}: "
                              f"{escape(where)}: {escape(f.message)}\n"
                              f"  fix: {escape(f.fix)}", highlight=False, soft_wrap=True)
    if any(f.level == "error" for _, findings in report for f in findings):
        raise typer.Exit(1)
