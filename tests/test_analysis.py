"""The dashboard's logic without Streamlit: comparisons, inputs, loading the arena, settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import paper_photo, png_bytes
from conftest import drawn_digit

from pipelines import config
from pipelines.evaluation import analysis
from pipelines.reading.inputs import UploadError, read_drawing, read_upload
from pipelines.serving.arena import load_arena, runs_signature
from pipelines.serving.settings import ARTIFACTS_ENV, load_settings
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import MODEL_NAMES

MATRIX = np.array([[5, 2, 0], [1, 6, 3], [0, 0, 4]])
LIMIT_BYTES = 1_000_000
LIMIT_PIXELS = 4_000_000


def one_hot(answers: list[int], confidence: float = 0.9) -> np.ndarray:
    proba = np.full((len(answers), 10), (1 - confidence) / 9)
    proba[np.arange(len(answers)), answers] = confidence
    return proba


def metrics_row(accuracy: float, latency: float, ece: float) -> dict:
    return {"accuracy": accuracy, "macro_f1": accuracy - 0.01, "log_loss": 1 - accuracy, "ece": ece,
            "train_seconds": 10 * accuracy, "latency_ms": {"median": latency, "p95": 2 * latency},
            "artifact_bytes": 2_000_000, "title": f"model {accuracy}", "profile": "quick"}


def test_leaderboard_marks_the_best_of_each_column_in_its_direction() -> None:
    board = analysis.leaderboard({"a": metrics_row(0.95, 3.0, 0.05), "b": metrics_row(0.97, 5.0, 0.01)},
                                 {"a": {"data": {"source": "sample", "n_train": 3000}, "finished_at": "t"}})
    best = analysis.best_models(board)
    assert best["accuracy"] == "b" and best["macro_f1"] == "b"     # higher is better
    assert best["latency_ms"] == "a" and best["train_seconds"] == "a"  # lower is better
    assert best["ece"] == "b" and best["log_loss"] == "b"
    assert board.loc["a", "data"] == "sample, 3,000 training images"
    assert board.loc["a", "artifact_mb"] == pytest.approx(2.0)


def test_plain_reading_names_the_leader_and_counts_its_mistakes() -> None:
    board = analysis.leaderboard({"a": metrics_row(0.95, 3.0, 0.05), "b": metrics_row(0.97, 5.0, 0.01)}, {})
    reading = " ".join(analysis.plain_reading(board, n_test=1000))
    assert "**model 0.97**" in reading and "about 30 of them wrong" in reading
    assert analysis.plain_reading(board.iloc[0:0]) == []


def test_literature_holds_lecun_table_reference_lines() -> None:
    errors = {ref.method: ref.error_percent for ref in analysis.LITERATURE}
    assert errors["SVM, Gaussian kernel"] == 1.4 and errors["LeNet-5 convolutional network"] == 0.95
    assert all("LeCun" in ref.source for ref in analysis.LITERATURE)


def test_confusion_views() -> None:
    assert analysis.confusion_view(MATRIX, "counts").tolist() == MATRIX.tolist()
    shares = analysis.confusion_view(MATRIX, "row-normalised")
    assert np.allclose(shares.sum(axis=1), 1) and shares[1, 2] == pytest.approx(0.3)
    errors = analysis.confusion_view(MATRIX, "errors only")
    assert np.isnan(np.diag(errors)).all() and errors[1, 2] == 3
    with pytest.raises(ValueError, match="unknown confusion view"):
        analysis.confusion_view(MATRIX, "sideways")


def test_most_confused_pairs_are_off_diagonal_largest_first() -> None:
    pairs = analysis.most_confused_pairs(MATRIX, top=2)
    assert [(p.true, p.predicted, p.count) for p in pairs] == [(1, 2, 3), (0, 1, 2)]
    assert pairs[0].share_of_true == pytest.approx(0.3)
    assert analysis.most_confused_pairs(np.eye(3, dtype=int), top=5) == []


def test_cell_indices() -> None:
    labels, predictions = np.array([4, 4, 9, 4]), np.array([9, 4, 9, 9])
    assert analysis.cell_indices(labels, predictions, 4, 9).tolist() == [0, 3]


def test_mistakes_most_confident_first_with_filters() -> None:
    labels = np.array([1, 2, 3, 4])
    proba = one_hot([1, 7, 8, 9])
    proba[3] = one_hot([9], 0.99)[0]
    frame = analysis.mistakes(proba, labels)
    assert frame["index"].tolist() == [3, 1, 2]
    assert frame.loc[0, "confidence"] == pytest.approx(0.99)
    assert analysis.mistakes(proba, labels, true=2)["index"].tolist() == [1]
    assert analysis.mistakes(proba, labels, predicted=8)["index"].tolist() == [2]
    assert analysis.mistakes(proba, labels, true=1).empty


def test_disagreements_and_all_wrong() -> None:
    labels = np.array([0, 1, 2, 3])
    probabilities = {"a": one_hot([0, 1, 5, 7]), "b": one_hot([0, 7, 5, 8]), "c": one_hot([0, 1, 5, 9])}
    disagree = analysis.disagreements(probabilities, labels)
    assert disagree["index"].tolist() == [1, 3]
    assert disagree.loc[0, ["true", "a", "b", "c"]].tolist() == [1, 1, 7, 1]
    wrong = analysis.all_wrong(probabilities, labels)
    assert wrong["index"].tolist() == [2, 3]
    assert analysis.all_wrong(probabilities, labels, true=3)["index"].tolist() == [3]
    assert analysis.all_wrong(probabilities, labels, predicted=8)["index"].tolist() == [3]


def test_soft_vote_and_agreement() -> None:
    vote = analysis.soft_vote([one_hot([3])[0], one_hot([3])[0], one_hot([5], 0.99)[0]])
    assert vote.argmax() == 3 and vote.sum() == pytest.approx(1)
    with pytest.raises(ValueError):
        analysis.soft_vote([])
    assert analysis.agreement([3, 3, 3]).kind == "unanimous"
    majority = analysis.agreement([3, 5, 3])
    assert (majority.kind, majority.digit, majority.votes) == ("majority", 3, 2)
    assert "2 of 3" in majority.label
    assert analysis.agreement([1, 2, 3]).kind == "split"


def test_per_class_and_reliability_frames() -> None:
    row = {"per_class": {m: [0.5] * 10 for m in ("precision", "recall", "f1")},
           "reliability": [{"count": 0, "confidence": float("nan"), "accuracy": float("nan")},
                           {"count": 4, "confidence": 0.9, "accuracy": 0.75}]}
    per_class = analysis.per_class_frame({"a": row, "b": row})
    assert len(per_class) == 2 * 3 * 10
    reliability = analysis.reliability_frame({"a": row})
    assert reliability[["confidence", "accuracy", "count"]].values.tolist() == [[0.9, 0.75, 4]]


def test_samples_and_balance() -> None:
    labels = np.repeat(np.arange(10), 5)
    chosen = analysis.samples_per_digit(labels, 3, seed=config.SEED)
    assert all(len(v) == 3 and (labels[v] == d).all() for d, v in chosen.items())
    assert chosen[4].tolist() == analysis.samples_per_digit(labels, 3, seed=config.SEED)[4].tolist()
    balance = analysis.class_balance(np.full(10, 30), np.arange(10))
    assert balance[balance["set"] == "train"]["share"].sum() == pytest.approx(1)


def test_shared_dataset_prefers_the_one_most_models_use() -> None:
    assert analysis.shared_dataset({"svm": "x", "rf": "y", "cnn": "y"}) == ("y", ["rf", "cnn"])
    assert analysis.shared_dataset({}) == (None, [])


def test_read_upload_accepts_a_photo_and_refuses_the_rest(sample) -> None:
    photo = paper_photo(sample.test_images[0])
    pixels = read_upload(png_bytes(photo), LIMIT_BYTES, LIMIT_PIXELS)
    assert pixels.shape == (*photo.shape, 3) and pixels.dtype == np.uint8  # colour kept for coloured pens
    reading = read_drawing(pixels)
    assert reading.problem is None and reading.image.shape == (28, 28)
    with pytest.raises(UploadError, match="empty"):
        read_upload(b"", LIMIT_BYTES, LIMIT_PIXELS)
    with pytest.raises(UploadError, match="not an image"):
        read_upload(b"hello, world", LIMIT_BYTES, LIMIT_PIXELS)
    with pytest.raises(UploadError, match="limit is 1 MB"):
        read_upload(b"x" * (LIMIT_BYTES + 1), LIMIT_BYTES, LIMIT_PIXELS)
    with pytest.raises(UploadError, match="megapixels"):
        read_upload(png_bytes(np.zeros((2100, 2100), dtype=np.uint8)), LIMIT_BYTES, LIMIT_PIXELS)


def test_read_drawing_tells_empty_from_unreadable(sample) -> None:
    blank = np.zeros((280, 280, 4), dtype=np.uint8)
    blank[..., 3] = 255
    assert read_drawing(None).problem == "empty"
    assert read_drawing(blank).problem == "empty"
    dot = blank.copy()
    dot[140:142, 140:142, :3] = 255
    assert read_drawing(dot).problem == "unreadable"
    assert read_drawing(drawn_digit(sample.test_images[0])).image is not None


def test_settings_read_the_artifacts_folder_from_the_environment(tmp_path: Path) -> None:
    assert load_settings({}).artifacts_dir == config.ARTIFACTS_DIR
    settings = load_settings({ARTIFACTS_ENV: str(tmp_path)})
    assert settings.artifacts_dir == tmp_path.resolve() and settings.jobs_dir.parent == tmp_path.resolve()


def test_arena_loads_models_probabilities_and_dataset(trained_artifacts: Path) -> None:
    arena = load_arena(trained_artifacts)
    assert set(arena.models) == set(MODEL_NAMES) and not arena.errors and not arena.dataset_errors
    dataset, names = arena.comparable()
    assert names == list(MODEL_NAMES)
    for name in names:
        assert arena.test_probabilities[name].shape == (len(dataset["test_labels"]), 10)
    predictions = analysis.predict_all(arena.models, dataset["test_images"][0].astype(np.float32) / 255)
    assert [p.model for p in predictions] == list(MODEL_NAMES)
    assert all(p.latency_ms > 0 and p.probabilities.sum() == pytest.approx(1, abs=1e-5) for p in predictions)


def test_arena_survives_a_missing_dataset_and_signature_tracks_new_runs(artifacts_copy: Path) -> None:
    before = runs_signature(artifacts_copy)
    assert all(entry.split(":")[1] != "-" for entry in before)  # model:newest run:pinned run
    shutil.rmtree(artifacts_copy / "datasets")
    arena = load_arena(artifacts_copy)
    assert arena.models and arena.dataset_errors and arena.comparable() == (None, [])
    newest = ArtifactStore(artifacts_copy).runs("svm")[0].path
    shutil.copytree(newest, newest.with_name("29990101T000000000000Z-1"))
    after = runs_signature(artifacts_copy)
    assert after[0] != before[0] and after[1:] == before[1:]
    assert runs_signature(artifacts_copy.parent / "nothing") == tuple(f"{n}:-:-" for n in MODEL_NAMES)


def _confident(digit: int, confidence: float) -> np.ndarray:
    probabilities = np.full(10, (1 - confidence) / 9)
    probabilities[digit] = confidence
    return probabilities


def test_verdict_is_the_digit_when_every_model_agrees_confidently() -> None:
    answer = analysis.verdict([_confident(7, 0.9), _confident(7, 0.8), _confident(7, 0.95)], sure_above=0.6)
    assert answer.sure and answer.digit == 7
    assert answer.confidence == pytest.approx((0.9 + 0.8 + 0.95) / 3)


def test_verdict_is_not_sure_when_a_model_dissents() -> None:
    answer = analysis.verdict([_confident(7, 0.99), _confident(7, 0.99), _confident(1, 0.9)], sure_above=0.6)
    assert not answer.sure and "disagree" in answer.reason


def test_verdict_is_not_sure_when_the_ensemble_is_unsure() -> None:
    answer = analysis.verdict([_confident(4, 0.4), _confident(4, 0.5), _confident(4, 0.45)], sure_above=0.6)
    assert not answer.sure and "only 45% sure" in answer.reason
