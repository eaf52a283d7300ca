"""One image in, one uint8 ``C×size×size`` array out: decoding, colour modes, orientation, crop,
resize; and the work of one shard, run in a worker process.

Imports only numpy and PIL (no torch), so worker processes start in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Resampling filters by name; every one but ``nearest`` is antialiased when shrinking (PIL
#: widens the filter's support by the reduction factor).
FILTERS: dict[str, Image.Resampling] = {
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "bilinear": Image.Resampling.BILINEAR,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "nearest": Image.Resampling.NEAREST,
}
#: The default filter: PIL bicubic, which clean-fid uses for its "clean" resize.
DEFAULT_FILTER = "bicubic"

#: Named crop boxes ``(left, top, right, bottom)`` in pixels of the source image.
CROP_PRESETS: dict[str, tuple[int, int, int, int]] = {
    # CelebA's aligned 178x218 images: the centred 108x108 face crop of DCGAN-tensorflow
    # (carpedm20, `--input_height=108 --crop`), offsets round((178-108)/2), round((218-108)/2)
    "celeba-face": (35, 55, 143, 163),
}

#: What PIL or a broken file may raise while decoding; such an image is skipped.
UNREADABLE: tuple[type[BaseException], ...] = (
    OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError,
    Image.DecompressionBombError, Image.DecompressionBombWarning,
)

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")


@dataclass(frozen=True)
class Settings:
    """How every image is made: output size and channels, crop, resize filter, background.

    ``crop`` is ``"centre"`` (the largest centred square), ``"stretch"`` (the whole image,
    squeezed to a square) or a box ``(left, top, right, bottom)`` in source pixels (a box
    that is not square is centre-cropped to a square inside it). ``background`` is the RGB
    colour that transparent pixels are composited onto.
    """

    size: int
    channels: int = 3
    crop: str | tuple[int, int, int, int] = "centre"
    filter: str = DEFAULT_FILTER
    background: tuple[int, int, int] = (255, 255, 255)

    def describe(self) -> dict[str, Any]:
        """The settings as recorded in a manifest."""
        if isinstance(self.crop, tuple):
            crop: dict[str, Any] = {"policy": "box", "box": list(self.crop)}
            name = next((k for k, v in CROP_PRESETS.items() if v == self.crop), None)
            if name:
                crop["preset"] = name
        else:
            crop = {"policy": self.crop}
        import PIL

        return {
            "size": self.size,
            "channels": self.channels,
            "crop": crop,
            "resize": {"filter": self.filter, "antialias": self.filter != "nearest",
                       "library": f"Pillow {PIL.__version__}"},
            "background": list(self.background),
        }

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (plan files compare it)."""
        data = asdict(self)
        data["crop"] = list(self.crop) if isinstance(self.crop, tuple) else self.crop
        data["background"] = list(self.background)
        return data


class CropError(ValueError):
    """The crop box does not fit inside an image."""


def _sixteen_to_eight(image: Image.Image) -> Image.Image:
    """A 16-bit or 32-bit greyscale image scaled to 8 bits (65535 -> 255)."""
    array = np.asarray(image)
    if image.mode == "F":
        values = array.astype(np.float64)
        scale = 255.0 if float(np.nanmax(values, initial=0.0)) <= 1.0 else 1.0
        values = np.nan_to_num(values * scale)
    else:
        values = array.astype(np.float64)
        if image.mode in _SIXTEEN_BIT or float(values.max(initial=0)) > 255:
            values = values / 257.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")


def to_colour(image: Image.Image, channels: int,
              background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """``image`` as ``"L"`` (``channels == 1``) or ``"RGB"``.

    16-bit and 32-bit greyscale are scaled to 8 bits; palette images keep their colours;
    transparent pixels (RGBA, LA, palette transparency) are composited onto ``background``;
    CMYK, YCbCr, LAB and HSV are converted by PIL.
    """
    mode = image.mode
    if mode in (*_SIXTEEN_BIT, "I", "F"):
        image = _sixteen_to_eight(image)
    elif mode == "1":
        image = image.convert("L")
    elif mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("L", "RGB") and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        image = Image.alpha_composite(canvas, rgba)
    target = "L" if channels == 1 else "RGB"
    return image if image.mode == target else image.convert(target)


def crop_box(width: int, height: int,
             crop: str | Sequence[int]) -> tuple[float, float, float, float]:
    """The source box ``(left, top, right, bottom)`` that the crop policy keeps."""
    if crop == "stretch":
        return (0.0, 0.0, float(width), float(height))
    if crop == "centre":
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        return (left, top, left + side, top + side)
    left, top, right, bottom = (int(v) for v in crop)
    if left < 0 or top < 0 or right > width or bottom > height:
        raise CropError(f"the crop box {left},{top},{right},{bottom} does not fit in the "
                        f"{width}x{height} image")
    w, h = right - left, bottom - top
    side = min(w, h)
    x0, y0 = left + (w - side) / 2, top + (h - side) / 2
    return (x0, y0, x0 + side, y0 + side)


def fit(image: Image.Image, settings: Settings) -> np.ndarray:
    """A decoded image, already in ``"L"``/``"RGB"``, cropped and resized: uint8 ``C×H×W``."""
    box = crop_box(image.width, image.height, settings.crop)
    size = (settings.size, settings.size)
    whole = box == (0.0, 0.0, float(image.width), float(image.height))
    if image.size == size and whole:
        out = image
    else:
        out = image.resize(size, FILTERS[settings.filter], box=box)
    array = np.asarray(out, dtype=np.uint8)
    if array.ndim == 2:
        array = array[None]
    else:
        array = array.transpose(2, 0, 1)
    return np.ascontiguousarray(array)


@dataclass
class Converted:
    """One image's pixels and what was done to get them."""

    pixels: np.ndarray
    mode: str
    rotated: bool = False


def convert_file(path: str | os.PathLike[str], settings: Settings) -> Converted:
    """Decode ``path`` (EXIF orientation applied), convert its colours, crop and resize it.

    Raises one of :data:`UNREADABLE` (or :class:`CropError`) for a file that cannot be used.
    """
    with Image.open(path) as image:
        image.load()
        mode = image.mode
        rotated = _orientation(image) not in (None, 1)
        picture = ImageOps.exif_transpose(image) if rotated else image
        pixels = fit(to_colour(picture, settings.channels, settings.background), settings)
    return Converted(pixels, mode, rotated)


def _orientation(image: Image.Image) -> int | None:
    """The EXIF orientation tag (1 is upright), or None."""
    try:
        value = image.getexif().get(0x0112)
    except UNREADABLE:
        return None
    return value if isinstance(value, int) else None


def convert_array(array: np.ndarray, settings: Settings) -> Converted:
    """A uint8 image ``H×W`` or ``C×H×W`` (C = 1 or 3) cropped and resized like a file."""
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    mode = "L" if array.ndim == 2 else "RGB"
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), mode)
    return Converted(fit(to_colour(image, settings.channels, settings.background), settings), mode)


def describe_error(exc: BaseException) -> str:
    """One line naming what went wrong with an image."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- shards ---------------------------------------------------------------------------------
@dataclass
class ShardTask:
    """The work of one shard: items ``(position, path or array)`` and where to write."""

    index: int
    folder: str
    settings: Settings
    items: list[tuple[int, Any]]


@dataclass
class ShardResult:
    """What one finished shard holds (also its ``shard-NNNNN.json``)."""

    index: int
    kept: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    modes: dict[str, int] = field(default_factory=dict)
    rotated: int = 0
    sha256: str = ""
    bytes: int = 0


def shard_names(index: int) -> tuple[str, str]:
    """The file names of shard ``index``: pixels and record."""
    return f"shard-{index:05d}.npy", f"shard-{index:05d}.json"


def write_file_atomic(path: Path, data: bytes | memoryview, prefix: bytes = b"") -> None:
    """Write ``prefix + data`` to a temporary file, fsync it, and rename it to ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if prefix:
                fh.write(prefix)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def npy_header(shape: Sequence[int], dtype: str = "|u1") -> bytes:
    """The header of a C-ordered ``.npy`` file of ``shape`` (version 1.0)."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": tuple(int(s) for s in shape)})
    return buf.getvalue()


def as_bytes(array: np.ndarray) -> memoryview | bytes:
    """The bytes of an array without a copy when it is C-contiguous (``b""`` when empty)."""
    if array.size == 0:
        return b""
    return memoryview(np.ascontiguousarray(array)).cast("B")


def run_shard(task: ShardTask) -> ShardResult:
    """Convert a shard's items and write ``shard-NNNNN.npy`` then its record, atomically.

    Unreadable items are skipped with their reason. The record is written last: its presence
    marks the shard finished.
    """
    settings = task.settings
    result = ShardResult(task.index)
    arrays: list[np.ndarray] = []
    for position, item in task.items:
        try:
            if isinstance(item, np.ndarray):
                converted = convert_array(item, settings)
            else:
                converted = convert_file(item, settings)
        except (*UNREADABLE, CropError) as exc:
            result.skipped.append((position, describe_error(exc)))
            continue
        arrays.append(converted.pixels)
        result.kept.append(position)
        result.modes[converted.mode] = result.modes.get(converted.mode, 0) + 1
        result.rotated += int(converted.rotated)
    shape = (len(arrays), settings.channels, settings.size, settings.size)
    pixels = np.stack(arrays) if arrays else np.zeros(shape, dtype=np.uint8)
    data = as_bytes(pixels)
    result.sha256 = hashlib.sha256(data).hexdigest()
    result.bytes = len(data) if isinstance(data, bytes) else data.nbytes
    folder = Path(task.folder)
    npy_name, record_name = shard_names(task.index)
    write_file_atomic(folder / npy_name, data, prefix=npy_header(shape))
    write_file_atomic(folder / record_name, json.dumps(asdict(result)).encode())
    return result


def read_shard_record(folder: Path, index: int) -> ShardResult | None:
    """The record of a finished shard, or None when the shard is missing or torn."""
    npy_name, record_name = shard_names(index)
    try:
        data = json.loads((folder / record_name).read_text(encoding="utf-8"))
        result = ShardResult(
            index=int(data["index"]), kept=[int(k) for k in data["kept"]],
            skipped=[(int(p), str(r)) for p, r in data["skipped"]],
            modes={str(k): int(v) for k, v in data["modes"].items()},
            rotated=int(data["rotated"]), sha256=str(data["sha256"]), bytes=int(data["bytes"]))
        size = (folder / npy_name).stat().st_size
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if result.index != index or size < result.bytes:
        return None
    return result
