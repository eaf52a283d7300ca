"""A reader and writer for the IDX format of (Fashion-)MNIST, raw or gzip-compressed."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from gancore.core.errors import DataError

#: IDX type code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_GZIP_MAGIC = b"\x1f\x8b"
_CORRUPT_HINT = "the file is damaged or not an IDX file; restore or re-download it"


#: Most dimensions an IDX header may claim (MNIST-style files have 1 to 4).
MAX_DIMS = 8
#: Deflate expands at most ~1032:1, which bounds what a gzip file can hold.
_GZIP_RATIO = 1100
_CHUNK = 1 << 24


def _read_exact(stream: IO[bytes], size: int, path: Path, what: str) -> bytes:
    """``size`` bytes of ``stream``, read in chunks (a lying header allocates nothing)."""
    parts, got = [], 0
    while got < size:
        chunk = stream.read(min(_CHUNK, size - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    if got != size:
        raise DataError(f"IDX file is truncated: expected {size} bytes of {what}, "
                        f"found {got}", source=str(path), hint=_CORRUPT_HINT)
    return b"".join(parts)


def _parse_header(head: bytes, path: Path) -> tuple[np.dtype, int]:
    """The dtype and number of dimensions of a 4-byte IDX magic number, checked."""
    if head[:2] != b"\0\0":
        raise DataError(f"not an IDX file (magic number {head.hex()} does not start with "
                        "0000)", source=str(path), hint=_CORRUPT_HINT)
    if head[2] not in IDX_DTYPES:
        codes = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
        raise DataError(f"not an IDX file: unknown data type code 0x{head[2]:02x} "
                        f"(IDX knows {codes})", source=str(path), hint=_CORRUPT_HINT)
    ndim = head[3]
    if not 1 <= ndim <= MAX_DIMS:
        raise DataError(f"IDX header claims {ndim} dimensions (1 to {MAX_DIMS} are possible)",
                        source=str(path), hint=_CORRUPT_HINT)
    return np.dtype(IDX_DTYPES[head[2]]), ndim


def _check_size(dims: list[int], dtype: np.dtype, path: Path, compressed: bool) -> int:
    """The data size the header claims, refused when the file cannot possibly hold it."""
    claimed = math.prod(dims) * dtype.itemsize
    header = 4 + 4 * len(dims)
    on_disk = path.stat().st_size
    shape = "x".join(map(str, dims))
    if compressed:
        if claimed > on_disk * _GZIP_RATIO:
            raise DataError(f"IDX header claims {shape} values ({claimed:,} bytes), more than "
                            f"a {on_disk:,}-byte gzip file can hold", source=str(path),
                            hint=_CORRUPT_HINT)
        with open(path, "rb") as fh:  # gzip's trailer: the uncompressed size modulo 2**32
            fh.seek(max(on_disk - 4, 0))
            isize = int.from_bytes(fh.read(4).rjust(4, b"\0"), "little")
        if (header + claimed) % 2**32 != isize:
            raise DataError(f"IDX file does not match its header: the header claims {shape} "
                            f"values ({header + claimed:,} bytes unpacked), the gzip trailer "
                            f"says {isize:,} (truncated, damaged or a wrong header)",
                            source=str(path), hint=_CORRUPT_HINT)
    elif claimed != on_disk - header:
        found = max(on_disk - header, 0)
        what = "truncated" if claimed > found else "longer than its header says"
        raise DataError(f"IDX file is {what}: the header claims {shape} values "
                        f"({claimed:,} bytes of data), the file holds {found:,}",
                        source=str(path), hint=_CORRUPT_HINT)
    return claimed


def read_idx(path: str | Path, limit: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip detected from its content) into a native-endian numpy array.

    ``limit`` reads only the first ``limit`` entries along the first axis. Missing, damaged or
    truncated files, and headers that claim an impossible size (more data than the file can
    hold, an unknown type code, no or too many dimensions), raise
    :class:`~gancore.core.errors.DataError` naming the file, before any large allocation.
    """
    path = Path(path)
    try:
        with open(path, "rb") as probe:
            compressed = probe.read(2) == _GZIP_MAGIC
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as stream:
            dtype, ndim = _parse_header(_read_exact(stream, 4, path, "header"), path)
            dims = list(struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, path, "sizes")))
            claimed = _check_size(dims, dtype, path, compressed)
            if limit is not None and dims:
                dims[0] = min(dims[0], max(limit, 0))
            count = math.prod(dims)
            data = _read_exact(stream, count * dtype.itemsize, path, "data")
            if compressed and count * dtype.itemsize == claimed and stream.read(1):
                raise DataError("IDX file is longer than its header says (data after the "
                                f"{'x'.join(map(str, dims))} values)", source=str(path),
                                hint=_CORRUPT_HINT)
    except FileNotFoundError:
        raise DataError("IDX file not found", source=str(path),
                        hint="check the path of the data folder") from None
    except IsADirectoryError:
        raise DataError("is a folder, not an IDX file", source=str(path),
                        hint="give the path of the IDX file itself") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read IDX file: {exc}", source=str(path),
                        hint=_CORRUPT_HINT) from None
    array = np.frombuffer(data, dtype=dtype, count=count).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX; gzip-compressed if ``compress`` (default: when the name ends .gz)."""
    path = Path(path)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    native = np.dtype(array.dtype).newbyteorder("=")
    if native not in codes:
        raise TypeError(f"IDX cannot store dtype {array.dtype}")
    code = codes[native]
    payload = (
        bytes([0, 0, code, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + np.ascontiguousarray(array, dtype=np.dtype(IDX_DTYPES[code])).tobytes()
    )
    if compress is None:
        compress = path.suffix == ".gz"
    from gancore.storage.io import atomic_write_bytes

    return atomic_write_bytes(path, gzip.compress(payload) if compress else payload,
                              what="the IDX file")
