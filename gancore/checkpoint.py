"""Self-describing checkpoints: one safetensors file, nothing unpickled.

Tensors are namespaced by network (``generator.``, ``discriminator.``, ``ema.``, and whatever
else the trainer stores, such as optimizer state). The metadata holds the resolved recipe
(JSON), the format version, gancore's and the plugin packs' versions, the packs providing each
component used, the seed and the step, so :func:`load` rebuilds the GAN from the file alone.
Writes go to a temporary file in the same folder, then replace the target atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gancore.errors import CheckpointError, GancoreError

if TYPE_CHECKING:
    import torch

    from gancore.builder import GAN
    from gancore.registry import Registry

FORMAT = "gancore-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """The raw contents of a checkpoint file."""

    path: str
    meta: dict[str, str]
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def recipe(self) -> dict[str, Any]:
        return json.loads(self.meta["recipe"])

    @property
    def step(self) -> int:
        return int(self.meta.get("step", 0))

    def section(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors under ``prefix.`` with the prefix removed."""
        p = prefix + "."
        return {k[len(p) :]: v for k, v in self.tensors.items() if k.startswith(p)}


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``.

    A crash or a full disk leaves the previous file untouched and no partial file behind.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def component_origins(recipe: dict[str, Any], registry: Registry) -> dict[str, str]:
    """``"kind:name" -> "pack==version"`` for every plugin-pack component a recipe uses."""
    from gancore.plugins import BUILTIN_NAME, component_pack

    used: set[tuple[str, str]] = set()

    def walk(node: Any, kind: str) -> None:
        if isinstance(node, dict) and "type" in node:
            used.add((kind, node["type"]))
            for value in node.values():
                if isinstance(value, dict) and "type" in value:
                    walk(value, "block")
                elif isinstance(value, list):
                    for v in value:
                        walk(v, "block")

    for section, kind in (
        ("data", "dataset"),
        ("generator", "generator"),
        ("discriminator", "discriminator"),
        ("loss", "loss"),
    ):
        walk(recipe.get(section), kind)
    for section, kind in (("penalty", "penalty"), ("augment", "augment")):
        for spec in recipe.get(section) or []:
            walk(spec, kind)
    out = {}
    for kind, name in sorted(used):
        if (kind, name) in registry and registry.get(kind, name).origin != BUILTIN_NAME:
            entry = registry.get(kind, name)
            pack = component_pack(registry, kind, name) or entry.origin
            out[f"{kind}:{name}"] = f"{pack}=={entry.origin_version or '?'}"
    return out


def save(
    gan: GAN,
    path: str | Path,
    *,
    step: int = 0,
    extra_tensors: Mapping[str, torch.Tensor] | None = None,
    extra_meta: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> Path:
    """Save a GAN's weights with its resolved recipe; returns the path written."""
    import torch
    from safetensors.torch import save as st_save

    from gancore import __version__
    from gancore.plugins import get_registry

    registry = registry or get_registry()
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        for name, value in module.state_dict().items():
            tensors[f"{prefix}.{name}"] = value
    for name, value in (extra_tensors or {}).items():
        tensors[name] = value
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    recipe = gan.recipe.to_dict()
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "gancore_version": __version__,
        "recipe": json.dumps(recipe, sort_keys=True),
        "plugins": json.dumps({k: v for k, v in registry.origins().items() if v}, sort_keys=True),
        "components": json.dumps(component_origins(recipe, registry), sort_keys=True),
        "seed": gan.meta.get("seed", str(gan.recipe.seed)),
        "step": str(step),
        "torch_version": torch.__version__,
    }
    meta.update(extra_meta or {})
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(
            "is a folder", source=str(path), hint="give a file name ending in .safetensors"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_bytes(path, st_save(tensors, metadata=meta))
    except OSError as exc:
        raise CheckpointError(
            f"cannot write the checkpoint: {exc.strerror or exc}",
            source=str(path),
            hint="free disk space or choose a writable "
            "folder; any previous checkpoint there is intact",
        ) from None
    return path


def read(path: str | Path, *, tensors: bool = True) -> Checkpoint:
    """Read a checkpoint's metadata (and tensors) with checks; never unpickles."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            "checkpoint file not found",
            source=str(path),
            hint="give the path to a .safetensors file written by gancore",
        )
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            _check_meta(meta, path)
            data = {k: fh.get_tensor(k) for k in fh.keys()} if tensors else {}
    except SafetensorError as exc:
        raise CheckpointError(
            f"corrupt or truncated checkpoint ({exc})",
            source=str(path),
            hint="use an earlier checkpoint (e.g. the run's step_*.safetensors)",
        ) from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"unreadable checkpoint: {exc}", source=str(path)) from None
    return Checkpoint(str(path), meta, data)


def _check_meta(meta: dict[str, str], path: Path) -> None:
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            "not a gancore checkpoint (no gancore metadata)",
            source=str(path),
            hint="gancore loads only files it wrote with `gancore build -o`, "
            "`gancore train` or gancore.save",
        )
    try:
        version = int(meta.get("format_version", "0"))
    except ValueError:
        version = 10**9
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"written in checkpoint format {version} by gancore "
            f"{meta.get('gancore_version', '?')}; this gancore reads format {FORMAT_VERSION}",
            source=str(path),
            hint="upgrade: pip install -U gancore",
        )
    if "recipe" not in meta:
        raise CheckpointError("the checkpoint carries no recipe", source=str(path))


def check_components(ckpt: Checkpoint, registry: Registry) -> None:
    """Raise "install <pack>" when a component the checkpoint uses is not registered."""
    components = json.loads(ckpt.meta.get("components", "{}"))
    for key, pack in components.items():
        kind, name = key.split(":", 1)
        if (kind, name) not in registry:
            dist = pack.split("==")[0]
            raise CheckpointError(
                f"this checkpoint uses {kind} {name!r} from the plugin pack "
                f"{dist!r}, which is not installed",
                source=ckpt.path,
                hint=f"install it: pip install {dist}",
            )


def load(
    path: str | Path, *, registry: Registry | None = None, device: str = "cpu", ema: bool = False
) -> GAN:
    """Rebuild a GAN from a checkpoint file alone (with EMA generator weights if ``ema``)."""
    from gancore.builder import build
    from gancore.plugins import get_registry
    from gancore.recipe import validate_recipe

    registry = registry or get_registry()
    ckpt = read(path)
    check_components(ckpt, registry)
    try:
        recipe = validate_recipe(ckpt.recipe, source=str(path))
        gan = build(recipe, registry=registry, seed=int(ckpt.meta.get("seed", 0)))
    except GancoreError as exc:
        raise exc.located(source=str(path)) from None
    g_state = ckpt.section("ema") if ema and ckpt.section("ema") else ckpt.section("generator")
    try:
        gan.generator.load_state_dict(g_state)
        gan.discriminator.load_state_dict(ckpt.section("discriminator"))
    except RuntimeError as exc:
        raise CheckpointError(
            f"weights do not match the recipe: {str(exc).splitlines()[0]}", source=str(path)
        ) from None
    gan.meta.update(ckpt.meta)
    gan.step = ckpt.step  # type: ignore[attr-defined]
    return gan.to(device)
