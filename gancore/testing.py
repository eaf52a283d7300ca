"""pytest plugin shipped with gancore: fixtures for testing components and plugin packs.

Enabled automatically when gancore is installed (entry point ``pytest11``). Importing it loads
no torch. Fixtures:

``register_plugin``
    register plugin objects for one test; the process-wide registry is restored afterwards.
``check_pack``
    build every component a plugin registers from its defaults and run it on a tiny CPU
    tensor (blocks, generators, discriminators, augmentations, losses, activations).

:func:`pack_components` and :func:`check_component` do the same work outside a fixture, for
example to parametrize a test over a pack's components.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gancore.registry import Registry

#: Shape (C, H, W) of the data networks are built for in :func:`check_component`.
DATA_SHAPE: tuple[int, int, int] = (3, 16, 16)
#: Input channels and resolution of the feature maps blocks are run on.
BLOCK_CHANNELS = 8
BLOCK_RESOLUTION = 8
BATCH = 2


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., Any]]:
    """Register plugin objects for one test; the process-wide registry is restored afterwards.

    >>> def test_my_block(register_plugin):
    ...     registry = register_plugin(my_plugin_module)
    ...     assert ("block", "my_block") in registry
    """
    from gancore import plugins

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
    from gancore.errors import PluginError
    from gancore.plugins import load_plugins

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
    """Build component ``kind``/``name`` from its defaults (plus ``params``) and run it once.

    - block: built with ``in_channels = 8`` at resolution 8 and run on ``[2, 8, 8, 8]``
      (a block exposing ``cond_dim`` also gets a ``[2, cond_dim]`` condition);
    - generator / discriminator: built with :func:`gancore.build_network` for ``data_shape``;
      generators get ``z`` ``[2, latent_dim]``, discriminators images ``[2, *data_shape]``;
    - augment: applied to ``[2, 3, 16, 16]``; it must keep the shape and pass gradients;
    - loss: ``d_loss`` and ``g_loss`` on random logits must be finite scalars;
    - activation: applied to a random tensor;
    - any other kind: the defaults are validated against its parameter model.

    ``example`` replaces the input tensor. Returns the built object. Failures raise
    ``AssertionError`` (or the component's own error).
    """
    from gancore.registry import params_to_kwargs, validate_params

    entry = registry.get(kind, name)
    values = dict(params or {})
    checker = _CHECKERS.get(kind)
    if checker is None:
        validate_params(entry, values, key=f"{kind}:{name}")
        return entry
    if kind in ("generator", "discriminator"):
        return checker(registry, name, values, data_shape, num_classes, example)
    model = validate_params(entry, values, key=f"{kind}:{name}")
    return checker(registry, entry, params_to_kwargs(model), example)


def _check_block(registry: Registry, entry: Any, kwargs: dict[str, Any], example: Any) -> Any:
    import torch

    from gancore.context import BuildContext

    ctx = BuildContext(
        registry=registry,
        key=f"block:{entry.name}",
        resolution=BLOCK_RESOLUTION,
        image_channels=DATA_SHAPE[0],
        extra={"data_shape": (DATA_SHAPE[0], BLOCK_RESOLUTION, BLOCK_RESOLUTION)},
    )
    x = example
    if x is None:
        x = torch.randn(BATCH, BLOCK_CHANNELS, BLOCK_RESOLUTION, BLOCK_RESOLUTION)
    block = entry.create(int(x.shape[1]), ctx=ctx, **kwargs)
    cond_dim = getattr(block, "cond_dim", None)
    cond = torch.randn(x.shape[0], int(cond_dim)) if cond_dim else None
    out = block(x, cond)
    assert out.shape[0] == x.shape[0], f"block {entry.name!r} changed the batch size"
    assert torch.isfinite(out).all(), f"block {entry.name!r} produced non-finite values"
    if out.dim() == 4 and x.dim() == 4:
        assert out.shape[1] == block.out_channels, (
            f"block {entry.name!r} says out_channels={block.out_channels}, made {out.shape[1]}"
        )
        res = getattr(block, "out_resolution", None)
        if res is None and not hasattr(block, "out_resolution"):
            res = int(x.shape[-1] * float(getattr(block, "scale", 1.0)))
        assert res is None or out.shape[-1] == res, (
            f"block {entry.name!r} should make {res}x{res} maps, made {tuple(out.shape[-2:])}"
        )
    return block


def _check_network(
    registry: Registry,
    name: str,
    values: dict[str, Any],
    data_shape: tuple[int, ...],
    num_classes: int,
    example: Any,
    kind: str,
) -> Any:
    import torch

    from gancore.builder import build_network

    data = {"shape": data_shape, "num_classes": num_classes}
    net = build_network(kind, {"type": name, **values}, data, registry)
    classes = int(getattr(net, "num_classes", 0))
    y = torch.arange(BATCH) % classes if classes else None
    if kind == "generator":
        z = example if example is not None else torch.randn(BATCH, int(net.latent_dim))
        out = net(z, y)
        assert tuple(out.shape) == (z.shape[0], *data_shape), (
            f"generator {name!r} made {tuple(out.shape)}, expected {(z.shape[0], *data_shape)}"
        )
    else:
        x = example if example is not None else torch.randn(BATCH, *data_shape)
        out = net(x, y)
        assert tuple(out.shape) == (x.shape[0],), (
            f"discriminator {name!r} returned {tuple(out.shape)}, not one logit per image"
        )
    assert torch.isfinite(out).all(), f"{kind} {name!r} produced non-finite values"
    return net


def _check_augment(registry: Registry, entry: Any, kwargs: dict[str, Any], example: Any) -> Any:
    import torch

    augment = entry.create(**kwargs)
    x = example if example is not None else torch.randn(BATCH, *DATA_SHAPE)
    x = x.detach().clone().requires_grad_(True)
    out = augment(x)
    assert out.shape == x.shape, f"augment {entry.name!r} changed the shape to {out.shape}"
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all(), (
        f"augment {entry.name!r} is not differentiable"
    )
    return augment


def _check_loss(registry: Registry, entry: Any, kwargs: dict[str, Any], example: Any) -> Any:
    import torch

    loss = entry.create(**kwargs)
    real, fake = torch.randn(4), torch.randn(4)
    for value in (loss.d_loss(real, fake), loss.g_loss(fake, real)):
        assert value.dim() == 0 and torch.isfinite(value), f"loss {entry.name!r} is not a scalar"
    return loss


def _check_activation(registry: Registry, entry: Any, kwargs: dict[str, Any], ex: Any) -> Any:
    import torch

    act = entry.create(**kwargs)
    x = ex if ex is not None else torch.randn(BATCH, BLOCK_CHANNELS)
    assert act(x).shape == x.shape, f"activation {entry.name!r} changed the shape"
    return act


_CHECKERS: dict[str, Callable[..., Any]] = {
    "block": _check_block,
    "generator": lambda *a: _check_network(*a, kind="generator"),
    "discriminator": lambda *a: _check_network(*a, kind="discriminator"),
    "augment": _check_augment,
    "loss": _check_loss,
    "activation": _check_activation,
}


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
                check_component(
                    registry,
                    entry.kind,
                    entry.name,
                    (params or {}).get(cid),
                    data_shape=data_shape,
                    num_classes=num_classes,
                    example=(examples or {}).get(cid),
                )
            checked.append(cid)
        assert checked, f"plugin {origin!r} registered no components to check"
        return checked

    return _check
