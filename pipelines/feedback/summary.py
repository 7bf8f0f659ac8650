"""What the labelled drawings say about the models: accuracy with its interval, confusions, mistakes, exports.

Reads the frames `FeedbackStore.drawings_frame` and `answers_frame` return, so
the same numbers serve the "Your drawings" page, the downloads and the tests.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.config import FEEDBACK, N_CLASSES

SOFT_VOTE = "soft vote"
"""The ensemble row: the digit with the highest mean probability over the models that answered."""


@dataclass(frozen=True)
class Accuracy:
    """How many of `total` drawings a model read right, with a Wilson score interval."""

    model: str
    correct: int
    total: int
    low: float
    high: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.total


def accuracy_of(model: str, truth: np.ndarray, guesses: np.ndarray,
                confidence_level: float = FEEDBACK.confidence_level) -> Accuracy | None:
    """The share of right answers and its Wilson interval; None without a single answer."""
    total = int(len(truth))
    if total == 0:
        return None
    correct = int((np.asarray(truth) == np.asarray(guesses)).sum())
    from scipy.stats import binomtest  # here: scipy.stats takes half a second to import, the leaderboard cannot wait

    interval = binomtest(correct, total).proportion_ci(confidence_level=confidence_level, method="wilson")
    return Accuracy(model, correct, total, float(interval.low), float(interval.high))


def soft_vote_answers(answers: pd.DataFrame) -> pd.Series:
    """The soft vote's digit per drawing id, for drawings whose every answer came with probabilities."""
    known = answers.dropna(subset=["probabilities"])
    complete = known.groupby("drawing_id").size() == answers.groupby("drawing_id").size().reindex(
        known["drawing_id"].unique())
    known = known[known["drawing_id"].isin(complete[complete].index)]
    if known.empty:
        return pd.Series(dtype=np.int64, name="digit")
    vectors = np.frombuffer(b"".join(known["probabilities"]), dtype=np.float32).reshape(-1, N_CLASSES)
    mean = pd.DataFrame(vectors, index=known["drawing_id"].to_numpy()).groupby(level=0).mean()
    return pd.Series(mean.to_numpy().argmax(axis=1), index=mean.index, name="digit")


def model_answers(drawings: pd.DataFrame, answers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """For each model, and the soft vote, its answers joined to the labels: id, label, digit, confidence."""
    labelled = drawings.set_index("id")[["label"]]
    joined = {}
    for model, rows in answers.groupby("model", sort=True):
        frame = rows.set_index("drawing_id")[["digit", "confidence"]].join(labelled, how="inner")
        joined[str(model)] = frame.rename_axis("id").reset_index()
    vote = soft_vote_answers(answers).to_frame().join(labelled, how="inner")
    if len(vote):
        joined[SOFT_VOTE] = vote.assign(confidence=np.nan).rename_axis("id").reset_index()
    return joined


def accuracy_table(joined: dict[str, pd.DataFrame],
                   confidence_level: float = FEEDBACK.confidence_level) -> list[Accuracy]:
    """Every model's accuracy (and the soft vote's) on the drawings it answered."""
    scores = [accuracy_of(model, frame["label"].to_numpy(), frame["digit"].to_numpy(), confidence_level)
              for model, frame in joined.items()]
    return [score for score in scores if score is not None]


def confusion(frame: pd.DataFrame) -> np.ndarray:
    """10×10 counts: rows the digit drawn, columns the digit answered."""
    from sklearn.metrics import confusion_matrix  # here, like binomtest: not on the leaderboard's path

    return confusion_matrix(frame["label"], frame["digit"], labels=list(range(N_CLASSES)))


def wrong_answers(frame: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The drawings a model got wrong, the most confident mistakes first, then the newest."""
    wrong = frame[frame["label"] != frame["digit"]]
    ordered = wrong.sort_values(["confidence", "id"], ascending=[False, False], na_position="last")
    return ordered.head(limit) if limit is not None else ordered


def export_table(drawings: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """One row per drawing: its label and, per model, the digit, the confidence and the run that answered."""
    wide = answers.pivot(index="drawing_id", columns="model", values=["digit", "confidence", "run_id"])
    wide.columns = [f"{model}_{field}" for field, model in wide.columns]
    wide = wide.reindex(columns=sorted(wide.columns))
    return drawings.set_index("id").join(wide).rename_axis("id").reset_index()


def export_csv(drawings: pd.DataFrame, answers: pd.DataFrame) -> bytes:
    return export_table(drawings, answers).to_csv(index=False).encode()


def export_npz(ids: Sequence[int], labels: Sequence[int], images: np.ndarray) -> bytes:
    """The drawings as arrays: `ids`, `labels`, `images` ((n, 28, 28) float32 in [0, 1])."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, ids=np.asarray(ids, dtype=np.int64), labels=np.asarray(labels, dtype=np.int64),
                        images=images)
    return buffer.getvalue()
