"""The pack's gancore plugin: lazy factories, so importing it loads no torch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gancore.plugin import hookimpl

if TYPE_CHECKING:
    from gancore.plugin import Registry

_P = "gancore_biggan"

COMPONENTS: list[tuple[str, str, str, str]] = [
    (
        "generator",
        "biggan",
        f"{_P}.generator:BigGANGenerator",
        "BigGAN: shared embedding, hierarchical z, conditional BN, residual up-blocks",
    ),
    (
        "discriminator",
        "biggan",
        f"{_P}.discriminator:BigGANDiscriminator",
        "BigGAN: spectral-norm residual down-blocks, projection head",
    ),
    (
        "optimizer",
        "ortho_adam",
        f"{_P}.optim:ortho_adam",
        "Adam plus BigGAN's orthogonal regularisation of the weights",
    ),
]


@hookimpl
def gancore_register_components(registry: Registry) -> None:
    """Register the BigGAN networks and the orthogonally regularised Adam."""
    for kind, name, factory, summary in COMPONENTS:
        registry.add(kind, name, factory, summary=summary)


@hookimpl
def gancore_recipe_dirs() -> list[str]:
    """The BigGAN recipes."""
    return [str(Path(__file__).resolve().parent / "recipes")]
