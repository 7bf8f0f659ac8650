"""Read a photo or scan of writing on paper: the ink as a clean mask, whatever the light, the paper or the pen.

A phone photo is not a canvas: the paper is grey and lit unevenly, a shadow
falls across it, ruled lines cross it, JPEG and the sensor add noise, and a
ballpoint is far thinner than MNIST's strokes. So, in order: the image is
brought to a working size and smoothed; the ink's polarity is found (dark on
light or light on dark); the paper's own brightness is estimated by a large
grey closing and divided out; a local (Sauvola) threshold, plus a minimum
contrast against the paper, gives the ink, and whatever is far darker than
the paper seen more widely is ink too (the inside of a marker's stroke wider
than the first estimate's reach); long straight lines spanning the
image (ruled paper, grids, margins) are removed and the strokes that crossed
them rejoined; specks are dropped. `normalise_stroke` then brings one digit's
pen width to MNIST's share of the digit's height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import rank, threshold_sauvola
from skimage.morphology import remove_small_objects, skeletonize


@dataclass(frozen=True)
class PhotoConfig:
    """Every constant of the photo front end."""

    working_side: int = 512  # long side, in pixels, that photos are brought to before any work
    smoothing_sigma: float = 1.0  # Gaussian, in working pixels: JPEG blocks and sensor noise
    background_scale: int = 4  # the paper is estimated on an image this many times smaller...
    background_closing: int = 11  # ...by a grey closing this wide there (44 working px: wider than most strokes)
    wide_closing: int = 27  # the paper seen past a marker's stroke up to 108 working px (a fifth of the photo),
    # for `wide_contrast` alone: wider still, a shadowed page would be judged against the lit paper beyond it...
    wide_contrast: float = 0.6  # ...this much darker than it is ink: a fat stroke's inside, never a shadow's edge
    polarity_window: int = 27  # the neighbourhood, on the shrunk copy, each pixel's polarity is judged against
    polarity_margin: float = 0.15  # how far from the local median a pixel must be to count as ink for polarity
    sauvola_window: int = 31  # working px, odd
    sauvola_k: float = 0.2
    min_contrast: float = 0.18  # ink is at least this much darker than the paper around it (a share of it)
    deep_contrast: float = 0.4  # this much darker is ink wherever it is: the inside of a marker's wide stroke
    line_span: float = 0.6  # a ruled line runs straight across at least this share of the image
    line_angles: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)  # degrees off the axis a photographed line may lie
    line_max_thickness: int = 9  # working px; thicker straight runs are strokes, not ruling
    line_pooling: int = 2  # lines are looked for on a copy this many times smaller
    speck_fraction: float = 0.15  # pieces smaller than this share of the largest piece's extent are dirt
    min_speck_pixels: int = 12
    stroke_to_height: float = 0.11  # MNIST's median pen width over digit height (measured on its test digits)
    stroke_tolerance: tuple[float, float] = (0.8, 1.35)  # within these multiples of the target, a pen is left alone
    canvas_background_share: float = 0.5  # a light-on-dark image this uniform is a drawing, not a photo...
    canvas_test_pixels: int = 65_536  # ...judged on an evenly spread sample of about this many pixels


PHOTO = PhotoConfig()


def looks_like_photo(image: np.ndarray, config: PhotoConfig = PHOTO) -> bool:
    """False for canvas drawings (transparent background, or light ink on one exact dark colour), True otherwise.

    Drawings keep the canvas path and its speed; everything else, a scan on
    white paper included, goes through the photo front end.
    """
    array = _checked(image)
    if array.ndim == 3 and array.shape[2] == 4 and array[..., 3].min() < 250:
        return False
    step = max(1, math.ceil(math.sqrt(array.shape[0] * array.shape[1] / config.canvas_test_pixels)))
    gray = _luminance(array[::step, ::step])
    values, counts = np.unique(gray, return_counts=True)
    mode = values[counts.argmax()]
    return not (counts.max() >= config.canvas_background_share * gray.size and mode < 0.5)


def photo_ink(image: np.ndarray, config: PhotoConfig = PHOTO) -> np.ndarray:
    """(h, w) bool: the ink of a photographed page at the working size, lines and specks removed."""
    array = _checked(image)
    if array.ndim == 3:
        array = array[..., :3]
    scaled = _to_working_size(array, config)
    dark_ink = _ink_is_dark(_luminance(scaled), config)
    channels = scaled if scaled.ndim == 2 else _ink_channel(scaled, dark_ink)
    gray = ndimage.gaussian_filter(channels if dark_ink else 1.0 - channels, config.smoothing_sigma)
    small = _shrink(gray, config)
    flat = gray / np.maximum(_paper(small, config.background_closing, gray.shape), 1e-3)  # ~1 on paper, any light
    local = flat < threshold_sauvola(flat, window_size=config.sauvola_window, k=config.sauvola_k)
    ink = (local | (flat < 1.0 - config.deep_contrast)) & (flat < 1.0 - config.min_contrast)
    ink |= gray < (1.0 - config.wide_contrast) * _paper(small, config.wide_closing, gray.shape)
    return _drop_specks(_remove_ruled_lines(ink, config), config)


def normalise_stroke(mask: np.ndarray, config: PhotoConfig = PHOTO) -> np.ndarray:
    """One digit's ink (bool) with its pen width brought to MNIST's share of the digit's height, padded.

    A thin pen is thickened; a fat marker is thinned to its skeleton and
    redrawn with the right pen. Pens already near MNIST's width are kept.
    """
    if not mask.any():
        return mask
    rows = np.flatnonzero(mask.any(axis=1))
    height = rows[-1] - rows[0] + 1
    target = config.stroke_to_height * height
    mask = np.pad(mask, math.ceil(target) + 1)  # room for the thicker pen at the edges
    skeleton = skeletonize(mask)
    width = pen_width(mask, skeleton)
    low, high = config.stroke_tolerance
    if width < low * target:
        return _dilate(mask, (target - width) / 2)
    if width > high * target:
        return _dilate(skeleton, target / 2)
    return mask


def pen_width(mask: np.ndarray, skeleton: np.ndarray) -> float:
    """The pen's width in pixels: twice the ink's median depth along its skeleton (1 when there is none)."""
    return 2.0 * float(np.median(ndimage.distance_transform_edt(mask)[skeleton])) if skeleton.any() else 1.0


def _dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Grow ink by a round pen of this radius (a distance transform: as fast for a fat pen as for a thin one)."""
    return ndimage.distance_transform_edt(~mask) <= max(1.0, radius)


def _checked(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or array.size == 0:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    return array


def _luminance(array: np.ndarray) -> np.ndarray:
    """Gray in [0, 1] from uint8 or float, grayscale or colour."""
    gray = array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0)
    return gray if gray.ndim == 2 else gray[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _to_working_size(array: np.ndarray, config: PhotoConfig) -> np.ndarray:
    """Float in [0, 1], shrunk (never enlarged) so the long side is the working side: the work costs the same for
    any camera. Each channel is shrunk before it is scaled to [0, 1], half the work of scaling the full size."""
    peak = np.float32(255.0 if array.dtype == np.uint8 else 1.0)
    scale = config.working_side / max(array.shape[:2])
    if scale >= 1.0:
        return array.astype(np.float32) / peak
    size = (max(1, round(array.shape[1] * scale)), max(1, round(array.shape[0] * scale)))
    planes = [array] if array.ndim == 2 else [array[..., c] for c in range(array.shape[2])]
    shrunk = [_box_shrunk(plane, size) for plane in planes]
    return (shrunk[0] if array.ndim == 2 else np.stack(shrunk, axis=2)) / peak


def _box_shrunk(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One channel at `size` (width, height), each pixel the mean of those it covers, as float32 in its own units."""
    plane = np.ascontiguousarray(plane if plane.dtype == np.uint8 else plane.astype(np.float32))
    return np.asarray(Image.fromarray(plane).convert("F").resize(size, Image.Resampling.BOX))


def _ink_channel(rgb: np.ndarray, dark_ink: bool) -> np.ndarray:
    """Each pixel's darkest channel for dark ink, brightest for light ink: coloured ink stands out as much as black.
    Pairwise, because numpy's reduction over a last axis of three is 25 times slower."""
    pick = np.minimum if dark_ink else np.maximum
    return pick(pick(rgb[..., 0], rgb[..., 1]), rgb[..., 2])


def _ink_is_dark(gray: np.ndarray, config: PhotoConfig) -> bool:
    """Dark ink on light paper, unless clearly more pixels stand out brighter than their surroundings."""
    small = np.round(np.clip(_shrink(gray, config), 0.0, 1.0) * 255).astype(np.uint8)
    median = rank.median(small, np.ones((config.polarity_window,) * 2, dtype=bool))  # 4× scipy's on floats
    residual = gray - _enlarge(median.astype(np.float32) / 255.0, gray.shape)
    return int((residual < -config.polarity_margin).sum()) >= int((residual > config.polarity_margin).sum())


def _paper(small: np.ndarray, closing: int, shape: tuple[int, int]) -> np.ndarray:
    """The paper's brightness everywhere at `shape`, ink narrower than `closing` removed: a grey closing on the
    shrunk copy (`_shrink`), smoothed and enlarged."""
    closed = ndimage.grey_closing(small, size=(closing,) * 2, mode="nearest")
    return _enlarge(ndimage.uniform_filter(closed, size=3, mode="nearest"), shape)


def _shrink(gray: np.ndarray, config: PhotoConfig) -> np.ndarray:
    """A copy `background_scale` times smaller: the paper and the light vary slowly, so they are found there."""
    height, width = gray.shape
    size = (max(1, width // config.background_scale), max(1, height // config.background_scale))
    return np.asarray(Image.fromarray(gray, mode="F").resize(size, Image.Resampling.BOX))


def _enlarge(small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(small, mode="F").resize((shape[1], shape[0]), Image.Resampling.BILINEAR))


def _remove_ruled_lines(ink: np.ndarray, config: PhotoConfig) -> np.ndarray:
    """Ink without straight lines that span the image (ruling, grids, margins), strokes across them rejoined."""
    pooled = _max_pool(ink, config.line_pooling)  # lines stay lines at half size, and are found 4× faster
    found = _long_runs(pooled, config) | _long_runs(pooled.T, config).T
    lines = ink & np.repeat(np.repeat(found, config.line_pooling, 0), config.line_pooling, 1)[: ink.shape[0],
                                                                                               : ink.shape[1]]
    if not lines.any():
        return ink
    kept = ink & ~lines
    bridge = config.line_max_thickness + 2  # rejoin strokes cut where they crossed a line
    closed = [ndimage.minimum_filter1d(ndimage.maximum_filter1d(kept, bridge, axis), bridge, axis) for axis in (0, 1)]
    return kept | ((closed[0] | closed[1]) & lines)


def _long_runs(ink: np.ndarray, config: PhotoConfig) -> np.ndarray:
    """Thin straight runs of ink, near-horizontal, at least `line_span` of the width long."""
    height, width = ink.shape
    span = max(3, int(config.line_span * width))
    found = np.zeros_like(ink)
    if not _may_hold_a_line(ink, span, config):
        return found
    columns = np.arange(width)
    for angle in config.line_angles:
        offsets = np.round(columns * math.tan(math.radians(angle))).astype(int)
        offsets -= offsets.min()
        sheared = np.zeros((height + offsets.max(), width), dtype=bool)
        sheared[offsets[None, :] + np.arange(height)[:, None], columns[None, :]] = ink
        runs = ndimage.maximum_filter1d(ndimage.minimum_filter1d(sheared, span, axis=1), span, axis=1)
        found |= runs[offsets[None, :] + np.arange(height)[:, None], columns[None, :]]
    too_thick = config.line_max_thickness // config.line_pooling + 1
    thick = ndimage.maximum_filter1d(ndimage.minimum_filter1d(found, too_thick, axis=0), too_thick, axis=0)
    return found & ~thick


def _may_hold_a_line(ink: np.ndarray, span: int, config: PhotoConfig) -> bool:
    """Whether ink runs across `span` columns in a band of rows as tall as the steepest line rises over them.

    Every line `_long_runs` finds does; a page without ruling seldom does (the gaps between digits break the
    run), so it skips the search.
    """
    steepest = max(abs(angle) for angle in config.line_angles)
    rise = math.ceil(span * math.tan(math.radians(steepest))) + 2
    banded = ndimage.maximum_filter1d(ink, rise, axis=0)
    return bool(ndimage.minimum_filter1d(banded, span, axis=1).any())


def _max_pool(mask: np.ndarray, factor: int) -> np.ndarray:
    height, width = -(-mask.shape[0] // factor) * factor, -(-mask.shape[1] // factor) * factor
    padded = np.zeros((height, width), dtype=bool)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    return padded.reshape(height // factor, factor, width // factor, factor).any(axis=(1, 3))


def _drop_specks(ink: np.ndarray, config: PhotoConfig) -> np.ndarray:
    """Pieces of ink much smaller than the largest one: dust, paper grain, JPEG debris."""
    ink = remove_small_objects(ink, max_size=config.min_speck_pixels - 1)
    labels, count = ndimage.label(ink, structure=np.ones((3, 3)))
    if count <= 1:
        return ink
    boxes = ndimage.find_objects(labels)
    extents = np.array([max(b[0].stop - b[0].start, b[1].stop - b[1].start) for b in boxes])
    keep = np.concatenate([[False], extents >= config.speck_fraction * extents.max()])
    return keep[labels]
