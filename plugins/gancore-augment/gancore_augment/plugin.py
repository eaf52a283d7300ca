"""The pack's gancore plugin: lazy factories, so importing it loads no torch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gancore.plugin import hookimpl

if TYPE_CHECKING:
    from gancore.plugin import Registry

_M = "gancore_augment.augments"

COMPONENTS: list[tuple[str, str, str]] = [
    ("diffaugment", f"{_M}:DiffAugment", "DiffAugment: colour, translation, cutout (policy)"),
    ("color", f"{_M}:Color", "random brightness, saturation and contrast"),
    ("translation", f"{_M}:Translation", "random shift with zero padding"),
    ("cutout", f"{_M}:Cutout", "zero a random square"),
]


@hookimpl
def gancore_register_components(registry: Registry) -> None:
    """Register the augmentations."""
    for name, factory, summary in COMPONENTS:
        registry.add("augment", name, factory, summary=summary)


@hookimpl
def gancore_recipe_dirs() -> list[str]:
    """Recipes that use the augmentations."""
    return [str(Path(__file__).resolve().parent / "recipes")]
