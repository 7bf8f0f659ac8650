"""The varied training copies: right shapes and labels, reproducible, and each variation does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.config import DrawingVariation
from pipelines.data.augment import change_thickness, varied_copies, vary_digit, with_varied_copies
from pipelines.data.sources import MnistData
from pipelines.reading.canvas import canvas_to_mnist

STILL = DrawingVariation(rotation_degrees=0.0, shear_degrees=0.0, thickness_steps=(0,))


@pytest.fixture(scope="module")
def digits(sample: MnistData) -> np.ndarray:
    return sample.train_images[:40].astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def labels(sample: MnistData) -> np.ndarray:
    return sample.train_labels[:40]


def vertical_bar() -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.float32)
    image[4:24, 13:15] = 1.0
    return image


def lean_degrees(image: np.ndarray) -> float:
    """How far the ink's principal axis leans from vertical, in degrees (positive: top to the right)."""
    rows, cols = np.nonzero(image > 0.3)
    weights = image[rows, cols]
    rows = rows - np.average(rows, weights=weights)
    cols = cols - np.average(cols, weights=weights)
    covariance = np.cov(np.stack([rows, cols]), aweights=weights)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    row, col = eigenvectors[:, eigenvalues.argmax()]
    if row > 0:
        row, col = -row, -col  # point the axis upwards
    return float(np.degrees(np.arctan2(col, -row)))


def test_copies_follow_the_originals_with_matching_labels(digits: np.ndarray, labels: np.ndarray) -> None:
    images, varied_labels = with_varied_copies(digits, labels, DrawingVariation(), copies=2)
    assert images.shape == (3 * len(digits), 28, 28) and images.dtype == np.float32
    np.testing.assert_array_equal(images[: len(digits)], digits)
    np.testing.assert_array_equal(varied_labels, np.tile(labels, 3))
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert not np.allclose(images[len(digits):2 * len(digits)], digits, atol=0.05)


def test_no_copies_means_the_training_set_unchanged(digits: np.ndarray, labels: np.ndarray) -> None:
    images, varied_labels = with_varied_copies(digits, labels, DrawingVariation(), copies=0)
    np.testing.assert_array_equal(images, digits)
    np.testing.assert_array_equal(varied_labels, labels)


def test_copies_are_reproducible_from_the_seed(digits: np.ndarray) -> None:
    first = varied_copies(digits, DrawingVariation(), copies=1, seed=7, n_jobs=1)
    again = varied_copies(digits, DrawingVariation(), copies=1, seed=7, n_jobs=2)
    other = varied_copies(digits, DrawingVariation(), copies=1, seed=8, n_jobs=1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_an_unvaried_copy_is_the_digit_through_the_canvas_front_end(digits: np.ndarray) -> None:
    copies = varied_copies(digits, STILL, copies=1, n_jobs=1)
    expected = np.stack([canvas_to_mnist(digit) for digit in digits])
    np.testing.assert_allclose(copies, expected, atol=0.02)


@pytest.mark.parametrize("degrees", [-25.0, -10.0, 10.0, 25.0])
def test_rotation_turns_the_digit_by_that_angle(degrees: float) -> None:
    turned = vary_digit(vertical_bar(), rotation_degrees=degrees, shear_degrees=0.0, thickness_step=0)
    assert abs(abs(lean_degrees(turned)) - abs(degrees)) < 3.0


def test_rotation_either_way_leans_opposite_ways() -> None:
    left = lean_degrees(vary_digit(vertical_bar(), -20.0, 0.0, 0))
    right = lean_degrees(vary_digit(vertical_bar(), 20.0, 0.0, 0))
    assert left * right < 0


@pytest.mark.parametrize("degrees", [-15.0, 15.0])
def test_shear_slants_a_vertical_stroke(degrees: float) -> None:
    slanted = vary_digit(vertical_bar(), rotation_degrees=0.0, shear_degrees=degrees, thickness_step=0)
    assert abs(abs(lean_degrees(slanted)) - abs(degrees)) < 3.0


def test_thickness_steps_order_the_ink(digits: np.ndarray) -> None:
    masses = [change_thickness(digits[0], step).sum() for step in (-1, 0, 1, 2)]
    assert masses == sorted(masses) and len(set(masses)) == 4


def test_thinning_never_wipes_out_a_thin_digit() -> None:
    hairline = np.zeros((28, 28), dtype=np.float32)
    hairline[4:24, 14] = 1.0
    assert change_thickness(hairline, -1).sum() == hairline.sum()
