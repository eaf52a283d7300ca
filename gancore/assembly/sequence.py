"""Threading channels and resolution through a list of block specs.

Recipes never repeat ``in_channels``: each block is made from the previous one's
``out_channels``, and the resolution follows each block's ``scale`` (or ``out_resolution``).
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from gancore.assembly.context import BuildContext
from gancore.core.contract import block_out_resolution, block_scale
from gancore.core.errors import ContractError, GancoreError, RecipeError
from gancore.core.refs import ComponentSpec, as_spec
from gancore.core.registry import params_of, params_to_kwargs


def make_block(
    ctx: BuildContext,
    spec: ComponentSpec | dict[str, Any] | str,
    in_channels: int,
    key: str,
    **fill: Any,
) -> nn.Module:
    """Construct one block (validating its parameters unless the recipe is resolved).

    ``fill`` gives parameter values used when the recipe leaves them out (a head's
    ``out_channels``, say).
    """
    spec = as_spec("block", spec)
    entry = ctx.registry.get("block", spec, key=f"{key}.type")
    params = params_of(entry, spec, key=key)
    unset = {n: v for n, v in fill.items()
             if n in type(params).model_fields and getattr(params, n) is None}
    if unset:
        params = params.model_copy(update=unset)
    try:
        return entry.create(in_channels, ctx=ctx.child(key=key), **params_to_kwargs(params))
    except ContractError:
        raise
    except GancoreError as exc:
        raise exc.located(key_prefix=None if exc.key else key) from None
    except (ValueError, RuntimeError) as exc:
        raise RecipeError(
            f"cannot build block {spec.type!r}: {exc}",
            key=key,
            hint=f"check this block's parameters against `gancore show block {spec.type}`",
        ) from None


def next_resolution(
    block: nn.Module, resolution: int | None, key: str, spec_type: str
) -> int | None:
    """The resolution after ``block`` (``None`` for flat vectors)."""
    sets, value = block_out_resolution(block, resolution)
    if sets:
        return value
    scale = block_scale(block)
    if scale == 1.0:
        return resolution
    if resolution is None:
        raise RecipeError(
            f"block {spec_type!r} changes the resolution, but its input is a flat vector",
            key=key,
            hint="start the network with a stem that makes a feature map, "
            'e.g. stem = { type = "dense", resolution = 4 }',
        )
    new = resolution * scale
    if new < 1 or not float(new).is_integer():
        raise RecipeError(
            f"block {spec_type!r} cannot scale a {resolution}x{resolution} map by {scale:g}",
            key=key,
            hint="remove a downsampling block before this one",
        )
    return int(new)


def assemble(
    ctx: BuildContext,
    specs: list[ComponentSpec],
    in_channels: int,
    resolution: int | None,
    key: str,
) -> tuple[nn.ModuleList, int, int | None]:
    """Build ``specs`` in sequence; return the blocks, final channels and resolution."""
    blocks = nn.ModuleList()
    channels = in_channels
    for i, given in enumerate(specs):
        spec = as_spec("block", given)
        bkey = f"{key}[{i}]"
        block = make_block(ctx.child(resolution=resolution), spec, channels, bkey)
        resolution = next_resolution(block, resolution, bkey, spec.type)
        channels = int(block.out_channels)
        blocks.append(block)
    return blocks, channels, resolution


def resolution_hint(have: int, want: int, up: bool) -> str:
    """How many up- or downsampling blocks to add or remove to go from ``have`` to ``want``."""
    ratio = max(have, want) / min(have, want)
    n = round(math.log2(ratio)) if ratio > 0 else 0
    exact = 2**n == ratio
    word = "upsampling" if up else "downsampling"
    example = '{ type = "upsample" }' if up else '{ type = "down" }'
    if not exact:
        return (
            f"{have} cannot reach {want} by factors of 2; change the stem resolution "
            f"so that it is {want} divided by a power of 2"
        )
    if (have < want) == up:
        return f"add {n} {word} block{'s' if n > 1 else ''} (e.g. {example})"
    return f"remove {n} {word} block{'s' if n > 1 else ''}"
