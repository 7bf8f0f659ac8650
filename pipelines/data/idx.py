"""Reading and validating the IDX files of the original MNIST distribution.

Every error names the file and what is wrong with it, because a user who
points the project at a folder of their own needs to know which file to fix.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
GZIP_SIGNATURE = b"\x1f\x8b"


class IdxError(ValueError):
    """An IDX file that cannot be used, with the file and the problem in the message."""


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise IdxError(f"{path}: file not found")
    raw = path.read_bytes()
    if not raw.startswith(GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise IdxError(f"{path}: the gzip stream is truncated or corrupt ({error})") from error


def _header(path: Path, data: bytes, expected_magic: int, n_dims: int) -> tuple[int, ...]:
    header_size = 4 * (1 + n_dims)
    if len(data) < 4:
        raise IdxError(f"{path}: only {len(data)} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise IdxError(f"{path}: magic number {magic}, expected {expected_magic}")
    if len(data) < header_size:
        raise IdxError(f"{path}: only {len(data)} bytes, too short for an IDX header")
    return tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))


def _body(path: Path, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    header_size = 4 * (1 + len(shape))
    expected = int(np.prod(shape))
    actual = len(data) - header_size
    if actual != expected:
        raise IdxError(f"{path}: header announces {expected} bytes of data for shape {shape}, file holds {actual}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def read_images(path: Path) -> np.ndarray:
    """Images as uint8 `(n, rows, cols)` from an IDX3 file, gzipped or not."""
    path = Path(path)
    data = _read_bytes(path)
    shape = _header(path, data, IMAGES_MAGIC, 3)
    return _body(path, data, shape)


def read_labels(path: Path) -> np.ndarray:
    """Labels as int64 `(n,)` from an IDX1 file, checked to lie in 0–9."""
    path = Path(path)
    data = _read_bytes(path)
    shape = _header(path, data, LABELS_MAGIC, 1)
    labels = _body(path, data, shape).astype(np.int64)
    if labels.size and labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise IdxError(f"{path}: label {labels[bad]} at position {bad} is outside 0-9")
    return labels


def write_idx(path: Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write uint8 images `(n, r, c)` or labels `(n,)` as IDX (gzipped when the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
