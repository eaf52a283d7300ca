"""``mnist``, ``cifar10`` and ``celeba``: torchvision datasets, downloaded only on request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from gancore.core.errors import DataError
from gancore.core.params import Degrees, Fraction, ImageSize, Limit, Resolution
from gancore.core.protocols import DataSpec
from gancore.data.common import (
    InMemoryImages,
    check_choice,
    check_positive,
    check_split_params,
    data_home,
    resolve_params,
)
from gancore.data.folder import ImageFiles
from gancore.data.transforms import Augmentation, ResizeMode, resolve_resize


def _root(root: str | None) -> Path:
    return Path(root).expanduser() if root is not None else data_home()


def open_torchvision(name: str, factory: Callable[..., Any], root: Path, folder: str,
                     download: bool, **kwargs: Any) -> Any:
    """Construct a torchvision dataset, turning its failures into :class:`DataError`.

    ``folder`` is where, under ``root``, torchvision keeps the files (named in the message).
    """
    where = str(root / folder)
    try:
        return factory(root=str(root), download=download, **kwargs)
    except Exception as exc:
        if download:
            raise DataError(f"{name} could not be downloaded or read: {exc}", source=where,
                            hint=f"check the network connection, or place the {name} files in "
                                 f"{where} yourself and set data.root = {str(root)!r}") from exc
        raise DataError(f"{name} files not found or damaged", source=where,
                        hint="pass download = true in [data] to fetch them (needs internet), "
                             "or set data.root / $GANCORE_DATA to the folder that holds "
                             f"{folder}/") from exc


def _limited(n: int, limit: int | None) -> int:
    return n if limit is None else min(n, limit)


class MNIST(InMemoryImages):
    """MNIST handwritten digits: 28×28 greyscale, 10 classes, via ``torchvision``.

    Files live in ``root/MNIST/raw`` (``root`` defaults to ``$GANCORE_DATA`` or
    ``~/.cache/gancore/data``); ``download = true`` fetches them when absent. ``image_size``
    other than 28 resizes by ``resize`` (``"auto"``: black padding for 29 to 35, e.g. 32,
    else bilinear), as in ``fashion_mnist``.
    """

    native_size: ClassVar[int] = 28

    def __init__(
        self,
        image_size: ImageSize = 28,
        split: Literal["train", "test"] = "train",
        root: str | None = None,
        download: bool = False,
        limit: Limit | None = None,
        flip: bool = False,
        rotate: Degrees = 0.0,
        shift: Fraction = 0.0,
        resize: ResizeMode = "auto",
    ) -> None:
        check_split_params(image_size, split, limit)
        resolve_resize(resize, self.native_size, image_size)
        from torchvision.datasets import MNIST as TorchvisionMNIST

        self.root = _root(root)
        ds = open_torchvision("MNIST", TorchvisionMNIST, self.root, "MNIST/raw", download,
                              train=split == "train")
        n = _limited(len(ds.data), limit)
        images = ds.data[:n].to(torch.uint8).unsqueeze(1)
        self._set_data(self._fit_size(images, image_size, resize), ds.targets[:n],
                       Augmentation(flip, rotate, shift), num_classes=10,
                       source=self.root / "MNIST" / "raw")

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """``(1, image_size, image_size)`` and 10 classes (checks ``resize`` against the size)."""
        p = resolve_params(cls, params)
        resolve_resize(p["resize"], cls.native_size, p["image_size"])
        return DataSpec((1, p["image_size"], p["image_size"]), 10)


class CIFAR10(InMemoryImages):
    """CIFAR-10: 32×32 RGB images in 10 classes, via ``torchvision``.

    Files live in ``root/cifar-10-batches-py`` (``root`` defaults to ``$GANCORE_DATA`` or
    ``~/.cache/gancore/data``); ``download = true`` fetches them when absent. torchvision checks
    the files' MD5 sums before reading them. ``image_size`` other than 32 resizes by ``resize``
    (``"auto"``: black padding for 33 to 40, else bilinear).
    """

    native_size: ClassVar[int] = 32

    def __init__(
        self,
        image_size: ImageSize = 32,
        split: Literal["train", "test"] = "train",
        root: str | None = None,
        download: bool = False,
        limit: Limit | None = None,
        flip: bool = False,
        rotate: Degrees = 0.0,
        shift: Fraction = 0.0,
        resize: ResizeMode = "auto",
    ) -> None:
        check_split_params(image_size, split, limit)
        resolve_resize(resize, self.native_size, image_size)
        from torchvision.datasets import CIFAR10 as TorchvisionCIFAR10

        self.root = _root(root)
        ds = open_torchvision("CIFAR-10", TorchvisionCIFAR10, self.root, "cifar-10-batches-py",
                              download, train=split == "train")
        n = _limited(len(ds.data), limit)
        images = torch.from_numpy(np.ascontiguousarray(ds.data[:n])).permute(0, 3, 1, 2)
        self.classes = list(ds.classes)
        self._set_data(self._fit_size(images, image_size, resize),
                       torch.as_tensor(ds.targets[:n]),
                       Augmentation(flip, rotate, shift), num_classes=10,
                       source=self.root / "cifar-10-batches-py")

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """``(3, image_size, image_size)`` and 10 classes (checks ``resize`` against the size)."""
        p = resolve_params(cls, params)
        resolve_resize(p["resize"], cls.native_size, p["image_size"])
        return DataSpec((3, p["image_size"], p["image_size"]), 10)


class CelebA(ImageFiles):
    """CelebA aligned and cropped faces (178×218 RGB), unlabelled, via ``torchvision``.

    Files live in ``root/celeba`` (``root`` defaults to ``$GANCORE_DATA`` or
    ``~/.cache/gancore/data``); ``download = true`` fetches them when absent. Images are read
    lazily: an optional centre ``crop`` (pixels of the original, e.g. 140 for the face) then the
    shorter side resized to ``image_size`` and centre-cropped.
    """

    def __init__(
        self,
        image_size: ImageSize = 64,
        split: Literal["train", "valid", "test", "all"] = "train",
        root: str | None = None,
        download: bool = False,
        crop: Resolution | None = None,
        limit: Limit | None = None,
        flip: bool = False,
        rotate: Degrees = 0.0,
        shift: Fraction = 0.0,
    ) -> None:
        check_positive(image_size, "image_size")
        check_choice(split, ("train", "valid", "test", "all"), "split")
        check_positive(crop, "crop", allow_none=True)
        check_positive(limit, "limit", allow_none=True)
        from torchvision.datasets import CelebA as TorchvisionCelebA

        self.root = _root(root)
        ds = open_torchvision("CelebA", TorchvisionCelebA, self.root, "celeba", download,
                              split=split, target_type=[])
        images = self.root / "celeba" / "img_align_celeba"
        names = list(ds.filename)[: _limited(len(ds.filename), limit)]
        if not names:
            raise DataError(f"CelebA split {split!r} lists no images", source=str(images),
                            hint="restore list_eval_partition.txt")
        self._set_files([images / name for name in names], [0] * len(names), image_size, 3,
                        Augmentation(flip, rotate, shift), crop=crop)

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """``(3, image_size, image_size)``, unlabelled."""
        size = resolve_params(cls, params)["image_size"]
        return DataSpec((3, size, size), 0)
