"""``gancore export``: a checkpoint's generator as ONNX, ``torch.export`` and safetensors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gancore.commands.common import console, err_console, registry


def export_cmd(
    checkpoint: Annotated[
        Path, typer.Argument(help="a .safetensors checkpoint, a run folder or an export folder")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="the export folder to write")],
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", metavar="FORMAT",
                     help="onnx, torch-export and/or safetensors (repeatable or comma-separated;"
                     " the weights and the model card are always written)"),
    ] = None,
    no_ema: Annotated[
        bool, typer.Option("--no-ema", help="export the raw generator even when EMA weights "
                           "exist")
    ] = False,
    truncation: Annotated[
        bool, typer.Option("--truncation-input/--no-truncation-input",
                           help="give the exported graphs a truncation input (latents clamped "
                           "to [-T, T])")
    ] = True,
    tolerance: Annotated[
        float, typer.Option("--tolerance", metavar="TOL",
                            help="allowed difference from gancore's images: "
                            "TOL + TOL*|value|")
    ] = 1e-4,
    scores: Annotated[
        Path | None, typer.Option("--scores", metavar="FILE",
                                  help="scores for the model card: a `gancore eval --json` file "
                                  "(default: CHECKPOINT_STEM.eval.json or eval.json beside it)")
    ] = None,
    license: Annotated[
        str, typer.Option("--license", help="the model card's license identifier")
    ] = "unknown",
    force: Annotated[
        bool, typer.Option("--force", help="write into a folder that is not an earlier export")
    ] = False,
) -> None:
    """Export CHECKPOINT's generator (EMA weights when present) to a folder with a model card.

    Each exported graph is run and checked against gancore's own images before the folder is
    written; `gancore.load(FOLDER)` reads the folder back.
    """
    from rich.markup import escape

    from gancore.export.pipeline import export

    with err_console.status("exporting") as status:
        result = export(
            checkpoint, out, formats=formats or ["safetensors"], ema=not no_ema,
            truncation=truncation, force=force, tolerance=tolerance, scores=scores,
            license=license, registry=registry(),
            progress=lambda text: status.update(escape(text)),
        )
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    manifest = result.manifest
    for fmt, record in manifest["checks"].items():
        console.print(f"{fmt}: checked at batch sizes "
                      f"{', '.join(str(c['batch']) for c in record['cases'])}, largest "
                      f"difference {record['max_abs_diff']:.3g}", highlight=False)
    files = ", ".join(manifest["files"].values())
    console.print(f"[green]wrote[/] {escape(str(result.out))}: {escape(files)}",
                  highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the CLI."""
    app.command("export")(export_cmd)
