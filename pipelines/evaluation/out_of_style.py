"""An out-of-style benchmark: digits in shapes MNIST's writers rarely made, on a canvas like the Draw page's.

The drawn-digit set redraws MNIST's own digits, so it flatters the models. This
set is made without MNIST: half typeset in fonts (`pipelines.evaluation.fonts`,
evaluation designs only: serif, sans, monospace, script and hand-lettered
typefaces at their own weights and italics), half pen strokes of handwritten
letterforms (`pipelines.evaluation.letterforms`, evaluation letterforms only:
flagged 1s, closed 6s and 9s, crossed 7s...), and a share of both bent by an
elastic distortion. Every item is drawn from a generator seeded by (seed, its
index) and tagged with what it is, so accuracy breaks down by condition. The
set is for evaluation only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import transform

from pipelines.config import N_CLASSES, SEED
from pipelines.evaluation import drawn
from pipelines.evaluation.drawn import DRAWN, DrawnConfig, StrokeStyle, sample_style
from pipelines.evaluation.fonts import FONT_SPLIT, FontFace, FontSplit, faces_by_design, glyph_ink
from pipelines.evaluation.letterforms import LETTERFORMS_CONFIG, LetterformConfig, letterform_strokes, letterforms_of

FONT = "font"
LETTERFORM = "letterform"
ELASTIC = "elastic"
UNDISTORTED = "none"


@dataclass(frozen=True)
class OutOfStyleConfig:
    """The mix of the set and every range it is drawn from."""

    font_share: float = 0.5  # of the items, when evaluation fonts are installed; the rest are letterforms
    elastic_share: float = 0.25  # of the items, fonts and letterforms alike
    evaluation: bool = True  # False draws from the training designs and letterforms instead (training copies)
    # letterforms: placed and drawn like the drawn-digit set, less rotated (the shapes are the test here)
    letterform_drawing: DrawnConfig = dataclasses.replace(DRAWN, rotation_degrees=10.0)
    letterform: LetterformConfig = LETTERFORMS_CONFIG
    # fonts: the typeface's own weight and italic, plus a little rotation and slant, at any size and place
    font_drawing: DrawnConfig = dataclasses.replace(DRAWN, rotation_degrees=8.0, slant_degrees=8.0)
    font_supersample: int = 2  # glyphs are placed on a canvas this many times larger, then box-averaged down
    font_probe_px: int = 100  # typeset size used to measure a glyph before it is set at its final size
    split: FontSplit = FONT_SPLIT
    # elastic distortion (Simard et al. 2003): a random displacement field smoothed over a share of the ink's
    # height, scaled to a share of it
    elastic_smoothness: float = 0.15  # Gaussian sigma, of the ink height
    elastic_displacement: tuple[float, float] = (0.02, 0.05)  # standard deviation of the shift, of the ink height
    elastic_reach: float = 4.0  # the canvas is padded by this many standard deviations while it is bent
    chunk_size: int = 100


OUT_OF_STYLE = OutOfStyleConfig()


@dataclass(frozen=True)
class ItemTags:
    """What one canvas shows: its digit, where its shape comes from and whether it was distorted."""

    label: int
    source: str  # FONT or LETTERFORM
    style: str  # the font's design, or the letterform's name
    detail: str  # the font's family and style ("" for letterforms)
    distortion: str  # ELASTIC or UNDISTORTED


@dataclass(frozen=True)
class OutOfStyleBatch:
    canvases: np.ndarray  # (n, side, side, 4) uint8
    labels: np.ndarray  # (n,) int64
    tags: list[ItemTags]


def font_canvas(face: FontFace, digit: int, style: StrokeStyle, config: OutOfStyleConfig = OUT_OF_STYLE) -> np.ndarray:
    """The digit typeset in `face`, tilted by the style, scaled to its height and put at its position."""
    side = config.font_drawing.canvas_side
    margin = config.font_drawing.margin
    matrix = drawn.tilt_matrix(style)
    probe = glyph_ink(face, digit, config.font_probe_px)
    # set the glyph so that, tilted, it is about as tall as asked on the supersampled canvas
    tilted_height = np.ptp(_corners(probe.shape) @ matrix.T, axis=0)[1]
    target = style.height_fraction * side * config.font_supersample
    size = max(8, round(config.font_probe_px * target / max(tilted_height, 1.0)))
    ink = glyph_ink(face, digit, size)
    tilted = _corners(ink.shape) @ matrix.T
    low, extent = tilted.min(axis=0), np.ptp(tilted, axis=0)
    room = (side - 2 * margin) * config.font_supersample
    scale = min(target / extent[1], room / extent[0], room / extent[1])
    free = room - extent * scale
    corner = margin * config.font_supersample + np.asarray(style.position) * np.maximum(free, 0.0)
    forward = np.eye(3)
    forward[:2, :2] = scale * matrix
    forward[:2, 2] = corner - scale * low
    big_side = side * config.font_supersample
    big = transform.warp(ink, transform.AffineTransform(matrix=forward).inverse, output_shape=(big_side, big_side),
                         order=1, mode="constant", cval=0.0)
    small = big.reshape(side, config.font_supersample, side, config.font_supersample).mean(axis=(1, 3))
    return drawn.ink_canvas(np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8))


def _corners(shape: tuple[int, ...]) -> np.ndarray:
    height, width = shape[:2]
    return np.array([[0.0, 0.0], [width, 0.0], [0.0, height], [width, height]])


def elastic_distort(canvas: np.ndarray, rng: np.random.Generator,
                    config: OutOfStyleConfig = OUT_OF_STYLE) -> np.ndarray:
    """The canvas's ink bent by a smooth random displacement field sized to the ink (Simard et al. 2003).

    The canvas is padded first, and the bent digit moved back inside if it grew over an edge, so no ink is lost.
    """
    ink = canvas[..., 0].astype(np.float32) / 255.0
    rows = np.flatnonzero(ink.any(axis=1))
    height = float(rows[-1] - rows[0] + 1) if len(rows) else float(ink.shape[0])
    amount = rng.uniform(*config.elastic_displacement) * height
    pad = int(np.ceil(config.elastic_reach * amount))
    padded = np.pad(ink, pad)
    fields = []
    for _ in range(2):
        field = ndimage.gaussian_filter(rng.uniform(-1.0, 1.0, padded.shape), config.elastic_smoothness * height)
        fields.append(field / max(field.std(), 1e-12) * amount)
    grid_rows, grid_cols = np.mgrid[: padded.shape[0], : padded.shape[1]].astype(np.float64)
    bent = transform.warp(padded, np.array([grid_rows + fields[0], grid_cols + fields[1]]), order=1, mode="constant")
    bent = ndimage.shift(bent, _back_inside(bent > 1.0 / 255, pad, ink.shape), order=0, mode="constant", cval=0.0)
    inside = bent[pad : pad + ink.shape[0], pad : pad + ink.shape[1]]
    return drawn.ink_canvas(np.clip(inside * 255.0 + 0.5, 0, 255).astype(np.uint8))


def _back_inside(mask: np.ndarray, pad: int, shape: tuple[int, ...]) -> tuple[int, int]:
    """The (rows, cols) shift that brings the inked part of a padded canvas back within the original canvas."""
    shift = []
    for axis, side in enumerate(shape[:2]):
        inked = np.flatnonzero(mask.any(axis=1 - axis))
        if not len(inked):
            shift.append(0)
            continue
        shift.append(max(0, pad - int(inked[0])) - max(0, int(inked[-1]) - (pad + side - 1)))
    return shift[0], shift[1]


def draw_item(index: int, seed: int, designs: dict[str, tuple[FontFace, ...]],
              config: OutOfStyleConfig = OUT_OF_STYLE) -> tuple[np.ndarray, ItemTags]:
    """Item `index` of the set: digit index % 10, a font or a letterform, elastically distorted or not."""
    rng = np.random.default_rng([seed, index])
    digit = index % N_CLASSES
    use_font = bool(designs) and rng.uniform() < config.font_share
    distort = rng.uniform() < config.elastic_share
    if use_font:
        names = sorted(designs)
        design = names[int(rng.integers(len(names)))]
        face = designs[design][int(rng.integers(len(designs[design])))]
        canvas = font_canvas(face, digit, sample_style(rng, config.font_drawing), config)
        source, style, detail = FONT, design, f"{face.family} {face.style}".strip()
    else:
        forms = letterforms_of(digit, config.evaluation)
        form = forms[int(rng.integers(len(forms)))]
        stroke_style = sample_style(rng, config.letterform_drawing)
        strokes = drawn.place_strokes(letterform_strokes(form, rng, config.letterform), stroke_style,
                                      config.letterform_drawing)
        canvas = drawn.render_strokes(strokes, stroke_style.pen_width, config.letterform_drawing)
        source, style, detail = LETTERFORM, form.name, ""
    if distort:
        canvas = elastic_distort(canvas, rng, config)
    return canvas, ItemTags(digit, source, style, detail, ELASTIC if distort else UNDISTORTED)


def iter_out_of_style(count: int, seed: int = SEED, config: OutOfStyleConfig = OUT_OF_STYLE
                      ) -> Iterator[OutOfStyleBatch]:
    """The set in chunks of `config.chunk_size` canvases; its first n items are the same for any count ≥ n."""
    if count < 1:
        raise ValueError(f"the out-of-style set needs at least one item, not {count}")
    designs = faces_by_design(config.evaluation, config.split)
    for start in range(0, count, config.chunk_size):
        items = [draw_item(index, seed, designs, config) for index in range(start, min(count, start + config.chunk_size))]
        tags = [tag for _, tag in items]
        yield OutOfStyleBatch(np.stack([canvas for canvas, _ in items]),
                              np.array([tag.label for tag in tags], dtype=np.int64), tags)


def make_out_of_style(count: int, seed: int = SEED, config: OutOfStyleConfig = OUT_OF_STYLE
                      ) -> tuple[np.ndarray, np.ndarray, list[ItemTags]]:
    """(canvases, labels, tags) in one piece: for small counts."""
    batches = list(iter_out_of_style(count, seed, config))
    return (np.concatenate([b.canvases for b in batches]), np.concatenate([b.labels for b in batches]),
            [tag for b in batches for tag in b.tags])
