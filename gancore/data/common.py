"""What the datasets share: parameter defaults, data roots, split seeds, the in-memory base."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.utils.data import Dataset

from gancore.core.errors import RecipeError, suggest
from gancore.data.transforms import Augmentation, resize_images, resolve_resize, to_signed

#: Environment variable naming the folder that holds gancore's datasets.
DATA_ENV = "GANCORE_DATA"


def data_home() -> Path:
    """``$GANCORE_DATA`` if set, else ``~/.cache/gancore/data`` (downloaded datasets: not a
    cache ``gancore cache`` clears)."""
    from gancore.storage.cache import default_home

    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else default_home() / "data"


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
        close = suggest(value, [str(c) for c in choices]) if isinstance(value, str) else ""
        raise RecipeError(f"{key} must be one of {', '.join(map(repr, choices))} "
                          f"(got {value!r}){close}", key=key, hint=f"set {key} = {choices[0]!r}")


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


@dataclass(frozen=True)
class ImageStorage:
    """Images kept as uint8 for batching: converted to float only per batch, on the device.

    ``images`` is uint8 ``N×C×H×W`` (it may be a memory map), ``labels`` int64 ``N``, and
    ``rows`` the indices into them that training draws from (``None``: all of them; a
    selection may repeat rows). A dataset offers it through ``storage()``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    rows: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0] if self.rows is None else self.rows.shape[0])

    def select(self, indices: torch.Tensor) -> ImageStorage:
        """The storage seen through ``indices`` into its own items."""
        rows = indices if self.rows is None else self.rows[indices]
        return ImageStorage(self.images, self.labels, rows)


class InMemoryImages(Dataset):
    """An image dataset held as one uint8 tensor ``N×C×H×W`` and int64 labels.

    ``as_tensors()`` returns the whole set as float32 in [-1, 1] without augmentation; apply
    ``augment(batch)`` per batch. ``dataset[i]`` applies the augmentation to the one image.
    Where the images were padded to ``image_size`` (``resize_mode == "pad"``),
    ``crop_to_native(x, dataset.native_size)`` recovers the native images exactly.
    """

    images: torch.Tensor
    labels: torch.Tensor
    augmentation: Augmentation
    #: Side length of the source images, for the sets whose images all have one (else None).
    native_size: ClassVar[int | None] = None
    #: The resize mode applied (``"pad"``, ``"bilinear"``, ...; ``"none"`` at the native size).
    resize_mode: str = "none"
    #: Pixels of padding on the top/left of each image (``resize_mode == "pad"``), else 0.
    border: int = 0

    def _fit_size(self, images: torch.Tensor, image_size: int, resize: str) -> torch.Tensor:
        """``images`` (uint8, native size) resized to ``image_size`` by the ``resize`` mode."""
        native = self.native_size or images.shape[-1]
        mode = resolve_resize(resize, native, image_size)
        out = resize_images(images, image_size, mode=mode)
        self.resize_mode = "none" if out is images else mode
        self.border = (image_size - native) // 2 if self.resize_mode == "pad" else 0
        return out

    def _set_data(self, images: torch.Tensor, labels: torch.Tensor,
                  augmentation: Augmentation, *, num_classes: int | None = None,
                  source: str | Path | None = None) -> None:
        """Hold ``images`` and ``labels``; labels are checked by :func:`check_labels`."""
        self.images = images.contiguous()
        self.labels = check_labels(labels, num_classes, source=source)
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


def check_labels(labels: Any, num_classes: int | None, *, source: str | Path | None = None,
                 count: int | None = None) -> torch.Tensor:
    """``labels`` as int64 after refusing values a dataset of ``num_classes`` cannot have.

    Every label must be a whole number in ``[0, num_classes)`` (only ``>= 0`` when
    ``num_classes`` is None); ``count``, when given, is the number of labels expected. One
    :class:`~gancore.core.errors.DataError` names ``source`` (the label file) and the first
    offending value with its position.
    """
    from gancore.core.errors import DataError

    hint = "the label file is damaged or belongs to another dataset; restore the original"
    values = torch.as_tensor(labels)
    if values.dim() != 1:
        raise DataError(f"labels must be one number per sample (got shape "
                        f"{list(values.shape)})", source=_src(source), hint=hint)
    if count is not None and values.shape[0] != count:
        raise DataError(f"{values.shape[0]} labels for {count} samples", source=_src(source),
                        hint=hint)
    if values.dtype == torch.bool or values.is_complex():
        raise DataError(f"labels must be whole numbers (got {values.dtype})",
                        source=_src(source), hint=hint)
    if values.is_floating_point():
        bad = ~torch.isfinite(values) | (values != values.round())
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            raise DataError(f"label {float(values[i])!r} at position {i} is not a whole "
                            "number", source=_src(source), hint=hint)
    if values.numel():
        high = num_classes if num_classes is not None else None
        bad = values < 0 if high is None else (values < 0) | (values >= high)
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            value = values[i].item()
            shown = int(value) if float(value).is_integer() else value
            allowed = f"0..{high - 1} ({high} classes)" if high is not None else "0 or more"
            raise DataError(f"label {shown} at position {i} is out of range: labels must be "
                            f"{allowed}; {int(bad.sum())} label(s) are outside",
                            source=_src(source), hint=hint)
    return values.to(torch.int64)


def _src(source: str | Path | None) -> str | None:
    return None if source is None else str(source)


def check_split_params(image_size: int, split: str, limit: int | None) -> None:
    """The checks shared by the labelled image sets: size, train/test split, sample limit."""
    check_positive(image_size, "image_size")
    check_choice(split, ("train", "test"), "split")
    check_positive(limit, "limit", allow_none=True)
