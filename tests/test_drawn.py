"""The drawn-digit benchmark: reproducible, balanced, shaped like the canvas component's output, and readable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import skeletonize

from pipelines.benchmarks.drawn import SECTION, main
from pipelines.data.sources import MnistData
from pipelines.evaluation.drawn import DRAWN, StrokeStyle, draw_digit, iter_drawn_digits, make_drawn_digits
from pipelines.reading.canvas import canvas_to_mnist, naive_resize
from pipelines.store.registry import load_models

SEED = 7
COUNT = 30
UPRIGHT = StrokeStyle(height_fraction=0.5, rotation_degrees=0.0, slant_degrees=0.0, pen_width=12.0,
                      position=(0.5, 0.5))


@pytest.fixture(scope="module")
def drawn(sample: MnistData) -> tuple[np.ndarray, np.ndarray]:
    return make_drawn_digits(sample.test_images, sample.test_labels, COUNT, SEED)


def _ink_box(canvas: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the inked pixels, inclusive."""
    rows = np.flatnonzero((canvas[..., 0] > 0).any(axis=1))
    cols = np.flatnonzero((canvas[..., 0] > 0).any(axis=0))
    return rows[0], cols[0], rows[-1], cols[-1]


def _first(sample: MnistData, digit: int) -> np.ndarray:
    return sample.test_images[np.flatnonzero(sample.test_labels == digit)[0]]


def test_shapes_and_dtypes(drawn: tuple[np.ndarray, np.ndarray]) -> None:
    canvases, labels = drawn
    assert canvases.shape == (COUNT, DRAWN.canvas_side, DRAWN.canvas_side, 4) and canvases.dtype == np.uint8
    assert labels.shape == (COUNT,) and labels.dtype == np.int64


def test_the_same_seed_gives_the_same_set_and_another_seed_another(sample: MnistData,
                                                                  drawn: tuple[np.ndarray, np.ndarray]) -> None:
    again, labels = make_drawn_digits(sample.test_images, sample.test_labels, COUNT, SEED)
    np.testing.assert_array_equal(again, drawn[0])
    np.testing.assert_array_equal(labels, drawn[1])
    other, _ = make_drawn_digits(sample.test_images, sample.test_labels, COUNT, SEED + 1)
    assert not np.array_equal(other, drawn[0])


def test_chunking_does_not_change_the_set(sample: MnistData, drawn: tuple[np.ndarray, np.ndarray]) -> None:
    small_chunks = dataclasses.replace(DRAWN, chunk_size=7)
    batches = list(iter_drawn_digits(sample.test_images, sample.test_labels, COUNT, SEED, small_chunks))
    assert [len(batch.labels) for batch in batches] == [7, 7, 7, 7, 2]
    np.testing.assert_array_equal(np.concatenate([batch.canvases for batch in batches]), drawn[0])


def test_labels_are_balanced_and_match_their_sources(sample: MnistData) -> None:
    (batch,) = iter_drawn_digits(sample.test_images, sample.test_labels, COUNT, SEED)
    assert np.bincount(batch.labels, minlength=10).tolist() == [COUNT // 10] * 10
    np.testing.assert_array_equal(batch.labels, sample.test_labels[batch.sources])
    assert len(set(batch.sources.tolist())) == COUNT


def test_canvases_look_like_the_canvas_component(drawn: tuple[np.ndarray, np.ndarray]) -> None:
    canvases, _ = drawn
    assert (canvases[..., 3] == 255).all(), "the background is opaque"
    assert (canvases[..., 0] == canvases[..., 1]).all() and (canvases[..., 1] == canvases[..., 2]).all(), "grey ink"
    ink = canvases[..., 0]
    assert (np.median(ink, axis=(1, 2)) == 0).all(), "black background"
    assert (ink.max(axis=(1, 2)) == 255).all(), "white ink"
    edges = ((ink > 0) & (ink < 255)).sum(axis=(1, 2))
    assert (edges > 0.1 * (ink == 255).sum(axis=(1, 2)) ** 0.5).all(), "anti-aliased edges, not hard pixels"


def test_ink_stays_inside_the_canvas(drawn: tuple[np.ndarray, np.ndarray]) -> None:
    ink = drawn[0][..., 0]
    border = np.concatenate([ink[:, 0], ink[:, -1], ink[:, :, 0], ink[:, :, -1]], axis=1)
    assert (border == 0).all()


def test_sizes_positions_and_pens_vary(sample: MnistData) -> None:
    (batch,) = iter_drawn_digits(sample.test_images, sample.test_labels, COUNT, SEED)
    boxes = np.array([_ink_box(canvas) for canvas in batch.canvases])
    heights = (boxes[:, 2] - boxes[:, 0] + 1) / DRAWN.canvas_side
    assert heights.min() < 0.45 and heights.max() > 0.7
    assert heights.min() >= DRAWN.height_fraction[0] - 0.1 and heights.max() <= DRAWN.height_fraction[1] + 0.01
    assert boxes[:, 0].min() < 20 and boxes[:, 2].max() > DRAWN.canvas_side - 20, "some digits near the edges"
    pens = [style.pen_width for style in batch.styles]
    assert min(pens) >= DRAWN.pen_width[0] and max(pens) <= DRAWN.pen_width[1] and max(pens) - min(pens) > 8


def test_the_digit_has_the_height_and_corner_it_was_given(sample: MnistData) -> None:
    top_left = draw_digit(_first(sample, 7), dataclasses.replace(UPRIGHT, position=(0.0, 0.0)))
    top, left, bottom, _ = _ink_box(top_left)
    assert abs((bottom - top + 1) - UPRIGHT.height_fraction * DRAWN.canvas_side) <= 2
    assert top <= DRAWN.margin + 1 and left <= DRAWN.margin + 1
    _, _, bottom, right = _ink_box(draw_digit(_first(sample, 7), dataclasses.replace(UPRIGHT, position=(1.0, 1.0))))
    assert bottom >= DRAWN.canvas_side - DRAWN.margin - 2 and right >= DRAWN.canvas_side - DRAWN.margin - 2


@pytest.mark.parametrize("pen", [8.0, 20.0, 30.0])
def test_strokes_are_as_wide_as_the_pen(sample: MnistData, pen: float) -> None:
    """Redrawn strokes, not a blown-up bitmap: the ink is pen-wide all along its centre line."""
    style = dataclasses.replace(UPRIGHT, height_fraction=0.8, pen_width=pen)
    ink = draw_digit(_first(sample, 2), style)[..., 0] >= 128
    half_widths = ndimage.distance_transform_edt(ink)[skeletonize(ink)]
    assert abs(2 * np.median(half_widths) - pen) <= 2.5


def test_rotation_and_slant_tilt_the_digit(sample: MnistData) -> None:
    """A positive angle turns the top to the left (counter-clockwise) and a positive slant to the right."""
    def tilt(**angles: float) -> float:
        ink = draw_digit(_first(sample, 1), dataclasses.replace(UPRIGHT, **angles))[..., 0].astype(float)
        rows, cols = np.nonzero(ink)
        return float(np.cov(cols, rows, aweights=ink[rows, cols])[0, 1])  # > 0: the top leans left

    upright = tilt()
    assert tilt(rotation_degrees=20.0) > upright + 50 and tilt(rotation_degrees=-20.0) < upright - 50
    assert tilt(slant_degrees=15.0) < upright - 50 and tilt(slant_degrees=-15.0) > upright + 50


def test_a_quick_model_reads_drawn_digits_through_the_front_end(trained_artifacts: Path, sample: MnistData) -> None:
    canvases, labels = make_drawn_digits(sample.test_images, sample.test_labels, 100, SEED)
    front = np.stack([canvas_to_mnist(canvas) for canvas in canvases])
    naive = np.stack([naive_resize(canvas) for canvas in canvases])
    for name, model in load_models(trained_artifacts).items():
        accuracy = (model.predict_proba(front).argmax(axis=1) == labels).mean()
        naive_accuracy = (model.predict_proba(naive).argmax(axis=1) == labels).mean()
        assert accuracy >= 0.6, f"{name}: {accuracy:.0%} on drawn digits (chance is 10%)"
        assert accuracy > naive_accuracy, f"{name}: the front end should beat squashing the canvas"


def test_bench_writes_its_section_and_a_contact_sheet(trained_artifacts: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out, sheet = tmp_path / "BENCHMARKS.md", tmp_path / "sheet.png"
    out.write_text("# Benchmarks\n\nkept by hand\n")
    assert main(["--artifacts", str(trained_artifacts), "--data", "sample", "--count", "20",
                 "--out", str(out), "--sheet", str(sheet)]) == 0
    text = out.read_text()
    assert "kept by hand" in text and f"<!-- begin {SECTION} -->" in text and "--count 20" in text
    for name in ("svm", "rf", "cnn"):
        assert f"| {name} |" in text
    assert "canvas_to_mnist" in capsys.readouterr().out
    assert sheet.stat().st_size > 1000
