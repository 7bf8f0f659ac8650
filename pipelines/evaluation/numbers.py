"""Every model reading a whole written number: its digits found, each read by every model and by the soft vote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from pipelines.evaluation.analysis import LivePrediction, Verdict, predict_each, sureness_judge, verdict
from pipelines.reading.canvas import digit_to_mnist, ink_box, read_ink
from pipelines.reading.segment import Counter, DigitPiece, find_digits

UNSURE_DIGIT = "?"
"""How the soft vote's reading of a number shows a digit it is not sure of."""


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number: where it was, what each model read, and the soft vote's verdict."""

    piece: DigitPiece
    predictions: list[LivePrediction]
    verdict: Verdict


@dataclass(frozen=True)
class NumberReading:
    """A written number as the arena reads it, digit by digit, left to right."""

    digits: list[DigitReading]

    @property
    def vote(self) -> str:
        """The soft vote's number, `?` for each digit it is not sure of."""
        return "".join(str(d.verdict.digit) if d.verdict.sure else UNSURE_DIGIT for d in self.digits)

    @property
    def vote_digits(self) -> str:
        """The soft vote's best guess at every digit, sure or not."""
        return "".join(str(int(np.mean([p.probabilities for p in d.predictions], axis=0).argmax()))
                       for d in self.digits)

    def read_by(self, model: str) -> str:
        """The number as one model reads it."""
        return "".join(str(p.digit) for d in self.digits for p in d.predictions if p.model == model)


def read_number(models: Mapping[str, Any], image: np.ndarray, sure_above: float, judge_cuts: bool = True,
                counter: Counter | None = None) -> NumberReading:
    """Find the digits of `image` (`counter` saying which pieces hold touching digits, the models choosing where
    they are cut) and let every model read them."""
    return _read(models, find_digits(image, sureness_judge(models) if judge_cuts and models else None, counter),
                 sure_above)


def read_perfectly_cut(models: Mapping[str, Any], image: np.ndarray, own_ink: Sequence[np.ndarray],
                       sure_above: float) -> NumberReading:
    """The number as every model would read it were the segmentation perfect: a benchmark's yardstick.

    Each digit is the input's ink where that digit's own strokes are (`own_ink`, coverage in the input's
    pixels, as `pipelines.evaluation.photos` draws it), normalised as `find_digits` normalises what it cuts.
    """
    ink_map = read_ink(image)
    pieces = []
    for coverage in own_ink:
        own = coverage > 0
        if own.shape != ink_map.ink.shape:  # a photo's ink map is at its working size; blur spreads a stroke
            own = np.asarray(Image.fromarray(own).resize(ink_map.ink.shape[::-1], Image.Resampling.NEAREST))
            own = ndimage.binary_dilation(own)
        ink = ink_map.ink * own
        if ink.any():
            rows, cols = ink_box(coverage)
            box = (rows.start, cols.start, rows.stop, cols.stop)
            pieces.append(DigitPiece(digit_to_mnist(ink, ink_map.photo), box))
    return _read(models, pieces, sure_above)


def _read(models: Mapping[str, Any], pieces: list[DigitPiece], sure_above: float) -> NumberReading:
    if not pieces:
        return NumberReading([])
    answers = predict_each(models, np.stack([piece.image for piece in pieces]))
    return NumberReading([DigitReading(piece, predictions, verdict([p.probabilities for p in predictions], sure_above))
                          for piece, predictions in zip(pieces, answers)])
