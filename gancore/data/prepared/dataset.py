"""``prepared``: a dataset written by ``gancore data prepare``, read through a memory map."""

from __future__ import annotations

import logging
import zlib
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch.utils.data import Dataset

from gancore.core.errors import RecipeError
from gancore.core.params import Degrees, Fraction, ImageSize, Limit
from gancore.core.protocols import DataSpec
from gancore.data.common import ImageStorage, check_positive, data_home, resolve_params
from gancore.data.prepared import manifest as fmt
from gancore.data.transforms import Augmentation, to_signed

log = logging.getLogger("gancore.data")

#: A class count given in a recipe (0: unlabelled).
ClassCount = Annotated[int, Field(ge=0, le=100_000, description="classes (0..100,000)")]
#: A prepared dataset's name under ``$GANCORE_DATA/prepared``.
PreparedName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^/\\]+$",
                                    description="a folder name under $GANCORE_DATA/prepared")]


def prepared_home() -> Path:
    """``$GANCORE_DATA/prepared`` (default ``~/.cache/gancore/data/prepared``)."""
    return data_home() / "prepared"


def prepared_folder(root: str | None, name: str | None) -> Path:
    """The folder of a prepared dataset: ``root``, else ``prepared_home() / name``."""
    if root is not None:
        return Path(root).expanduser()
    if name is not None:
        return prepared_home() / name
    raise RecipeError("the prepared dataset needs root (its folder) or name (a folder under "
                      f"{prepared_home()})", key="root",
                      hint='set data.root = "path/to/prepared" (what `gancore data prepare` '
                           "wrote), or pass --data-root")


def check_against_recipe(manifest: dict[str, Any], folder: Path, image_size: int | None,
                         channels: int | None, num_classes: int | None) -> None:
    """Refuse recipe values that differ from what was prepared (nothing is resized on the fly:
    that would undo the recorded, antialiased resize)."""
    c, h, _ = manifest["shape"]
    if image_size is not None and image_size != h:
        raise RecipeError(
            f"image_size is {image_size}, but the prepared dataset {folder} holds {h}x{h} "
            "images", key="image_size",
            hint=f"prepare the source again at this size (gancore data prepare SOURCE OUT "
                 f"--size {image_size}), or set image_size = {h} (or leave it out)")
    if channels is not None and channels != c:
        raise RecipeError(
            f"channels is {channels}, but the prepared dataset {folder} holds {c}-channel "
            "images", key="channels",
            hint=f"prepare it again with --channels {channels}, or set channels = {c}")
    held = int(manifest.get("num_classes", 0))
    if num_classes is not None and num_classes != held:
        raise RecipeError(
            f"num_classes is {num_classes}, but the prepared dataset {folder} holds "
            f"{held} classes", key="num_classes",
            hint=f"set num_classes = {held} (or leave it out)")


def held_out(manifest: dict[str, Any], split: str, test_fraction: float) -> torch.Tensor | None:
    """The rows of ``split`` (None: all): an image is held out for ``"test"`` when the crc32 of
    its origin falls below ``test_fraction`` (the rule of the ``folder`` dataset)."""
    if test_fraction <= 0:
        return None
    origins = manifest.get("origins") or []
    cut = test_fraction * 10_000
    test = [zlib.crc32(str(o).encode()) % 10_000 < cut for o in origins]
    want = split == "test"
    return torch.tensor([i for i, t in enumerate(test) if t == want], dtype=torch.int64)


class PreparedImages(Dataset):
    """A folder written by ``gancore data prepare``: uint8 images, memory-mapped.

    ``root`` is the folder (``name`` instead looks in ``$GANCORE_DATA/prepared``). Nothing is
    decoded at training time: batches are gathered from the memory map as uint8 and converted
    to float in [-1, 1] on the run's device. ``image_size``, ``channels`` and ``num_classes``
    default to what was prepared; set them in a recipe so that the recipe builds (and its
    checkpoints sample) on a machine without the data; a value that differs from the prepared
    one is refused. ``test_fraction`` holds out a stable share of the images as
    ``split = "test"``, chosen by a hash of each image's origin (the rule of ``folder``); with 0
    both splits are the whole set. ``verify``: ``"auto"`` checks the pixels against the
    manifest's hash once per state of the files, ``"always"`` at every start, ``"never"`` only
    their shape and size. ``limit`` keeps the first N images of the split;
    ``flip``/``rotate``/``shift`` augment per batch.
    """

    def __init__(
        self,
        root: str | None = None,
        name: PreparedName | None = None,
        image_size: ImageSize | None = None,
        channels: Literal[1, 3] | None = None,
        num_classes: ClassCount | None = None,
        split: Literal["train", "test"] = "train",
        test_fraction: Fraction = 0.0,
        verify: Literal["auto", "always", "never"] = "auto",
        limit: Limit | None = None,
        flip: bool = False,
        rotate: Degrees = 0.0,
        shift: Fraction = 0.0,
    ) -> None:
        check_positive(limit, "limit", allow_none=True)
        folder = prepared_folder(root, name)
        manifest = fmt.read_manifest(folder)
        check_against_recipe(manifest, folder, image_size, channels, num_classes)
        images, labels = fmt.open_arrays(folder, manifest)
        if fmt.verify(folder, manifest, images, labels, mode=verify):
            log.info("verified %s against its manifest (%s)", folder,
                     fmt.describe_manifest(manifest))
        rows = held_out(manifest, split, test_fraction)
        if rows is not None and rows.numel() == 0:
            from gancore.core.errors import DataError

            raise DataError(f"no image falls in split {split!r} (test_fraction = "
                            f"{test_fraction})", source=str(folder),
                            hint="raise test_fraction, or use split = \"train\"")
        if limit is not None:
            rows = (torch.arange(min(limit, images.shape[0])) if rows is None
                    else rows[:limit])
        self.root = folder
        self.manifest = manifest
        self.content_hash: str = manifest["content_hash"]
        self.classes: list[str] = list(manifest.get("classes", []))
        self.num_classes = int(manifest.get("num_classes", 0))
        self.images = torch.from_numpy(images)
        self.all_labels = torch.from_numpy(np.array(labels, dtype=np.int64))
        self.rows = rows
        self.labels = self.all_labels if rows is None else self.all_labels[rows]
        self.augmentation = Augmentation(flip, rotate, shift)

    def __len__(self) -> int:
        return int(self.images.shape[0] if self.rows is None else self.rows.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        row = index if self.rows is None else int(self.rows[index])
        x = to_signed(self.images[row])
        if self.augmentation.active:
            x = self.augmentation(x.unsqueeze(0))[0]
        return x, self.all_labels[row]

    def storage(self) -> ImageStorage:
        """The uint8 images (memory-mapped) and labels, for batching on the device."""
        return ImageStorage(self.images, self.all_labels, self.rows)

    def as_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images as float32 in [-1, 1] (reads and converts the whole split: 4 bytes per
        pixel in memory; training batches from :meth:`storage` instead) and the labels."""
        images = self.images if self.rows is None else self.images[self.rows]
        return to_signed(images), self.labels.clone()

    def augment(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply this dataset's augmentation (flip/rotate/shift) to a batch."""
        return self.augmentation(x, generator) if self.augmentation.active else x

    def cache_identity(self) -> dict[str, Any]:
        """What identifies the data for cached statistics: the content hash (not the folder)."""
        return {"content_hash": self.content_hash, "count": len(self)}

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return f"PreparedImages({self.root}, n={len(self)}, shape=({c}, {h}, {w}))"

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """The prepared shape and classes (from the manifest when the folder exists, else from
        ``image_size``, ``channels`` and ``num_classes``)."""
        p = resolve_params(cls, params)
        folder = prepared_folder(p["root"], p["name"])
        if (folder / fmt.MANIFEST).is_file() or p["image_size"] is None or p["channels"] is None:
            manifest = fmt.read_manifest(folder)
            check_against_recipe(manifest, folder, p["image_size"], p["channels"],
                                 p["num_classes"])
            return DataSpec(tuple(manifest["shape"]), int(manifest.get("num_classes", 0)))
        size, channels = p["image_size"], p["channels"]
        return DataSpec((channels, size, size), int(p["num_classes"] or 0))
