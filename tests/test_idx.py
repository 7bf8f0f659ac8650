"""IDX parsing: good files gzipped or not, and every way a file can be broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from pipelines.data.idx import IdxError, read_images, read_labels, write_idx
from pipelines.data.sources import DataSourceError, load_idx

IMAGES = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
LABELS = np.array([7, 0, 9], dtype=np.uint8)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_images_round_trip_plain_and_gzipped(tmp_path: Path, name: str) -> None:
    write_idx(tmp_path / name, IMAGES)
    np.testing.assert_array_equal(read_images(tmp_path / name), IMAGES)


def test_labels_round_trip(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels.gz", LABELS)
    np.testing.assert_array_equal(read_labels(tmp_path / "labels.gz"), LABELS)


def test_wrong_magic_number_is_named(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels", LABELS)
    with pytest.raises(IdxError, match=r"labels: magic number 2049, expected 2051"):
        read_images(tmp_path / "labels")


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    write_idx(path, IMAGES)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(IdxError, match=r"images.gz: the gzip stream is truncated or corrupt"):
        read_images(path)


def test_corrupt_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    payload = bytearray(gzip.compress(b"\x00\x00\x08\x03" + bytes(200)))
    payload[20:30] = b"\xff" * 10
    path.write_bytes(bytes(payload))
    with pytest.raises(IdxError, match="truncated or corrupt"):
        read_images(path)


def test_counts_that_do_not_match_the_header(tmp_path: Path) -> None:
    path = tmp_path / "images"
    write_idx(path, IMAGES)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IdxError, match=r"header announces 2352 bytes .* file holds 2252"):
        read_images(path)


def test_header_too_short(tmp_path: Path) -> None:
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(IdxError, match="too short for an IDX header"):
        read_images(tmp_path / "tiny")


def test_labels_out_of_range(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels", np.array([1, 12, 3], dtype=np.uint8))
    with pytest.raises(IdxError, match=r"label 12 at position 1 is outside 0-9"):
        read_labels(tmp_path / "labels")


def _write_set(folder: Path, n_train: int = 5, n_test: int = 3, train_labels: int | None = None) -> None:
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, train_labels or n_train))
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, n_test))


def test_folder_of_mixed_gzipped_and_plain_files(tmp_path: Path) -> None:
    _write_set(tmp_path)
    data = load_idx(tmp_path)
    assert data.train_images.shape == (5, 28, 28) and data.train_images.dtype == np.uint8
    assert data.test_labels.shape == (3,)
    assert data.source == f"idx:{tmp_path.resolve()}"


def test_folder_with_image_and_label_counts_that_differ(tmp_path: Path) -> None:
    _write_set(tmp_path, train_labels=4)
    with pytest.raises(DataSourceError, match="5 train images but 4 labels"):
        load_idx(tmp_path)


def test_folder_missing_a_file_names_it(tmp_path: Path) -> None:
    _write_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataSourceError, match="no t10k-labels-idx1-ubyte"):
        load_idx(tmp_path)
