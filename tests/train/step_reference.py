"""Weights after a few training steps of every bundled recipe, study variant and technique.

``python -m tests.train.step_reference --record`` (from the repository root) trains each case
for :data:`STEPS` steps on the CPU in fp32 and writes, per network section of the final
checkpoint (``generator``, ``discriminator``, ``ema``), a SHA-256 of its tensors and their
float64 sum and sum of squares to ``tests/train/data/step_reference.json``, together with the
platform they were recorded on. ``test_step_reference.py`` trains the same cases and compares:
digests exactly on the platform of the recording (same torch and CPU instruction set), the
sums to 1e-5 elsewhere (other kernels round differently in the last bits). A platform whose
rounding carries past that in three steps gets its own exact record under ``platforms``
(``--record-platform``), taken from a tree that matched the original bit for bit on the
original platform.

The reference was recorded from the trainer as it was before the training step became
components (every ``[train]`` technique flag an ``if`` in the loop), so a pass means the
components reproduce that loop weight for weight. Each case keeps the recipe and overrides it
was recorded with, so later edits of a bundled study do not move the reference.

A case whose maths changed on purpose is recorded again from the current tree, with the
reason: ``python -m tests.train.step_reference --rerecord ID ... --why "..."`` (the reason is
kept in the case's ``rerecorded`` entry).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "step_reference.json"
STEPS = 3
SECTIONS = ("generator", "discriminator", "ema")

#: Settings every case trains with (before its own overrides): the CPU, fp32, one thread.
BASE = ('train.device="cpu"', "train.threads=1", 'train.precision="fp32"',
        'train.channels_last="off"', "train.sample_every=100000",
        "train.checkpoint_every=100000", "train.log_every=1", "train.eval_every=0")
#: Settings after a case's own (small batches keep the whole set fast).
AFTER = ("train.batch_size=8", "train.grid_size=4")

_SHAPES = 'data={ type = "shapes", image_size = 32 }'
_LABELLED = 'data={ type = "shapes", image_size = 32, labels = "shape" }'

#: The former ``[train]`` technique flags, alone and together, on small recipes.
TECHNIQUES: dict[str, tuple[str, list[str]]] = {
    "flag-ema": ("dcgan-32", [_SHAPES, "train.ema=0.9"]),
    "flag-ema-start": ("dcgan-32", [_SHAPES, "train.ema=0.9", "train.ema_start=2"]),
    "flag-label-smoothing": ("dcgan-32", [_SHAPES, "train.label_smoothing=0.2"]),
    "flag-instance-noise": ("dcgan-32", [_SHAPES, "train.instance_noise=0.3"]),
    "flag-grad-clip": ("dcgan-32", [_SHAPES, "train.grad_clip=0.5"]),
    "flag-clip-weights": ("dcgan-32", [_SHAPES, "train.clip_weights=0.02"]),
    "flag-top-k": ("dcgan-32", [
        _SHAPES, "train.top_k={ start = 0.75, gamma = 0.5, min = 0.25, every = 1 }"]),
    "flag-freeze-d": ("dcgan-32", [_SHAPES, "train.freeze_d=1"]),
    "flag-joint": ("dcgan-32", [_SHAPES, "train.joint_d_pass=true"]),
    "flag-all": ("dcgan-32", [_SHAPES, "train.ema=0.9", "train.label_smoothing=0.1",
                              "train.instance_noise=0.2", "train.grad_clip=1.0",
                              "train.top_k={ start = 0.5, gamma = 0.9, every = 1, min = 0.25 }",
                              "train.freeze_d=1", "train.joint_d_pass=true",
                              'penalty="r1"', 'augment="flip"']),
    "flag-critic": ("wgan-gp", [_SHAPES, "train.n_critic=2", "train.grad_clip=1.0",
                                "train.instance_noise=0.1", "train.ema=0.5"]),
    "flag-wgan-clip": ("wgan", [_SHAPES, "train.n_critic=2", "train.joint_d_pass=true"]),
    "flag-relativistic": ("dcgan-32", [_SHAPES, 'loss="relativistic_average"',
                                       "train.joint_d_pass=true", "train.instance_noise=0.1",
                                       "train.label_smoothing=0.1"]),
    "flag-relativistic-two": ("dcgan-32", [_SHAPES, 'loss="relativistic_average"',
                                           "train.top_k={ start = 0.5, every = 1 }"]),
    "flag-acgan": ("acgan", [_LABELLED, "train.joint_d_pass=true",
                             "train.top_k={ start = 0.5, every = 1 }",
                             "train.label_smoothing=0.1"]),
    "flag-acgan-two": ("acgan", [_LABELLED, "train.ema=0.8", "train.freeze_d=2"]),
    "flag-lsgan-smooth": ("lsgan", [_SHAPES, "train.label_smoothing=0.1",
                                    "train.grad_clip=2.0"]),
}


@dataclass
class Case:
    """One training to compare: a recipe and its overrides."""

    id: str
    recipe: str
    overrides: list[str] = field(default_factory=list)


def recipe_cases() -> list[Case]:
    """Every bundled recipe (and those of the installed packs) with its own data."""
    from gancore.packs.loader import get_registry
    from gancore.recipe.load import find_recipe

    registry = get_registry()
    names: set[str] = set()
    for _origin, folder in registry.recipe_dirs:
        names |= {p.stem for p in Path(folder).glob("*.toml")}
    return [Case(f"recipe-{n}", str(find_recipe(n))) for n in sorted(names)]


def study_cases() -> list[Case]:
    """Every variant (and ``[pretrain]`` run) of every bundled study, trained from scratch."""
    from gancore.evaluation.study import load_study

    out = []
    for path in sorted((ROOT / "studies").glob("*.toml")):
        for entry in load_study(path).entries:
            assert entry.recipe is not None
            out.append(Case(f"study-{path.stem}-{entry.name}", entry.recipe,
                            list(entry.overrides)))
    return out


def technique_cases() -> list[Case]:
    from gancore.recipe.load import find_recipe

    return [Case(k, str(find_recipe(r)), list(o)) for k, (r, o) in TECHNIQUES.items()]


def all_cases() -> list[Case]:
    return [*recipe_cases(), *study_cases(), *technique_cases()]


def digest(tensors: dict[str, Any]) -> dict[str, Any]:
    """SHA-256 of the tensors (sorted by name) and their float64 sum and sum of squares."""
    import torch

    h = hashlib.sha256()
    total = squares = 0.0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        if t.is_floating_point():
            total += float(t.double().sum())
            squares += float(t.double().pow(2).sum())
    return {"sha256": h.hexdigest(), "sum": total, "sumsq": squares, "count": len(tensors)}


def train_case(case: Case, folder: Path) -> dict[str, Any]:
    """Train ``case`` for :data:`STEPS` steps into ``folder``; the digest of each section."""
    import torch

    from gancore.assembly.checkpoint import read
    from gancore.train import Trainer

    overrides = [*BASE, *case.overrides, *AFTER]
    threads = torch.get_num_threads()
    # the networks are built (spectral norm's first power iteration included) on one thread,
    # as train.threads = 1 trains them: float sums round differently on two
    torch.set_num_threads(1)
    try:
        Trainer(case.recipe, overrides=overrides, steps=STEPS, out=folder).fit()
    finally:
        torch.set_num_threads(threads)
    ckpt = read(folder / "last.safetensors")
    return {s: digest(ckpt.section(s)) for s in SECTIONS if ckpt.section(s)}


def platform_id() -> str:
    """The torch version and the CPU's vector instruction sets (what decides the rounding)."""
    import torch

    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    isa = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "sse4")))
    return f"torch {torch.__version__} | {platform.machine()} | {' '.join(isa)}"


def recorded_case(case_id: str, entry: dict[str, Any]) -> Case:
    """The case as recorded: its recipe (found by name) and overrides."""
    from gancore.recipe.load import find_recipe

    return Case(case_id, str(find_recipe(Path(entry["recipe"]).stem)), list(entry["overrides"]))


def _sections(case: Case) -> dict[str, Any]:
    """:func:`train_case` in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        return train_case(case, Path(tmp) / "run")


def record(cases: list[Case]) -> dict[str, Any]:
    out: dict[str, Any] = {"platform": platform_id(), "steps": STEPS, "cases": {}}
    for case in cases:
        out["cases"][case.id] = {"recipe": Path(case.recipe).name,
                                 "overrides": case.overrides, "sections": _sections(case)}
        print(case.id, flush=True)
    return out


def rerecord(ids: list[str], why: str) -> dict[str, Any]:
    """The reference with the cases ``ids`` recorded again from the current tree."""
    result = json.loads(DATA.read_text(encoding="utf-8"))
    unknown = sorted(set(ids) - set(result["cases"]))
    if unknown:
        sys.exit(f"not recorded cases: {unknown}")
    if result["platform"] != platform_id():
        sys.exit(f"the reference was recorded on {result['platform']}, this is {platform_id()}")
    for other in result.get("platforms", {}).values():  # stale there now: record again
        for case_id in ids:
            other.pop(case_id, None)
    for case_id in ids:
        entry = result["cases"][case_id]
        entry["sections"] = _sections(recorded_case(case_id, entry))
        entry["rerecorded"] = why
        print(case_id, flush=True)
    return result


def record_platform() -> dict[str, Any]:
    """The reference with this platform's own digests of every case added (``platforms``).

    Kernels of another instruction set round differently, and three GAN steps carried that
    past the 1e-5 tolerance on an AVX-512 CPU (up to 7% in a weight sum). So a second platform
    gets its own exact record, taken from a tree that matched the original recording bit for
    bit on the original platform; the test then compares exactly on either.
    """
    result = json.loads(DATA.read_text(encoding="utf-8"))
    here = platform_id()
    if result["platform"] == here:
        sys.exit(f"{here} is the reference's own platform: use --record or --rerecord")
    own: dict[str, Any] = {}
    for case_id, entry in sorted(result["cases"].items()):
        own[case_id] = _sections(recorded_case(case_id, entry))
        print(case_id, flush=True)
    result.setdefault("platforms", {})[here] = own
    return result


USAGE = ("usage: python -m tests.train.step_reference --record\n"
         "       python -m tests.train.step_reference --record-platform\n"
         "       python -m tests.train.step_reference --rerecord ID [ID ...] --why REASON")

if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    if sys.argv[1:2] == ["--record"]:
        result = record(all_cases())
    elif sys.argv[1:2] == ["--record-platform"]:
        result = record_platform()
    elif sys.argv[1:2] == ["--rerecord"] and "--why" in sys.argv[:-1]:
        at = sys.argv.index("--why")
        result = rerecord(sys.argv[2:at], sys.argv[at + 1])
    else:
        sys.exit(USAGE)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(result['cases'])} cases to {DATA}")
