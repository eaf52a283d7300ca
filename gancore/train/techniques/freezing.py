"""``freeze_d``: FreezeD, the first blocks of the discriminator kept fixed (extension point
``freeze``).

Mo et al. 2020 ("Freeze the discriminator: a simple baseline for fine-tuning GANs"): the
``blocks`` blocks nearest D's input get no gradient and no optimizer state, so they keep the
weights they start from (``--init-from``). See :mod:`gancore.train.freezed`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from gancore.train import freezed

Blocks = Annotated[int, Field(ge=1, le=1024, description="blocks frozen from the input (1..1024)")]


class FreezeD:
    """Freeze D's first ``blocks`` blocks (its stem counts as the first)."""

    points = ("freeze",)

    def __init__(self, blocks: Blocks = 1) -> None:
        self.blocks = blocks

    def freeze(self, networks: Any) -> list[Any]:
        return freezed.freeze(networks.discriminator, self.blocks, key="blocks")
