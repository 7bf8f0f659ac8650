"""The photo front end: a photographed page reads like the clean scan of the same digit; canvas drawings keep their path."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import drawn_digit

from pipelines.evaluation.photos import PAPERS, Paper, photographed_digit
from pipelines.reading.canvas import canvas_to_mnist, ink_intensity
from pipelines.reading.photo import looks_like_photo, normalise_stroke, photo_ink

CLEAN = PAPERS[0]
NAMED_IN_THE_ISSUE = ("grey paper, light falling off", "ruled notebook paper", "soft shadow over part of the page")
OTHER_CONDITIONS = ("blur and heavy JPEG", "blue ballpoint", "chalk on a dark board", "everything at once")
DIGITS = range(0, 60, 6)


def _ink_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of the pixels that are clearly ink."""
    a, b = a > 0.3, b > 0.3
    return float((a & b).sum() / (a | b).sum())


def _paper(name: str) -> Paper:
    [paper] = [paper for paper in PAPERS if paper.name == name]
    return paper


def _against_clean(paper: Paper, sample) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute difference and ink overlap of each digit's 28×28 against the clean scan of the same writing."""
    differences, overlaps = [], []
    for index in DIGITS:
        clean = canvas_to_mnist(photographed_digit(sample.test_images[index], CLEAN, (7, index)))
        photo = canvas_to_mnist(photographed_digit(sample.test_images[index], paper, (7, index)))
        assert photo is not None and photo.shape == (28, 28) and photo.dtype == np.float32
        differences.append(float(np.abs(photo - clean).mean()))
        overlaps.append(_ink_overlap(photo, clean))
    return np.array(differences), np.array(overlaps)


@pytest.mark.parametrize("paper_name", NAMED_IN_THE_ISSUE)
def test_light_shadow_and_ruling_give_nearly_the_clean_scans_digit(paper_name: str, sample) -> None:
    differences, overlaps = _against_clean(_paper(paper_name), sample)
    assert differences.max() < 0.03 and np.median(overlaps) > 0.9, (differences, overlaps)


@pytest.mark.parametrize("paper_name", OTHER_CONDITIONS)
def test_blur_jpeg_coloured_ink_and_chalk_stay_close_to_the_clean_scan(paper_name: str, sample) -> None:
    differences, overlaps = _against_clean(_paper(paper_name), sample)
    assert np.median(differences) < 0.03 and np.median(overlaps) > 0.8, (differences, overlaps)


def test_the_widest_marker_reads_like_the_clean_scan_not_as_its_outline(sample) -> None:
    widest = replace(_paper("fat marker"), pen_to_height=(0.24, 0.24))  # the benchmark's fattest pen
    differences, overlaps = _against_clean(widest, sample)
    assert np.median(differences) < 0.05 and np.median(overlaps) > 0.7, (differences, overlaps)


def test_a_stroke_wider_than_the_paper_estimate_is_ink_inside_too() -> None:
    columns = np.linspace(1.0, 0.6, 640, dtype=np.float32)[None, :]  # light falling off across the page
    page = np.broadcast_to(0.85 * columns, (480, 640)).copy()
    page[100:380, 270:370] *= 0.1  # a marker stroke 100 px wide: 80 px at the working size, the paper window 44
    ink = photo_ink((page * 255).astype(np.uint8))
    scale = ink.shape[1] / 640
    stroke = ink[round(110 * scale) : round(370 * scale), round(280 * scale) : round(360 * scale)]
    assert stroke.mean() > 0.95, stroke.mean()
    assert ink.sum() < 1.2 * (280 * 100) * scale**2  # and the paper around it is not


def test_ruled_lines_and_the_shadow_edge_are_not_ink(sample) -> None:
    for paper in map(_paper, ("ruled notebook paper", "soft shadow over part of the page")):
        clean = photo_ink(photographed_digit(sample.test_images[0], CLEAN, (3, 0)))
        photo = photo_ink(photographed_digit(sample.test_images[0], paper, (3, 0)))
        assert photo.sum() < 1.5 * clean.sum(), paper.name  # lines across the page would add far more


def test_a_blank_page_has_no_ink() -> None:
    rng = np.random.default_rng(0)
    rows = np.linspace(0.5, 1.0, 300, dtype=np.float32)[:, None]
    page = np.clip((0.85 * rows + rng.normal(0, 0.02, (300, 400))) * 255, 0, 255).astype(np.uint8)
    assert canvas_to_mnist(page) is None


def test_a_thin_pen_is_brought_to_mnist_stroke_width() -> None:
    mask = np.zeros((200, 200), dtype=bool)
    mask[20:180, 99:101] = True  # a 2-px line, 160 px tall: MNIST's pen would be ~18 px
    widened = normalise_stroke(mask)
    widths = widened.sum(axis=1)
    assert 14 <= np.median(widths[widths > 0]) <= 22
    fat = np.zeros((200, 200), dtype=bool)
    fat[20:180, 70:130] = True  # a 60-px marker, far too fat
    thinned = normalise_stroke(fat)
    assert np.median(thinned.sum(axis=1)[thinned.sum(axis=1) > 0]) < 30


def test_canvas_drawings_keep_the_canvas_path(sample) -> None:
    canvas = drawn_digit(sample.test_images[0])
    assert not looks_like_photo(canvas)
    transparent = canvas.copy()
    transparent[..., 3] = canvas[..., 0]
    assert not looks_like_photo(transparent)
    assert not looks_like_photo(canvas[..., 0])  # white on black grayscale: a drawing, not a photo
    assert looks_like_photo(photographed_digit(sample.test_images[0], CLEAN, (1, 0)))
    ink = ink_intensity(canvas)
    assert canvas_to_mnist(canvas) is not None and ink.max() == 1.0


def test_light_on_dark_and_dark_on_light_read_alike(sample) -> None:
    dark_on_light = photographed_digit(sample.test_images[1], CLEAN, (5, 1))
    light_on_dark = 255 - dark_on_light
    a, b = canvas_to_mnist(dark_on_light), canvas_to_mnist(light_on_dark)
    assert _ink_overlap(a, b) > 0.85
