"""Bounded parameter types for component parameters (part of the author API, :mod:`gancore.plugin`).

Sizes are checked when the recipe is validated, before any memory is allocated. Every numeric
parameter of a built-in component, and every numeric recipe setting, is declared with one of
these types (or an explicit ``Field(ge=..., le=...)``), so a value the code cannot use is refused
with its key path instead of crashing later. Floats are finite (NaN and infinity are refused);
the parameter models are strict (``true`` is not a number, ``1`` is not a boolean; an int is a
float).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

#: The largest step count (``train.steps``, warm-ups, intervals).
MAX_STEPS = 10**9
#: Seeds: what ``torch.manual_seed`` accepts, less what gancore adds to derive other seeds.
MAX_SEED = 2**63 - 1

#: A channel or feature count.
Channels = Annotated[int, Field(gt=0, le=16384, description="channels / features (1..16384)")]
#: A label embedding's width; 0 means one-hot.
EmbedDim = Annotated[
    int, Field(ge=0, le=16384, description="embedding width (0..16384; 0: one-hot)")
]
#: A spatial resolution in pixels.
Resolution = Annotated[int, Field(gt=0, le=4096, description="resolution in pixels (1..4096)")]
#: The side of a dataset's images.
ImageSize = Annotated[int, Field(ge=4, le=4096, description="image side in pixels (4..4096)")]
#: A kernel size.
Kernel = Annotated[int, Field(gt=0, le=15, description="kernel size (1..15)")]
#: A probability that must stay below 1 (dropout).
Probability = Annotated[
    float, Field(ge=0.0, lt=1.0, allow_inf_nan=False, description="probability in [0, 1)")
]
#: A probability that may be 1 (an augmentation applied always).
Chance = Annotated[
    float, Field(ge=0.0, le=1.0, allow_inf_nan=False, description="probability in [0, 1]")
]
#: A fraction of something, below 1 (a hold-out share, a start point).
Fraction = Annotated[
    float, Field(ge=0.0, lt=1.0, allow_inf_nan=False, description="fraction in [0, 1)")
]
#: A multiplier of a learning rate in [0, 1] (the end point of a decay).
Factor = Annotated[
    float, Field(ge=0.0, le=1.0, allow_inf_nan=False, description="factor in [0, 1]")
]
#: A strictly positive multiplier in (0, 1] (exponential decay cannot reach 0).
PositiveFactor = Annotated[
    float, Field(gt=0.0, le=1.0, allow_inf_nan=False, description="factor in (0, 1]")
]
#: A learning rate.
LearningRate = Annotated[
    float, Field(gt=0.0, le=10.0, allow_inf_nan=False, description="learning rate in (0, 10]")
]
#: A moving-average coefficient (Adam's betas, RMSprop's alpha, SGD momentum).
Beta = Annotated[
    float, Field(ge=0.0, lt=1.0, allow_inf_nan=False, description="coefficient in [0, 1)")
]
#: A small positive constant added for numerical stability.
Epsilon = Annotated[
    float, Field(gt=0.0, le=1.0, allow_inf_nan=False, description="epsilon in (0, 1]")
]
#: Weight decay.
WeightDecay = Annotated[
    float, Field(ge=0.0, le=1.0, allow_inf_nan=False, description="weight decay in [0, 1]")
]
#: The weight of a loss term (a penalty).
Weight = Annotated[
    float, Field(ge=0.0, le=1e6, allow_inf_nan=False, description="weight in [0, 1e6]")
]
#: A positive scale (a standard deviation, a gain, a margin, a radius).
Scale = Annotated[
    float, Field(gt=0.0, le=1e3, allow_inf_nan=False, description="positive scale in (0, 1000]")
]
#: A loss target (least-squares codes, a penalty's target norm).
Target = Annotated[
    float, Field(ge=-100.0, le=100.0, allow_inf_nan=False, description="target in [-100, 100]")
]
#: A label in [0, 1] (the real target of a cross-entropy loss).
Label = Annotated[
    float, Field(ge=0.0, le=1.0, allow_inf_nan=False, description="label in [0, 1]")
]
#: A number of steps that may be 0 (a warm-up, a start step).
Steps = Annotated[int, Field(ge=0, le=MAX_STEPS, description=f"steps (0..{MAX_STEPS:,})")]
#: Every how many steps something happens.
Interval = Annotated[
    int, Field(ge=1, le=MAX_STEPS, description=f"interval in steps (1..{MAX_STEPS:,})")
]
#: A rotation angle in degrees.
Degrees = Annotated[
    float, Field(ge=0.0, le=180.0, allow_inf_nan=False, description="degrees in [0, 180]")
]
#: A spread that may be 0 (a mixture component's standard deviation).
Spread = Annotated[
    float, Field(ge=0.0, le=1e3, allow_inf_nan=False, description="spread in [0, 1000]")
]
#: An upper limit on how many items are used.
Limit = Annotated[int, Field(ge=1, le=10**9, description="at most this many (1..10**9)")]
#: A random seed.
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="seed (0..2**63-1)")]
#: A batch size.
BatchSize = Annotated[int, Field(gt=0, le=65536, description="batch size (1..65536)")]
#: A number of samples held or drawn.
SampleCount = Annotated[
    int, Field(gt=0, le=10**7, description="number of samples (1..10,000,000)")
]
#: A number of neighbours (k of a k-NN metric).
Neighbours = Annotated[int, Field(ge=1, le=1000, description="neighbours (1..1000)")]

_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:[0-9]{1,3})?)")


def _device(value: str) -> str:
    if not _DEVICE.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValueError(
            f"unknown device {shown!r}: use auto, cpu, cuda, cuda:N or mps"
        )
    return value


#: A torch device name: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
Device = Annotated[
    str, AfterValidator(_device), Field(description="auto, cpu, cuda, cuda:N or mps")
]


def check_device(name: str, key: str = "device") -> None:
    """Refuse a device this machine does not have (a CUDA one without CUDA), in one message."""
    import torch

    from gancore.core.errors import RecipeError

    try:
        _device(name)
    except ValueError as exc:
        raise RecipeError(str(exc), key=key, hint='use "auto" (the GPU if any, else the CPU)') \
            from None
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RecipeError(
                f"{key} is {name}, but this machine has no CUDA GPU (or torch was built "
                "without CUDA)", key=key, hint='set it to "auto" or "cpu"',
            )
        index = int(name.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise RecipeError(
                f"{key} is {name}, but this machine has {count} CUDA device(s) "
                f"(cuda:0..cuda:{count - 1})", key=key, hint="pick an index that exists",
            )
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise RecipeError(f"{key} is mps, but MPS is not available here", key=key,
                              hint='set it to "auto" or "cpu"')


def check_seed(seed: object, key: str = "--seed") -> int:
    """A seed given outside a recipe (a command-line option, an API argument), bounded."""
    from gancore.core.errors import GancoreError

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise GancoreError(
            f"{key} must be an integer from 0 to 2**63-1 (got {_short(seed)})", key=key,
            hint="use a smaller seed, e.g. 0",
        )
    return seed


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"
