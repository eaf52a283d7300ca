"""``gancore build``'s summary: a dummy forward pass recording each part's output shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gancore.assembly.build import GAN
from gancore.core.errors import RecipeError
from gancore.core.refs import ComponentSpec


@dataclass
class LayerRow:
    """One row of a network summary."""

    name: str
    type: str
    output_shape: list[int]
    params: int
    layers: str = ""


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


_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d)


def _layer_name(m: nn.Module) -> str:
    name = type(m).__name__.removeprefix("Parametrized")
    if isinstance(m, nn.GroupNorm):
        return f"GroupNorm({m.num_groups}, {m.num_channels})"
    if isinstance(m, _NORM_TYPES):
        return f"{name}({m.num_features})"
    if isinstance(m, nn.LayerNorm):
        return f"LayerNorm({', '.join(map(str, m.normalized_shape))})"
    if isinstance(m, nn.modules.conv._ConvNd):
        k = "x".join(map(str, m.kernel_size))
        stride = f"/{m.stride[0]}" if m.stride[0] != 1 else ""
        name = f"{name}({m.in_channels}->{m.out_channels}, {k}{stride})"
    elif isinstance(m, nn.Linear):
        name = f"Linear({m.in_features}->{m.out_features})"
    parametrized = getattr(m, "parametrizations", None)
    if parametrized is not None and "weight" in parametrized:
        kinds = {type(p).__name__ for p in parametrized.weight}
        name += " +" + "+".join(sorted(k.removeprefix("_") for k in kinds))
    return name


def describe_layers(module: nn.Module, limit: int = 6) -> str:
    """The torch layers inside a part, e.g. ``Conv2d(64->128, 3x3) +SpectralNorm, GroupNorm(8,
    128), ReLU`` (the first ``limit``, then a count)."""
    leaves = []
    for m in module.modules():
        if m is module and list(m.children()):
            continue
        if isinstance(m, nn.modules.conv._ConvNd | nn.Linear | nn.GroupNorm | nn.LayerNorm
                      | nn.Embedding) or isinstance(m, _NORM_TYPES) or not list(m.children()):
            if type(m).__name__ in ("ParametrizationList", "ModuleDict", "ModuleList"):
                continue
            if type(m).__module__.startswith("torch.nn.utils.parametrizations"):
                continue
            leaves.append(m)
    names = [_layer_name(m) for m in leaves if not isinstance(m, nn.Identity)]
    text = ", ".join(names[:limit])
    return text + (f", +{len(names) - limit} more" if len(names) > limit else "")


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
                row = LayerRow(name, t, [], sum(p.numel() for p in module.parameters()),
                               describe_layers(module))
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
