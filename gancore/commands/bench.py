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
    as_json: Annotated[bool, typer.Option("--json", help="print the table as JSON")] = False,
) -> None:
    """Time RECIPE's training step under each precision and memory format; mark the choice.

    The candidates are those that `train.precision = "auto"` and `train.channels_last = "auto"`
    choose from (fp32, bf16 autocast where the device supports it, each with channels_last on
    and off; on CUDA also TF32 and fp16 with a gradient scaler). A recipe that fixes either
    setting narrows the list. The fastest candidate that stays finite is the choice, and it is
    cached for `gancore train` unless --no-save.
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


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the CLI."""
    app.command("bench")(bench_cmd)
