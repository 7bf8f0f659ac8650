"""The labelled drawings as extra training data: never the held-out part, always with a fingerprint to record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.feedback.store import FeedbackStore


def drawings_fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 over the images and labels: two trainings on the same drawings share it."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(images, dtype=np.float32), np.asarray(labels, dtype=np.int64)):
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class TrainingDrawings:
    """The drawings to train on, as uint8 like MNIST, and what a manifest records about them."""

    images: np.ndarray
    labels: np.ndarray
    description: dict[str, Any]


def training_drawings(store: FeedbackStore) -> TrainingDrawings:
    """Every labelled drawing outside the fixed held-out part."""
    images, labels = store.dataset("train")
    held_out = len(store.dataset("held_out")[1])
    description = {"count": int(len(labels)), "fingerprint": drawings_fingerprint(images, labels),
                   "held_out_not_trained_on": int(held_out), "store": store.display_url}
    return TrainingDrawings((images * 255).round().astype(np.uint8), labels, description)
