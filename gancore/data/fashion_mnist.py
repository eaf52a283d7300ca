"""``fashion_mnist``: Fashion-MNIST read from local IDX files (no download needed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from gancore.core.errors import DataError
from gancore.core.params import Degrees, Fraction, ImageSize, Limit
from gancore.core.protocols import DataSpec
from gancore.data.common import (
    DATA_ENV,
    InMemoryImages,
    check_split_params,
    resolve_params,
)
from gancore.data.idx import read_idx
from gancore.data.transforms import Augmentation, ResizeMode, resolve_resize

#: Where the Debian package ``dataset-fashion-mnist`` installs the files.
SYSTEM_ROOT = Path("/usr/share/datasets/fashion-mnist")

#: Fashion-MNIST's class names, in label order.
CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_INSTALL_HINT = (
    "apt-get install dataset-fashion-mnist, or set data.root (or $GANCORE_DATA, which is "
    "searched for fashion-mnist/) to a folder holding {files}"
)


def default_root() -> Path:
    """``$GANCORE_DATA/fashion-mnist`` if it exists, else the system folder."""
    env = os.environ.get(DATA_ENV)
    if env:
        candidate = Path(env).expanduser() / "fashion-mnist"
        if candidate.is_dir():
            return candidate
    return SYSTEM_ROOT


def idx_files(split: str) -> tuple[str, str]:
    """The image and label file names (without ``.gz``) of ``split``."""
    prefix = "train" if split == "train" else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def find_file(root: Path, name: str) -> Path:
    """``root/name.gz`` or ``root/name`` (also under ``raw/``), else a :class:`DataError`."""
    for folder in (root, root / "raw"):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate
    raise DataError(f"Fashion-MNIST file {name}(.gz) is missing", source=str(root),
                    hint=_INSTALL_HINT.format(files=f"{name}.gz"))


class FashionMNIST(InMemoryImages):
    """Fashion-MNIST: 28×28 greyscale clothing images in 10 classes (:data:`CLASSES`).

    Reads ``train-*``/``t10k-*`` IDX files (gzip or raw) from ``root``; by default
    ``$GANCORE_DATA/fashion-mnist`` when it exists, else ``/usr/share/datasets/fashion-mnist``.
    ``image_size`` other than 28 resizes by ``resize``: ``"auto"`` pads with black (lossless)
    where the size is 28 plus a border of up to 7 pixels (29 to 35, e.g. 32), else resamples
    bilinearly (antialiased); ``"pad"``, ``"bilinear"``, ``"nearest"`` and ``"area"`` force one.
    ``crop_to_native(x, 28)`` undoes the padding. ``limit`` keeps the first N.
    """

    native_size: ClassVar[int] = 28

    def __init__(
        self,
        image_size: ImageSize = 28,
        split: Literal["train", "test"] = "train",
        root: str | None = None,
        limit: Limit | None = None,
        flip: bool = False,
        rotate: Degrees = 0.0,
        shift: Fraction = 0.0,
        resize: ResizeMode = "auto",
    ) -> None:
        check_split_params(image_size, split, limit)
        resolve_resize(resize, self.native_size, image_size)  # refuse before reading files
        folder = Path(root).expanduser() if root is not None else default_root()
        image_name, label_name = idx_files(split)
        if not folder.is_dir():
            where = "data.root" if root is not None else "the default location"
            raise DataError(f"Fashion-MNIST folder not found ({where})", source=str(folder),
                            hint=_INSTALL_HINT.format(files=f"{image_name}.gz and friends"))
        images_path, labels_path = find_file(folder, image_name), find_file(folder, label_name)
        images = read_idx(images_path, limit)
        labels = read_idx(labels_path, limit)
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(f"Fashion-MNIST files do not match: images {images.shape}, "
                            f"labels {labels.shape}", source=str(folder),
                            hint="restore the four original IDX files")
        if images.shape[0] == 0:
            raise DataError("Fashion-MNIST file holds no images", source=str(images_path),
                            hint="restore the original IDX files")
        self.root = folder
        self.classes = list(CLASSES)
        x = torch.from_numpy(images).to(torch.uint8).unsqueeze(1)
        self._set_data(self._fit_size(x, image_size, resize),
                       torch.from_numpy(labels), Augmentation(flip, rotate, shift),
                       num_classes=len(CLASSES), source=labels_path)

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """``(1, image_size, image_size)`` and 10 classes (checks ``resize`` against the size)."""
        p = resolve_params(cls, params)
        resolve_resize(p["resize"], cls.native_size, p["image_size"])
        return DataSpec((1, p["image_size"], p["image_size"]), len(CLASSES))
