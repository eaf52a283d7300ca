"""``folder``: any folder of images, read lazily from disk."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from gancore.core.errors import DataError, RecipeError
from gancore.core.params import Degrees, Fraction, ImageSize, Limit
from gancore.core.protocols import DataSpec
from gancore.data.common import check_choice, check_positive, resolve_params
from gancore.data.transforms import Augmentation, fit_image, to_signed

log = logging.getLogger("gancore.data")

#: File suffixes (lower case) read as images.
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})

_UNREADABLE = (
    OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError,
)


def is_image_file(path: Path) -> bool:
    """Whether ``path`` has an image suffix and is not hidden."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, hidden folders skipped), sorted."""
    return sorted(
        p for p in folder.rglob("*")
        if is_image_file(p) and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def class_folders(root: Path) -> list[str]:
    """The sorted, non-hidden immediate subfolders of ``root`` (one class each)."""
    _require_folder(root)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def labelled_classes(root: Path) -> list[str]:
    """:func:`class_folders` for ``labels = "subfolders"``: refuses a folder without any.

    Without this, a folder with no subfolders would silently train an unlabelled model.
    """
    classes = class_folders(root)
    if not classes:
        raise DataError(
            'labels = "subfolders", but the folder has no subfolders (one per class)',
            source=str(root), key="labels",
            hint='put the images of each class in a subfolder of their own, or set '
                 'labels = "none"',
        )
    return classes


def _require_folder(root: Path) -> None:
    if not root.is_dir():
        raise DataError("image folder not found", source=str(root),
                        hint="set data.root to an existing folder of images")


def is_readable(path: Path) -> bool:
    """Whether PIL can identify ``path`` as an image (reads the header only)."""
    try:
        with Image.open(path) as image:
            image.size  # noqa: B018
        return True
    except _UNREADABLE:
        return False


class ImageFiles(Dataset):
    """Images read from a list of files, resized and centre-cropped to ``image_size``.

    A file that fails to decode when read is skipped: the next one is returned instead, the file
    is logged and ``skipped`` grows.
    """

    files: list[Path]
    labels: torch.Tensor

    def _set_files(self, files: Sequence[Path], labels: Sequence[int], image_size: int,
                   channels: int, augmentation: Augmentation, crop: int | None = None) -> None:
        from gancore.data.common import check_labels

        self.files = list(files)
        classes = len(getattr(self, "classes", None) or ()) or None
        self.labels = check_labels(torch.as_tensor(list(labels)), classes,
                                   source=getattr(self, "root", None), count=len(self.files))
        self.image_size = image_size
        self.channels = channels
        self.crop = crop
        self.augmentation = augmentation
        if not hasattr(self, "skipped"):
            self.skipped = 0

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> torch.Tensor:
        """The uint8 image ``C×H×W`` of file ``index`` (no augmentation)."""
        path = self.files[index]
        with Image.open(path) as image:
            if self.crop is None:  # JPEG: decode at a reduced scale still >= image_size
                image.draft("L" if self.channels == 1 else "RGB", (self.image_size,) * 2)
            return fit_image(image, self.image_size, self.channels, self.crop)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.files)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} images")
        index %= n
        for attempt in range(n):
            i = (index + attempt) % n
            try:
                x = to_signed(self.load(i))
            except _UNREADABLE as exc:
                self.skipped += 1
                log.warning("skipping unreadable image %s: %s", self.files[i], exc)
                continue
            if self.augmentation.active:
                x = self.augmentation(x.unsqueeze(0))[0]
            return x, self.labels[i]
        raise DataError("no file of the dataset could be read", source=str(self.files[index]),
                        hint="check that the files are valid images")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={len(self)}, "
                f"shape=({self.channels}, {self.image_size}, {self.image_size}))")


class ImageFolder(ImageFiles):
    """Every image under ``root`` (recursive; jpg, jpeg, png, webp, bmp).

    Images are converted to ``channels`` (1 or 3), the shorter side resized to ``image_size``
    and centre-cropped. Files PIL cannot identify are skipped; their count is logged and kept in
    ``skipped``. Labels are 0, or with ``labels = "subfolders"`` the index of the immediate
    subfolder in sorted order (``classes``). ``test_fraction`` holds out a stable, path-hashed
    share of the files as ``split = "test"``; with 0 both splits are the whole folder.
    """

    def __init__(
        self,
        root: str,
        image_size: ImageSize = 64,
        channels: Literal[1, 3] = 3,
        labels: Literal["none", "subfolders"] = "none",
        split: Literal["train", "test"] = "train",
        test_fraction: Fraction = 0.0,
        limit: Limit | None = None,
        flip: bool = False,
        rotate: Degrees = 0.0,
        shift: Fraction = 0.0,
    ) -> None:
        check_positive(image_size, "image_size")
        check_choice(channels, (1, 3), "channels")
        check_choice(labels, ("none", "subfolders"), "labels")
        check_choice(split, ("train", "test"), "split")
        check_positive(limit, "limit", allow_none=True)
        if not 0 <= test_fraction < 1:
            raise RecipeError(f"test_fraction must be in [0, 1) (got {test_fraction})",
                              key="test_fraction", hint="use e.g. 0.1, or 0 for no held-out split")
        folder = Path(root).expanduser()
        _require_folder(folder)
        self.root = folder
        self.classes = labelled_classes(folder) if labels == "subfolders" else []
        found = list_images(folder)
        if not found:
            raise DataError("no image files (jpg, jpeg, png, webp, bmp) in the folder",
                            source=str(folder), hint="set data.root to a folder that holds images")
        files, targets = self._select(folder, found, split, test_fraction)
        readable = [(f, t) for f, t in zip(files, targets, strict=True) if is_readable(f)]
        self.skipped = len(files) - len(readable)
        if self.skipped:
            log.warning("%d unreadable image file(s) skipped in %s", self.skipped, folder)
        if not readable:
            raise DataError(f"none of the {len(files)} image file(s) can be read",
                            source=str(folder), hint="check that the files are valid images")
        if limit is not None:
            readable = readable[:limit]
        self._set_files([f for f, _ in readable], [t for _, t in readable], image_size, channels,
                        Augmentation(flip, rotate, shift))

    def _select(self, folder: Path, found: list[Path], split: str,
                test_fraction: float) -> tuple[list[Path], list[int]]:
        files, targets = [], []
        index = {name: i for i, name in enumerate(self.classes)}
        for path in found:
            rel = path.relative_to(folder)
            if self.classes:
                if len(rel.parts) < 2:
                    continue
                target = index[rel.parts[0]]
            else:
                target = 0
            if test_fraction > 0:
                held_out = zlib.crc32(rel.as_posix().encode()) % 10_000 < test_fraction * 10_000
                if held_out != (split == "test"):
                    continue
            files.append(path)
            targets.append(target)
        if self.classes and not files:
            raise DataError("no image files inside the class subfolders", source=str(folder),
                            hint='put images in one subfolder per class, or set labels = "none"')
        if not files:
            raise DataError(f"no image files fall in split {split!r} "
                            f"(test_fraction = {test_fraction})", source=str(folder),
                            hint="raise test_fraction or add images")
        return files, targets

    @classmethod
    def describe(cls, **params: Any) -> DataSpec:
        """``(channels, image_size, image_size)``; classes are counted only for subfolder labels."""
        p = resolve_params(cls, params)
        classes = 0
        if p["labels"] == "subfolders":
            if "root" not in p:
                raise RecipeError("labels = \"subfolders\" needs root", key="root",
                                  hint="set data.root to the image folder")
            classes = len(labelled_classes(Path(p["root"]).expanduser()))
        return DataSpec((p["channels"], p["image_size"], p["image_size"]), classes)
