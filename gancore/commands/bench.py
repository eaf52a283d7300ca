"""``gancore bench``: images/s of every numerics candidate of a recipe on this machine."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gancore.commands.build import SetOption
from gancore.commands.common import console, print_json, registry


def bench_cmd(
    recipe: Annotated[str, typer.Argument(help="recipe file or bundled recipe name")],
    overrides: SetOption = None,
    seconds: Annotated[
        float, typer.Option("--seconds", min=0.1, max=600.0,
                            help="timed seconds per candidate (after one warm-up step)")
    ] = 2.0,
    with_compile: Annotated[
        bool, typer.Option("--compile", help="also time torch.compile of each candidate "
                           "(compiling takes tens of seconds each)")
    ] = False,
    save: Annotated[
        bool, typer.Option("--save/--no-save",
                           help="store the choice in the numerics cache used by train")
    ] = True,
    data: Annotated[
        bool, typer.Option("--data/--no-data",
                           help="also measure the recipe's data path against the step")
    ] = True,
    data_root: Annotated[
        str | None, typer.Option("--data-root", help="folder holding the dataset's files")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the table as JSON")] = False,
) -> None:
    """Time RECIPE's training step under each precision and memory format; mark the choice.

    The candidates are those that `train.precision = "auto"` and `train.channels_last = "auto"`
    choose from (fp32, bf16 autocast where the device supports it, each with channels_last on
    and off; on CUDA also TF32 and fp16 with a gradient scaler). A recipe that fixes either
    setting narrows the list. The fastest candidate that stays finite is the choice, and it is
    cached for `gancore train` unless --no-save. Then the recipe's data path (its dataset,
    batched as training batches it) is timed against the chosen step: when the data cannot
    keep up, the fix is named (prepare the data, or more train.num_workers).
    """
    import gancore
    from gancore.train import distributed as dist_mod
    from gancore.train import numerics
    from gancore.train.trainer import pick_device

    gan = gancore.build(recipe, overrides=overrides or [], registry=registry())
    cfg = gan.recipe.train
    device = pick_device(cfg.device, dist_mod.DistInfo())
    if cfg.threads > 0:
        import torch

        torch.set_num_threads(cfg.threads)
    gan.to(device)
    images = len(gan.data.shape) == 3
    cands = numerics.candidates(device, images=images, precision=cfg.precision,
                                channels_last=cfg.channels_last, compile=with_compile)
    probe = numerics.probe_for(gan, cfg.batch_size, device,
                              joint=any(t.type == "joint_d_pass" for t in cfg.techniques))
    label = escape(gan.recipe.recipe.name or recipe)
    if not as_json:
        console.print(f"{label}: batch {cfg.batch_size}, data {tuple(gan.data.shape)}, "
                      f"{escape(numerics.device_model(device))} ({device}), "
                      f"{numerics.threads_text(device)}")

    def progress(t: numerics.Timing) -> None:
        if not as_json:
            rate = f"{t.images_per_s:.1f} images/s" if t.safe else escape(t.problem or "failed")
            console.print(f"  {escape(t.candidate.label)}: {rate}", highlight=False)

    timings = numerics.measure(probe, cands, seconds, progress=progress)
    by_rule = numerics.rule(device, images=images, precision=cfg.precision,
                            channels_last=cfg.channels_last)
    best = numerics.fastest([t for t in timings if not t.candidate.compile], prefer=by_rule)
    cache = None
    if best is not None and save:
        sig = numerics.signature_for(gan.recipe, cfg.batch_size, gan.data.shape, device)
        choice = numerics.Choice(best.candidate, "measured",
                                 [t for t in timings if not t.candidate.compile])
        cache = numerics.write_cache(numerics.cache_key(device, sig), choice)
    data_check, data_problem = None, None
    if data and best is not None and images:
        data_check, data_problem = _data_path(gan, best.images_per_s, device, data_root)
    fp32 = next((t.images_per_s for t in timings
                 if t.candidate == numerics.Candidate("fp32", False) and t.safe), None)
    if as_json:
        print_json({
            "recipe": gan.recipe.recipe.name or recipe,
            "device": numerics.device_model(device),
            "batch_size": cfg.batch_size,
            "candidates": [
                {"candidate": t.candidate.key, "label": t.candidate.label,
                 "images_per_s": round(t.images_per_s, 2), "steps": t.steps,
                 "problem": t.problem, "chosen": best is not None and t is best}
                for t in timings
            ],
            "choice": best.candidate.key if best else None,
            "cache": str(cache) if cache else None,
            "data_path": (data_check.as_dict() if data_check is not None
                          else {"error": data_problem} if data_problem else None),
        })
        return
    table = Table(title=f"numerics candidates of {label}", title_justify="left")
    table.add_column("candidate")
    table.add_column("images/s", justify="right")
    table.add_column("vs fp32", justify="right")
    table.add_column("steps", justify="right")
    table.add_column("")
    for t in timings:
        mark = "[bold green]<- chosen[/]" if best is not None and t is best else ""
        if not t.safe:
            mark = f"[red]refused: {escape(t.problem or 'failed')}[/]"
        ratio = f"{t.images_per_s / fp32:.2f}x" if fp32 and t.safe else ""
        table.add_row(escape(t.candidate.label), f"{t.images_per_s:.1f}" if t.safe else "-",
                      ratio, str(t.steps), mark)
    console.print(table)
    if with_compile:
        console.print("torch.compile rows are for information: train uses compile only when "
                      "train.compile = true.")
    if best is None:
        console.print("[red]no candidate ran without errors[/]")
        raise typer.Exit(1)
    if cache is not None:
        console.print(f"choice cached in {escape(str(cache))} for gancore train")
    if data_check is not None:
        message = data_check.message()
        console.print(f"[yellow]warning:[/] {escape(message)}" if message
                      else escape(data_check.summary()), highlight=False)
    elif data_problem:
        console.print(f"data path not measured: {escape(data_problem)}", highlight=False)


def _data_path(gan: object, step_images_per_s: float, device: object,
               data_root: str | None) -> tuple[object | None, str | None]:
    """The recipe's data path measured against the step, or why it could not be."""
    import json

    from gancore.core.errors import GancoreError
    from gancore.recipe import load_recipe, resolve
    from gancore.train.batches import make_batches
    from gancore.train.datapath import check_data_path

    recipe = gan.recipe  # type: ignore[attr-defined]
    reg = registry()
    try:
        if data_root is not None:
            entry = reg.get("dataset", recipe.data, key="data.type")
            if "root" in entry.params_model().model_fields:
                recipe = resolve(load_recipe(recipe, [f"data.root={json.dumps(data_root)}"]),
                                 reg)
        dataset = reg.make("dataset", recipe.data, key="data", source=recipe.source)
        cfg = recipe.train
        batches = make_batches(dataset, cfg.batch_size, recipe.seed, device,
                               num_workers=cfg.num_workers)
        return check_data_path(batches, step_images_per_s, dataset=recipe.data.type), None
    except GancoreError as exc:
        return None, exc.message + (f" ({exc.hint})" if exc.hint else "")
    except OSError as exc:
        return None, f"cannot read the dataset: {exc}"


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the CLI."""
    app.command("bench")(bench_cmd)
