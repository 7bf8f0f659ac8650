"""Feature steps shared by the classical models: flattening, deskewing, gradient histograms.

They live in a module of their own so that a saved scikit-learn pipeline
refers to them by name and training and prediction run the same code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage
from sklearn.preprocessing import FunctionTransformer

from pipelines.config import HogParams
from pipelines.processes import map_in_processes

FEATURES = ("pixels", "hog")
HOG_PARALLEL_MIN_IMAGES = 5_000
"""Digits per worker task; fewer are computed in this process, where starting workers would cost more."""


def deskew(image: np.ndarray) -> np.ndarray:
    """Undo the slant of one digit by shearing so its principal axis is vertical.

    The shear comes from the image moments (covariance of x against y over
    the variance of y), the classic preprocessing that takes a plain RBF SVM
    on MNIST from about 98.4 % to about 99 %.
    """
    total = image.sum()
    if total <= 0:
        return image
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    mean_row = (rows * image).sum() / total
    mean_col = (cols * image).sum() / total
    var_row = (((rows - mean_row) ** 2) * image).sum() / total
    cov = ((rows - mean_row) * (cols - mean_col) * image).sum() / total
    if var_row < 1e-6:
        return image
    alpha = cov / var_row
    shear = np.array([[1.0, 0.0], [alpha, 1.0]])
    centre = np.array(image.shape) / 2.0
    offset = np.array([mean_row, mean_col]) - shear @ centre
    return ndimage.affine_transform(image, shear, offset=offset, order=1, mode="constant", cval=0.0)


def deskew_each(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) images -> each one deskewed, (n, 28, 28)."""
    return np.stack([deskew(image) for image in images])


def deskew_flatten(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) images in [0, 1] -> (n, 784) float32 deskewed rows for a scikit-learn estimator."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        images = images.reshape(-1, 28, 28)
    return deskew_each(images).reshape(len(images), -1).astype(np.float32)


def deskew_hog(images: np.ndarray, orientations: int, cell_pixels: int, block_cells: int) -> np.ndarray:
    """(n, 28, 28) images in [0, 1] -> (n, k) float32 gradient histograms of the deskewed digits.

    About 0.3 ms a digit, most of it the deskewing, so a training set's worth is shared among the cores.
    """
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    chunks = np.array_split(images, max(1, -(-len(images) // HOG_PARALLEL_MIN_IMAGES)))
    tasks = [(chunk, orientations, cell_pixels, block_cells) for chunk in chunks]
    return np.concatenate(map_in_processes(_deskew_hog_here, tasks, os.cpu_count() or 1))


def _deskew_hog_here(images: np.ndarray, orientations: int, cell_pixels: int, block_cells: int) -> np.ndarray:
    return batch_hog(deskew_each(images), orientations, cell_pixels, block_cells)


HOG_BLOCK_EPSILON = 1e-5  # scikit-image's
HOG_BLOCK_CLIP = 0.2  # L2-Hys: normalise, clip at this, normalise again (scikit-image's)
HOG_BATCH = 500
"""Digits computed at once: larger batches outgrow the CPU's caches and run slower per digit."""


def batch_hog(images: np.ndarray, orientations: int, cell_pixels: int, block_cells: int) -> np.ndarray:
    """(n, h, w) float32 images -> (n, k) float32: `skimage.feature.hog(image, orientations, (cell_pixels,) * 2,
    (block_cells,) * 2, block_norm="L2-Hys")` of each image, to the last bit, for many images in one go.

    scikit-image takes one image at a time and normalises each block in a Python loop: about 1.3 ms a 28×28
    digit, paid per digit by a forest's training set, its robustness curves and every number read. This is the
    same arithmetic in the same order and precision (its per-cell sums in float32, in scan order), batched;
    `tests/test_models.py` holds it equal to scikit-image's.
    """
    images = np.asarray(images, dtype=np.float32)
    if len(images) > HOG_BATCH:
        return np.concatenate([batch_hog(images[start : start + HOG_BATCH], orientations, cell_pixels, block_cells)
                               for start in range(0, len(images), HOG_BATCH)])
    count, rows, cols = images.shape
    cells_down, cells_across = rows // cell_pixels, cols // cell_pixels
    g_row, g_col = np.zeros((2, count, rows, cols))  # float32 differences, then float64, as scikit-image does
    g_row[:, 1:-1, :] = images[:, 2:, :] - images[:, :-2, :]
    g_col[:, :, 1:-1] = images[:, :, 2:] - images[:, :, :-2]
    g_row = g_row[:, : cells_down * cell_pixels, : cells_across * cell_pixels]
    g_col = g_col[:, : cells_down * cell_pixels, : cells_across * cell_pixels]
    edges = np.array([np.float32(180.0 / orientations * i) for i in range(orientations + 1)], dtype=np.float64)
    bins = np.searchsorted(edges, np.arctan2(g_row, g_col) * (180 / np.pi) % 180, side="right") - 1

    def in_scan_order(per_pixel: np.ndarray) -> np.ndarray:
        """(n, rows, cols) -> (cell_pixels, cell_pixels, n, cells_down, cells_across): a cell's pixels first."""
        shaped = per_pixel.reshape(count, cells_down, cell_pixels, cells_across, cell_pixels)
        return np.ascontiguousarray(shaped.transpose(2, 4, 0, 1, 3))

    magnitude, bins = in_scan_order(np.hypot(g_col, g_row)), in_scan_order(bins)
    one_hot = np.eye(orientations + 1)[:, :orientations]  # the last row: 180° after rounding, in no bin
    total = np.zeros((count, cells_down, cells_across, orientations), dtype=np.float32)
    for row in range(cell_pixels):
        for col in range(cell_pixels):
            total = (total + one_hot[bins[row, col]] * magnitude[row, col, ..., None]).astype(np.float32)
    histogram = (total / np.float32(cell_pixels * cell_pixels)).astype(np.float64)
    blocks = np.moveaxis(sliding_window_view(histogram, (block_cells, block_cells), axis=(1, 2)), 3, -1)
    norm_axes = (3, 4, 5)  # a block's cells and orientations
    normalised = blocks / np.sqrt(np.sum(blocks**2, axis=norm_axes, keepdims=True) + HOG_BLOCK_EPSILON**2)
    normalised = np.minimum(normalised, HOG_BLOCK_CLIP)
    normalised = normalised / np.sqrt(np.sum(normalised**2, axis=norm_axes, keepdims=True) + HOG_BLOCK_EPSILON**2)
    return normalised.reshape(count, -1).astype(np.float32)


def feature_step(features: str, hog_params: HogParams) -> FunctionTransformer:
    """The first step of a classical model's pipeline, so training and prediction read digits the same way."""
    if features == "pixels":
        return FunctionTransformer(deskew_flatten)
    if features == "hog":
        return FunctionTransformer(deskew_hog, kw_args={"orientations": hog_params.orientations,
                                                        "cell_pixels": hog_params.cell_pixels,
                                                        "block_cells": hog_params.block_cells})
    raise ValueError(f"unknown features {features!r}: choose one of {', '.join(FEATURES)}")


FEATURE_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {"deskew_flatten": deskew_flatten, "deskew_hog": deskew_hog}
"""The feature steps by name, so a model served outside scikit-learn (an ONNX graph of the rest of its pipeline)
reads digits with the very function it was trained with."""


def feature_reader(function_name: str, arguments: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """(n, 28, 28) images -> the features a classical model's head reads, by the name its feature step was saved
    with."""
    try:
        function = FEATURE_FUNCTIONS[function_name]
    except KeyError:
        raise ValueError(f"unknown feature step {function_name!r}: known are {', '.join(FEATURE_FUNCTIONS)}") from None
    return lambda images: function(images, **arguments)
