"""The pack's gancore plugin: lazy factories, so importing it loads no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore.plugin import hookimpl

if TYPE_CHECKING:
    from gancore.plugin import Registry

_P = "gancore_stylegan"

COMPONENTS: list[tuple[str, str, str, str]] = [
    (
        "generator",
        "stylegan2",
        f"{_P}.generator:StyleGAN2Generator",
        "StyleGAN2: mapping network, modulated convs, noise inputs, style mixing",
    ),
    (
        "block",
        "style_block",
        f"{_P}.blocks:StyleBlock",
        "StyleGAN2 layer: modulated conv + noise + bias + leaky ReLU (cond = w)",
    ),
    (
        "block",
        "modulated_conv",
        f"{_P}.blocks:ModulatedConvBlock",
        "modulated, demodulated convolution (cond = w)",
    ),
    (
        "block",
        "to_rgb",
        f"{_P}.blocks:ToRGB",
        "1x1 modulated conv to image channels, no demodulation (cond = w)",
    ),
]


@hookimpl
def gancore_register_components(registry: Registry) -> None:
    """Register the StyleGAN2 generator and its blocks."""
    for kind, name, factory, summary in COMPONENTS:
        registry.add(kind, name, factory, summary=summary)
