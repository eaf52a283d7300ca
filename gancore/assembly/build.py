"""Recipe -> GAN: resolve components, thread shapes, construct plain ``nn.Module``s.

>>> gan = gancore.build("recipes/dcgan.toml")
>>> images = gan.generator(torch.randn(8, gan.generator.latent_dim))

Without a recipe file, assemble one network from blocks::

    g = gancore.build_network("generator", {
        "type": "stack", "latent_dim": 64,
        "stem": {"type": "dense", "out_channels": 128, "resolution": 4},
        "blocks": [{"type": "upsample", "out_channels": 64}, {"type": "upsample"}],
    }, data=(3, 16, 16))
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancore.assembly.context import BuildContext
from gancore.core.contract import check_factory_member, check_network_shapes
from gancore.core.errors import GancoreError, RecipeError
from gancore.core.protocols import DataSpec
from gancore.core.refs import ComponentSpec, as_spec
from gancore.core.registry import Registry, params_of, params_to_kwargs
from gancore.recipe import Recipe, load_recipe, resolve

#: Networks larger than this are refused before any memory is allocated.
MAX_PARAMETERS = 2_000_000_000


class GAN(nn.Module):
    """A built GAN: ``generator``, ``discriminator``, the resolved ``recipe`` and ``data`` spec."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        recipe: Recipe,
        data: DataSpec,
        loss: Any = None,
    ) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.recipe = recipe
        self.data = data
        self.loss = loss
        self.meta: dict[str, str] = {}

    @property
    def latent_dim(self) -> int:
        return int(self.generator.latent_dim)

    @property
    def num_classes(self) -> int:
        return int(getattr(self.generator, "num_classes", 0))

    def sample_latent(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Standard normal latent vectors ``[n, latent_dim]``."""
        device = device or next(self.generator.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator).to(device)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, y)


def data_spec(recipe: Recipe, registry: Registry) -> DataSpec:
    """The data's shape and classes, from the dataset component without loading it."""
    entry = registry.get("dataset", recipe.data, key="data.type")
    params = params_of(entry, recipe.data, key="data", source=recipe.source)
    describe = check_factory_member(
        entry, "describe", "a describe(**params) -> DataSpec classmethod"
    )
    try:
        spec = describe(**params_to_kwargs(params))
    except GancoreError as exc:  # a dataset names its own parameter: the recipe key is data.*
        prefix = "data" if exc.key and not exc.key.startswith(("data", "-")) else None
        raise exc.located(source=recipe.source, key_prefix=prefix) from None
    if not isinstance(spec, DataSpec):
        from gancore.core.contract import broken

        raise broken(entry, f"describe() returned {type(spec).__name__}, not a DataSpec")
    return spec


def _as_data_spec(data: DataSpec | tuple[int, ...] | dict[str, Any]) -> DataSpec:
    if isinstance(data, DataSpec):
        return data
    if isinstance(data, dict):
        return DataSpec(tuple(data["shape"]), int(data.get("num_classes", 0)))
    return DataSpec(tuple(int(s) for s in data))


def build_network(
    kind: str,
    spec: ComponentSpec | dict[str, Any] | str,
    data: DataSpec | tuple[int, ...] | dict[str, Any],
    registry: Registry | None = None,
    *,
    key: str | None = None,
) -> nn.Module:
    """Build one ``generator`` or ``discriminator`` from a spec and the data's shape."""
    from gancore.packs.loader import get_registry

    registry = registry or get_registry()
    data = _as_data_spec(data)
    spec = as_spec(kind, spec)
    key = key or kind
    entry = registry.get(kind, spec, key=f"{key}.type")
    params = params_of(entry, spec, key=key)
    ctx = BuildContext(
        registry=registry,
        num_classes=data.num_classes,
        key=key,
        image_channels=data.shape[0],
        data_shape=tuple(data.shape),
    )
    return entry.create(ctx=ctx, **params_to_kwargs(params))


def _count_on_meta(recipe: Recipe, registry: Registry, data: DataSpec) -> dict[str, int]:
    """Parameter counts and the shape contract, from a build on the meta device.

    Nothing is allocated or computed: a network too large is refused before any memory is
    used, and a block whose declared sizes differ from what it makes is named here, once.
    """
    counts = {}
    with torch.device("meta"):
        for kind in ("generator", "discriminator"):
            net = build_network(kind, getattr(recipe, kind), data, registry)
            counts[kind] = sum(p.numel() for p in net.parameters())
            if counts[kind] <= MAX_PARAMETERS:
                check_network_shapes(net, kind, tuple(data.shape), data.num_classes, kind)
    return counts


def build(
    source: str | Path | dict[str, Any] | Recipe,
    *,
    overrides: list[str] | tuple[str, ...] = (),
    registry: Registry | None = None,
    seed: int | None = None,
    device: str | torch.device = "cpu",
    echo: Callable[[str], None] | None = None,
    findings: bool = True,
) -> GAN:
    """Build a :class:`GAN` from a recipe path, bundled recipe name, dict or :class:`Recipe`.

    Components are validated against the registry, what components need from each other is
    checked (a conflict is an error; a hazard a warning, printed with ``echo`` or given to
    :mod:`warnings`; ``findings=False`` leaves that to the caller), shapes are checked on the
    meta device, then the networks are made (initialised from ``seed``, default the recipe's
    ``seed``).
    """
    from gancore.core.params import check_seed
    from gancore.packs.loader import get_registry

    if seed is not None:
        check_seed(seed, "--seed")  # before anything is built: torch takes 64-bit seeds only
    registry = registry or get_registry()
    recipe = resolve(load_recipe(source, overrides), registry)
    if findings:
        from gancore.recipe.requirements import announce

        announce(recipe.findings, echo)
    data = data_spec(recipe, registry)
    try:
        counts = _count_on_meta(recipe, registry, data)
    except GancoreError as exc:
        raise exc.located(source=recipe.source) from None
    for kind, n in counts.items():
        if n > MAX_PARAMETERS:
            raise RecipeError(
                f"the {kind} would have {n:,} parameters (limit {MAX_PARAMETERS:,})",
                source=recipe.source,
                key=kind,
                hint="reduce out_channels, resolution or the number of blocks",
            )
    seed = recipe.seed if seed is None else seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = build_network("generator", recipe.generator, data, registry)
        d = build_network("discriminator", recipe.discriminator, data, registry)
    loss = registry.make("loss", recipe.loss, key="loss")
    gan = GAN(g, d, recipe, data, loss).to(device)
    gan.meta["seed"] = str(seed)
    return gan
