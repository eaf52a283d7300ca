"""What the datasets share: parameter defaults, data roots, split seeds, the in-memory base."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from gancore.data.transforms import Augmentation, to_signed
from gancore.errors import RecipeError, suggest

#: Environment variable naming the folder that holds gancore's datasets.
DATA_ENV = "GANCORE_DATA"


def data_home() -> Path:
    """``$GANCORE_DATA`` if set, else ``~/.cache/gancore/data``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gancore" / "data"


def resolve_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` completed with the defaults of ``cls.__init__``; unknown keys are an error."""
    sig = inspect.signature(cls.__init__)
    known = [
        name for name, p in sig.parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    for name in params:
        if name not in known:
            raise RecipeError(f"unknown parameter {name!r} of dataset {cls.__name__}"
                              f"{suggest(name, known)}", key=name,
                              hint="valid parameters: " + ", ".join(known))
    out: dict[str, Any] = {}
    for name in known:
        default = sig.parameters[name].default
        if name in params:
            out[name] = params[name]
        elif default is not inspect.Parameter.empty:
            out[name] = default
    return out


def check_choice(value: Any, choices: Iterable[Any], key: str) -> None:
    """Raise a :class:`RecipeError` at ``key`` unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise RecipeError(f"{key} must be one of {', '.join(map(repr, choices))} (got {value!r})",
                          key=key, hint=f"set {key} = {choices[0]!r}")


def check_positive(value: int | None, key: str, *, allow_none: bool = False) -> None:
    """Raise a :class:`RecipeError` at ``key`` unless ``value`` is a positive integer."""
    if value is None and allow_none:
        return
    if value is None or value < 1:
        raise RecipeError(f"{key} must be a positive integer (got {value!r})", key=key,
                          hint=f"set {key} to 1 or more")


def split_seed(seed: int, split: str) -> int:
    """The seed of a generated split: ``seed`` for train, a distinct derived seed otherwise."""
    return seed if split == "train" else seed + 1_000_003


class InMemoryImages(Dataset):
    """An image dataset held as one uint8 tensor ``N×C×H×W`` and int64 labels.

    ``as_tensors()`` returns the whole set as float32 in [-1, 1] without augmentation; apply
    ``augment(batch)`` per batch. ``dataset[i]`` applies the augmentation to the one image.
    """

    images: torch.Tensor
    labels: torch.Tensor
    augmentation: Augmentation

    def _set_data(self, images: torch.Tensor, labels: torch.Tensor,
                  augmentation: Augmentation) -> None:
        self.images = images.contiguous()
        self.labels = labels.to(torch.int64)
        self.augmentation = augmentation

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_signed(self.images[index])
        if self.augmentation.active:
            x = self.augmentation(x.unsqueeze(0))[0]
        return x, self.labels[index]

    def as_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images as float32 ``N×C×H×W`` in [-1, 1] and int64 labels ``N`` (unaugmented)."""
        return to_signed(self.images), self.labels.clone()

    def augment(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply this dataset's augmentation (flip/rotate/shift) to a batch."""
        return self.augmentation(x, generator) if self.augmentation.active else x

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return f"{type(self).__name__}(n={len(self)}, shape=({c}, {h}, {w}))"


def check_split_params(image_size: int, split: str, limit: int | None) -> None:
    """The checks shared by the labelled image sets: size, train/test split, sample limit."""
    check_positive(image_size, "image_size")
    check_choice(split, ("train", "test"), "split")
    check_positive(limit, "limit", allow_none=True)
