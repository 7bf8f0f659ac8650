"""How many digits a piece of ink holds: one, or several that touch.

The digit models are a poor guide to this: they squeeze whatever they are given into one 20×20 box and are
often sure of a touching pair as one digit. This classifier sees the whole piece at its own aspect ratio,
with the pen brought to one width, and was trained on pieces made up from MNIST's training digits
(`pipelines.training.pieces`), and is stored beside them (`pipelines.store.pieces`). The segmentation
asks it before cutting a wide piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from pipelines.models.features import batch_hog
from pipelines.reading.canvas import crop_to_ink
from pipelines.reading.cuts import CutScorer


@dataclass(frozen=True)
class PiecePicture:
    """How a piece is drawn for the classifier: fitted in a wide field, its strokes redrawn one width."""

    height: int = 32
    width: int = 96  # three digits side by side
    margin: int = 2
    ink_level: float = 0.4  # of the anti-aliased, shrunk mask
    pen_radius: int = 1  # the skeleton is redrawn 3 pixels wide, whatever pen wrote it
    orientations: int = 9
    cell_pixels: int = 8
    block_cells: int = 2
    most_holes: int = 4


def piece_picture(mask: np.ndarray, picture: PiecePicture = PiecePicture()) -> tuple[np.ndarray, float]:
    """A piece (bool, any size) -> its (height, width) picture, one pen width, centred; and its width / height."""
    crop = crop_to_ink(mask)
    height, width = crop.shape
    scale = min((picture.height - 2 * picture.margin) / height, (picture.width - 2 * picture.margin) / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.BILINEAR)) > picture.ink_level
    skeleton = skeletonize(small)
    redrawn = ndimage.binary_dilation(skeleton, iterations=picture.pen_radius) if skeleton.any() else small
    canvas = np.zeros((picture.height, picture.width), dtype=np.float32)
    top, left = (picture.height - size[1]) // 2, (picture.width - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = redrawn
    return canvas, width / height


def piece_features(masks: Sequence[np.ndarray], picture: PiecePicture = PiecePicture()) -> np.ndarray:
    """What the classifier reads of each piece: gradient histograms of its picture, its aspect ratio, its holes."""
    pictures, aspects = zip(*(piece_picture(mask, picture) for mask in masks))
    gradients = batch_hog(np.stack(pictures), picture.orientations, picture.cell_pixels, picture.block_cells)
    holes = np.array([_holes(drawn > 0) for drawn in pictures])
    shape = np.column_stack([aspects, np.minimum(holes, picture.most_holes) / picture.most_holes])
    return np.concatenate([gradients, shape], axis=1).astype(np.float32)


def _holes(ink: np.ndarray) -> int:
    return ndimage.label(ndimage.binary_fill_holes(ink) & ~ink)[1]


@dataclass
class PieceCounter:
    """A trained classifier of pieces: how likely a piece is to hold several digits rather than one."""

    model: Any  # scikit-learn classifier, features -> P(one digit), P(several)
    picture: PiecePicture = field(default_factory=PiecePicture)
    run_id: str = ""
    cut_scorer: CutScorer | None = None  # trained with it; None in counters stored before it existed

    def __call__(self, masks: Sequence[np.ndarray]) -> np.ndarray:
        """How likely each piece is to hold several digits; one call for all (a call costs about 0.8 ms)."""
        return self.model.predict_proba(piece_features(masks, self.picture))[:, 1]
