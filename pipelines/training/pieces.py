"""Train the piece counter (`pipelines.reading.pieces`) and the cut scorer it carries (`pipelines.reading.cuts`)
on pieces made up from MNIST's training digits.

A made-up piece is one training digit, or two or three pushed together until they touch or overlap, each
blown up, stretched and thresholded the way written ink is. They are made from the MNIST pixels and their
varied copies, never from the stroke renderings the number benchmark draws, so the benchmark scores
classifiers that have not seen how its numbers were made. The cut scorer learns from every cut the
segmentation tries on touching pieces, each scored by how well it parts the digits' own ink.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import joblib
import numpy as np
from PIL import Image
from scipy import ndimage
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from pipelines import config
from pipelines.data.augment import shared_varied_copies, source_indices
from pipelines.processes import map_in_processes
from pipelines.progress import Progress
from pipelines.reading.canvas import digit_to_mnist, ink_box
from pipelines.reading.cuts import CutFeatures, CutScorer, cut_features, sides_match
from pipelines.reading.pieces import PieceCounter, PiecePicture, piece_features
from pipelines.reading.segment import cut_options
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


TOUCHING_PAIRS = MadeUpPieces(digit_height=150, height_jitter=(0.67, 1.33), gap=(-0.25, 0.0))
"""Touching digits for the cut scorer: as tall as the number canvas's digits, since the cuts reach in pixels."""
CUT_MARGIN = 10  # blank pixels round a made-up piece, as round any piece on a canvas


def made_up_piece(digits: np.ndarray, rng: np.random.Generator, made_up: MadeUpPieces = MADE_UP) -> np.ndarray:
    """(k, 28, 28) digits in [0, 1] -> one piece (bool), them written left to right, touching or overlapping."""
    return np.logical_or.reduce(made_up_digits(digits, rng, made_up))


def made_up_digits(digits: np.ndarray, rng: np.random.Generator, made_up: MadeUpPieces = MADE_UP) -> list[np.ndarray]:
    """(k, 28, 28) digits in [0, 1] -> each one's ink (bool) where `made_up_piece` writes it, on one page."""
    parts = [_resized(_crop(digit, made_up.crop_level), made_up.digit_height * rng.uniform(*made_up.height_jitter),
                      rng.uniform(*made_up.stretch)) for digit in digits]
    lefts = [0]
    for part in parts[:-1]:
        natural = lefts[-1] + part.shape[1] + int(rng.uniform(*made_up.gap) * made_up.digit_height)
        lefts.append(max(lefts[-1] + int(made_up.least_advance * part.shape[1]) + 1, natural))
    spare = int(2 * made_up.raise_lower * made_up.digit_height)
    height = max(part.shape[0] for part in parts) + spare
    width = max(left + part.shape[1] for left, part in zip(lefts, parts))
    tops = [int(rng.integers(0, height - part.shape[0] + 1)) for part in parts]
    level = rng.uniform(*made_up.ink_level)
    pages = [np.zeros((height, width), dtype=bool) for _ in parts]
    for page, top, left, part in zip(pages, tops, lefts, parts):
        page[top : top + part.shape[0], left : left + part.shape[1]] = part > level
    return pages


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


def cut_set(digits: np.ndarray, count: int, seed: int, features: CutFeatures,
            made_up: MadeUpPieces = TOUCHING_PAIRS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` made-up pieces of two or three touching digits, every cut the segmentation would try on each: the
    cuts' features, how well each parts the leftmost digit from the rest (`sides_match`), and which piece each
    cut was tried on (numbered from 0)."""
    rng = np.random.default_rng(seed)
    rows, matches, pieces = [], [], []
    while len(pieces) < count:
        many = 3 if rng.uniform() < made_up.three_share else 2
        own = [np.pad(ink, CUT_MARGIN) for ink in
               made_up_digits(digits[rng.choice(len(digits), size=many, replace=False)], rng, made_up)]
        piece = np.logical_or.reduce(own)
        if ndimage.label(piece, structure=np.ones((3, 3)))[1] != 1:
            continue  # they did not touch
        piece_rows, _ = ink_box(piece)
        height = piece_rows.stop - piece_rows.start
        options, _ = cut_options(piece, height)
        if len(options) < 2:
            continue
        images = np.stack([digit_to_mnist(side.astype(np.float32), photo=False) for pair in options for side in pair])
        truth = (own[0], np.logical_or.reduce(own[1:]))
        rows.append(cut_features(options, images, height, features))
        matches.append([sides_match(sides, truth) for sides in options])
        pieces.append(np.full(len(options), len(pieces)))
    return np.concatenate(rows), np.concatenate(matches), np.concatenate(pieces)


def _in_processes(make_set: Callable[..., tuple[np.ndarray, ...]], digits: np.ndarray, count: int, seed: int,
                  *args: Any) -> tuple[np.ndarray, ...]:
    """`make_set(digits, share, seed + worker, *args)` on every core, `count` split among them, the parts joined."""
    workers = os.cpu_count() or 1
    shares = [count // workers + (worker < count % workers) for worker in range(workers)]
    parts = map_in_processes(make_set, [(digits, share, seed + worker, *args)
                                        for worker, share in enumerate(shares) if share], workers)
    return tuple(np.concatenate(arrays) for arrays in zip(*parts))


def train_piece_counter(train_images: np.ndarray, params: config.PieceCounterParams, profile: str,
                        store: ArtifactStore, progress: Progress, data_description: dict[str, Any]) -> dict[str, Any]:
    """Fit the counter and the cut scorer it carries on pieces made from most training digits, check them on
    pieces from the rest, store them.

    `train_images` are the training digits as the models read them, (n, 28, 28) float32 in [0, 1], so the SVM
    and the forest trained after it in the same run reuse its varied copies (`shared_varied_copies`).
    """
    started_at, clock = now_iso(), time.perf_counter()
    held_out = max(1, int(params.held_out_share * len(train_images)))
    picture, features = PiecePicture(), CutFeatures()
    progress.start(5, "stages")
    progress.note("making up pieces")
    copies = shared_varied_copies(train_images, params.variation, params.varied_copies)
    of_learned = source_indices(len(train_images), params.varied_copies) < len(train_images) - held_out
    learned = np.concatenate([train_images[:-held_out], copies[of_learned]])
    checked = train_images[-held_out:]
    pieces, several = _in_processes(piece_set, learned, params.pieces, config.SEED, picture)
    check_pieces, check_several = _in_processes(piece_set, checked, max(200, params.pieces // 10), config.SEED + 100,
                                                picture)
    progress.advance()
    progress.note("fitting the counter")
    model = HistGradientBoostingClassifier(max_iter=params.max_iter, max_leaf_nodes=params.max_leaf_nodes,
                                           learning_rate=params.learning_rate, random_state=config.SEED)
    model.fit(pieces, several)
    progress.advance()
    progress.note("making up touching digits and cutting them")
    cuts, matches, _ = _in_processes(cut_set, learned, params.touching_pieces, config.SEED + 200, features)
    check_cuts, check_matches, check_of = _in_processes(cut_set, checked, max(50, params.touching_pieces // 10),
                                                        config.SEED + 300, features)
    progress.advance()
    progress.note("fitting the cut scorer")
    scorer = HistGradientBoostingRegressor(max_iter=params.scorer_max_iter,
                                           max_leaf_nodes=params.scorer_max_leaf_nodes,
                                           learning_rate=params.scorer_learning_rate, random_state=config.SEED)
    scorer.fit(cuts, matches)
    progress.advance()
    predicted = model.predict(check_pieces)
    metrics = {"model": STORE_NAME, "profile": profile, "pieces": params.pieces,
               "held_out_pieces": int(len(check_several)),
               "held_out_accuracy": float((predicted == check_several).mean()),
               "single_kept_whole": float((~predicted[~check_several]).mean()),
               "several_found": float(predicted[check_several].mean()),
               "touching_pieces": params.touching_pieces, "cuts_tried": int(len(matches)),
               **_chosen_cuts(scorer.predict(check_cuts), check_matches, check_of),
               "train_seconds": time.perf_counter() - clock}
    manifest = {"hyperparameters": asdict(params), "picture": asdict(picture), "made_up": asdict(MADE_UP),
                "cut_features": asdict(features), "touching_pairs": asdict(TOUCHING_PAIRS),
                "profile": profile, "seed": config.SEED, "data": data_description, "started_at": started_at}
    with store.new_run(STORE_NAME, manifest) as staging:
        progress.note("saving")
        joblib.dump(PieceCounter(model, picture, cut_scorer=CutScorer(scorer, features)), staging / MODEL_FILE,
                    compress=3)
        atomic_write_json(staging / METRICS, metrics)
    progress.advance()
    progress.close()
    logger.info("piece counter: %.1f %% right on %d held-out pieces (single digits kept whole %.1f %%, several "
                "found %.1f %%); cut scorer on %d held-out touching pieces: its cuts match the digits %.2f, the "
                "best tried %.2f, the straight cut through least ink %.2f; %.0f s",
                100 * metrics["held_out_accuracy"], metrics["held_out_pieces"], 100 * metrics["single_kept_whole"],
                100 * metrics["several_found"], metrics["held_out_touching_pieces"], metrics["scorer_cut_match"],
                metrics["best_cut_match"], metrics["first_cut_match"], metrics["train_seconds"])
    return metrics


def _chosen_cuts(predicted: np.ndarray, matches: np.ndarray, pieces: np.ndarray) -> dict[str, float]:
    """How well the cut the scorer likes best matches the digits, per piece on average; against the best cut
    tried and the straight cut through least ink (the first tried)."""
    starts = np.flatnonzero(np.r_[True, pieces[1:] != pieces[:-1]])
    groups = np.split(np.arange(len(pieces)), starts[1:])
    return {"held_out_touching_pieces": len(groups),
            "scorer_cut_match": float(np.mean([matches[group[predicted[group].argmax()]] for group in groups])),
            "best_cut_match": float(np.mean([matches[group].max() for group in groups])),
            "first_cut_match": float(np.mean([matches[group[0]] for group in groups]))}
