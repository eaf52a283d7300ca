"""Every component reference of a resolved recipe, nested ones included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from gancore.core.kinds import top_places
from gancore.core.refs import ComponentSpec, spec_kind

if TYPE_CHECKING:
    from gancore.recipe.schema import Recipe


def iter_references(recipe: Recipe) -> Iterator[tuple[str, str, ComponentSpec]]:
    """``(kind, key, reference)`` for every component reference of a resolved recipe, nested
    ones included (a block's norm: ``generator.blocks[2].norm``)."""

    def walk(kind: str, key: str, spec: ComponentSpec) -> Iterator[tuple[str, str, ComponentSpec]]:
        yield kind, key, spec
        model = spec.validated
        if model is None:
            return
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, ComponentSpec):
                yield from walk(spec_kind(value), f"{key}.{name}", value)
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    if isinstance(v, ComponentSpec):
                        yield from walk(spec_kind(v), f"{key}.{name}[{i}]", v)

    for kind, place, is_list in top_places():
        section, _, field = place.partition(".")
        value = getattr(getattr(recipe, section), field) if field else getattr(recipe, section)
        for i, spec in enumerate(value if is_list else [value]):
            yield from walk(kind, f"{place}[{i}]" if is_list else place, spec)
