"""Data expectations on the canonical files and the bundled sample, and source selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines import config
from pipelines.data import sources as data
from pipelines.data.sources import DataSourceError, MnistData, load_data, load_idx

# Label counts published with the canonical files (../shared/mnist/README.md).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_canonical_files_have_the_published_shapes_and_label_counts(shared_mnist_dir: Path) -> None:
    mnist = load_idx(shared_mnist_dir)
    assert mnist.train_images.shape == (60_000, 28, 28)
    assert mnist.test_images.shape == (10_000, 28, 28)
    assert mnist.train_images.dtype == np.uint8
    assert np.bincount(mnist.train_labels).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.test_labels).tolist() == TEST_COUNTS
    assert mnist.train_images.max() == 255 and mnist.train_images.min() == 0


def test_sample_is_balanced_real_mnist(sample: MnistData) -> None:
    assert np.bincount(sample.train_labels).tolist() == [300] * 10
    assert np.bincount(sample.test_labels).tolist() == [100] * 10
    assert sample.train_images.shape[1:] == (28, 28) and sample.train_images.dtype == np.uint8
    # real digits: ink covers roughly a fifth of the field, not noise or blanks
    ink_share = (sample.train_images > 127).mean()
    assert 0.08 < ink_share < 0.3


def test_sample_images_come_from_the_canonical_sets(sample: MnistData, shared_mnist_dir: Path) -> None:
    mnist = load_idx(shared_mnist_dir)
    train_rows = {image.tobytes() for image in mnist.train_images}
    test_rows = {image.tobytes() for image in mnist.test_images}
    assert all(image.tobytes() in train_rows for image in sample.train_images)
    assert all(image.tobytes() in test_rows for image in sample.test_images)


def test_fingerprint_identifies_the_arrays(sample: MnistData) -> None:
    same = MnistData(sample.train_images.copy(), sample.train_labels.copy(), sample.test_images,
                     sample.test_labels, "elsewhere")
    changed_labels = sample.train_labels.copy()
    changed_labels[0] = (changed_labels[0] + 1) % 10
    changed = MnistData(sample.train_images, changed_labels, sample.test_images, sample.test_labels, "sample")
    assert same.fingerprint == sample.fingerprint
    assert changed.fingerprint != sample.fingerprint


def test_train_limit_is_stratified_and_keeps_the_test_set(sample: MnistData) -> None:
    limited = sample.limit_train(1000)
    assert len(limited.train_labels) == 1000
    assert np.bincount(limited.train_labels).tolist() == [100] * 10
    assert len(limited.test_labels) == len(sample.test_labels)


def test_environment_variable_names_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.DATA_SOURCE_ENV, "sample")
    assert load_data().source == "sample"


def test_unknown_source_is_refused() -> None:
    with pytest.raises(DataSourceError, match="unknown data source 'kaggle'"):
        load_data("kaggle")


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="not a folder"):
        load_data(f"idx:{tmp_path / 'nowhere'}")


def _unreachable_openml(*args: object, **kwargs: object) -> MnistData:
    raise DataSourceError("OpenML (mnist_784) could not be fetched: <urlopen error [Errno -3] name resolution>")


def test_no_source_named_falls_back_to_the_sample_loudly(monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(config.DATA_SOURCE_ENV, raising=False)
    monkeypatch.setattr(data, "load_openml", _unreachable_openml)
    loaded = load_data()
    assert loaded.source == "sample"
    assert "OpenML was not reachable" in loaded.fallback_reason
    assert loaded.describe()["fallback_reason"] == loaded.fallback_reason
    assert "FALLING BACK TO THE BUNDLED SAMPLE" in caplog.text
