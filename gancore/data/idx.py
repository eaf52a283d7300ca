"""A reader and writer for the IDX format of (Fashion-)MNIST, raw or gzip-compressed."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from gancore.errors import DataError

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


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


def _read_exact(stream: IO[bytes], size: int, path: Path, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise DataError(f"IDX file is truncated: expected {size} bytes of {what}, "
                        f"found {len(data)}", source=str(path), hint=_CORRUPT_HINT)
    return data


def read_idx(path: str | Path, limit: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip detected from its content) into a native-endian numpy array.

    ``limit`` reads only the first ``limit`` entries along the first axis. Missing, damaged or
    truncated files raise :class:`~gancore.errors.DataError` naming the file.
    """
    path = Path(path)
    try:
        with _open(path) as stream:
            header = _read_exact(stream, 4, path, "header")
            if header[:2] != b"\0\0" or header[2] not in IDX_DTYPES:
                raise DataError(f"not an IDX file (header {header.hex()})", source=str(path),
                                hint=_CORRUPT_HINT)
            dtype = np.dtype(IDX_DTYPES[header[2]])
            ndim = header[3]
            dims = list(struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, path, "sizes")))
            if limit is not None and dims:
                dims[0] = min(dims[0], max(limit, 0))
            count = math.prod(dims)
            data = _read_exact(stream, count * dtype.itemsize, path, "data")
    except FileNotFoundError:
        raise DataError("IDX file not found", source=str(path),
                        hint="check the path of the data folder") from None
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
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path
