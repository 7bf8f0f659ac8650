"""How well a cut parts two touching digits, judged from the shapes it leaves rather than from what they read as.

The digit models are confidently wrong about fragments: a 7 that lost its bar to its neighbour reads as a 1
with 0.92 sureness. This regressor looks at the two sides a cut leaves (the gradients of each as the models
would see it, its size against the writing, its ink, how many pieces and holes it has, what ink both sides
share) and says how closely they match the two digits really written. It was trained on touching pairs made
up from MNIST's training digits (`pipelines.training.pieces`), whose true parting is known, and is stored
with the piece counter. The segmentation multiplies the models' sureness by it to choose among its cuts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from pipelines.models.features import batch_hog
from pipelines.reading.canvas import ink_box

Sides = tuple[np.ndarray, np.ndarray]
"""A cut's two sides: boolean masks of the piece's size, the leftmost digit and the rest."""


@dataclass(frozen=True)
class CutFeatures:
    """What the scorer reads of a cut's sides, each as the models read it (28×28)."""

    orientations: int = 9
    cell_pixels: int = 7  # 28×28 -> 4×4 cells: the coarse shape, not the pen's detail
    block_cells: int = 2
    ink_level: float = 0.3  # of a side's normalised grey, where its pieces and holes are counted


def cut_features(options: Sequence[Sides], images: np.ndarray, writing_height: float,
                 features: CutFeatures = CutFeatures()) -> np.ndarray:
    """(n cuts, their 2n sides as the models read them, side by side) -> (n, k) float32 features."""
    gradients = batch_hog(images, features.orientations, features.cell_pixels, features.block_cells)
    gradients = gradients.reshape(len(options), -1)
    crop = ink_box(options[0][0] | options[0][1])  # every cut parts the same piece
    shape = np.array([_shape(a[crop], b[crop], first, second, writing_height, features.ink_level)
                      for (a, b), first, second in zip(options, images[0::2], images[1::2])], dtype=np.float32)
    return np.concatenate([gradients, shape], axis=1).astype(np.float32)


def _shape(a: np.ndarray, b: np.ndarray, first: np.ndarray, second: np.ndarray, writing_height: float,
           ink_level: float) -> list[float]:
    """Each side's height and width against the writing's height, its share of the ink, its pieces and holes;
    the share of ink both sides hold, how far their columns overlap, and the piece's width (`a`, `b` cropped
    to the piece)."""
    ink = float((a | b).sum())
    boxes = [ink_box(side) for side in (a, b)]
    values: list[float] = []
    for side, (rows, cols), image in zip((a, b), boxes, (first, second)):
        inked = image > ink_level
        values += [(rows.stop - rows.start) / writing_height, (cols.stop - cols.start) / writing_height,
                   side.sum() / ink, _count(inked), _count(ndimage.binary_fill_holes(inked) & ~inked)]
    (_, cols_a), (_, cols_b) = boxes
    width = a.shape[1]
    values += [(a & b).sum() / ink, (min(cols_a.stop, cols_b.stop) - max(cols_a.start, cols_b.start)) / width,
               width / writing_height]
    return values


def _count(mask: np.ndarray) -> int:
    return int(ndimage.label(mask, structure=np.ones((3, 3)))[1])


def sides_match(sides: Sides, digits: Sides) -> float:
    """How well a cut's sides match the two digits' own ink: the worse side's intersection over union, whichever
    side holds which digit (the reading orders digits by their centres)."""
    def overlap(side: np.ndarray, digit: np.ndarray) -> float:
        return float((side & digit).sum() / max(1, (side | digit).sum()))
    (a, b), (first, second) = sides, digits
    return max(min(overlap(a, first), overlap(b, second)), min(overlap(a, second), overlap(b, first)))


@dataclass
class CutScorer:
    """A trained regressor of how well each cut's sides match the digits written (0 none, 1 exactly)."""

    model: Any  # scikit-learn regressor, `cut_features` -> the match
    features: CutFeatures = field(default_factory=CutFeatures)

    def __call__(self, options: Sequence[Sides], images: np.ndarray, writing_height: float) -> np.ndarray:
        """How well each cut parts the digits, in [0, 1]; `images` as for `cut_features`."""
        return np.clip(self.model.predict(cut_features(options, images, writing_height, self.features)), 0.0, 1.0)
