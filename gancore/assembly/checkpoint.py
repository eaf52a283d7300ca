"""Self-describing checkpoints: one safetensors file, nothing unpickled.

Tensors are namespaced by network (``generator.``, ``discriminator.``, ``ema.``, and whatever
else the trainer stores, such as optimizer state). The metadata holds the resolved recipe
(JSON), the format version, gancore's and the plugin packs' versions, the packs providing each
component used, the seed and the step, so :func:`load` rebuilds the GAN from the file alone.
Writes go to a temporary file in the same folder, then replace the target atomically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import torch
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from gancore.core.errors import CheckpointError, GancoreError, WriteError
from gancore.storage.io import atomic_write_bytes, check_writable

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointMeta",
    "OptimizerMeta",
    "TrainerMeta",
    "atomic_write_bytes",
    "check_components",
    "check_state",
    "from_checkpoint",
    "load",
    "parse_meta",
    "read",
    "save",
]

if TYPE_CHECKING:

    from gancore.assembly.build import GAN
    from gancore.core.registry import Registry
    from gancore.recipe import Recipe

FORMAT = "gancore-checkpoint"
FORMAT_VERSION = 1


# -- the metadata, read by one validating model --------------------------------------------
_INT = re.compile(r"^[+-]?[0-9]{1,20}$")
_COMPONENT_KEY = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$")
_PACK_PIN = re.compile(r"^[A-Za-z0-9_.-]+==\S+$")
_SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.manual_seed accepts


def _json(value: Any) -> Any:
    """A metadata string holding JSON, decoded (other values pass through to the type check)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    return value


def _integer(value: Any) -> Any:
    """A metadata string holding a whole number, as an int (``"4.0"``, ``"abc"`` refused)."""
    if isinstance(value, str):
        if not _INT.match(value.strip()):
            raise ValueError(f"must be a whole number (got {value[:40]!r})")
        return int(value)
    return value


def _component_map(value: Any) -> Any:
    if isinstance(value, dict):
        for key, pin in value.items():
            if not isinstance(key, str) or not _COMPONENT_KEY.match(key):
                raise ValueError(f'key {str(key)[:40]!r} is not of the form "kind:name"')
            if not isinstance(pin, str) or not _PACK_PIN.match(pin):
                raise ValueError(f'value of {key!r} is not of the form "pack==version" '
                                 f"(got {str(pin)[:40]!r})")
    return value


JsonField = BeforeValidator(_json)
IntField = BeforeValidator(_integer)


class OptimizerMeta(BaseModel):
    """An optimizer's state without its tensors (see :mod:`gancore.train.state`)."""

    model_config = ConfigDict(extra="allow")

    param_groups: list[dict[str, Any]] = Field(min_length=1)
    scalars: dict[Annotated[str, Field(pattern=r"^[0-9]+$")], dict[str, Any]] = {}
    #: Names of the state tensors the trainer wrote (absent in older checkpoints).
    tensors: list[str] | None = None


class ComponentStateMeta(BaseModel):
    """One stateful component's state without its tensors: its type, pack and JSON state."""

    model_config = ConfigDict(extra="allow")

    type: str
    origin: str | None = None
    state: Any = None


class TrainerMeta(BaseModel):
    """The training state :class:`~gancore.train.trainer.Trainer` stores under ``trainer``."""

    model_config = ConfigDict(extra="allow")

    step: Annotated[int, Field(ge=0, lt=2**63)]
    images_seen: Annotated[int, Field(ge=0)] = 0
    seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    opt_g: OptimizerMeta | None = None
    opt_d: OptimizerMeta | None = None
    sched_g: dict[str, Any] = {}
    sched_d: dict[str, Any] = {}
    world_size: Annotated[int, Field(ge=1)] = 1
    precision: str | None = None
    #: the state of stateful components by recipe key (see gancore.train.component_state)
    components: dict[str, ComponentStateMeta] = {}
    #: the averaged generator's record: ``updates``, ``decay``, ``start``, ``rampup``,
    #: ``horizon`` (absent in older checkpoints and runs without ``ema``)
    ema: dict[str, Any] | None = None


class CheckpointMeta(BaseModel):
    """Every metadata field gancore reads from a checkpoint, parsed and checked once.

    Strings holding JSON (``recipe``, ``plugins``, ``components``, ``trainer``) are decoded,
    and ``seed``/``step`` must be whole numbers. Keys gancore does not know are kept.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    format: str
    format_version: Annotated[int, IntField, Field(ge=1)]
    gancore_version: str = "?"
    recipe: Annotated[dict[str, Any], JsonField, Field(min_length=1)]
    plugins: Annotated[dict[str, str], JsonField] = {}
    components: Annotated[
        dict[str, str], BeforeValidator(lambda v: _component_map(_json(v)))
    ] = {}
    seed: Annotated[int, IntField, Field(ge=_SEED_RANGE[0], le=_SEED_RANGE[1])] = 0
    step: Annotated[int, IntField, Field(ge=0, lt=2**63)] = 0
    torch_version: str | None = None
    trainer: Annotated[TrainerMeta | None, JsonField] = None


_CORRUPT_HINT = ("the file was damaged or edited; use an earlier checkpoint "
                 "(e.g. the run's step_*.safetensors)")


def _corrupt(path: str | Path, what: str) -> CheckpointError:
    return CheckpointError(f"corrupt checkpoint: {what}", source=str(path), hint=_CORRUPT_HINT)


def _describe(error: Any) -> str:
    """One pydantic error as ``field 'x' (at a.b): message``."""
    loc = [str(part) for part in error.get("loc", ())]
    name = loc[0] if loc else "?"
    where = f" (at {'.'.join(loc[1:])})" if len(loc) > 1 else ""
    msg = str(error.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ")
    if error.get("type") == "missing":
        return f"metadata field {name!r}{where} is missing"
    return f"metadata field {name!r}{where}: {msg}"


def parse_meta(meta: Mapping[str, str], path: str | Path) -> CheckpointMeta:
    """Validate a checkpoint's metadata; one "corrupt checkpoint" error names the bad field.

    A file without gancore's ``format`` marker is "not a gancore checkpoint"; a newer
    ``format_version`` asks for an upgrade; a version that is not a number is corrupt.
    """
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            "not a gancore checkpoint (no gancore metadata)",
            source=str(path),
            hint="gancore loads only files it wrote with `gancore build -o`, "
            "`gancore train` or gancore.save",
        )
    raw_version = meta.get("format_version")
    if raw_version is None:
        raise _corrupt(path, "metadata field 'format_version' is missing")
    try:
        version = int(_integer(raw_version))
    except ValueError:
        raise _corrupt(path, f"metadata field 'format_version' must be a whole number "
                             f"(got {str(raw_version)[:40]!r})") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"written in checkpoint format {version} by gancore "
            f"{meta.get('gancore_version', '?')}; this gancore reads format {FORMAT_VERSION}",
            source=str(path),
            hint="upgrade: pip install -U gancore",
        )
    if "recipe" not in meta:
        raise _corrupt(path, "the checkpoint carries no recipe (metadata field 'recipe')")
    try:
        return CheckpointMeta.model_validate(dict(meta))
    except ValidationError as exc:
        raise _corrupt(path, _describe(exc.errors()[0])) from None


@dataclass
class Checkpoint:
    """The contents of a checkpoint file: raw ``meta`` strings, parsed ``info``, tensors."""

    path: str
    meta: dict[str, str]
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    info: CheckpointMeta | None = None

    def __post_init__(self) -> None:
        if self.info is None:
            self.info = parse_meta(self.meta, self.path)

    @property
    def recipe(self) -> dict[str, Any]:
        """The resolved recipe the checkpoint was written with (a recipe of an earlier version
        in today's form: its ``[train]`` technique flags as ``train.techniques``)."""
        from gancore.recipe.migrate import migrate_dict, pop_deprecations

        assert self.info is not None
        data = migrate_dict(dict(self.info.recipe), warn=False)
        pop_deprecations(data)
        return data

    @property
    def step(self) -> int:
        """The generator update count at which the checkpoint was written."""
        assert self.info is not None
        return self.info.step

    @property
    def seed(self) -> int:
        """The recipe seed the networks were initialised from."""
        assert self.info is not None
        return self.info.seed

    def section(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors under ``prefix.`` with the prefix removed."""
        p = prefix + "."
        return {k[len(p) :]: v for k, v in self.tensors.items() if k.startswith(p)}


# -- tensors --------------------------------------------------------------------------------
def _kind(tensor: torch.Tensor) -> str:
    if tensor.dtype.is_complex:
        return "complex"
    if tensor.dtype.is_floating_point:
        return "float"
    return "bool" if str(tensor.dtype) == "torch.bool" else "integer"


def _listed(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def check_state(
    expected: Mapping[str, torch.Tensor],
    given: Mapping[str, torch.Tensor],
    *,
    section: str,
    path: str | Path,
) -> None:
    """Refuse ``given`` tensors that do not fit ``expected`` (a module's ``state_dict()``).

    One :class:`CheckpointError` names the missing, unexpected, wrong-shape and wrong-dtype
    tensors. Floating-point weights may be stored at another float precision (they are cast);
    any other dtype change (float weights stored as integers, say) is refused.
    """
    missing = [f"{section}.{k}" for k in expected if k not in given]
    unexpected = [f"{section}.{k}" for k in given if k not in expected]
    shapes, dtypes = [], []
    for key, want in expected.items():
        got = given.get(key)
        if got is None:
            continue
        if tuple(got.shape) != tuple(want.shape):
            shapes.append(f"{section}.{key} is {list(got.shape)}, the recipe needs "
                          f"{list(want.shape)}")
        elif _kind(got) != _kind(want):
            dtypes.append(f"{section}.{key} is {str(got.dtype).removeprefix('torch.')}, "
                          f"the recipe needs {str(want.dtype).removeprefix('torch.')}")
    problems = []
    if missing:
        problems.append(f"missing tensors: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors: {_listed(unexpected)}")
    if shapes:
        problems.append(f"wrong shape: {_listed(shapes, 3)}")
    if dtypes:
        problems.append(f"wrong dtype: {_listed(dtypes, 3)}")
    if problems:
        raise CheckpointError(
            f"the {section} weights do not match the checkpoint's recipe: " + "; ".join(problems),
            source=str(path),
            hint="the file was damaged or edited, or its weights come from another recipe; "
            "use an intact checkpoint (--init-from loads the tensors that do fit)",
        )


def load_state(module: Any, state: Mapping[str, torch.Tensor], *, section: str,
               path: str | Path) -> None:
    """``module.load_state_dict(state)`` after :func:`check_state`; errors name the file."""
    check_state(module.state_dict(), state, section=section, path=path)
    try:
        module.load_state_dict(dict(state))
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot load the {section} weights: {relay(exc)}",
                              source=str(path), hint=_CORRUPT_HINT) from None


_PICKLE_WORDS = re.compile(r"weights_only|pickl|torch\.load", re.IGNORECASE)
_NO_PICKLE = ("the file is not a safetensors file; gancore reads only safetensors and never "
              "unpickles files (unpickling can run arbitrary code)")


def relay(exc: BaseException) -> str:
    """The first line of a torch/safetensors message, re-worded if it suggests unpickling."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return _NO_PICKLE if _PICKLE_WORDS.search(text) else text


def _pickle_kind(path: Path) -> str | None:
    """``"zip"``/``"pickle"`` when the file looks like a ``torch.save`` file, else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    return None


def component_origins(recipe: Recipe, registry: Registry) -> dict[str, str]:
    """``"kind:name" -> "pack==version"`` for every plugin-pack component a recipe uses.

    The references are found through the table of kinds (nested ones included), so a norm
    or a metric from a pack is recorded as well as a block.
    """
    from gancore.packs.loader import BUILTIN_NAME, component_pack
    from gancore.recipe.resolve import iter_references, resolve

    used = {(kind, spec.type) for kind, _, spec in iter_references(resolve(recipe, registry))}
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

    from gancore.core.version import __version__
    from gancore.packs.loader import get_registry

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
        "components": json.dumps(component_origins(gan.recipe, registry), sort_keys=True),
        "seed": gan.meta.get("seed", str(gan.recipe.seed)),
        "step": str(step),
        "torch_version": torch.__version__,
    }
    meta.update(extra_meta or {})
    try:
        path = check_writable(path, what="the checkpoint")
        atomic_write_bytes(path, st_save(tensors, metadata=meta), what="the checkpoint")
    except WriteError as exc:
        raise CheckpointError(exc.message, source=exc.source, hint=exc.hint) from None
    return path


def read(path: str | Path, *, tensors: bool = True) -> Checkpoint:
    """Read a checkpoint's metadata (and tensors) with checks; never unpickles.

    Every metadata field is validated by :func:`parse_meta`; damaged files, files of other
    formats (a ``torch.save`` pickle, say) and unreadable files raise one
    :class:`CheckpointError` naming the file. The file is only ever opened for reading.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            "checkpoint file not found" if not path.is_dir() else "is a folder, not a checkpoint",
            source=str(path),
            hint="give the path to a .safetensors file written by gancore",
        )
    kind = _pickle_kind(path)
    if kind is not None:
        raise CheckpointError(
            f"this is a PyTorch {'zip ' if kind == 'zip' else ''}pickle file (torch.save), "
            "not a gancore checkpoint; gancore never unpickles files, since unpickling can "
            "run arbitrary code",
            source=str(path),
            hint="in your own trusted code, load the weights into a GAN built from their "
            "recipe and write them with gancore.save",
        )
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
            info = parse_meta(meta, path)
            data = {k: fh.get_tensor(k) for k in fh.keys()} if tensors else {}
    except SafetensorError as exc:
        raise CheckpointError(
            f"corrupt or truncated checkpoint ({relay(exc)})",
            source=str(path),
            hint="use an earlier checkpoint (e.g. the run's step_*.safetensors)",
        ) from None
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"unreadable checkpoint: {relay(exc)}", source=str(path),
                              hint="check the file's permissions, or use another "
                              "checkpoint") from None
    return Checkpoint(str(path), meta, data, info)


def made_with(ckpt: Checkpoint, registry: Registry) -> Callable[[str, str], str | None]:
    """The origin each bare name of ``ckpt``'s recipe stands for: the pack it records for
    that component (checkpoints of earlier versions name packs' components bare), else
    gancore's own; so the GAN is rebuilt from what it was made with, whatever is installed
    since (checkpoints from 0.3 on name every origin)."""
    from gancore.core.registry import BUILTIN

    assert ckpt.info is not None
    packs = {}
    for key, pack in ckpt.info.components.items():
        dist = pack.split("==")[0]
        origin = next((p.name for p in registry.plugins if dist in (p.dist, p.name)), dist)
        packs[key] = origin

    def pin(kind: str, name: str) -> str | None:
        origin = packs.get(f"{kind}:{name}", BUILTIN)
        return origin if (kind, f"{origin}:{name}") in registry else None

    return pin


def missing_pack(ckpt: Checkpoint, registry: Registry, kind: str, qualified: str
                 ) -> CheckpointError:
    """The error for a component whose origin is not installed (or no longer has it)."""
    from gancore.packs.loader import pack_problem

    assert ckpt.info is not None
    origin, _, name = qualified.rpartition(":")
    version = json.loads(ckpt.meta.get("plugins", "{}") or "{}").get(origin)
    made = f"{origin}=={version}" if version else origin
    why = pack_problem(registry, origin)
    if why is None or not why.endswith("and loaded"):
        why = why or "which is not installed"
        hint = f"install it: pip install '{made}' (the checkpoint was made with it)"
    else:
        why = f"which {why} but does not provide {kind} {name!r}"
        hint = f"install the version it was made with: pip install '{made}'"
    return CheckpointError(
        f"this checkpoint uses {kind} {qualified!r} from the plugin pack {origin!r}, {why}",
        source=ckpt.path, hint=hint)


def check_components(ckpt: Checkpoint, registry: Registry) -> None:
    """Raise "install <pack>" when a component the checkpoint uses is not registered."""
    assert ckpt.info is not None
    for key, pack in ckpt.info.components.items():
        kind, name = key.split(":", 1)
        if (kind, name) not in registry:
            from gancore.packs.loader import pack_problem

            dist = pack.split("==")[0]
            why = pack_problem(registry, dist)
            if why is None:
                why = "which is not installed"
                hint = f"install it: pip install {dist} (the checkpoint was made with {pack})"
            elif why.endswith("and loaded"):
                why = f"which {why} but does not provide it (the checkpoint was made with {pack})"
                hint = f"install the version it was made with: pip install '{pack}'"
            else:
                why = f"which {why}"
                hint = "`gancore plugins` shows the pack's status; fix or reinstall it"
            raise CheckpointError(
                f"this checkpoint uses {kind} {name!r} from the plugin pack {dist!r}, {why}",
                source=ckpt.path,
                hint=hint,
            )


def load(
    path: str | Path, *, registry: Registry | None = None, device: str = "cpu", ema: bool = False
) -> GAN:
    """Rebuild a GAN from a checkpoint file alone (with EMA generator weights if ``ema``).

    ``path`` may also be a folder written by ``gancore export``: its ``model.safetensors``
    holds the exported generator weights and no discriminator, so the GAN's discriminator is
    a stand-in that raises a :class:`CheckpointError` when used.
    """
    from gancore.packs.loader import get_registry

    registry = registry or get_registry()
    path = Path(path)
    if path.is_dir():
        from gancore.assembly.exported import weights_file

        path = weights_file(path)
    return from_checkpoint(read(path), registry=registry, ema=ema).to(device)


#: The metadata key that marks a generator-only checkpoint written by ``gancore export``.
EXPORT_KEY = "export"


def generator_only(ckpt: Checkpoint) -> bool:
    """Whether ``ckpt`` holds an exported generator and no discriminator."""
    return EXPORT_KEY in ckpt.meta and not ckpt.section("discriminator")


def has_generator(ckpt: Checkpoint) -> bool:
    """Whether ``ckpt`` holds generator weights (raw or EMA)."""
    return bool(ckpt.section("generator") or ckpt.section("ema"))


def from_checkpoint(
    ckpt: Checkpoint, *, registry: Registry, ema: bool = False, discriminator: bool = True
) -> GAN:
    """The GAN of a :func:`read` checkpoint, built from its recipe with its weights loaded.

    With ``discriminator=False`` (or for a generator-only checkpoint) the discriminator's
    weights are neither read nor checked, and a stand-in takes its place.
    """
    from gancore.assembly.build import build
    from gancore.core.errors import UnknownComponentError
    from gancore.recipe import resolve, validate_recipe

    path = ckpt.path
    check_components(ckpt, registry)
    try:
        recipe = resolve(validate_recipe(ckpt.recipe, source=str(path)), registry,
                         pin=made_with(ckpt, registry))
        gan = build(recipe, registry=registry, seed=ckpt.seed, findings=False)
    except UnknownComponentError as exc:
        if ":" in exc.name:  # a component of a pack that is gone (or of another version)
            raise missing_pack(ckpt, registry, exc.kind, exc.name) from None
        raise exc.located(source=str(path)) from None
    except GancoreError as exc:
        raise exc.located(source=str(path)) from None
    use_ema = ema and bool(ckpt.section("ema"))
    load_state(gan.generator, ckpt.section("ema" if use_ema else "generator"),
               section="ema" if use_ema else "generator", path=path)
    if discriminator and not generator_only(ckpt):
        load_state(gan.discriminator, ckpt.section("discriminator"), section="discriminator",
                   path=path)
    else:
        gan.discriminator = NoDiscriminator(path)
    gan.meta.update(ckpt.meta)
    gan.step = ckpt.step  # type: ignore[attr-defined]
    return gan


class NoDiscriminator(torch.nn.Module):
    """The discriminator of a GAN loaded from an export: there is none, and using it says so."""

    def __init__(self, source: str | None = None) -> None:
        super().__init__()
        self.source = source

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        from gancore.core.errors import CheckpointError

        raise CheckpointError(
            "this GAN was loaded from an exported generator, which has no discriminator",
            source=self.source,
            hint="use the training checkpoint (e.g. the run's last.safetensors) for anything "
            "that needs the discriminator",
        )
