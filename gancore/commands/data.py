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
    from gancore.core.errors import DataError, GancoreError
    from gancore.data.filters import prepare_training_data
    from gancore.data.inspect import inspect_summary, save_dropped_grid, save_score_histogram
    from gancore.recipe import load_recipe, resolve
    from gancore.storage.io import check_writable_dir

    reg = registry()
    loaded = load_recipe(recipe, overrides or [])
    if data_root is not None:
        entry = reg.get("dataset", loaded.data, key="data.type")
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


OptionOption = Annotated[
    list[str] | None,
    typer.Option("--option", "-o", help="a parameter of a dataset SOURCE: -o split=test "
                 "(TOML value)"),
]


@data_app.command("prepare")
def prepare_cmd(
    source: Annotated[str, typer.Argument(
        help="a folder of images (recursive), an IDX images file, or a dataset name "
             "(cifar10, celeba, mnist, fashion_mnist, shapes, ...)")],
    out: Annotated[Path, typer.Argument(help="the folder to write (must not exist, or be "
                                              "empty, or be a prepared dataset with --overwrite)")],
    size: Annotated[int | None, typer.Option(
        "--size", "-s", min=4, max=4096,
        help="side of the square output images (default: the source's own size, for sources "
             "with one)")] = None,
    channels: Annotated[int, typer.Option("--channels", min=1, max=3,
                                          help="1 (greyscale) or 3 (RGB)")] = 3,
    crop: Annotated[str, typer.Option(
        "--crop", help="centre (the largest centred square), stretch (no crop), a box "
                       "LEFT,TOP,RIGHT,BOTTOM in source pixels, or celeba-face")] = "centre",
    resize_filter: Annotated[str, typer.Option(
        "--filter", help="resize filter: bicubic (antialiased, clean-fid's choice), lanczos, "
                         "bilinear, box, hamming, or nearest (not antialiased)")] = "bicubic",
    labels: Annotated[str, typer.Option(
        "--labels", help="auto (a dataset's or IDX file's own labels, none for folders), "
                         "none, subfolders (one subfolder per class), or a labels file "
                         "(path,label per line; an IDX labels file for IDX sources)")] = "auto",
    background: Annotated[str, typer.Option(
        "--background", help="colour under transparent pixels: white, black or R,G,B")
    ] = "white",
    options: OptionOption = None,
    download: Annotated[bool, typer.Option(
        "--download", help="let a dataset SOURCE download its files (torchvision)")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="refuse when an image cannot be read (default: skip it and list it "
                         "in the manifest)")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", min=1, max=1024,
        help="worker processes (default: the CPUs available)")] = None,
    shard_size: Annotated[int, typer.Option(
        "--shard-size", min=1, max=1_000_000,
        help="images per shard, the unit of parallel work and of resuming")] = 1024,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="replace OUT when it is a prepared dataset")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Decode, crop and resize SOURCE once into OUT, a memory-mappable prepared dataset.

    Train on it with `data.type = "prepared"` and `data.root = "OUT"`. Runs on every core,
    can be interrupted and resumed (run the same command again), and writes OUT only when it
    is complete. Unreadable images are skipped and listed in OUT/manifest.json.
    """
    from gancore.data.prepared.imaging import Settings
    from gancore.data.prepared.sources import open_source
    from gancore.data.prepared.writer import SHOWN_SKIPPED, check_target, prepare
    from gancore.recipe.load import parse_value

    settings_crop = parse_crop(crop)
    settings_background = parse_background(background)
    check_filter(resize_filter)
    if channels == 2:
        from gancore.core.errors import GancoreError

        raise GancoreError("--channels must be 1 or 3 (got 2)", key="--channels",
                           hint="use --channels 1 for greyscale or 3 for RGB")
    check_target(out.expanduser(), overwrite)  # before the source is read
    parsed: dict[str, object] = {}
    for item in options or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            from gancore.core.errors import GancoreError

            raise GancoreError(f"--option {item!r} is not KEY=VALUE", key="--option",
                               hint="e.g. --option split=test")
        parsed[key.strip()] = parse_value(value.strip())
    src = open_source(source, labels=labels, options=parsed, download=download,
                      registry=registry())
    side = size or src.native_size
    if side is None:
        from gancore.core.errors import GancoreError

        raise GancoreError("--size is needed: the images of a folder have no single size",
                           key="--size", hint="e.g. --size 64")
    settings = Settings(side, channels, settings_crop, resize_filter, settings_background)
    echo = (lambda text: None) if as_json else (
        lambda text: err_console.print(text, markup=False, highlight=False, soft_wrap=True))
    result = prepare(src, out, settings, workers=workers, shard_size=shard_size, strict=strict,
                     overwrite=overwrite, progress=not as_json, echo=echo)
    if as_json:
        print_json(result.summary())
        return
    from gancore.data.prepared.manifest import describe_manifest

    m = result.manifest
    line = (f"prepared {describe_manifest(m)} into {escape(str(result.out))} in "
            f"{result.seconds:.1f} s ({m['resize']['filter']} resize, "
            f"{m['crop'].get('preset') or m['crop']['policy']} crop)")
    if result.shards_reused:
        line += f"; {result.shards_reused} of {result.shards} shards reused from an earlier run"
    console.print(line, highlight=False)
    if result.skipped:
        console.print(f"[yellow]skipped {len(result.skipped):,} image(s)[/] (all listed in "
                      f"{escape(str(result.out / 'manifest.json'))}):", highlight=False)
        for entry in result.skipped[:SHOWN_SKIPPED]:
            console.print(f"  {escape(entry['origin'])}: {escape(entry['reason'])}",
                          highlight=False)
        if len(result.skipped) > SHOWN_SKIPPED:
            console.print(f"  ... and {len(result.skipped) - SHOWN_SKIPPED:,} more",
                          highlight=False)
    console.print(f"content hash {m['content_hash']}; train on it with "
                  f'data.type = "prepared", data.root = "{escape(str(result.out))}"',
                  highlight=False)


def parse_crop(text: str) -> str | tuple[int, int, int, int]:
    """``--crop``: a policy, a preset name, or ``LEFT,TOP,RIGHT,BOTTOM``."""
    from gancore.core.errors import GancoreError
    from gancore.data.prepared.imaging import CROP_PRESETS

    value = text.strip().lower()
    if value in ("centre", "center"):
        return "centre"
    if value == "stretch":
        return "stretch"
    if value in CROP_PRESETS:
        return CROP_PRESETS[value]
    parts = value.split(",")
    try:
        box = tuple(int(p) for p in parts)
    except ValueError:
        box = ()
    if len(box) != 4 or box[0] < 0 or box[1] < 0 or box[2] <= box[0] or box[3] <= box[1]:
        raise GancoreError(f"--crop {text!r} is not a policy or a box", key="--crop",
                           hint="use centre, stretch, " + ", ".join(CROP_PRESETS) +
                                ", or LEFT,TOP,RIGHT,BOTTOM with RIGHT > LEFT and BOTTOM > TOP")
    return box  # type: ignore[return-value]


def parse_background(text: str) -> tuple[int, int, int]:
    """``--background``: white, black or ``R,G,B`` (0..255)."""
    from gancore.core.errors import GancoreError

    named = {"white": (255, 255, 255), "black": (0, 0, 0)}
    value = text.strip().lower()
    if value in named:
        return named[value]
    try:
        rgb = tuple(int(p) for p in value.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise GancoreError(f"--background {text!r} is not a colour", key="--background",
                           hint="use white, black or R,G,B with values 0..255")
    return rgb  # type: ignore[return-value]


def check_filter(name: str) -> None:
    """Refuse an unknown ``--filter``."""
    from gancore.core.errors import GancoreError, suggest
    from gancore.data.prepared.imaging import FILTERS

    if name not in FILTERS:
        raise GancoreError(f"unknown --filter {name!r}{suggest(name, FILTERS)}",
                           key="--filter", hint="use one of " + ", ".join(FILTERS))


def register(app: typer.Typer) -> None:
    """Add ``data`` (``data inspect``, ``data prepare``) to the CLI."""
    app.add_typer(data_app, name="data")
