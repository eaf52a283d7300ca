"""pytest plugin shipped with gancore: fixtures for testing components and plugin packs.

Enabled automatically when gancore is installed (entry point ``pytest11``). Importing it loads
no torch. Fixtures:

``register_plugin``
    register plugin objects for one test; the process-wide registry is restored afterwards.
``check_pack``
    build every component a plugin registers from its defaults and run its kind's
    conformance check on tiny CPU inputs (every kind; see ``docs/plugins.md``).
``train_smoke``
    train any recipe for 2 steps on the CPU and return the run folder.
``check_resume``
    train a recipe N + M steps straight and N, then resumed to N + M, and assert that both
    end bit-identical (every checkpoint tensor, every component's saved state and every log
    record): the test a stateful callback, augment or penalty must pass.

:func:`pack_components`, :func:`check_component` and :func:`resume_matches` do the same work
outside a fixture, for example to parametrize a test over a pack's components;
:func:`make_trainer` and :func:`read_checkpoint` give a pack's tests a trainer and a
checkpoint's contents.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gancore.core.registry import Registry

#: Shape (C, H, W) of the data networks are built for in :func:`check_component`.
DATA_SHAPE: tuple[int, int, int] = (3, 16, 16)


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., Any]]:
    """Register plugin objects for one test; the process-wide registry is restored afterwards.

    >>> def test_my_block(register_plugin):
    ...     registry = register_plugin(my_plugin_module)
    ...     assert ("block", "my_block") in registry
    """
    from gancore.packs import loader as plugins

    saved = plugins._DEFAULT
    extras: list[Any] = []

    def _register(obj: Any, name: str | None = None, **kwargs: Any) -> Any:
        extras.append((name, obj) if name else obj)
        loaded = plugins.load_plugins(extra=extras, **kwargs)
        plugins.set_default(loaded)
        return loaded.registry

    yield _register
    plugins.set_default(saved)


def plugin_registry(plugin: Any, name: str | None = None) -> tuple[Registry, str]:
    """A registry of the built-in components plus ``plugin`` alone (installed packs left out).

    Returns the registry and the origin name the plugin's components carry.
    """
    from gancore.core.errors import PluginError
    from gancore.packs.loader import load_plugins

    origin = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    loaded = load_plugins(extra=[(origin, plugin)], autoload=False)
    info = next(p for p in loaded.plugins if p.name == origin)
    if info.status != "loaded":
        raise PluginError(f"plugin {origin!r} failed to load: {info.error}")
    return loaded.registry, origin


def pack_components(plugin: Any, name: str | None = None) -> list[str]:
    """``"kind:name"`` of every component ``plugin`` registers (for ``parametrize``)."""
    registry, origin = plugin_registry(plugin, name)
    return [f"{e.kind}:{e.name}" for e in registry.entries() if e.origin == origin]


def check_component(
    registry: Registry,
    kind: str,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    data_shape: tuple[int, ...] = DATA_SHAPE,
    num_classes: int = 0,
    example: Any = None,
) -> Any:
    """Build component ``kind``/``name`` from its defaults (plus ``params``) and check it.

    Runs the kind's conformance check from :data:`gancore.core.kinds.KINDS` (the ``verifies`` line
    of each kind in ``docs/plugins.md`` says what it checks), for example:

    - block: built with ``in_channels = 8`` at resolution 8 and run on ``[2, 8, 8, 8]``;
      channels and resolution must be the declared ``out_channels`` and ``scale``;
    - norm: keeps the shape of feature maps and of vectors;
    - generator / discriminator: built for ``data_shape``; ``[B, *data_shape]`` / ``[B]``;
    - loss / penalty: finite scalars that back-propagate;
    - dataset: ``describe()`` matches the items (shape, values in [-1, 1], labels);
    - metric: finite float scores.

    ``example`` replaces the input tensor. Returns the built object. A broken component raises
    :class:`~gancore.core.errors.ContractError` (an ``AssertionError``) naming the clause.
    """
    from gancore.core.errors import GancoreError
    from gancore.core.kinds import get_kind, load_object
    from gancore.core.registry import params_to_kwargs, validate_params

    entry = registry.get(kind, name)
    values = dict(params or {})
    check = get_kind(kind).check
    if kind in ("generator", "discriminator"):
        kwargs: dict[str, Any] = values
    else:
        kwargs = params_to_kwargs(validate_params(entry, values, key=f"{kind}:{name}"))
    if not check:
        return entry
    try:
        return load_object(check)(
            registry, entry, kwargs, data_shape=data_shape, num_classes=num_classes,
            example=example,
        )
    except (GancoreError, AssertionError):
        raise
    except Exception as exc:  # the component itself failed on the check's inputs
        from gancore.core.contract import broken

        raise broken(
            entry, f"raised {type(exc).__name__} in its conformance check: {exc}"
        ) from exc


@pytest.fixture
def train_smoke(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Train any recipe for 2 steps on the CPU; returns the run folder.

    >>> def test_my_recipe_trains(train_smoke):
    ...     run = train_smoke("my-recipe", overrides=["data.image_size=16"])
    ...     assert (run / "last.safetensors").is_file()
    """

    def _train(recipe: Any, overrides: Iterable[str] = (), steps: int = 2) -> Any:
        from gancore.train import Trainer

        out = tmp_path_factory.mktemp("smoke") / "run"
        settings = [
            "train.device=\"cpu\"", "train.threads=1", "train.batch_size=4", "train.log_every=1",
            f"train.sample_every={steps}", f"train.checkpoint_every={steps}",
            "train.grid_size=4", *overrides,
        ]
        Trainer(recipe, overrides=settings, steps=steps, out=out).fit()
        return out

    return _train


def make_trainer(recipe: Any, overrides: Iterable[str] = (), steps: int = 1,
                 out: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
    """A :class:`gancore.train.Trainer` of ``recipe`` (unstarted: call ``.fit()``) for a pack's
    tests, which read what it built (``augments``, ``callbacks``, ``events``) or train it.
    ``kwargs`` go to the trainer (``trackers=[...]``, say)."""
    from gancore.train import Trainer

    return Trainer(recipe, overrides=list(overrides), steps=steps,
                   out=None if out is None else Path(out), **kwargs)


def read_checkpoint(path: str | os.PathLike[str]) -> Any:
    """A checkpoint's tensors and metadata (``.tensors``, ``.info``), as gancore reads them."""
    from gancore.assembly import checkpoint

    return checkpoint.read(Path(path))


#: Log keys that measure time, not training, and so differ between two identical runs.
TIMING_KEYS: frozenset[str] = frozenset({"images_per_s", "elapsed_s"})

#: Settings :func:`resume_matches` adds before the caller's overrides: the CPU, fp32, no
#: measured numerics, a log record every step and a checkpoint after every step.
RESUME_SETTINGS: tuple[str, ...] = (
    'train.device="cpu"', "train.threads=1", 'train.precision="fp32"',
    'train.channels_last="off"', "train.log_every=1", "train.checkpoint_every=1",
    "train.sample_every=100000",
)


@dataclass
class ResumeCheck:
    """What :func:`resume_matches` trained: the straight and the resumed trainer."""

    straight: Any
    resumed: Any


def _records(run: Path) -> list[dict[str, Any]]:
    import json

    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING_KEYS}
            for line in lines if line.strip()]


def resume_matches(recipe: Any, out: str | os.PathLike[str], overrides: Iterable[str] = (),
                   steps: tuple[int, int] = (3, 3), *,
                   registry: Registry | None = None) -> ResumeCheck:
    """Assert that stopping after ``N`` steps and resuming to ``N + M`` changes nothing.

    Trains ``recipe`` (a name, path or dict) ``N + M`` steps in ``out/straight``, then ``N``
    steps in ``out/resumed`` and resumes that run to ``N + M``. Raises ``AssertionError``
    naming the first difference: a checkpoint tensor, a component's saved state or a log
    record (timing keys aside). ``overrides`` come after :data:`RESUME_SETTINGS`;
    ``registry`` is the trainer's (the installed components when None).

    >>> def test_my_callback_resumes(tmp_path):
    ...     resume_matches("dcgan-32", tmp_path, ["data.type='shapes'", "callbacks=['mine']"])
    """
    import torch

    from gancore.assembly import checkpoint
    from gancore.train import Trainer

    first, more = steps
    if first < 1 or more < 1:
        raise ValueError("steps must be two positive step counts (N, M)")
    root = Path(out)
    settings = [*RESUME_SETTINGS, *overrides]
    straight = Trainer(recipe, overrides=settings, steps=first + more, out=root / "straight",
                       registry=registry)
    straight.fit()
    # stopped at N of the same N + M total (as a killed run), so schedules tied to the total
    # are where the straight run has them
    Trainer(recipe, overrides=settings, steps=first + more, out=root / "resumed",
            registry=registry).fit(stop_at=first)
    resumed = Trainer(recipe, overrides=settings, steps=first + more, out=root / "resumed",
                      resume=True, registry=registry)
    resumed.fit()
    a = checkpoint.read(root / "straight" / "last.safetensors")
    b = checkpoint.read(root / "resumed" / "last.safetensors")
    components = _who(straight)
    where = f"after stopping at step {first} and resuming"
    assert set(a.tensors) == set(b.tensors), (
        f"checkpoint tensors differ {where}: only straight "
        f"{sorted(set(a.tensors) - set(b.tensors))}, only resumed "
        f"{sorted(set(b.tensors) - set(a.tensors))}")
    sa, sb = a.info.trainer.components, b.info.trainer.components
    for name in sorted(set(sa) | set(sb)):
        assert sa.get(name) == sb.get(name), (
            f"the saved state of {components.get(name, name)} differs {where}: "
            f"{sa.get(name)!r} straight, {sb.get(name)!r} resumed")
    for key in sorted(a.tensors, key=lambda k: (not k.startswith("state."), k)):
        if torch.equal(a.tensors[key], b.tensors[key]):
            continue
        owner = next((who for k, who in components.items()
                      if key.startswith(f"state.{k}.")), None)
        raise AssertionError(
            f"checkpoint tensor {key!r} differs {where}"
            + (f": the state of {owner} does not survive --resume (its state_dict() "
               "misses something it uses, or it depends on what is not saved)" if owner else
               _divergence(root, first, components)))
    ra, rb = _records(root / "straight"), _records(root / "resumed")
    assert [r["step"] for r in ra] == [r["step"] for r in rb], "the log steps differ"
    for x, y in zip(ra, rb, strict=True):
        assert x == y, (
            f"log record of step {x['step']} differs after resuming: "
            + ", ".join(f"{k}: {x.get(k)!r} straight, {y.get(k)!r} resumed"
                        for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)))
    return ResumeCheck(straight, resumed)


def _who(trainer: Any) -> dict[str, str]:
    """Recipe key -> ``"train.techniques[0] ('noise' from mypack)"`` of the run's
    components (every one, stateful or not)."""
    run = trainer.run
    out = {"loss": f"loss ({run.recipe.loss.type!r})"}
    for kind, specs in (("penalty", run.recipe.penalty), ("augment", run.recipe.augment)):
        for i, spec in enumerate(specs):
            out[f"{kind}[{i}]"] = f"{kind}[{i}] ({spec.type!r})"
    for t in run.techniques:
        out[t.key] = f"{t.key} ({t.name!r} from {t.origin})"
    for b in run.callbacks:
        if not b.core:
            out[b.key] = f"{b.key} ({b.name!r} from {b.origin})"
    return out


def _divergence(root: Path, first: int, components: dict[str, str]) -> str:
    """Where the two runs' logs part, and which components could be the cause."""
    ra, rb = _records(root / "straight"), _records(root / "resumed")
    for x, y in zip(ra, rb, strict=False):
        if x != y:
            keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
            suspects = [w for k, w in components.items() if k != "loss"]
            return (f"; the runs part at step {x.get('step')} ({', '.join(keys)} differ), "
                    f"the first step after the resume being {first + 1}: a component that "
                    "keeps state without saving it, or that draws random numbers outside the "
                    "run's generators, changes the training after a resume"
                    + (f"; the run's components: {', '.join(suspects)}" if suspects else ""))
    return ""


@pytest.fixture
def check_resume(tmp_path: Path) -> Callable[..., ResumeCheck]:
    """:func:`resume_matches` in a fresh temporary folder.

    >>> def test_my_augment_resumes(check_resume):
    ...     check_resume("dcgan-32-mine", ["data.type='shapes'"], steps=(2, 2))
    """

    def _check(recipe: Any, overrides: Iterable[str] = (), steps: tuple[int, int] = (3, 3),
               *, registry: Registry | None = None) -> ResumeCheck:
        return resume_matches(recipe, tmp_path / "resume", overrides, steps, registry=registry)

    return _check


@pytest.fixture
def check_pack() -> Callable[..., list[str]]:
    """Build every component of a plugin from its defaults and run each on a tiny CPU tensor.

    >>> def test_pack(check_pack):
    ...     checked = check_pack(my_pack.plugin, skip=["block:needs_vectors"])
    ...     assert "block:my_block" in checked

    Keyword arguments: ``name`` (the plugin's origin name), ``skip`` (``"kind:name"`` ids),
    ``params`` and ``examples`` (dicts keyed by ``"kind:name"``: parameters added to the
    defaults, input tensors to use), ``data_shape`` and ``num_classes`` for networks.
    Returns the ids checked.
    """

    def _check(
        plugin: Any,
        name: str | None = None,
        *,
        skip: Iterable[str] = (),
        params: Mapping[str, Mapping[str, Any]] | None = None,
        examples: Mapping[str, Any] | None = None,
        data_shape: tuple[int, ...] = DATA_SHAPE,
        num_classes: int = 0,
    ) -> list[str]:
        import torch

        registry, origin = plugin_registry(plugin, name)
        skipped = set(skip)
        checked: list[str] = []
        for entry in list(registry.entries()):
            cid = f"{entry.kind}:{entry.name}"
            if entry.origin != origin or cid in skipped:
                continue
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                check_component(  # by qualified name: the pack's own, whatever else is there
                    registry,
                    entry.kind,
                    entry.qualified,
                    (params or {}).get(cid),
                    data_shape=data_shape,
                    num_classes=num_classes,
                    example=(examples or {}).get(cid),
                )
            checked.append(cid)
        assert checked, f"plugin {origin!r} registered no components to check"
        return checked

    return _check
