"""Training digits varied the way people draw: rotated, slanted, thicker or thinner, then renormalised.

A digit drawn on the canvas reaches the models through `canvas_to_mnist`,
which crops it, fits it in the 20×20 box and centres it by mass; rotation,
slant and pen width survive that, size and position do not. So each variant
here is a random rotation and shear of an MNIST training digit, its strokes
thickened or thinned, then passed through the very same front end: the
models learn from what a drawing of that digit would look like to them.
"""

from __future__ import annotations

import hashlib
import math
import os

import numpy as np
from scipy import ndimage

from pipelines.config import IMAGE_SIDE, SEED, DrawingVariation
from pipelines.processes import map_in_processes
from pipelines.progress import Progress
from pipelines.reading.canvas import canvas_to_mnist

PADDING = 8
"""Room added around a digit before it turns, so no rotated corner is cut off."""
CHUNK_SIZE = 2000
"""Digits varied per parallel task: large enough to amortise the task, small enough to spread over the cores."""


def affine_matrix(rotation_degrees: float, shear_degrees: float) -> np.ndarray:
    """The 2×2 (row, col) map from output to input pixels for a rotation followed by a horizontal shear."""
    theta = math.radians(rotation_degrees)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    shear = np.array([[1.0, 0.0], [math.tan(math.radians(shear_degrees)), 1.0]])
    return np.linalg.inv(shear @ rotation)


def change_thickness(image: np.ndarray, step: int) -> np.ndarray:
    """Grey dilation (step > 0) or erosion (step < 0) by |step| pixels; erosion never wipes a digit out."""
    if step == 0:
        return image
    size = abs(step) + 1
    if step > 0:
        return ndimage.grey_dilation(image, size=(size, size))
    thinner = ndimage.grey_erosion(image, size=(size, size))
    return thinner if thinner.max() > 0.5 else image


def vary_digit(image: np.ndarray, rotation_degrees: float, shear_degrees: float, thickness_step: int) -> np.ndarray:
    """One (28, 28) digit rotated, slanted and re-stroked, then renormalised by the canvas front end."""
    padded = np.pad(np.asarray(image, dtype=np.float32), PADDING)
    matrix = affine_matrix(rotation_degrees, shear_degrees)
    centre = (np.array(padded.shape) - 1) / 2.0
    moved = ndimage.affine_transform(padded, matrix, offset=centre - matrix @ centre, order=1, cval=0.0)
    normalised = canvas_to_mnist(change_thickness(moved, thickness_step))
    return image if normalised is None else normalised


def _vary_chunk(images: np.ndarray, rotations: np.ndarray, shears: np.ndarray, steps: np.ndarray) -> np.ndarray:
    return np.stack([vary_digit(*args) for args in zip(images, rotations, shears, steps)])


_last_varied: dict[str, object] = {}
"""The key and result of the last `shared_varied_copies` call (one set: the memory of one copy of the data)."""


def source_indices(count: int, repeats: int) -> np.ndarray:
    """Which of `count` images each row of `repeats` stacked passes over them came from: image i at k·count + i.

    The layout of `varied_copies` (and, with the originals as pass 0, of `with_varied_copies`); it is how a
    split keeps a digit and its copies on one side.
    """
    return np.tile(np.arange(count), repeats)


def varied_copies(images: np.ndarray, variation: DrawingVariation, copies: int, seed: int = SEED,
                  n_jobs: int = -1) -> np.ndarray:
    """`copies` varied copies of every image, (copies × n, 28, 28) float32, copy k of image i at k·n + i."""
    if copies <= 0:
        return np.empty((0, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    rng = np.random.default_rng(seed)
    total = copies * len(images)
    sources = source_indices(len(images), copies)
    rotations = rng.uniform(-variation.rotation_degrees, variation.rotation_degrees, total)
    shears = rng.uniform(-variation.shear_degrees, variation.shear_degrees, total)
    steps = rng.choice(np.array(variation.thickness_steps), total)
    chunks = [slice(start, start + CHUNK_SIZE) for start in range(0, total, CHUNK_SIZE)]
    tasks = [(images[sources[chunk]], rotations[chunk], shears[chunk], steps[chunk]) for chunk in chunks]
    varied = map_in_processes(_vary_chunk, tasks, (os.cpu_count() or 1) if n_jobs == -1 else n_jobs)
    return np.concatenate(varied).astype(np.float32)


def shared_varied_copies(images: np.ndarray, variation: DrawingVariation, copies: int,
                         seed: int = SEED) -> np.ndarray:
    """`varied_copies` of `images`, kept for the next caller with the same digits and variation.

    The copies of the last set varied are kept, so what a training run fits one after another on the same digits
    (the piece counter, the SVM and the forest) reads one set of copies, made once. The CNN varies the digits
    left after its validation split.
    """
    key = (hashlib.sha256(np.ascontiguousarray(images)).hexdigest(), variation, copies, seed)
    if _last_varied.get("key") != key:
        _last_varied.update(key=key, varied=varied_copies(images, variation, copies, seed))
    return _last_varied["varied"]


def with_varied_copies(images: np.ndarray, labels: np.ndarray, variation: DrawingVariation, copies: int,
                       progress: Progress | None = None, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The training set followed by its `shared_varied_copies`, and the labels to match."""
    if progress is not None:
        progress.note(f"adding {copies} rotated, slanted, re-stroked copies of each digit")
    varied = shared_varied_copies(images, variation, copies, seed)
    return (np.concatenate([images.astype(np.float32), varied]),
            np.asarray(labels)[source_indices(len(labels), 1 + copies)])
