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
    ("ada", "gancore_augment.ada:ADA",
     "ADA: the bgc pipeline at a probability p adapted from every critic batch"),
]


@hookimpl
def gancore_register_components(registry: Registry) -> None:
    """Register the augmentations and the callback that logs ``ada``'s p."""
    from gancore_augment.requirements import ADA_REQUIRES

    for name, factory, summary in COMPONENTS:
        meta = {"requires": ADA_REQUIRES} if name == "ada" else {}
        registry.add("augment", name, factory, summary=summary, **meta)
    registry.add("callback", "ada", "gancore_augment.ada:AdaUpdate", default=True,
                 summary="logs aug_p and ada_rt of the ada augments; on by default")


@hookimpl
def gancore_recipe_dirs() -> list[str]:
    """Recipes that use the augmentations."""
    return [str(Path(__file__).resolve().parent / "recipes")]
