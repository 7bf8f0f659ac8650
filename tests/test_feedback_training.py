"""`--extra-data feedback`: the labelled drawings join training, the held-out ones never do, the manifest says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.data.sources import MnistData
from pipelines.evaluation.analysis import leaderboard
from pipelines.evaluation.people import score_held_out
from pipelines.feedback import FeedbackStore
from pipelines.feedback.training import drawings_fingerprint, training_drawings
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import load_models
from pipelines.training import train as train_module

DRAWINGS = 80


@pytest.fixture
def store_with_drawings(sample: MnistData, private_feedback_store: str) -> FeedbackStore:
    store = FeedbackStore(private_feedback_store)
    for image, label in zip(sample.test_images[:DRAWINGS], sample.test_labels[:DRAWINGS]):
        store.record(image.astype(np.float32) / 255, int(label), {"cnn": int(label)})
    return store


def test_training_with_feedback_adds_the_drawings_but_not_the_held_out_ones(
        store_with_drawings: FeedbackStore, sample: MnistData, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    code = train_module.main(["--models", "svm", "rf", "--data", "sample", "--artifacts", str(artifacts), "--no-bar",
                              "--extra-data", "feedback", "--feedback-url", store_with_drawings.url])
    assert code == 0
    train_images, train_labels = store_with_drawings.dataset("train")
    held_out = len(store_with_drawings.dataset("held_out")[1])
    assert len(train_labels) + held_out == DRAWINGS and 0 < held_out < DRAWINGS
    for name in ("svm", "rf"):  # the SVM's calibration folds cope with the added digits
        manifest = ArtifactStore(artifacts).runs(name)[0].manifest
        added = manifest["data"]["extra"]["feedback"]
        assert added["count"] == len(train_labels)
        assert added["held_out_not_trained_on"] == held_out
        assert added["fingerprint"] == drawings_fingerprint(train_images, train_labels)
        assert manifest["data"]["n_train"] == len(sample.train_labels) + len(train_labels)
    models = load_models(artifacts)
    images, labels = store_with_drawings.dataset("held_out")
    scores = score_held_out(models, images, labels)
    assert scores.count == held_out and set(scores.scores) == {"svm", "rf"}
    assert all(score.accuracy > 0.5 for score in scores.scores.values())  # real digits, real models


def test_training_drawings_are_uint8_like_mnist(store_with_drawings: FeedbackStore, sample: MnistData) -> None:
    drawings = training_drawings(store_with_drawings)
    assert drawings.images.dtype == np.uint8 and drawings.images.shape[1:] == (28, 28)
    originals = {image.tobytes() for image in sample.test_images[:DRAWINGS]}
    assert all(image.tobytes() in originals for image in drawings.images)  # 0-255 → [0, 1] → 0-255 is exact


def test_leaderboard_column_only_when_scores_are_given() -> None:
    row = {"accuracy": 0.9, "macro_f1": 0.9, "log_loss": 0.3, "ece": 0.02, "train_seconds": 1.0,
           "latency_ms": {"median": 1.0}, "artifact_bytes": 1e6}
    assert "people_accuracy" not in leaderboard({"svm": row}, {})
    board = leaderboard({"svm": row, "rf": row}, {}, people={"svm": 0.8})
    assert board.at["svm", "people_accuracy"] == 0.8 and np.isnan(board.at["rf", "people_accuracy"])
