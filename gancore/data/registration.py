"""Registration of the built-in datasets (lazy factories: importing this module is cheap)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gancore.core.registry import Registry

#: name -> (lazy factory, one-line summary)
DATASETS: dict[str, tuple[str, str]] = {
    "shapes": (
        "gancore.data.shapes:Shapes",
        "procedural RGB shapes on a dark background, labelled by shape (built-in, no files)",
    ),
    "ring": (
        "gancore.data.mixtures:Ring",
        "2D mixture of 8 Gaussians on a circle of radius 1, std 0.01 (mode-collapse toy)",
    ),
    "grid": (
        "gancore.data.mixtures:Grid",
        "2D mixture of 25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (mode-collapse toy)",
    ),
    "fashion_mnist": (
        "gancore.data.fashion_mnist:FashionMNIST",
        "Fashion-MNIST 28x28 greyscale, 10 classes, read from local IDX files",
    ),
    "mnist": (
        "gancore.data.torchvision_sets:MNIST",
        "MNIST 28x28 greyscale digits, 10 classes (torchvision; download = true to fetch)",
    ),
    "cifar10": (
        "gancore.data.torchvision_sets:CIFAR10",
        "CIFAR-10 32x32 RGB, 10 classes (torchvision; download = true to fetch)",
    ),
    "celeba": (
        "gancore.data.torchvision_sets:CelebA",
        "CelebA aligned faces, unlabelled (torchvision; download = true to fetch)",
    ),
    "folder": (
        "gancore.data.folder:ImageFolder",
        "any folder of images (recursive), optionally labelled by subfolder",
    ),
    "prepared": (
        "gancore.data.prepared.dataset:PreparedImages",
        "a dataset written by `gancore data prepare`: uint8 images read through a memory map",
    ),
}

#: name -> (lazy factory, one-line summary) of the built-in filters (``data.filters``)
FILTERS: dict[str, tuple[str, str]] = {
    "autoencoder_outliers": (
        "gancore.data.outliers:AutoencoderOutliers",
        "drop the images a small conv autoencoder reconstructs worst (cached)",
    ),
    "class_balance": (
        "gancore.data.filters:ClassBalance",
        "oversample rarer classes so every class appears equally often",
    ),
}


def register(registry: Registry) -> None:
    """Add every built-in dataset to ``registry`` under kind ``dataset``, and the filters."""
    for name, (factory, summary) in DATASETS.items():
        registry.add("dataset", name, factory, summary=summary)
    for name, (factory, summary) in FILTERS.items():
        registry.add("filter", name, factory, summary=summary)
