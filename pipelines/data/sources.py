"""Loading MNIST from OpenML, a local IDX folder, or the sample bundled with the project.

A source is named by a string: `openml`, `idx:DIR` or `sample`. It comes from
the command line, else the `MNIST_SOURCE` environment variable; when neither
names one, OpenML is tried and, if it cannot be reached, the bundled sample
is used and the fallback is recorded so the dashboard can say so.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import numpy as np

from pipelines import config
from pipelines.data.idx import IdxError, read_images, read_labels

logger = logging.getLogger(__name__)

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class DataSourceError(RuntimeError):
    """The data could not be loaded; the message says why and what to do instead."""


@dataclass(frozen=True)
class MnistData:
    """Train and test images (uint8, n×28×28) and labels (int, 0–9), with where they came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    fallback_reason: str | None = None
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Training images added from elsewhere (e.g. the labelled drawings), by name: how many and their fingerprint."""

    @property
    def fingerprint(self) -> str:
        """sha256 over all four arrays: two runs on the same data share it."""
        digest = hashlib.sha256()
        for array in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def limit_train(self, limit: int | None, seed: int = config.SEED) -> MnistData:
        """A stratified subset of the training set (the test set stays whole)."""
        if limit is None or limit >= len(self.train_labels):
            return self
        from sklearn.model_selection import train_test_split

        indices = np.arange(len(self.train_labels))
        kept, _ = train_test_split(indices, train_size=limit, stratify=self.train_labels, random_state=seed)
        kept = np.sort(kept)
        return dataclasses.replace(self, train_images=self.train_images[kept], train_labels=self.train_labels[kept])

    def with_extra_training(self, name: str, images: np.ndarray, labels: np.ndarray,
                            description: dict[str, Any]) -> MnistData:
        """The training set with more images (uint8, n×28×28) appended after it; the test set is untouched."""
        if images.shape[1:] != self.train_images.shape[1:] or images.dtype != self.train_images.dtype \
                or len(images) != len(labels):
            raise DataSourceError(f"{name}: extra training images must be {self.train_images.dtype} "
                                  f"(n, 28, 28) with one label each; got {images.dtype} {images.shape}")
        return dataclasses.replace(
            self, train_images=np.concatenate([self.train_images, images]),
            train_labels=np.concatenate([self.train_labels, np.asarray(labels, dtype=self.train_labels.dtype)]),
            extra={**self.extra, name: description})

    def summary_arrays(self) -> dict[str, np.ndarray]:
        """What the dashboard needs of this dataset: the test set, and the training set in brief."""
        digits = range(config.N_CLASSES)
        return {
            "test_images": self.test_images,
            "test_labels": self.test_labels.astype(np.uint8),
            "train_counts": np.bincount(self.train_labels, minlength=config.N_CLASSES),
            "test_counts": np.bincount(self.test_labels, minlength=config.N_CLASSES),
            "train_means": np.stack([self.train_images[self.train_labels == d].mean(axis=0) for d in digits]),
        }

    def describe(self) -> dict[str, object]:
        """What the manifest records about the data a model was trained on."""
        return {
            "source": self.source,
            "fingerprint": self.fingerprint,
            "n_train": int(len(self.train_labels)),
            "n_test": int(len(self.test_labels)),
            "fallback_reason": self.fallback_reason,
            **({"extra": self.extra} if self.extra else {}),
        }


def _validated(data: MnistData, origin: str) -> MnistData:
    for split in ("train", "test"):
        images, labels = getattr(data, f"{split}_images"), getattr(data, f"{split}_labels")
        if images.ndim != 3 or images.shape[1:] != (config.IMAGE_SIDE, config.IMAGE_SIDE):
            raise DataSourceError(f"{origin}: {split} images have shape {images.shape}, expected (n, 28, 28)")
        if len(images) != len(labels):
            raise DataSourceError(f"{origin}: {len(images)} {split} images but {len(labels)} labels")
        if len(labels) and (labels.min() < 0 or labels.max() >= config.N_CLASSES):
            raise DataSourceError(f"{origin}: {split} labels outside 0-9")
    return data


def _find_idx_file(folder: Path, stem: str) -> Path:
    for name in (stem, f"{stem}.gz", stem.replace("-idx", ".idx"), f"{stem.replace('-idx', '.idx')}.gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataSourceError(f"{folder}: no {stem} or {stem}.gz in this folder")


def load_idx(folder: Path | str) -> MnistData:
    """The four canonical MNIST IDX files from one folder, gzipped or not."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataSourceError(f"{folder}: not a folder (expected the four MNIST IDX files)")
    try:
        arrays = {key: (read_images if "images" in key else read_labels)(_find_idx_file(folder, stem))
                  for key, stem in IDX_FILES.items()}
    except IdxError as error:
        raise DataSourceError(str(error)) from error
    return _validated(MnistData(**arrays, source=f"idx:{folder.resolve()}"), str(folder))


def load_sample(path: Path = config.SAMPLE_PATH) -> MnistData:
    """The small real MNIST sample committed to the repository."""
    try:
        with np.load(path) as archive:
            arrays = {key: archive[key] for key in IDX_FILES}
    except (OSError, KeyError, ValueError) as error:
        raise DataSourceError(f"{path}: the bundled sample cannot be read ({error})") from error
    arrays = {key: value.astype(np.int64) if "labels" in key else value for key, value in arrays.items()}
    return _validated(MnistData(**arrays, source="sample"), str(path))


def load_openml(data_home: Path | str | None = None, test_rows: int = config.OPENML_TEST_ROWS) -> MnistData:
    """OpenML's mnist_784 through scikit-learn, cached on disk after the first download."""
    from sklearn.datasets import fetch_openml

    try:
        features, target = fetch_openml(
            config.OPENML_NAME, version=config.OPENML_VERSION, data_home=data_home,
            as_frame=False, return_X_y=True, parser="liac-arff",
        )
    except Exception as error:  # network and server errors come in many types (URLError, HTTPError, OSError, ...)
        if isinstance(error, HTTPError):
            error.close()  # its connection would otherwise stay open as long as the exception lives
        raise DataSourceError(
            f"OpenML ({config.OPENML_NAME}) could not be fetched: {error}. "
            "Offline, use the IDX files (--data idx:DIR, e.g. idx:../shared/mnist) "
            "or the bundled sample (--data sample)."
        ) from error
    images = np.asarray(features, dtype=np.uint8).reshape(-1, config.IMAGE_SIDE, config.IMAGE_SIDE)
    labels = np.asarray(target).astype(np.int64)
    if not 0 < test_rows < len(labels):
        raise DataSourceError(f"OpenML: {len(labels)} rows, cannot hold out {test_rows} for testing")
    split = len(labels) - test_rows
    return _validated(
        MnistData(images[:split], labels[:split], images[split:], labels[split:], source="openml"), "OpenML"
    )


def load_data(source: str | None = None) -> MnistData:
    """Load the named source; with none named, OpenML with a loud fallback to the sample."""
    named = source or config.data_source_from_env()
    if named is None:
        try:
            return load_openml()
        except DataSourceError as error:
            reason = f"OpenML was not reachable, so the models were trained on the small bundled sample ({error})"
            logger.warning("!" * 72)
            logger.warning("FALLING BACK TO THE BUNDLED SAMPLE: %s", reason)
            logger.warning("!" * 72)
            return dataclasses.replace(load_sample(), fallback_reason=reason)
    if named == "openml":
        return load_openml()
    if named == "sample":
        return load_sample()
    if named.startswith("idx:"):
        return load_idx(named.removeprefix("idx:"))
    raise DataSourceError(f"unknown data source {named!r}: use openml, idx:DIR or sample")


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """The one `--data` option every command shares."""
    parser.add_argument(
        "--data", default=None, metavar="SOURCE",
        help=f"openml, idx:DIR (the MNIST IDX files) or sample; default: ${config.DATA_SOURCE_ENV}, "
             "else OpenML with a fallback to the bundled sample",
    )
