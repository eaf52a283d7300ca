"""``gancore data inspect``: what a recipe's ``data.filters`` keep and drop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gancore.commands.common import console, err_console, print_json, registry

data_app = typer.Typer(help="Look at a recipe's training data.", no_args_is_help=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="override a recipe key: --set train.steps=100 (TOML value)"),
]


@data_app.command("inspect")
def inspect_cmd(
    recipe: Annotated[str, typer.Argument(help="recipe file or bundled recipe name")],
    overrides: SetOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="folder for dropped.png and scores.png "
                     "(default: data-inspect/<recipe name>)"),
    ] = None,
    data_root: Annotated[
        str | None, typer.Option("--data-root", help="folder holding the dataset's files")
    ] = None,
    max_images: Annotated[
        int, typer.Option("--max-images", min=1, max=1024,
                          help="most dropped images shown in dropped.png")
    ] = 64,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Run RECIPE's data.inject_noise and data.filters as training would; show what they drop.

    Writes dropped.png (the dropped images) and scores.png (scores with the threshold marked).
    """
    from gancore.assembly.build import data_spec
    from gancore.data.filters import prepare_training_data
    from gancore.data.inspect import inspect_summary, save_dropped_grid, save_score_histogram
    from gancore.errors import DataError, GancoreError
    from gancore.io import check_writable_dir
    from gancore.recipe import load_recipe, resolve

    reg = registry()
    loaded = load_recipe(recipe, overrides or [])
    if data_root is not None:
        entry = reg.get("dataset", loaded.data.type, key="data.type")
        if "root" in entry.params_model().model_fields:
            loaded = load_recipe(loaded, [f"data.root={json.dumps(data_root)}"])
    resolved = resolve(loaded, reg)
    name = resolved.recipe.name or Path(recipe).stem
    folder = out if out is not None else Path("data-inspect") / name
    check_writable_dir(folder, what="the --out folder")  # before any data is read
    spec = data_spec(resolved, reg)
    try:
        dataset = reg.make("dataset", resolved.data, key="data", source=resolved.source)
    except GancoreError as exc:
        raise exc.located(source=resolved.source) from None
    except OSError as exc:
        raise DataError(f"cannot read the dataset: {exc}", key="data") from None
    data = prepare_training_data(
        dataset, resolved, reg, num_classes=spec.num_classes,
        echo=lambda text: err_console.print(text, markup=False, highlight=False, soft_wrap=True),
    )
    shown = save_dropped_grid(data, folder / "dropped.png", max_images)
    panels = save_score_histogram(data, folder / "scores.png")
    summary = inspect_summary(data, spec.num_classes)
    summary["recipe"] = name
    summary["written"] = [str(folder / f) for f, n in (("dropped.png", shown),
                                                      ("scores.png", panels)) if n]
    if as_json:
        print_json(summary)
        return
    _print(summary, resolved.data.type, resolved.data.inject_noise)


def _print(summary: dict, dataset: str, noise: float) -> None:
    line = f"{escape(dataset)}: {summary['images']} images"
    if summary["planted_noise"]:
        line += (f", {summary['planted_noise']} of them planted noise "
                 f"(data.inject_noise = {noise:g})")
    console.print(line, highlight=False)
    for step in summary["filters"]:
        text = (f"  {escape(step['key'])} ({escape(step['type'])}): kept {step['kept']} of "
                f"{step['received']}, dropped {step['dropped']}")
        if step["repeats"]:
            text += f", {step['repeats']} repeats"
        if step["from_cache"]:
            text += " (cached)"
        console.print(text, highlight=False)
    text = (f"[green]kept[/] {summary['kept']} of {summary['images']} images, dropped "
            f"{summary['dropped']}; training draws from {summary['training_items']} items")
    console.print(text, highlight=False)
    if summary["planted_noise"]:
        console.print(f"planted noise dropped: {summary['planted_noise_dropped']} of "
                      f"{summary['planted_noise']}", highlight=False)
    if summary.get("classes"):
        table = Table(title="per class", title_justify="left")
        for column in ("class", "images", "kept", "dropped", "training items"):
            table.add_column(column, justify="right")
        for row in summary["classes"]:
            table.add_row(str(row["class"]), str(row["before"]), str(row["kept"]),
                          str(row["dropped"]), str(row["training_items"]))
        console.print(table)
    if summary["written"]:
        console.print("wrote " + escape(", ".join(summary["written"])), highlight=False)
    else:
        console.print("no image was dropped and no filter gives scores: nothing to draw",
                      highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``data`` (``data inspect``) to the CLI."""
    app.add_typer(data_app, name="data")
