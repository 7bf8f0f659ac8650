"""A drawn-digit benchmark: MNIST test digits redrawn as pen strokes on a 280×280 canvas.

The dashboard's canvas hands the models a large RGBA picture with a digit of
any size, anywhere, at any slant and pen width; MNIST test images never look
like that. To measure the whole path (canvas -> `canvas_to_mnist` -> model),
each test digit is thresholded, upscaled and skeletonised, its skeleton is
traced into polylines, and those are redrawn as smooth pen strokes the way
streamlit-drawable-canvas renders them: opaque black background, white
anti-aliased ink with round caps and joins. Size, position, rotation, slant
and pen width are drawn at random from one `DrawnConfig`, reproducibly from a
seed. The set is for evaluation only: nothing here is ever trained on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.morphology import remove_small_objects, skeletonize

from pipelines.config import N_CLASSES

Pixel = tuple[int, int]
FOUR_NEIGHBOURS: tuple[Pixel, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
DIAGONAL_NEIGHBOURS: tuple[Pixel, ...] = ((-1, -1), (-1, 1), (1, -1), (1, 1))


@dataclass(frozen=True)
class DrawnConfig:
    """Every constant of the benchmark: how skeletons are made and the ranges strokes are drawn from."""

    canvas_side: int = 280
    supersample: int = 4  # strokes are drawn 4× larger, then box-averaged down: anti-aliased edges
    skeleton_upscale: int = 4  # MNIST digits are skeletonised at 112×112 so the traced paths are smooth
    skeleton_blur: float = 1.5  # Gaussian sigma (upscaled pixels) that rounds the thresholded outline
    ink_threshold: float = 0.4
    min_blob_pixels: int = 48  # specks smaller than 3 MNIST pixels are scanner dirt, not strokes
    spur_length: int = 10  # side branches shorter than this (upscaled pixels) are skeleton artefacts
    smoothing_window: int = 9  # moving-average window (points) that irons out pixel staircases
    point_step: int = 3  # keep every 3rd smoothed point: enough for curves, cheap to draw
    height_fraction: tuple[float, float] = (0.25, 0.9)  # ink height as a share of the canvas side
    rotation_degrees: float = 25.0  # uniform in ±this
    slant_degrees: float = 15.0  # horizontal shear, uniform in ±this, on top of the rotation
    pen_width: tuple[float, float] = (8.0, 30.0)  # at canvas scale (280 px)
    max_pen_to_height: float = 0.25  # nobody draws a 70-px digit with a 30-px pen: it would be a blob
    margin: float = 2.0  # pixels kept free at every edge, so the anti-aliased rim stays on the canvas
    chunk_size: int = 100  # canvases held in memory at once (100 × 280 × 280 × 4 bytes ≈ 31 MB)


DRAWN = DrawnConfig()


@dataclass(frozen=True)
class StrokeStyle:
    """How one digit is drawn: sampled per digit from the ranges of a DrawnConfig."""

    height_fraction: float
    rotation_degrees: float
    slant_degrees: float
    pen_width: float
    position: tuple[float, float]  # where the ink box's free room is split, each in [0, 1]


@dataclass(frozen=True)
class DrawnBatch:
    """A chunk of the benchmark: canvases, their labels, and where and how each was drawn."""

    canvases: np.ndarray  # (n, side, side, 4) uint8
    labels: np.ndarray  # (n,) int64
    sources: np.ndarray  # (n,) indices of the MNIST test images they were drawn from
    styles: list[StrokeStyle]


def balanced_sources(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Indices of `count` images, digit i % 10 at position i, so any prefix is balanced."""
    rng = np.random.default_rng(seed)
    shuffled = [rng.permutation(np.flatnonzero(labels == digit)) for digit in range(N_CLASSES)]
    if any(len(members) == 0 for members in shuffled):
        raise ValueError("every digit 0-9 needs at least one source image")
    return np.array([shuffled[i % N_CLASSES][(i // N_CLASSES) % len(shuffled[i % N_CLASSES])]
                     for i in range(count)], dtype=np.int64)


def sample_style(rng: np.random.Generator, config: DrawnConfig = DRAWN) -> StrokeStyle:
    """One random size, rotation, slant, pen width and position within the configured ranges."""
    height_fraction = rng.uniform(*config.height_fraction)
    pen_ceiling = min(config.pen_width[1], config.max_pen_to_height * height_fraction * config.canvas_side)
    return StrokeStyle(
        height_fraction=float(height_fraction),
        rotation_degrees=float(rng.uniform(-config.rotation_degrees, config.rotation_degrees)),
        slant_degrees=float(rng.uniform(-config.slant_degrees, config.slant_degrees)),
        pen_width=float(rng.uniform(config.pen_width[0], max(config.pen_width[0], pen_ceiling))),
        position=(float(rng.uniform()), float(rng.uniform())),
    )


# --- skeleton to strokes -------------------------------------------------------------------------


def skeleton_of(image: np.ndarray, config: DrawnConfig = DRAWN) -> np.ndarray:
    """The one-pixel-wide skeleton of a 28×28 digit, on a grid `skeleton_upscale` times finer."""
    ink = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    fine = ndimage.gaussian_filter(ndimage.zoom(ink, config.skeleton_upscale, order=3), config.skeleton_blur)
    shape = remove_small_objects(fine >= config.ink_threshold, max_size=config.min_blob_pixels - 1)
    return skeletonize(shape)


def pixel_graph(skeleton: np.ndarray) -> dict[Pixel, list[Pixel]]:
    """Neighbours of every skeleton pixel: 4-connected, plus diagonals that do not cut a corner.

    A diagonal step between two pixels that also share a 4-neighbour on the
    skeleton would close a triangle and turn every corner into a false junction.
    """
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton))}
    graph: dict[Pixel, list[Pixel]] = {}
    for r, c in pixels:
        straight = [(r + dr, c + dc) for dr, dc in FOUR_NEIGHBOURS if (r + dr, c + dc) in pixels]
        diagonal = [(r + dr, c + dc) for dr, dc in DIAGONAL_NEIGHBOURS
                    if (r + dr, c + dc) in pixels and (r + dr, c) not in pixels and (r, c + dc) not in pixels]
        graph[(r, c)] = straight + diagonal
    return graph


def trace_paths(graph: dict[Pixel, list[Pixel]]) -> list[list[Pixel]]:
    """Split the pixel graph into paths between ends and junctions; loops (an 'o') become closed paths."""
    walked: set[frozenset[Pixel]] = set()

    def walk(start: Pixel, step: Pixel) -> list[Pixel]:
        path = [start, step]
        walked.add(frozenset((start, step)))
        while len(graph[path[-1]]) == 2:
            onward = [p for p in graph[path[-1]] if frozenset((path[-1], p)) not in walked]
            if not onward:
                break
            walked.add(frozenset((path[-1], onward[0])))
            path.append(onward[0])
        return path

    ends_and_junctions_first = sorted(graph, key=lambda pixel: (len(graph[pixel]) == 2, pixel))
    return [walk(pixel, neighbour) for pixel in ends_and_junctions_first for neighbour in graph[pixel]
            if frozenset((pixel, neighbour)) not in walked]


def prune_spurs(paths: list[list[Pixel]], graph: dict[Pixel, list[Pixel]], spur_length: int) -> list[list[Pixel]]:
    """Drop short branches that run from a junction to a dead end: thinning artefacts, not pen strokes."""
    def is_spur(path: list[Pixel]) -> bool:
        degrees = sorted((len(graph[path[0]]), len(graph[path[-1]])))
        return len(path) < spur_length and degrees[0] == 1 and degrees[1] >= 3
    return [path for path in paths if not is_spur(path)]


def smooth_path(path: list[Pixel], window: int, step: int) -> np.ndarray:
    """(k, 2) float (x, y) points: a moving average along the path, ends kept where they were."""
    points = np.array([(c, r) for r, c in path], dtype=np.float64)
    closed = len(path) > 2 and path[0] == path[-1]
    width = min(window, len(points) - 1 if closed else len(points)) | 1  # an odd window that fits the path
    if width >= 3:
        mode = "wrap" if closed else "nearest"
        points = ndimage.uniform_filter1d(points, width, axis=0, mode=mode)
        if not closed:
            points[[0, -1]] = [(path[0][1], path[0][0]), (path[-1][1], path[-1][0])]
    kept = points[::step]
    return np.vstack([kept, points[-1:]]) if len(points) > 1 and (len(points) - 1) % step else kept


def digit_strokes(image: np.ndarray, config: DrawnConfig = DRAWN) -> list[np.ndarray]:
    """The pen strokes of a 28×28 digit: smoothed (x, y) polylines on the upscaled grid."""
    graph = pixel_graph(skeleton_of(image, config))
    paths = prune_spurs(trace_paths(graph), graph, config.spur_length)
    if not paths and graph:  # a lone dot: draw it as one
        paths = [[next(iter(graph))] * 2]
    return [smooth_path(path, config.smoothing_window, config.point_step) for path in paths]


# --- placing and drawing ---------------------------------------------------------------------------


def tilt_strokes(strokes: list[np.ndarray], style: StrokeStyle) -> list[np.ndarray]:
    """Slant (shear the top to the right for a positive angle), then rotate (counter-clockwise positive)."""
    shear = math.tan(math.radians(style.slant_degrees))
    angle = math.radians(style.rotation_degrees)
    slant = np.array([[1.0, -shear], [0.0, 1.0]])  # y points down, so the top moves right for shear > 0
    rotate = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    matrix = rotate @ slant
    return [stroke @ matrix.T for stroke in strokes]


def place_strokes(strokes: list[np.ndarray], style: StrokeStyle, config: DrawnConfig = DRAWN) -> list[np.ndarray]:
    """Tilt, scale and move the strokes so the inked digit has the style's height and lies on the canvas.

    The ink box is the centre-line box widened by half a pen on every side; it
    is scaled to the requested height, shrunk if it would be too wide, and put
    at the style's position within the room left on the canvas.
    """
    tilted = tilt_strokes(strokes, style)
    points = np.vstack(tilted)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = np.maximum(high - low, 1e-6)
    room = config.canvas_side - 2 * config.margin - style.pen_width
    target_height = style.height_fraction * config.canvas_side - style.pen_width
    scale = min(max(target_height, 1.0) / extent[1], room / extent[0], room / extent[1])
    ink_size = extent * scale + style.pen_width
    free = config.canvas_side - 2 * config.margin - ink_size
    corner = config.margin + np.asarray(style.position) * np.maximum(free, 0.0) + style.pen_width / 2
    return [(stroke - low) * scale + corner for stroke in tilted]


def stroke_coverage(strokes: list[np.ndarray], pen_width: float, size: tuple[int, int],
                    supersample: int = DRAWN.supersample) -> np.ndarray:
    """(height, width) uint8: how much of each pixel round-capped, round-joined pen strokes cover, anti-aliased."""
    width, height = size
    big = Image.new("L", (width * supersample, height * supersample), 0)
    draw = ImageDraw.Draw(big)
    radius = pen_width * supersample / 2
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke * supersample]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(2 * radius)), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(big.resize((width, height), Image.Resampling.BOX))


def render_strokes(strokes: list[np.ndarray], pen_width: float, config: DrawnConfig = DRAWN,
                   size: tuple[int, int] | None = None) -> np.ndarray:
    """(height, width, 4) uint8, square by default: white strokes on opaque black, as the canvas returns them."""
    size = size or (config.canvas_side, config.canvas_side)
    ink = stroke_coverage(strokes, pen_width, size, config.supersample)
    canvas = np.empty((size[1], size[0], 4), dtype=np.uint8)
    canvas[..., :3] = ink[..., None]
    canvas[..., 3] = 255
    return canvas


def draw_digit(image: np.ndarray, style: StrokeStyle, config: DrawnConfig = DRAWN) -> np.ndarray:
    """One MNIST digit redrawn as pen strokes on a canvas, in the given style."""
    return render_strokes(place_strokes(digit_strokes(image, config), style, config), style.pen_width, config)


# --- the benchmark set -----------------------------------------------------------------------------


def iter_drawn_digits(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                      config: DrawnConfig = DRAWN) -> Iterator[DrawnBatch]:
    """The benchmark in chunks of `config.chunk_size` canvases, so 1,000 canvases never sit in memory at once.

    Digit i is drawn with a generator seeded by (seed, i): the set does not
    depend on the chunk size, and its first n digits are the same for any count ≥ n.
    """
    sources = balanced_sources(labels, count, seed)
    for start in range(0, count, config.chunk_size):
        indices = range(start, min(count, start + config.chunk_size))
        styles = [sample_style(np.random.default_rng([seed, i]), config) for i in indices]
        chunk = sources[start : start + len(styles)]
        canvases = np.stack([draw_digit(images[source], style, config) for source, style in zip(chunk, styles)])
        yield DrawnBatch(canvases, np.asarray(labels)[chunk].astype(np.int64), chunk, styles)


def make_drawn_digits(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                      config: DrawnConfig = DRAWN) -> tuple[np.ndarray, np.ndarray]:
    """(canvases (count, side, side, 4) uint8, labels (count,)) in one array: for small counts."""
    batches = list(iter_drawn_digits(images, labels, count, seed, config))
    return np.concatenate([b.canvases for b in batches]), np.concatenate([b.labels for b in batches])


def contact_sheet(canvases: np.ndarray, columns: int, thumbnail: int, gap: int) -> Image.Image:
    """A grid of canvases scaled to `thumbnail` pixels, separated by grey gaps: what the set looks like."""
    rows = math.ceil(len(canvases) / columns)
    sheet = Image.new("RGB", (columns * (thumbnail + gap) + gap, rows * (thumbnail + gap) + gap), (128, 128, 128))
    for index, canvas in enumerate(canvases):
        tile = Image.fromarray(canvas[..., :3]).resize((thumbnail, thumbnail), Image.Resampling.LANCZOS)
        row, column = divmod(index, columns)
        sheet.paste(tile, (gap + column * (thumbnail + gap), gap + row * (thumbnail + gap)))
    return sheet
