"""The numbers the "Your drawings" page shows, on small hand-made cases."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from pipelines.feedback.summary import (
    SOFT_VOTE,
    accuracy_of,
    accuracy_table,
    confusion,
    export_npz,
    export_table,
    model_answers,
    wrong_answers,
)


def one_hot(digit: int, weight: float = 1.0) -> bytes:
    vector = np.full(10, (1 - weight) / 9, np.float32)
    vector[digit] = weight
    return vector.tobytes()


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    drawings = pd.DataFrame({"id": [1, 2, 3], "label": [7, 1, 4], "created_at": pd.Timestamp("2026-11-24")})
    answers = pd.DataFrame({
        "drawing_id": [1, 1, 2, 2, 3, 3],
        "model": ["svm", "cnn"] * 3,
        "digit": [7, 1, 1, 7, 9, 4],
        "confidence": [0.9, 0.55, 0.8, 0.6, 0.99, 0.7],
        "run_id": ["s1", "c1"] * 3,
        "probabilities": [one_hot(7, 0.9), one_hot(1, 0.55), one_hot(1, 0.8), one_hot(7, 0.6), one_hot(9, 0.99),
                          one_hot(4, 0.7)],
    })
    return drawings, answers


def test_wilson_interval_matches_the_textbook() -> None:
    score = accuracy_of("svm", np.array([1] * 10), np.array([1] * 8 + [0] * 2))
    assert score.accuracy == 0.8
    assert (score.low, score.high) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # Wilson, 95 %, 8 of 10
    assert accuracy_of("svm", np.array([]), np.array([])) is None


def test_each_model_and_the_soft_vote_are_scored(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    joined = model_answers(*frames)
    assert joined[SOFT_VOTE].set_index("id")["digit"].to_dict() == {1: 7, 2: 1, 3: 9}  # the mean probabilities
    scores = {score.model: score.correct for score in accuracy_table(joined)}
    assert scores == {"cnn": 1, "svm": 2, SOFT_VOTE: 2}
    matrix = confusion(joined["svm"])
    assert matrix.sum() == 3 and matrix[4, 9] == 1 and matrix.trace() == 2
    wrong = wrong_answers(joined["cnn"])
    assert wrong["id"].tolist() == [2, 1]  # the more confident mistake first


def test_exports_hold_every_answer_and_image(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table = export_table(*frames)
    assert table.loc[table["id"] == 3, ["label", "svm_digit", "cnn_digit", "cnn_run_id"]].values.tolist() == \
        [[4, 9, 4, "c1"]]
    images = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    with np.load(io.BytesIO(export_npz([1, 2, 3], [7, 1, 4], images))) as archive:
        np.testing.assert_array_equal(archive["images"], images)
        assert archive["labels"].tolist() == [7, 1, 4] and archive["ids"].tolist() == [1, 2, 3]
