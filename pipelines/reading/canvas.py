"""Turn what a person drew (or photographed) into what an MNIST digit looks like.

MNIST digits were size-normalised to fit a 20×20 box, keeping their aspect
ratio, with anti-aliasing, then placed in a 28×28 field so that their centre
of mass sits at the centre. A canvas drawing goes through the same steps, so
a digit drawn small, large or in a corner reaches the models the way their
training data did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from pipelines.config import IMAGE_SIDE
from pipelines.reading.photo import looks_like_photo, normalise_stroke, photo_ink


@dataclass(frozen=True)
class FrontEndConfig:
    """Constants of the MNIST normalisation and of what counts as a drawing."""

    box_side: int = 20
    centre: float = 14.0  # measured: MNIST's mean centre of mass is (14.0, 14.0) in pixel indices
    ink_threshold: float = 0.2
    min_ink_fraction: float = 0.0008
    min_extent_fraction: float = 0.04


FRONT_END = FrontEndConfig()


def ink_intensity(image: np.ndarray) -> np.ndarray:
    """Ink as float32 in [0, 1], white-on-black, from RGBA, RGB or grayscale uint8 input.

    A transparent background means the ink is in the alpha channel; an image
    whose border is light is dark ink on paper and is inverted. The background
    level is subtracted and the strongest ink stretched to 1, so a grey pencil
    on grey paper reads like a marker on white.
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = array[..., 3].astype(np.float32) / 255.0
        if alpha.min() < 0.99:  # transparent background: the ink is wherever alpha is
            return alpha
        array = array[..., :3]
    if array.ndim == 3 and array.shape[2] == 3:
        gray = array.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    elif array.ndim == 2:
        gray = array.astype(np.float32)
    else:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    if array.dtype != np.uint8 and gray.max() <= 1.0:
        gray = gray * 255.0
    gray /= 255.0
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:
        gray = 1.0 - gray
    background = float(np.median(gray))
    peak = float(gray.max())
    if peak - background < 1e-3:
        return np.zeros_like(gray)
    return np.clip((gray - background) / (peak - background), 0.0, 1.0)


@dataclass(frozen=True)
class InkMap:
    """Where the ink of an input is, ready to cut into digits: the canvas's own pixels, or a photo's clean mask."""

    ink: np.ndarray  # (h, w) float32 in [0, 1], zero off the ink
    photo: bool  # read through the photo front end: each digit's pen is normalised before it is scaled
    scale: float  # ink-map pixels per input pixel

    @property
    def mask(self) -> np.ndarray:
        return self.ink > 0


def read_ink(image: np.ndarray, front_end: FrontEndConfig = FRONT_END) -> InkMap:
    """The ink of a canvas drawing (today's fast path) or of a photo (illumination, threshold, lines removed)."""
    if looks_like_photo(image):
        mask = photo_ink(image)
        return InkMap(mask.astype(np.float32), True, mask.shape[0] / np.asarray(image).shape[0])
    ink = ink_intensity(image)
    return InkMap(np.where(ink >= front_end.ink_threshold, ink, 0.0).astype(np.float32), False, 1.0)


def has_enough_ink(ink_map: InkMap, front_end: FrontEndConfig = FRONT_END) -> bool:
    """Enough ink, spread over enough of the image, to be something written rather than a speck."""
    mask = ink_map.mask
    height, width = mask.shape
    if mask.sum() < front_end.min_ink_fraction * height * width:
        return False
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    return extent >= front_end.min_extent_fraction * max(height, width)


def digit_to_mnist(ink: np.ndarray, photo: bool, front_end: FrontEndConfig = FRONT_END) -> np.ndarray:
    """One digit's ink -> (28, 28): pen normalised (photos only), cropped, fitted in 20×20, centred by mass."""
    crop = crop_to_ink(ink)
    if photo:
        crop = crop_to_ink(normalise_stroke(crop > 0).astype(np.float32))
    return _centre_by_mass(_fit_in_box(crop, front_end.box_side), front_end.centre)


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest box holding every nonzero pixel, as contiguous float32."""
    return np.ascontiguousarray(ink[ink_box(ink)], dtype=np.float32)


def ink_box(ink: np.ndarray) -> tuple[slice, slice]:
    """The rows and the columns that hold every nonzero pixel."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def canvas_to_mnist(image: np.ndarray, front_end: FrontEndConfig = FRONT_END) -> np.ndarray | None:
    """A drawing or photo -> (28, 28) float32 in [0, 1], white ink on black, or None if nothing is written.

    Accepts what streamlit-drawable-canvas returns (RGBA, opaque black
    background or transparent background), grayscale arrays, and photos or
    scans of ink on paper, read through `pipelines.reading.photo`.
    """
    ink_map = read_ink(image, front_end)
    if not has_enough_ink(ink_map, front_end):
        return None
    ink = ink_map.ink * _main_digit(ink_map.mask) if ink_map.photo else ink_map.ink
    return digit_to_mnist(ink, ink_map.photo, front_end)


def _main_digit(mask: np.ndarray) -> np.ndarray:
    """The largest piece of ink and those standing over or under it: stray marks beside a photographed digit go."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count <= 1:
        return mask
    boxes = ndimage.find_objects(labels)
    largest = int(np.argmax(ndimage.sum_labels(mask, labels, range(1, count + 1))))
    columns = boxes[largest][1]
    keep = [False] + [box[1].start < columns.stop and box[1].stop > columns.start for box in boxes]
    return np.asarray(keep)[labels]


def _fit_in_box(crop: np.ndarray, box_side: int) -> np.ndarray:
    """Scale the longer side to `box_side` pixels, keeping the aspect ratio, with anti-aliasing."""
    scale = box_side / max(crop.shape)
    new_height = max(1, round(crop.shape[0] * scale))
    new_width = max(1, round(crop.shape[1] * scale))
    resized = Image.fromarray(crop, mode="F").resize((new_width, new_height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, None)


def _centre_by_mass(digit: np.ndarray, centre: float) -> np.ndarray:
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    top = (IMAGE_SIDE - digit.shape[0]) // 2
    left = (IMAGE_SIDE - digit.shape[1]) // 2
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    mass_row, mass_col = ndimage.center_of_mass(field)
    shift = (round(centre - mass_row), round(centre - mass_col))
    field = ndimage.shift(field, shift, order=0, mode="constant", cval=0.0)
    peak = field.max()
    return (field / peak if peak > 0 else field).astype(np.float32)


def naive_resize(image: np.ndarray) -> np.ndarray:
    """The front end of most tutorials: the whole canvas squashed to 28×28 (kept for comparison)."""
    ink = ink_intensity(image)
    resized = Image.fromarray(ink.astype(np.float32), mode="F").resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
