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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancore.context import BuildContext
from gancore.errors import GancoreError, RecipeError
from gancore.protocols import DataSpec
from gancore.recipe import Recipe, load_recipe, resolve
from gancore.registry import Registry, params_to_kwargs, validate_params
from gancore.spec import ComponentSpec

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
    entry = registry.get("dataset", recipe.data.type, key="data.type")
    params = validate_params(entry, recipe.data.params(), key="data", source=recipe.source)
    factory = entry.load()
    describe = getattr(factory, "describe", None)
    if describe is None:
        raise GancoreError(
            f"dataset {recipe.data.type!r} cannot describe its shape",
            hint="its class needs a describe(**params) -> DataSpec classmethod",
        )
    try:
        return describe(**params_to_kwargs(params))
    except GancoreError as exc:
        raise exc.located(source=recipe.source) from None


def _as_data_spec(data: DataSpec | tuple[int, ...] | dict[str, Any]) -> DataSpec:
    if isinstance(data, DataSpec):
        return data
    if isinstance(data, dict):
        return DataSpec(tuple(data["shape"]), int(data.get("num_classes", 0)))
    return DataSpec(tuple(int(s) for s in data))


def build_network(
    kind: str,
    spec: ComponentSpec | dict[str, Any],
    data: DataSpec | tuple[int, ...] | dict[str, Any],
    registry: Registry | None = None,
    *,
    key: str | None = None,
) -> nn.Module:
    """Build one ``generator`` or ``discriminator`` from a spec dict and the data's shape."""
    from gancore.plugins import get_registry

    registry = registry or get_registry()
    data = _as_data_spec(data)
    if isinstance(spec, dict):
        spec = ComponentSpec.model_validate(spec)
    key = key or kind
    entry = registry.get(kind, spec.type, key=f"{key}.type")
    params = validate_params(entry, spec.params(), key=key)
    ctx = BuildContext(
        registry=registry,
        num_classes=data.num_classes,
        key=key,
        image_channels=data.shape[0],
        extra={"data_shape": data.shape},
    )
    return entry.create(ctx=ctx, **params_to_kwargs(params))


def _count_on_meta(recipe: Recipe, registry: Registry, data: DataSpec) -> dict[str, int]:
    """Parameter counts from a build on the meta device (allocates no memory)."""
    counts = {}
    with torch.device("meta"):
        for kind in ("generator", "discriminator"):
            net = build_network(kind, getattr(recipe, kind), data, registry)
            counts[kind] = sum(p.numel() for p in net.parameters())
    return counts


def build(
    source: str | Path | dict[str, Any] | Recipe,
    *,
    overrides: list[str] | tuple[str, ...] = (),
    registry: Registry | None = None,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> GAN:
    """Build a :class:`GAN` from a recipe path, bundled recipe name, dict or :class:`Recipe`.

    Components are validated against the registry, shapes are checked on the meta device,
    then the networks are made (initialised from ``seed``, default the recipe's ``seed``).
    """
    from gancore.plugins import get_registry

    registry = registry or get_registry()
    recipe = resolve(load_recipe(source, overrides), registry)
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
    loss_entry = registry.get("loss", recipe.loss.type, key="loss.type")
    loss = loss_entry.create(**recipe.loss.params())
    gan = GAN(g, d, recipe, data, loss).to(device)
    gan.meta["seed"] = str(seed)
    return gan


@dataclass
class LayerRow:
    """One row of a network summary."""

    name: str
    type: str
    output_shape: list[int]
    params: int


@dataclass
class NetworkSummary:
    """Per-layer output shapes and parameter counts of one network."""

    layers: list[LayerRow] = field(default_factory=list)
    params: int = 0
    trainable: int = 0
    output_shape: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "trainable": self.trainable,
            "output_shape": self.output_shape,
            "layers": [vars(r) for r in self.layers],
        }


def _named_parts(
    net: nn.Module, prefix: str, recipe_spec: ComponentSpec
) -> list[tuple[str, str, nn.Module]]:
    params = recipe_spec.params()
    parts: list[tuple[str, str, nn.Module]] = []
    for name, child in net.named_children():
        if isinstance(child, nn.ModuleList):
            specs = params.get(name) or []
            for i, block in enumerate(child):
                t = specs[i]["type"] if i < len(specs) else type(block).__name__
                parts.append((f"{prefix}.{name}[{i}]", t, block))
        else:
            spec = params.get(name)
            t = spec["type"] if isinstance(spec, dict) else type(child).__name__
            parts.append((f"{prefix}.{name}", t, child))
    return parts


def summarize(gan: GAN, batch_size: int = 2) -> dict[str, NetworkSummary]:
    """Run a dummy forward pass through both networks, recording each part's output shape."""
    out: dict[str, NetworkSummary] = {}
    device = next(gan.generator.parameters()).device
    y = (torch.arange(batch_size, device=device) % gan.num_classes) if gan.num_classes else None
    z = torch.randn(batch_size, gan.latent_dim, device=device)
    was_training = gan.training
    gan.eval()
    with torch.no_grad():
        for kind in ("generator", "discriminator"):
            net = getattr(gan, kind)
            summary = NetworkSummary()
            hooks = []
            for name, t, module in _named_parts(net, kind, getattr(gan.recipe, kind)):
                row = LayerRow(name, t, [], sum(p.numel() for p in module.parameters()))
                summary.layers.append(row)

                def hook(_m: nn.Module, _i: Any, output: Any, row: LayerRow = row) -> None:
                    if isinstance(output, torch.Tensor):
                        row.output_shape = list(output.shape)

                hooks.append(module.register_forward_hook(hook))
            try:
                if kind == "generator":
                    images = net(z, y)
                    result = images
                else:
                    d_y = y if getattr(net, "num_classes", 0) else None
                    result = net(images, d_y)
            finally:
                for h in hooks:
                    h.remove()
            summary.output_shape = list(result.shape)
            summary.params = sum(p.numel() for p in net.parameters())
            summary.trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
            out[kind] = summary
    gan.train(was_training)
    d_out = out["discriminator"].output_shape
    if d_out != [batch_size]:
        raise RecipeError(
            f"the discriminator returns shape {d_out}, not one logit per image",
            source=gan.recipe.source,
            key="discriminator.head",
            hint="end it with a logit head (conv_logit or linear_logit)",
        )
    return out
