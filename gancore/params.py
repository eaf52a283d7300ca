"""Bounded parameter types for component parameters (part of the author API, :mod:`gancore.plugin`).

Sizes are checked when the recipe is validated, before any memory is allocated.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

#: A channel or feature count.
Channels = Annotated[int, Field(gt=0, le=16384, description="channels / features (1..16384)")]
#: A spatial resolution in pixels.
Resolution = Annotated[int, Field(gt=0, le=4096, description="resolution in pixels (1..4096)")]
#: A kernel size.
Kernel = Annotated[int, Field(gt=0, le=15, description="kernel size (1..15)")]
#: A probability.
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
