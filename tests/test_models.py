"""Model behaviour on real MNIST, through the public API, after a quick training on the sample."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import drawn_digit
from scipy import ndimage
from skimage.feature import hog
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedGroupKFold

from pipelines.config import PROFILES, SEED
from pipelines.data.sources import MnistData
from pipelines.models import features
from pipelines.models.features import feature_step
from pipelines.models.forest import SMALL_BATCH, ForestClassifier
from pipelines.models.svm import SvmClassifier
from pipelines.progress import Progress
from pipelines.reading.canvas import canvas_to_mnist
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import MODEL_NAMES, load_model, load_models

# The sample has 3,000 training images; even so each model must read clean test digits.
MIN_SAMPLE_ACCURACY = 0.85


@pytest.fixture(scope="module")
def models(trained_artifacts: Path) -> dict:
    return load_models(trained_artifacts)


@pytest.fixture(scope="module")
def test_images(sample: MnistData) -> np.ndarray:
    return sample.test_images.astype(np.float32) / 255.0


def test_all_three_models_load(models: dict) -> None:
    assert set(models) == set(MODEL_NAMES)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_probabilities_are_rows_that_sum_to_one(models: dict, test_images: np.ndarray, name: str) -> None:
    probabilities = models[name].predict_proba(test_images[:50])
    assert probabilities.shape == (50, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert (probabilities >= 0).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_clean_test_digits_are_recognised(models: dict, test_images: np.ndarray, sample: MnistData,
                                          name: str) -> None:
    predictions = models[name].predict_proba(test_images).argmax(axis=1)
    assert (predictions == sample.test_labels).mean() >= MIN_SAMPLE_ACCURACY


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("shift", [(0, 1), (1, 0), (0, -1), (-1, 0)])
def test_a_one_pixel_shift_keeps_the_label(models: dict, test_images: np.ndarray, name: str,
                                           shift: tuple[int, int]) -> None:
    shifted = np.stack([ndimage.shift(image, shift, order=0) for image in test_images])
    before = models[name].predict_proba(test_images).argmax(axis=1)
    after = models[name].predict_proba(shifted).argmax(axis=1)
    assert (before == after).mean() >= 0.95


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_digit_drawn_anywhere_on_the_canvas_is_recognised(models: dict, sample: MnistData, name: str) -> None:
    correct = []
    for index in range(0, 200, 2):
        canvas = drawn_digit(sample.test_images[index], top=10 + index % 90, left=100 - index % 80, side=150)
        probabilities = models[name].predict_proba(canvas_to_mnist(canvas)[None])
        correct.append(probabilities.argmax() == sample.test_labels[index])
    assert np.mean(correct) >= MIN_SAMPLE_ACCURACY - 0.05


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_more_ink_of_the_digit_means_more_confidence(models: dict, test_images: np.ndarray, sample: MnistData,
                                                    name: str) -> None:
    """Direction: erasing half of a digit lowers the model's belief in the true label on average."""
    labels = sample.test_labels[:200]
    whole = models[name].predict_proba(test_images[:200])[np.arange(200), labels]
    half = test_images[:200].copy()
    half[:, 14:, :] = 0
    halved = models[name].predict_proba(half)[np.arange(200), labels]
    assert whole.mean() > halved.mean() + 0.1


def test_metrics_are_the_stored_metrics(models: dict, trained_artifacts: Path) -> None:
    for model in models.values():
        assert model.metrics == model.run.metrics
        assert 0.0 <= model.metrics["accuracy"] <= 1.0


def test_the_cnn_traces_its_forward_pass_when_loaded_not_on_the_first_drawing(trained_artifacts: Path,
                                                                            test_images: np.ndarray) -> None:
    cnn = load_model("cnn", ArtifactStore(trained_artifacts), serving="native")
    forward = cnn.classifier._compiled_forward()
    traced_at_load = forward.experimental_get_tracing_count()
    cnn.predict_proba(test_images[:1])
    cnn.predict_proba(test_images[:7])
    assert traced_at_load == 1
    assert forward.experimental_get_tracing_count() == traced_at_load


def test_the_forest_answers_a_few_drawings_exactly_as_scikit_learn_does(models: dict, test_images: np.ndarray) -> None:
    """Small batches skip scikit-learn's per-tree joblib calls; the answers must not change."""
    forest = models["rf"].classifier
    for batch in (test_images[:1], test_images[:7], test_images[:SMALL_BATCH]):
        np.testing.assert_allclose(forest.predict_proba(batch),
                                   forest.estimator.predict_proba(batch.reshape(len(batch), -1)), atol=1e-12)


def test_gradient_histogram_features_read_digits_as_well_as_pixels(sample: MnistData, test_images: np.ndarray) -> None:
    """The `features="hog"` candidate: same output for the same digit, and a forest on it still reads MNIST."""
    params = dataclasses.replace(PROFILES["quick"].rf, features="hog", varied_copies=0)
    reader = feature_step(params.features, params.hog)
    features = reader.fit_transform(test_images[:5])
    assert features.shape == (5, 1296)
    np.testing.assert_array_equal(features, reader.fit_transform(test_images[:5]))
    forest = ForestClassifier(params)
    forest.fit(sample.train_images.astype(np.float32) / 255.0, sample.train_labels, Progress("rf", None, False))
    accuracy = (forest.predict(test_images) == sample.test_labels).mean()
    assert accuracy > MIN_SAMPLE_ACCURACY
    with pytest.raises(ValueError, match="unknown features"):
        feature_step("edges", params.hog)


def test_gradient_histograms_of_many_digits_shared_among_the_cores_are_each_digits_own(
        test_images: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    hog = PROFILES["full"].rf.hog
    arguments = {"orientations": hog.orientations, "cell_pixels": hog.cell_pixels, "block_cells": hog.block_cells}
    one_by_one = np.concatenate([features.deskew_hog(image, **arguments) for image in test_images[:300]])
    monkeypatch.setattr(features, "HOG_PARALLEL_MIN_IMAGES", 40)
    np.testing.assert_array_equal(features.deskew_hog(test_images[:300], **arguments), one_by_one)


def test_gradient_histograms_of_a_batch_are_scikit_images_to_the_last_bit(test_images: np.ndarray) -> None:
    """Deskewed digits in the models' cells; random ink and blank pictures in the piece counter's size and cells."""
    rng = np.random.default_rng(0)
    digits = features.deskew_each(test_images[:200])
    ink = rng.random((50, 32, 96)).astype(np.float32) * (rng.random((50, 32, 96)) > 0.7)
    pictures = np.concatenate([ink, np.zeros((2, 32, 96), dtype=np.float32)])
    for images, cell_pixels in ((digits, 4), (pictures, 8)):
        expected = np.stack([hog(image, orientations=9, pixels_per_cell=(cell_pixels,) * 2, cells_per_block=(2, 2),
                                 block_norm="L2-Hys") for image in images])
        np.testing.assert_array_equal(features.batch_hog(images, 9, cell_pixels, 2), expected)


def test_the_svm_calibrated_beside_its_final_fit_is_scikit_learns_calibration(sample: MnistData,
                                                                             test_images: np.ndarray) -> None:
    """The SVM fits its folds and its final SVC at once and assembles the calibration itself: it must give the
    probabilities `CalibratedClassifierCV(ensemble=False)` gives with the same folds, to the last bit."""
    params = dataclasses.replace(PROFILES["quick"].svm, varied_copies=0, pca_components=20)
    images, labels = sample.train_images[:1200].astype(np.float32) / 255.0, sample.train_labels[:1200]
    svm = SvmClassifier(params)
    svm.fit(images, labels, Progress("svm", None, False))
    folds = StratifiedGroupKFold(params.calibration_folds, shuffle=True, random_state=SEED)
    reference = CalibratedClassifierCV(clone(svm.estimator.calibrated_classifiers_[0].estimator), method="sigmoid",
                                       ensemble=False, cv=list(folds.split(images, labels, groups=np.arange(1200))))
    reference.fit(images.reshape(1200, -1), labels)
    np.testing.assert_array_equal(svm.predict_proba(test_images[:200]),
                                  reference.predict_proba(test_images[:200].reshape(200, -1)))
