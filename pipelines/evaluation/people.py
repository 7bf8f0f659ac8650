"""The models scored on the held-out part of the labelled drawings: the leaderboard's "people's drawings" column.

Those drawings are never trained on (`pipelines.feedback.training`), so this
is the most honest test this arena has: real digits, drawn here, by people.
Scoring needs the loaded models, so the dashboard caches it per store version
and set of runs; nothing else waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelines.config import FEEDBACK, FeedbackSettings
from pipelines.feedback.summary import Accuracy, accuracy_of


@dataclass(frozen=True)
class PeopleScores:
    """Each model's accuracy on `count` held-out drawings; `enough` once that many mean something."""

    count: int
    enough: bool
    scores: dict[str, Accuracy] = field(default_factory=dict)

    def accuracies(self) -> dict[str, float] | None:
        """{model: accuracy} for the leaderboard, or None while there are too few drawings."""
        return {name: score.accuracy for name, score in self.scores.items()} if self.enough else None


def score_held_out(models: Mapping[str, Any], images: np.ndarray, labels: np.ndarray,
                   settings: FeedbackSettings = FEEDBACK) -> PeopleScores:
    """Every model's answers on the held-out drawings, against their labels, with Wilson intervals."""
    count = int(len(labels))
    if count == 0:
        return PeopleScores(0, False)
    scores = {}
    for name, model in models.items():
        guesses = np.asarray(model.predict_proba(np.asarray(images, dtype=np.float32))).argmax(axis=1)
        scores[name] = accuracy_of(name, labels, guesses, settings.confidence_level)
    return PeopleScores(count, count >= settings.min_held_out, scores)
