"""The built-in datasets (registry kind ``dataset``).

Every dataset is a class whose typed keyword parameters are the recipe's ``[data]`` keys, with a
classmethod ``describe(**params) -> DataSpec`` that needs no files. Items are ``(x, y)``: ``x``
float32 in [-1, 1] (images ``C×H×W``; raw coordinates for ``ring``/``grid``), ``y`` an int64
label. In-memory datasets also offer ``as_tensors()`` and ``augment(batch)``; ``prepared``
(written by ``gancore data prepare``) offers ``storage()``: uint8 images read through a memory
map and converted per batch on the device.

Attributes are imported lazily, so ``import gancore.data`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gancore.core.lazy import lazy_attributes

_LAZY = {
    "Shapes": "gancore.data.shapes",
    "Ring": "gancore.data.mixtures",
    "Grid": "gancore.data.mixtures",
    "GaussianMixture2D": "gancore.data.mixtures",
    "FashionMNIST": "gancore.data.fashion_mnist",
    "MNIST": "gancore.data.torchvision_sets",
    "CIFAR10": "gancore.data.torchvision_sets",
    "CelebA": "gancore.data.torchvision_sets",
    "ImageFolder": "gancore.data.folder",
    "ImageFiles": "gancore.data.folder",
    "InMemoryImages": "gancore.data.common",
    "ImageStorage": "gancore.data.common",
    "PreparedImages": "gancore.data.prepared.dataset",
    "Augmentation": "gancore.data.transforms",
    "augment_batch": "gancore.data.transforms",
    "read_idx": "gancore.data.idx",
    "write_idx": "gancore.data.idx",
    "register": "gancore.data.registration",
    "DATASETS": "gancore.data.registration",
}

__all__ = [
    "CIFAR10",
    "DATASETS",
    "MNIST",
    "Augmentation",
    "CelebA",
    "FashionMNIST",
    "GaussianMixture2D",
    "Grid",
    "ImageFiles",
    "ImageFolder",
    "ImageStorage",
    "InMemoryImages",
    "PreparedImages",
    "Ring",
    "Shapes",
    "augment_batch",
    "read_idx",
    "register",
    "write_idx",
]

if TYPE_CHECKING:
    from gancore.data.common import ImageStorage, InMemoryImages
    from gancore.data.fashion_mnist import FashionMNIST
    from gancore.data.folder import ImageFiles, ImageFolder
    from gancore.data.idx import read_idx, write_idx
    from gancore.data.mixtures import GaussianMixture2D, Grid, Ring
    from gancore.data.prepared.dataset import PreparedImages
    from gancore.data.registration import DATASETS, register
    from gancore.data.shapes import Shapes
    from gancore.data.torchvision_sets import CIFAR10, MNIST, CelebA
    from gancore.data.transforms import Augmentation, augment_batch

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
