"""Train the piece counter (`pipelines.reading.pieces`) on pieces made up from MNIST's training digits.

A made-up piece is one training digit, or two or three pushed together until they touch or overlap, each
blown up, stretched and thresholded the way written ink is. They are made from the MNIST pixels and their
varied copies, never from the stroke renderings the number benchmark draws, so the benchmark scores a
classifier that has not seen how its numbers were made.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import joblib
import numpy as np
from PIL import Image
from sklearn.ensemble import HistGradientBoostingClassifier

from pipelines import config
from pipelines.data.augment import shared_varied_copies, source_indices
from pipelines.processes import map_in_processes
from pipelines.progress import Progress
from pipelines.reading.pieces import PieceCounter, PiecePicture, piece_features
from pipelines.store.artifacts import METRICS, ArtifactStore, atomic_write_json, now_iso
from pipelines.store.pieces import MODEL_FILE, STORE_NAME

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MadeUpPieces:
    """How pieces are made up: sizes as shares of a digit's height."""

    digit_height: int = 60  # pixels: MNIST's 20 blown up three times, so thresholds make smooth edges
    height_jitter: tuple[float, float] = (0.85, 1.15)
    stretch: tuple[float, float] = (0.9, 1.35)  # people write wider than MNIST's digits
    gap: tuple[float, float] = (-0.25, 0.04)  # between neighbours: negative overlaps
    least_advance: float = 0.5  # of the left digit's width: the next one never starts further left
    raise_lower: float = 0.1  # each digit moves up or down by up to this
    ink_level: tuple[float, float] = (0.25, 0.5)  # of MNIST's grey: lower draws a fatter pen
    three_share: float = 0.15  # of the pieces with several digits, those with three
    crop_level: float = 0.2  # MNIST grey below this is the blur around a stroke, not the digit's extent


MADE_UP = MadeUpPieces()


def _crop(digit: np.ndarray, level: float) -> np.ndarray:
    rows, cols = np.flatnonzero((digit > level).any(axis=1)), np.flatnonzero((digit > level).any(axis=0))
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _resized(digit: np.ndarray, height: float, stretch: float) -> np.ndarray:
    scale = height / digit.shape[0]
    size = (max(1, round(digit.shape[1] * scale * stretch)), max(1, round(height)))
    return np.asarray(Image.fromarray(digit.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))


def made_up_piece(digits: np.ndarray, rng: np.random.Generator, made_up: MadeUpPieces = MADE_UP) -> np.ndarray:
    """(k, 28, 28) digits in [0, 1] -> one piece (bool), them written left to right, touching or overlapping."""
    parts = [_resized(_crop(digit, made_up.crop_level), made_up.digit_height * rng.uniform(*made_up.height_jitter),
                      rng.uniform(*made_up.stretch)) for digit in digits]
    lefts = [0]
    for part in parts[:-1]:
        natural = lefts[-1] + part.shape[1] + int(rng.uniform(*made_up.gap) * made_up.digit_height)
        lefts.append(max(lefts[-1] + int(made_up.least_advance * part.shape[1]) + 1, natural))
    spare = int(2 * made_up.raise_lower * made_up.digit_height)
    height = max(part.shape[0] for part in parts) + spare
    page = np.zeros((height, max(left + part.shape[1] for left, part in zip(lefts, parts))), dtype=np.float32)
    for left, part in zip(lefts, parts):
        top = int(rng.integers(0, height - part.shape[0] + 1))
        window = page[top : top + part.shape[0], left : left + part.shape[1]]
        np.maximum(window, part, out=window)
    return page > rng.uniform(*made_up.ink_level)


def piece_set(digits: np.ndarray, count: int, seed: int, picture: PiecePicture,
              made_up: MadeUpPieces = MADE_UP) -> tuple[np.ndarray, np.ndarray]:
    """`count` made-up pieces as features, and whether each holds several digits: alternately one and several."""
    rng = np.random.default_rng(seed)
    pieces, several = [], []
    for index in range(count):
        many = 1 if index % 2 == 0 else (3 if rng.uniform() < made_up.three_share else 2)
        chosen = digits[rng.choice(len(digits), size=many, replace=False)]
        pieces.append(made_up_piece(chosen, rng, made_up))
        several.append(many > 1)
    return piece_features(pieces, picture), np.asarray(several)


def _piece_set_parallel(digits: np.ndarray, count: int, seed: int,
                        picture: PiecePicture) -> tuple[np.ndarray, np.ndarray]:
    workers = os.cpu_count() or 1
    shares = [count // workers + (worker < count % workers) for worker in range(workers)]
    parts = map_in_processes(piece_set, [(digits, share, seed + worker, picture)
                                         for worker, share in enumerate(shares) if share], workers)
    return np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts])


def train_piece_counter(train_images: np.ndarray, params: config.PieceCounterParams, profile: str,
                        store: ArtifactStore, progress: Progress, data_description: dict[str, Any]) -> dict[str, Any]:
    """Fit the counter on pieces made from most training digits, check it on pieces from the rest, store it.

    `train_images` are the training digits as the models read them, (n, 28, 28) float32 in [0, 1], so the SVM
    and the forest trained after it in the same run reuse its varied copies (`shared_varied_copies`).
    """
    started_at, clock = now_iso(), time.perf_counter()
    held_out = max(1, int(params.held_out_share * len(train_images)))
    picture = PiecePicture()
    progress.start(3, "stages")
    progress.note("making up pieces")
    copies = shared_varied_copies(train_images, params.variation, params.varied_copies)
    of_learned = source_indices(len(train_images), params.varied_copies) < len(train_images) - held_out
    learned = np.concatenate([train_images[:-held_out], copies[of_learned]])
    checked = train_images[-held_out:]
    features, several = _piece_set_parallel(learned, params.pieces, config.SEED, picture)
    check_features, check_several = _piece_set_parallel(checked, max(200, params.pieces // 10), config.SEED + 100,
                                                        picture)
    progress.advance()
    progress.note("fitting")
    model = HistGradientBoostingClassifier(max_iter=params.max_iter, max_leaf_nodes=params.max_leaf_nodes,
                                           learning_rate=params.learning_rate, random_state=config.SEED)
    model.fit(features, several)
    progress.advance()
    predicted = model.predict(check_features)
    metrics = {"model": STORE_NAME, "profile": profile, "pieces": params.pieces,
               "held_out_pieces": int(len(check_several)),
               "held_out_accuracy": float((predicted == check_several).mean()),
               "single_kept_whole": float((~predicted[~check_several]).mean()),
               "several_found": float(predicted[check_several].mean()),
               "train_seconds": time.perf_counter() - clock}
    manifest = {"hyperparameters": asdict(params), "picture": asdict(picture), "made_up": asdict(MADE_UP),
                "profile": profile, "seed": config.SEED, "data": data_description, "started_at": started_at}
    with store.new_run(STORE_NAME, manifest) as staging:
        progress.note("saving")
        joblib.dump(PieceCounter(model, picture), staging / MODEL_FILE, compress=3)
        atomic_write_json(staging / METRICS, metrics)
    progress.advance()
    progress.close()
    logger.info("piece counter: %.1f %% right on %d held-out pieces (single digits kept whole %.1f %%, several "
                "found %.1f %%), %.0f s", 100 * metrics["held_out_accuracy"], metrics["held_out_pieces"],
                100 * metrics["single_kept_whole"], 100 * metrics["several_found"], metrics["train_seconds"])
    return metrics
