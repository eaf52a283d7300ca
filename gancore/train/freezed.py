"""FreezeD (Mo et al. 2020): fine-tune a GAN with the discriminator's first blocks frozen.

``train.freeze_d = N`` freezes the N blocks nearest the input: their parameters get no
gradient (``requires_grad`` is False) and are left out of the D optimizer, so they keep the
values they start from (``--init-from``), while the later blocks and the head adapt. The
blocks are the discriminator's ``stem`` (when it has one) followed by its ``blocks``, as the
stack discriminator builds them. Buffers (batch-norm running statistics) are not parameters
and keep following the data.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

from gancore.core.errors import RecipeError

KEY = "train.freeze_d"


def discriminator_blocks(discriminator: nn.Module) -> list[nn.Module]:
    """The discriminator's blocks from the input on: its stem (if any), then ``blocks``."""
    blocks = getattr(discriminator, "blocks", None)
    if not isinstance(blocks, nn.Module | list | tuple):
        return []
    out = list(blocks)
    stem = getattr(discriminator, "stem", None)
    if isinstance(stem, nn.Module) and not isinstance(stem, nn.Identity):
        out.insert(0, stem)
    return [b for b in out if isinstance(b, nn.Module)]


def _describe(discriminator: nn.Module, count: int) -> str:
    stem = getattr(discriminator, "stem", None)
    has_stem = isinstance(stem, nn.Module) and not isinstance(stem, nn.Identity)
    listed = count - has_stem
    parts = (["the stem"] if has_stem else []) + (
        [f"discriminator.blocks[0..{listed - 1}]"] if listed > 1 else
        ["discriminator.blocks[0]"] if listed == 1 else [])
    return f"{count} block{'s' if count != 1 else ''}" + (
        f" ({' and '.join(parts)})" if parts else "")


def freeze(discriminator: nn.Module, n: int, source: str | None = None,
           key: str = KEY) -> list[nn.Parameter]:
    """Freeze the first ``n`` blocks of ``discriminator``; returns their parameters.

    ``key`` is the recipe key an error names (``train.techniques[0].blocks``)."""
    if n <= 0:
        return []
    blocks = discriminator_blocks(discriminator)
    if not blocks:
        raise RecipeError(
            f"cannot freeze {n} discriminator block{'s' if n != 1 else ''}: this "
            f"discriminator ({type(discriminator).__name__}) is not made of blocks",
            source=source, key=key,
            hint='FreezeD needs a discriminator made of blocks (type = "stack"); remove '
            "freeze_d",
        )
    if n > len(blocks):
        raise RecipeError(
            f"cannot freeze {n} discriminator blocks: the discriminator has "
            f"{_describe(discriminator, len(blocks))}",
            source=source, key=key,
            hint=f"freeze 0 to {len(blocks)} blocks (FreezeD usually keeps the head and the "
            "last blocks trainable)",
        )
    frozen: list[nn.Parameter] = []
    for block in blocks[:n]:
        for p in block.parameters():
            p.requires_grad_(False)
            frozen.append(p)
    return frozen


def trainable(discriminator: nn.Module, frozen: Iterable[nn.Parameter]) -> list[nn.Parameter]:
    """The parameters of ``discriminator`` that are not ``frozen``, in order."""
    ids = {id(p) for p in frozen}
    return [p for p in discriminator.parameters() if id(p) not in ids]
