"""``gancore train`` and ``gancore sample``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gancore.commands.common import console, err_console, registry

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="override a recipe key: --set train.steps=100 (TOML value)"),
]


def train_cmd(
    recipe: Annotated[str, typer.Argument(help="recipe file or bundled recipe name")],
    data_root: Annotated[
        str | None, typer.Option("--data-root", help="folder holding the dataset's files")
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", help="total generator updates (train.steps)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="run folder (default: runs/<recipe name>)"),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue the run in --out from last.safetensors")
    ] = False,
    init_from: Annotated[
        Path | None,
        typer.Option("--init-from", help="start from another run's weights (fine-tuning)"),
    ] = None,
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    tracker: Annotated[
        list[str] | None,
        typer.Option("--tracker", help="also log to this tracker: tensorboard, mlflow, wandb, "
                     "or a pack's (repeatable)"),
    ] = None,
) -> None:
    """Train RECIPE, writing logs, sample grids and checkpoints to a run folder."""
    from gancore.recipe import load_recipe
    from gancore.train.trainer import Trainer

    if out is None:
        name = load_recipe(recipe, overrides or []).recipe.name or Path(recipe).stem
        out = Path("runs") / name
    trainer = Trainer(
        recipe,
        overrides=overrides or [],
        steps=steps,
        out=out,
        resume=resume,
        init_from=init_from,
        data_root=data_root,
        registry=registry(),
        progress=not quiet,
        echo=lambda text: err_console.print(text, markup=False, highlight=False),
        trackers=tracker or (),
    )
    try:
        if trainer.is_main:
            cfg = trainer.cfg
            own = " (the run's own target; --steps N sets another)" if resume and not steps else ""
            err_console.print(
                f"training {trainer.recipe.recipe.name or recipe} on {trainer.device} "
                f"({trainer.precision}{', channels_last' if trainer.channels_last else ''}"
                f"{f', {trainer.dist.world_size} processes' if trainer.dist.enabled else ''}) "
                f"from step {trainer.step} to {cfg.steps}{own} -> {out}",
                markup=False,
                highlight=False,
            )
        result = trainer.fit()
    finally:
        trainer.close()
    if trainer.is_main:
        how = "done" if result.stopped is None else "stopped"
        console.print(
            f"[green]{how}[/] step {result.step}: {result.images_per_s:.0f} images/s, "
            f"checkpoint {escape(str(result.checkpoint))}"
            + (f" ({escape(result.stopped)})" if result.stopped else ""), highlight=False
        )


def sample_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="a .safetensors checkpoint or a run folder")],
    n: Annotated[int, typer.Option("-n", help="number of samples")] = 64,
    grid: Annotated[
        Path | None, typer.Option("--grid", help="write a PNG grid (scatter plot for 2D data)")
    ] = None,
    npy: Annotated[Path | None, typer.Option("--npy", help="write the samples as .npy")] = None,
    klass: Annotated[
        int | None, typer.Option("--class", help="class label of every sample")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="noise seed")] = 0,
    truncation: Annotated[
        float | None, typer.Option("--truncation", help="redraw latent values beyond ±T")
    ] = None,
    interpolate: Annotated[
        bool, typer.Option("--interpolate", help="a grid of latent walks between random points")
    ] = False,
    raw: Annotated[
        bool, typer.Option("--no-ema", help="use the raw generator even when EMA weights exist")
    ] = False,
    best: Annotated[bool, typer.Option(
        "--best", help="the run folder's best.safetensors (kept by train.keep_best)")] = False,
) -> None:
    """Draw samples from CHECKPOINT (its EMA generator weights when it keeps them and they have
    seen their horizon of updates, else the raw weights, and it says which; a run folder: its
    last.safetensors, or best.safetensors with --best)."""
    from gancore.evaluation.weights import load_for_scoring
    from gancore.plotting.figures import save_samples
    from gancore.storage.io import check_writable, save_npy
    from gancore.train import sample as sample_mod

    # every option is checked before the checkpoint is loaded or anything is drawn
    sample_mod.check_truncation(truncation)
    if interpolate:
        rows, steps = sample_mod.walk_shape(n)
    else:
        sample_mod.check_count(n)
    if grid is None and npy is None:
        grid = Path("samples.png")
    for path, what in ((grid, "the --grid file"), (npy, "the --npy file")):
        if path is not None:
            check_writable(path, what=what)
    if best or (checkpoint.is_dir() and (checkpoint / "last.safetensors").is_file()):
        from gancore.evaluation.evaluator import checkpoint_path

        checkpoint = checkpoint_path(checkpoint, best=best)
    gan, weights = load_for_scoring(checkpoint, ema=not raw, registry=registry())
    if weights.note:
        err_console.print(f"note: {weights.note}", highlight=False, markup=False)
    nrow = None
    if interpolate:
        images, _ = sample_mod.interpolate(
            gan, rows, steps, seed=seed, klass=klass, truncation=truncation
        )
        nrow = steps
    else:
        images, _ = sample_mod.sample_images(gan, n, seed=seed, klass=klass, truncation=truncation)
    written = []
    if grid is not None:
        save_samples(images, grid, nrow=nrow)
        written.append(str(grid))
    if npy is not None:
        save_npy(npy, images.numpy(), what="the --npy file")
        written.append(str(npy))
    console.print(f"[green]wrote[/] {len(images)} samples ({weights.label} G weights) to "
                  f"{escape(', '.join(written))}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``sample`` to the CLI."""
    app.command("train")(train_cmd)
    app.command("sample")(sample_cmd)
