"""``gancore export``: a checkpoint's generator to a folder that works without the toolkit.

Every input is checked before anything is built (the formats, the tolerance, the destination,
the packages a format needs), then the checkpoint is read and its generator rebuilt (EMA
weights when present). The folder is filled in a temporary place, each exported graph is run
and compared with gancore's own generator, and only then does the folder appear at ``out``
(:mod:`gancore.export.folder`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.core.errors import CheckpointError, ExportError, GancoreError, suggest
from gancore.core.values import is_number
from gancore.export import folder as folder_mod
from gancore.export.checks import Tolerance

if TYPE_CHECKING:
    from gancore.core.registry import Registry

#: The formats ``--format`` takes; ``safetensors`` (the weights and the card) is always written.
FORMATS = ("safetensors", "onnx", "torch-export")
#: Samples in the card's grid (points in the scatter plot of vector data).
GRID_SAMPLES = 64
SCATTER_SAMPLES = 1000


@dataclass
class ExportResult:
    """What :func:`export` wrote: the folder, its manifest, and notes for the user."""

    out: Path
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def parse_formats(values: Sequence[str]) -> list[str]:
    """``--format`` values (repeated or comma-separated), checked; ``safetensors`` first."""
    chosen = ["safetensors"]
    for value in values:
        for name in (v.strip().lower() for v in str(value).split(",")):
            if not name:
                continue
            name = {"torch_export": "torch-export", "pt2": "torch-export"}.get(name, name)
            if name not in FORMATS:
                raise ExportError(f"unknown export format {name!r}{suggest(name, FORMATS)}",
                                  key="--format",
                                  hint="choose from: " + ", ".join(FORMATS))
            if name not in chosen:
                chosen.append(name)
    return chosen


def backend(name: str) -> Any:
    """The module that exports format ``name`` (:mod:`gancore.export.onnx`, ...)."""
    if name == "onnx":
        from gancore.export import onnx

        return onnx
    from gancore.export import torch_export

    return torch_export


def check_tolerance(value: float) -> Tolerance:
    """``--tolerance``: the absolute and the relative part of the allowed difference."""
    if not is_number(value, finite=True) or value <= 0 or value >= 1:
        raise ExportError(f"--tolerance must be a number between 0 and 1 (got {value})",
                          key="--tolerance", hint="e.g. --tolerance 1e-3")
    return Tolerance(atol=float(value), rtol=float(value))


def source_file(path: str | Path) -> Path:
    """The checkpoint to export: a file, a run folder's ``last.safetensors``, or the weights
    of an earlier export folder."""
    path = Path(path)
    if path.is_dir():
        if (path / folder_mod.MANIFEST).is_file():
            return folder_mod.weights_file(path)
        if (path / "last.safetensors").is_file():
            return path / "last.safetensors"
        raise CheckpointError(
            "is a folder, but neither a run folder (no last.safetensors) nor an export "
            f"(no {folder_mod.MANIFEST})", source=str(path),
            hint="give a .safetensors checkpoint written by gancore",
        )
    return path


def export(
    checkpoint: str | Path,
    out: str | Path,
    *,
    formats: Sequence[str] = ("safetensors",),
    ema: bool = True,
    truncation: bool = True,
    force: bool = False,
    tolerance: float = 1e-4,
    scores: str | Path | None = None,
    license: str = "unknown",
    registry: Registry | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export ``checkpoint``'s generator into the folder ``out``; see the module docstring.

    ``formats``: any of :data:`FORMATS`; ``ema``: use the EMA weights when present;
    ``truncation``: give the exported graphs the ``truncation`` input; ``force``: write into a
    folder that holds other things; ``tolerance``: the allowed difference (absolute and
    relative) between an export's output and gancore's; ``scores``: a ``gancore eval --json``
    file (default: found beside the checkpoint); ``license``: the card's license identifier.
    """
    say = progress or (lambda _msg: None)
    chosen = parse_formats(formats)
    tol = check_tolerance(tolerance)
    if not isinstance(license, str) or not license.strip() or any(c in license for c in "\n\r"):
        raise ExportError(f"--license must be a license identifier (got {license!r})",
                          key="--license", hint="e.g. --license mit, or leave it out (unknown)")
    dest = folder_mod.check_destination(Path(out), force=force)
    backends = [backend(name) for name in chosen if name != "safetensors"]
    for b in backends:
        b.require()

    from gancore.assembly import checkpoint as ckpt_mod
    from gancore.export import card as card_mod
    from gancore.packs.loader import get_registry

    registry = registry or get_registry()
    src = source_file(checkpoint)
    say(f"reading {src}")
    ckpt = ckpt_mod.read(src)
    if not ckpt_mod.has_generator(ckpt):
        raise CheckpointError(
            "the checkpoint holds no generator weights (only "
            + (", ".join(sorted({k.split('.', 1)[0] for k in ckpt.tensors})) or "metadata")
            + ")", source=str(src),
            hint="export a checkpoint written by `gancore train` or `gancore build -o`",
        )
    if ckpt_mod.generator_only(ckpt):
        weights = _exported_weights(ckpt)
    else:
        weights = "ema" if ema and ckpt.section("ema") else "raw"
    found, notes = card_mod.find_scores(src, Path(scores) if scores is not None else None,
                                        step=ckpt.step, ema=weights == "ema")
    gan = ckpt_mod.from_checkpoint(ckpt, registry=registry, ema=weights == "ema",
                                   discriminator=False)
    if not ema and weights == "ema" and ckpt_mod.generator_only(ckpt):
        notes.append("--no-ema has no effect: the export being re-exported holds EMA weights")

    with folder_mod.staging(dest) as stage:
        manifest = _write(stage, gan, ckpt, src, chosen, backends, weights, truncation, tol,
                          found, license, registry, say)
        say(f"writing {dest}")
        folder_mod.publish(stage, dest)
    return ExportResult(dest, manifest, notes)


def _exported_weights(ckpt: Any) -> str:
    try:
        meta = json.loads(ckpt.meta["export"])
        return "ema" if meta.get("weights") == "ema" else "raw"
    except (ValueError, TypeError, AttributeError):
        raise CheckpointError("corrupt checkpoint: metadata field 'export' is not a JSON object",
                              source=ckpt.path, hint="export the training checkpoint "
                              "again") from None


def _write(stage: Path, gan: Any, ckpt: Any, src: Path, chosen: list[str], backends: list[Any],
           weights: str, truncation: bool, tol: Tolerance, scores: dict[str, Any] | None,
           license: str, registry: Registry, say: Callable[[str], None]) -> dict[str, Any]:
    import torch

    from gancore.assembly import checkpoint as ckpt_mod
    from gancore.core.version import __version__
    from gancore.export import card as card_mod
    from gancore.export.checks import check, describe_faults, dynamic_shapes, find_faults, reason
    from gancore.export.model import TRACE_BATCH, frozen_copy, signature_of, wrap
    from gancore.storage.io import atomic_write_text

    generator = gan.generator.eval()
    sig = signature_of(gan, truncation=truncation)
    files: dict[str, str] = {"weights": folder_mod.WEIGHTS}
    say("writing the weights")
    export_meta = {"weights": weights, "source": src.name, "source_step": ckpt.step}
    ckpt_mod.save(gan, stage / folder_mod.WEIGHTS, step=ckpt.step, registry=registry,
                  extra_meta={ckpt_mod.EXPORT_KEY: json.dumps(export_meta, sort_keys=True)})

    checks: dict[str, Any] = {}
    exporters: dict[str, Any] = {}
    frozen = frozen_copy(gan, registry)
    wrapper = wrap(frozen, sig)
    args = sig.example(TRACE_BATCH, seed=0, truncation=1.0)
    for b in backends:
        path = stage / b.FILENAME
        say(f"exporting to {b.LABEL}")
        try:
            exporters[b.FORMAT] = b.export(wrapper, args, dynamic_shapes(args), path,
                                           input_names=sig.input_names,
                                           output_name=sig.output_name)
            run = b.load(path)
        except GancoreError:
            raise
        except Exception as exc:  # the exporter's own errors, whatever their type
            why = reason(exc)
            say(f"finding what cannot be exported to {b.LABEL}")
            faults = find_faults(b, wrapper, args, tol, why)
            parts = [f for f in faults if f.path]
            if parts:
                what = ("the part that fails: " if len(parts) == 1
                        else "the parts that fail: ") + describe_faults(parts)
            else:
                what = why + "".join(f" (in {f.made.describe()})" for f in faults)
            raise ExportError(
                f"the generator cannot be exported to {b.LABEL}; {what}",
                source=str(src), key="--format",
                hint="replace the component named in the recipe, ask its pack for an "
                "exportable version, or export to another format; `gancore show KIND NAME` "
                "shows where a component comes from",
            ) from None
        say(f"checking the {b.LABEL} export")
        try:
            checks[b.FORMAT] = check(run, generator, sig, tol, label=b.LABEL)
        except ExportError as exc:
            say(f"finding what computes something else in {b.LABEL}")
            parts = [f for f in find_faults(b, wrapper, args, tol, exc.message) if f.path]
            if parts:
                exc.message += ("; the part that differs: " if len(parts) == 1
                                else "; the parts that differ: ") + describe_faults(parts)
            exc.source = str(src)
            exc.args = (exc.format(),)
            raise
        files[b.FORMAT] = b.FILENAME

    say("drawing the sample grid")
    from gancore.plotting.figures import save_samples
    from gancore.train.sample import sample_images

    n = GRID_SAMPLES if sig.is_image else SCATTER_SAMPLES
    with torch.no_grad():
        images, _ = sample_images(gan, n, seed=0)
    save_samples(images, stage / folder_mod.SAMPLES)
    files["samples"] = folder_mod.SAMPLES
    recipe_toml = gan.recipe.to_toml()
    atomic_write_text(stage / folder_mod.RECIPE, recipe_toml, what="the recipe")
    files["recipe"] = folder_mod.RECIPE
    files["card"] = folder_mod.CARD
    files["manifest"] = folder_mod.MANIFEST
    listed = set(files.values())
    for extra in sorted(p.name for p in stage.iterdir() if p.name not in listed):
        files[extra] = extra  # e.g. an ONNX external-data file

    name = gan.recipe.recipe.name or src.stem
    manifest: dict[str, Any] = {
        "format": folder_mod.FORMAT,
        "format_version": folder_mod.FORMAT_VERSION,
        "name": name,
        "gancore_version": __version__,
        "torch_version": torch.__version__,
        "source": {"checkpoint": src.name, "step": ckpt.step, "weights": weights},
        "formats": chosen,
        "signature": sig.to_dict(),
        "inputs": sig.inputs(),
        "outputs": sig.outputs(),
        "files": files,
        "checks": checks,
        "exporters": exporters,
        "packs": sorted(set(ckpt_mod.component_origins(gan.recipe, registry).values())),
        "license": license,
        "scores": scores,
    }
    recipe = gan.recipe.to_dict()
    text = card_mod.model_card(manifest, recipe, recipe_toml, scores, license=license)
    atomic_write_text(stage / folder_mod.CARD, text, what="the model card")
    atomic_write_text(stage / folder_mod.MANIFEST, json.dumps(manifest, indent=2) + "\n",
                      what="the export manifest")
    return manifest
