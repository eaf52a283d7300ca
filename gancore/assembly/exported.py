"""Reading an export folder (``gancore export`` writes it; :mod:`gancore.export.folder`):
its manifest, and the gancore checkpoint inside that :func:`gancore.load` rebuilds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gancore.core.errors import CheckpointError
from gancore.core.values import is_int

MANIFEST = "export.json"
FORMAT = "gancore-export"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CARD = "README.md"
SAMPLES = "samples.png"
RECIPE = "recipe.toml"


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of an export folder; one :class:`CheckpointError` when it is not one."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise CheckpointError(
            f"not a gancore export folder (no {MANIFEST})", source=str(folder),
            hint="give a folder written by `gancore export`, or a .safetensors checkpoint "
            "(a run folder's checkpoint is its last.safetensors)",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"damaged export manifest: {exc}", source=str(path),
                              hint="export the checkpoint again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{MANIFEST} is not a gancore export manifest", source=str(path),
                              hint="export the checkpoint again")
    version = data.get("format_version")
    if not is_int(version) or version < 1:
        raise CheckpointError(f"damaged export manifest: format_version is {version!r}",
                              source=str(path), hint="export the checkpoint again")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"written in export format {version} by gancore "
            f"{data.get('gancore_version', '?')}; this gancore reads format {FORMAT_VERSION}",
            source=str(path), hint="upgrade: pip install -U gancore",
        )
    return data


def is_export(folder: str | Path) -> bool:
    """Whether ``folder`` holds a readable export manifest."""
    try:
        read_manifest(folder)
    except CheckpointError:
        return False
    return True


def weights_file(folder: str | Path) -> Path:
    """The checkpoint inside an export folder (what ``gancore.load(folder)`` reads)."""
    manifest = read_manifest(folder)
    name = manifest.get("files", {}).get("weights", WEIGHTS)
    path = Path(folder) / str(name)
    if Path(name).name != name or not path.is_file():
        raise CheckpointError(f"the export folder has no {name}", source=str(folder),
                              hint="export the checkpoint again")
    return path
