"""Every model reading a whole written number: its digits found, each read by every model and by the soft vote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.evaluation.analysis import LivePrediction, Verdict, predict_each, sureness_judge, verdict
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
    pieces = find_digits(image, sureness_judge(models) if judge_cuts and models else None, counter)
    if not pieces:
        return NumberReading([])
    answers = predict_each(models, np.stack([piece.image for piece in pieces]))
    return NumberReading([DigitReading(piece, predictions, verdict([p.probabilities for p in predictions], sure_above))
                          for piece, predictions in zip(pieces, answers)])
