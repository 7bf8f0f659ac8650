"""Benchmark sets for the real world: digits photographed on paper, and whole numbers on the canvas and on paper.

Each digit is an MNIST *test* digit redrawn as pen strokes (`pipelines.evaluation.drawn`), never trained on.
A photographed digit is those strokes in ink on paper, then what a phone adds: grey paper, light falling off
across the page, a soft shadow, ruled lines, a coloured pen, a fat marker or chalk on a board, blur, sensor
noise and JPEG. Every condition redraws the same digits in the same hand, so a condition's score can be read
against the clean scan's. A number is 2–6 such digits written left to right, some pairs touching.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from scipy import ndimage

from pipelines.evaluation.drawn import (
    StrokeStyle,
    balanced_sources,
    digit_strokes,
    ink_canvas,
    stroke_coverage,
    tilt_strokes,
)

RGB = tuple[float, float, float]
BLACK_INK: RGB = (0.08, 0.08, 0.1)
BLUE_INK: RGB = (0.1, 0.2, 0.6)
RULING: RGB = (0.55, 0.7, 0.9)
MARGIN_LINE: RGB = (0.9, 0.45, 0.45)


@dataclass(frozen=True)
class Paper:
    """How a page is photographed: the paper and the light, what is printed on it, the pen, the camera."""

    name: str
    paper: RGB = (0.96, 0.96, 0.95)
    ink: RGB = BLACK_INK
    pen_to_height: tuple[float, float] = (0.02, 0.05)  # a ballpoint: far thinner than MNIST's 0.11
    falloff: float = 0.0  # the light falls by this share across the page
    shadow: float = 0.0  # and by this share more in a soft-edged shadow over part of it
    ruled: bool = False  # ruled lines and a margin
    blur_sigma: float = 0.6  # pixels: focus and camera shake
    noise: float = 0.01  # sensor noise, standard deviation
    jpeg_quality: int = 92


GREY_LIT = Paper("grey paper, light falling off", paper=(0.8, 0.78, 0.74), falloff=0.5, noise=0.02, jpeg_quality=85)
PAPERS: tuple[Paper, ...] = (
    Paper("clean scan, white paper"),
    GREY_LIT,
    replace(GREY_LIT, name="ruled notebook paper", ruled=True),
    replace(GREY_LIT, name="soft shadow over part of the page", shadow=0.5),
    replace(GREY_LIT, name="blur and heavy JPEG", blur_sigma=2.0, jpeg_quality=40),
    replace(GREY_LIT, name="blue ballpoint", ink=BLUE_INK),
    replace(GREY_LIT, name="fat marker", pen_to_height=(0.14, 0.24)),
    replace(GREY_LIT, name="chalk on a dark board", paper=(0.16, 0.24, 0.2), ink=(0.92, 0.92, 0.88), falloff=0.3,
            pen_to_height=(0.06, 0.1)),
    replace(GREY_LIT, name="everything at once", ruled=True, shadow=0.5, ink=BLUE_INK, blur_sigma=1.5,
            jpeg_quality=50),
)


@dataclass(frozen=True)
class PhotoSetConfig:
    """Sizes and ranges of the photographed digits and of the numbers."""

    photo_size: tuple[int, int] = (640, 480)  # width, height of a photographed single digit
    digit_height: tuple[float, float] = (0.35, 0.7)  # of the photo's height
    rotation_degrees: float = 12.0  # how far a written digit leans, uniform in ±this
    slant_degrees: float = 12.0
    line_spacing_to_height: tuple[float, float] = (0.55, 0.9)  # ruled lines, against the digit's height
    line_width: tuple[float, float] = (1.5, 3.0)  # pixels
    line_tilt_degrees: float = 2.0
    shadow_edge: float = 0.06  # softness of the shadow's edge, a share of the photo's long side
    canvas_size: tuple[int, int] = (840, 280)  # the Draw page's number canvas
    canvas_pen: tuple[float, float] = (12.0, 24.0)
    number_photo_size: tuple[int, int] = (1000, 400)
    number_digits: tuple[int, int] = (2, 6)
    number_height: tuple[float, float] = (0.45, 0.75)  # of the canvas or photo's height
    gap_to_height: tuple[float, float] = (0.08, 0.4)  # blank between neighbouring digits
    touching_share: float = 0.3  # numbers with one pair of digits pushed together until they touch
    touch_overlap: tuple[float, float] = (0.02, 0.1)  # how far, against the height, the touching pair overlaps
    margin: float = 0.04  # of the width, kept free at each side


PHOTO_SET = PhotoSetConfig()


@dataclass(frozen=True)
class WrittenNumber:
    """One benchmark number: its picture, its digits, and whether two of them touch."""

    image: np.ndarray  # (h, w, 4) canvas RGBA or (h, w, 3) photo RGB, uint8
    digits: tuple[int, ...]
    touching: bool
    own_ink: tuple[np.ndarray, ...] = ()  # when asked for: each digit's own ink coverage (uint8, h×w), which a
    # perfect segmentation would cut out

    @property
    def text(self) -> str:
        return "".join(map(str, self.digits))


def _style(rng: np.random.Generator, config: PhotoSetConfig) -> StrokeStyle:
    return StrokeStyle(height_fraction=1.0, rotation_degrees=float(rng.uniform(-1, 1) * config.rotation_degrees),
                       slant_degrees=float(rng.uniform(-1, 1) * config.slant_degrees), pen_width=1.0,
                       position=(0.5, 0.5))


def _scaled(strokes: list[np.ndarray], height: float) -> tuple[list[np.ndarray], float]:
    """Strokes scaled to a centre-line height, their top-left at (0, 0); also their width."""
    points = np.vstack(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = height / max(high[1] - low[1], 1e-6)
    return [(stroke - low) * scale for stroke in strokes], float((high[0] - low[0]) * scale)


def photograph(coverage: np.ndarray, paper: Paper, rng: np.random.Generator, digit_height: float) -> np.ndarray:
    """(h, w) ink coverage (uint8) -> (h, w, 3) uint8: the ink on paper, lit, ruled, shadowed, blurred, JPEG'd."""
    height, width = coverage.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    page = np.broadcast_to(np.asarray(paper.paper, np.float32), (height, width, 3)).copy()
    if paper.ruled:
        _rule(page, rows, cols, rng, digit_height)
    ink = coverage.astype(np.float32)[..., None] / 255.0
    page = page * (1.0 - ink) + np.asarray(paper.ink, np.float32) * ink
    light = np.ones((height, width), np.float32)
    if paper.falloff:
        angle = rng.uniform(0, 2 * math.pi)
        along = rows * math.sin(angle) + cols * math.cos(angle)
        light *= 1.0 - paper.falloff * (along - along.min()) / max(along.max() - along.min(), 1.0)
    if paper.shadow:
        angle, share = rng.uniform(0, 2 * math.pi), rng.uniform(0.3, 0.6)
        along = rows * math.sin(angle) + cols * math.cos(angle)
        edge = np.quantile(along, share)
        softness = PHOTO_SET.shadow_edge * max(height, width)
        light *= 1.0 - paper.shadow / (1.0 + np.exp(np.clip((along - edge) / softness * 4, -30, 30)))
    page *= light[..., None]
    page = ndimage.gaussian_filter(page, (paper.blur_sigma, paper.blur_sigma, 0))
    page += rng.normal(0.0, paper.noise, page.shape).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(page, 0, 1) * 255).round().astype(np.uint8)).save(buffer, "JPEG",
                                                                               quality=paper.jpeg_quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def _rule(page: np.ndarray, rows: np.ndarray, cols: np.ndarray, rng: np.random.Generator,
          digit_height: float) -> None:
    """Blue ruled lines across the page, slightly tilted, and a red margin line down its left side."""
    config = PHOTO_SET
    spacing = digit_height * rng.uniform(*config.line_spacing_to_height)
    tilt = math.tan(math.radians(rng.uniform(-1, 1) * config.line_tilt_degrees))
    line_width = rng.uniform(*config.line_width)
    offset = (rows - cols * tilt - rng.uniform(0, spacing)) % spacing
    distance = np.minimum(offset, spacing - offset)
    strength = np.clip(line_width / 2 + 0.5 - distance, 0, 1)[..., None]
    page[:] = page * (1 - strength) + np.asarray(RULING, np.float32) * strength
    margin = rng.uniform(0.03, 0.08) * page.shape[1]
    strength = np.clip(line_width / 2 + 0.5 - np.abs(cols - margin), 0, 1)[..., None]
    page[:] = page * (1 - strength) + np.asarray(MARGIN_LINE, np.float32) * strength


def photographed_digit(image: np.ndarray, paper: Paper, seed: tuple[int, ...],
                       config: PhotoSetConfig = PHOTO_SET) -> np.ndarray:
    """One MNIST digit written in ink on paper and photographed: (h, w, 3) uint8.

    The hand (lean, size, place, the pen's share of the height) depends only
    on `seed`, so every paper shows the same digit written the same way.
    """
    hand = np.random.default_rng(seed)
    width, height = config.photo_size
    digit_height = hand.uniform(*config.digit_height) * height
    strokes, digit_width = _scaled(tilt_strokes(digit_strokes(image), _style(hand, config)), digit_height)
    pen_share = hand.uniform()
    pen = digit_height * (paper.pen_to_height[0] + pen_share * (paper.pen_to_height[1] - paper.pen_to_height[0]))
    free = np.array([width - digit_width - 2 * pen, height - digit_height - 2 * pen])
    corner = pen + hand.uniform(0.15, 0.85, 2) * np.maximum(free, 0)
    coverage = stroke_coverage([stroke + corner for stroke in strokes], pen, (width, height))
    return photograph(coverage, paper, np.random.default_rng([*seed, 1]), digit_height)


def iter_photographed_digits(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                             papers: tuple[Paper, ...] = PAPERS) -> Iterator[tuple[Paper, np.ndarray, np.ndarray]]:
    """(paper, photos (count, h, w, 3), labels) for each paper: the same `count` balanced test digits on each."""
    sources = balanced_sources(labels, count, seed)
    for paper in papers:
        photos = np.stack([photographed_digit(images[source], paper, (seed, i)) for i, source in enumerate(sources)])
        yield paper, photos, np.asarray(labels)[sources].astype(np.int64)


def number_strokes(digit_images: Sequence[np.ndarray], styles: Sequence[StrokeStyle], gaps: Sequence[float],
                   height: float, pen: float, size: tuple[int, int], top_share: float = 0.5,
                   config: PhotoSetConfig = PHOTO_SET) -> tuple[list[list[np.ndarray]], float, float]:
    """Each digit's strokes, written left to right `gaps` apart (negative: overlapping) in an image of `size`.

    Shrunk as a whole when they would not fit; returns the strokes, and the height and pen actually used.
    """
    shapes = [_scaled(tilt_strokes(digit_strokes(image), style), height) for image, style in zip(digit_images, styles)]
    total = sum(width for _, width in shapes) + sum(gaps) + pen
    shrink = min(1.0, size[0] * (1 - 2 * config.margin) / total)
    height, pen = height * shrink, pen * shrink
    left = (size[0] - total * shrink) / 2 + pen / 2
    top = top_share * (size[1] - height - pen) + pen / 2
    placed = []
    for (shape, width), gap in zip(shapes, [*gaps, 0.0]):
        placed.append([stroke * shrink + (left, top) for stroke in shape])
        left += (width + gap) * shrink
    return placed, height, pen


def number_coverage(digit_images: Sequence[np.ndarray], styles: Sequence[StrokeStyle], gaps: Sequence[float],
                    height: float, pen: float, size: tuple[int, int], top_share: float = 0.5,
                    config: PhotoSetConfig = PHOTO_SET) -> tuple[np.ndarray, float, float]:
    """Digits written left to right (`number_strokes`) as ink coverage (uint8, h×w); and the height and pen used."""
    placed, height, pen = number_strokes(digit_images, styles, gaps, height, pen, size, top_share, config)
    return _coverage(placed, pen, size), height, pen


def _coverage(placed: Sequence[Sequence[np.ndarray]], pen: float, size: tuple[int, int]) -> np.ndarray:
    """Every digit's strokes (as `number_strokes` places them) as one ink coverage."""
    return stroke_coverage([stroke for strokes in placed for stroke in strokes], pen, size)


def written_number(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, paper: Paper | None,
                   config: PhotoSetConfig = PHOTO_SET, own_ink: bool = False) -> WrittenNumber:
    """2–6 test digits written left to right: on the canvas (paper None, RGBA) or photographed on `paper` (RGB);
    with `own_ink`, also each digit's ink alone (the same number either way)."""
    count = int(rng.integers(config.number_digits[0], config.number_digits[1] + 1))
    chosen = rng.choice(len(labels), size=count, replace=False)
    size = config.canvas_size if paper is None else config.number_photo_size
    height = rng.uniform(*config.number_height) * size[1]
    pen = rng.uniform(*config.canvas_pen) if paper is None else height * rng.uniform(*paper.pen_to_height)
    styles = [_style(rng, config) for _ in chosen]
    gaps = list(rng.uniform(*config.gap_to_height, size=count - 1) * height + pen)
    touching = bool(count > 1 and rng.uniform() < config.touching_share)
    if touching:
        gaps[int(rng.integers(count - 1))] = -rng.uniform(*config.touch_overlap) * height
    placed, height, pen = number_strokes(images[chosen], styles, gaps, height, pen, size,
                                         float(rng.uniform(0.1, 0.9)), config)
    coverage = _coverage(placed, pen, size)
    image = ink_canvas(coverage) if paper is None else photograph(coverage, paper, rng, height)
    alone = tuple(stroke_coverage(strokes, pen, size) for strokes in placed) if own_ink else ()
    return WrittenNumber(image, tuple(int(labels[index]) for index in chosen), touching, alone)


def iter_numbers(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                 papers: tuple[Paper, ...] | None, own_ink: bool = False) -> Iterator[WrittenNumber]:
    """`count` numbers, number i from a generator seeded by (seed, i): on the canvas, or on papers in turn."""
    for i in range(count):
        paper = None if papers is None else papers[i % len(papers)]
        yield written_number(images, labels, np.random.default_rng([seed, i]), paper, own_ink=own_ink)
