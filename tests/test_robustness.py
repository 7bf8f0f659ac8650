"""The robustness lab: each perturbation does what it says at the strength it is given, and the curves are sound."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from pipelines.benchmarks import robustness as robustness_report
from pipelines.data.sources import MnistData
from pipelines.evaluation.robustness import ROBUSTNESS, as_unit_float, perturb, robustness_curves
from pipelines.store.registry import load_models

KINDS = ROBUSTNESS.kinds
SMALL = dataclasses.replace(ROBUSTNESS, n_images=200)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def digits(sample: MnistData) -> np.ndarray:
    return as_unit_float(sample.test_images[:64])


@pytest.fixture(scope="module")
def bars() -> np.ndarray:
    """Vertical bars through the centre: their orientation, position and extent are easy to measure."""
    images = np.zeros((8, 28, 28), dtype=np.float32)
    images[:, 6:22, 13:15] = 1.0
    return images


def _orientation_degrees(image: np.ndarray) -> float:
    """Angle of the principal axis from the vertical, from second moments."""
    rows, cols = np.nonzero(image > 0)
    weights = image[rows, cols]
    mu_rr = np.average((rows - np.average(rows, weights=weights)) ** 2, weights=weights)
    mu_cc = np.average((cols - np.average(cols, weights=weights)) ** 2, weights=weights)
    mu_rc = np.average((rows - np.average(rows, weights=weights)) * (cols - np.average(cols, weights=weights)),
                       weights=weights)
    return float(np.degrees(0.5 * np.arctan2(2 * mu_rc, mu_rr - mu_cc)))


class NearestMean:
    """A tiny deterministic classifier with predict_proba: softmax over distances to each digit's mean."""

    def __init__(self, sample: MnistData) -> None:
        images = as_unit_float(sample.train_images)
        self.means = np.stack([images[sample.train_labels == d].mean(axis=0) for d in range(10)]).reshape(10, -1)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        distances = ((images.reshape(len(images), 1, -1) - self.means[None]) ** 2).sum(axis=2)
        scores = np.exp(-(distances - distances.min(axis=1, keepdims=True)))
        return scores / scores.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("kind", KINDS)
def test_the_neutral_strength_is_the_identity(digits: np.ndarray, kind: str) -> None:
    neutral = ROBUSTNESS.perturbation(kind).neutral
    np.testing.assert_array_equal(perturb(digits, kind, neutral, _rng()), digits)


@pytest.mark.parametrize("kind", KINDS)
def test_every_strength_keeps_shape_dtype_and_range_and_is_seeded(digits: np.ndarray, kind: str) -> None:
    for strength in ROBUSTNESS.perturbation(kind).strengths:
        perturbed = perturb(digits, kind, strength, _rng(3))
        assert perturbed.shape == digits.shape and perturbed.dtype == np.float32
        assert perturbed.min() >= 0.0 and perturbed.max() <= 1.0
        np.testing.assert_array_equal(perturbed, perturb(digits, kind, strength, _rng(3)))
        if strength != ROBUSTNESS.perturbation(kind).neutral:
            assert not np.array_equal(perturbed, digits), f"{kind} at {strength} changed nothing"


def test_uint8_input_is_read_as_0_to_255(sample: MnistData) -> None:
    raw = sample.test_images[:4]
    np.testing.assert_allclose(perturb(raw, "rotation", 0.0, _rng()), raw / 255.0, atol=1e-7)


@pytest.mark.parametrize("degrees", [10.0, 30.0])
def test_rotation_turns_by_the_strength_either_way_about_the_centre(bars: np.ndarray, degrees: float) -> None:
    turned = perturb(bars, "rotation", degrees, _rng())
    angles = np.array([_orientation_degrees(image) for image in turned])
    np.testing.assert_allclose(np.abs(angles), degrees, atol=2.0)
    assert (angles > 0).any() and (angles < 0).any(), "both directions are drawn"
    for before, after in zip(bars, turned):
        np.testing.assert_allclose(ndimage.center_of_mass(after), ndimage.center_of_mass(before), atol=0.3)


@pytest.mark.parametrize("pixels", [2.0, 6.0])
def test_shift_moves_the_centre_of_mass_by_the_strength(bars: np.ndarray, pixels: float) -> None:
    moved = perturb(bars, "shift", pixels, _rng())
    distances = [np.hypot(*np.subtract(ndimage.center_of_mass(after), ndimage.center_of_mass(before)))
                 for before, after in zip(bars, moved)]
    np.testing.assert_allclose(distances, pixels, atol=0.3)


@pytest.mark.parametrize("factor", [0.6, 1.3])
def test_scale_changes_the_extent_by_the_factor(bars: np.ndarray, factor: float) -> None:
    scaled = perturb(bars, "scale", factor, _rng())
    lengths = (scaled > 0.5).any(axis=2).sum(axis=1)
    np.testing.assert_allclose(lengths, 16 * factor, atol=1.5)


def test_thickness_thins_and_thickens_the_strokes_in_order(digits: np.ndarray) -> None:
    strengths = ROBUSTNESS.perturbation("thickness").strengths
    masses = [perturb(digits, "thickness", strength, _rng()).sum(axis=(1, 2)) for strength in sorted(strengths)]
    for thinner, thicker in zip(masses, masses[1:]):
        assert (thinner < thicker).all()


def test_noise_grows_with_sigma_and_stays_in_unit_range(digits: np.ndarray) -> None:
    changes = []
    for sigma in (0.1, 0.3, 0.5):
        noisy = perturb(digits, "noise", sigma, _rng())
        assert noisy.min() >= 0.0 and noisy.max() <= 1.0
        changes.append(np.abs(noisy - digits).mean())
    assert changes == sorted(changes) and changes[0] > 0.02


@pytest.mark.parametrize("width", [2.0, 8.0])
def test_occlusion_removes_ink_and_adds_none(digits: np.ndarray, width: float) -> None:
    covered = perturb(digits, "occlusion", width, _rng())
    assert (covered <= digits).all()
    assert (covered.sum(axis=(1, 2)) < digits.sum(axis=(1, 2))).all(), "every bar crosses its digit"
    for image, before in zip(covered, digits):
        changed = image != before
        row_span, col_span = (np.ptp(np.flatnonzero(changed.any(axis=axis))) + 1 for axis in (1, 0))
        assert min(row_span, col_span) <= width, "the ink removed lies in one bar of the given width"


def test_an_unknown_perturbation_is_refused(digits: np.ndarray) -> None:
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(digits, "blur", 1.0, _rng())


@pytest.fixture(scope="module")
def curves(sample: MnistData) -> dict:
    return robustness_curves(NearestMean(sample), sample.test_images, sample.test_labels, SMALL, rng_seed=5)


def test_curves_cover_every_kind_and_strength_and_are_json(curves: dict) -> None:
    assert curves["n_images"] == SMALL.n_images and curves["seed"] == 5
    assert set(curves["perturbations"]) == set(KINDS)
    for kind, curve in curves["perturbations"].items():
        spec = ROBUSTNESS.perturbation(kind)
        assert curve["strengths"] == list(spec.strengths) and len(curve["accuracy"]) == len(spec.strengths)
        assert all(0.0 <= accuracy <= 1.0 for accuracy in curve["accuracy"])
        assert curve["accuracy"][spec.strengths.index(spec.neutral)] == curves["clean_accuracy"]
    assert json.loads(json.dumps(curves)) == curves


def test_curves_are_reproducible_and_fall_with_strength(sample: MnistData, curves: dict) -> None:
    again = robustness_curves(NearestMean(sample), sample.test_images, sample.test_labels, SMALL, rng_seed=5)
    assert again["perturbations"] == curves["perturbations"]
    assert curves["clean_accuracy"] > 0.6
    for kind in ("rotation", "shift", "occlusion"):  # averaging makes a nearest mean shrug off noise
        accuracy = curves["perturbations"][kind]["accuracy"]
        assert accuracy[-1] < accuracy[0] - 0.1, f"{kind} at full strength should hurt a nearest-mean classifier"


def test_curves_of_a_trained_model(trained_artifacts: Path, sample: MnistData) -> None:
    model = load_models(trained_artifacts)["cnn"]
    result = robustness_curves(model, sample.test_images, sample.test_labels, SMALL)
    assert result["clean_accuracy"] > 0.8
    rotation = result["perturbations"]["rotation"]["accuracy"]
    assert rotation[-1] < result["clean_accuracy"]


def test_the_report_writes_every_stored_curve_point_into_the_benchmarks(trained_artifacts: Path,
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nkept as it is\n")
    assert robustness_report.main(["--artifacts", str(trained_artifacts), "--out", str(out)]) == 0
    text = out.read_text()
    assert "kept as it is" in text and "<!-- begin robustness -->" in text
    rows = [line for line in text.splitlines() if line.startswith("| rotation | 30 |")]
    curves, missing = robustness_report.stored_curves(trained_artifacts)
    assert not missing and len(rows) == 1
    expected = [f"{curves[name]['perturbations']['rotation']['accuracy'][-1]:.1%}" for name in curves]
    assert rows[0].strip(" |").split(" | ")[3:] == expected
    assert sum(line.startswith("| ") for line in text.splitlines()) == 2 + sum(
        len(spec.strengths) for spec in ROBUSTNESS.perturbations)


def test_the_report_refuses_artifacts_without_runs(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n")
    assert robustness_report.main(["--artifacts", str(tmp_path / "empty"), "--out", str(out)]) == 1
    assert out.read_text() == "# Benchmarks\n"
