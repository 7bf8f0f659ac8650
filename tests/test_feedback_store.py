"""The feedback store on SQLite and on a real PostgreSQL server: round trips, refusals, concurrent and killed writers."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from pipelines.config import FEEDBACK, PROJECT_ROOT
from pipelines.feedback import FeedbackError, FeedbackStore
from pipelines.feedback.concurrency import concurrent_writes, synthetic_record
from pipelines.feedback.records import input_thumbnail
from pipelines.feedback.schema import SCHEMA_VERSION
from pipelines.feedback.store import is_held_out

KILL_WAIT_SECONDS = 120


def digit_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((28, 28), dtype=np.float32)


def assert_consistent(store: FeedbackStore, answers_per_drawing: int) -> None:
    """Every drawing has all its answers and no answer lacks its drawing."""
    drawings, answers = store.drawings_frame(), store.answers_frame()
    assert set(answers["drawing_id"]) == set(drawings["id"])
    assert (answers.groupby("drawing_id").size() == answers_per_drawing).all()
    if store.backend == "sqlite":
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"


def test_the_public_api_round_trips(feedback_url: str) -> None:
    store = FeedbackStore(feedback_url)
    images = [digit_image(seed) for seed in range(3)]
    ids = [store.record(image, label, {"svm": label, "cnn": 1}) for label, image in zip((7, 0, 9), images)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert store.count() == 3
    stored, labels = store.dataset()
    assert stored.dtype == np.float32 and stored.shape == (3, 28, 28)
    np.testing.assert_array_equal(stored, np.stack(images))
    assert labels.tolist() == [7, 0, 9]
    reopened = FeedbackStore(feedback_url)  # a second open finds the schema and the drawings
    assert reopened.count() == 3


def test_rich_records_keep_what_the_dashboard_sends(feedback_url: str) -> None:
    store = FeedbackStore(feedback_url)
    png = input_thumbnail(np.pad(np.full((60, 20), 255, np.uint8), 100))
    probabilities = np.eye(10, dtype=np.float32)[4]
    drawing_id = store.record(digit_image(1), 4, {"cnn": 4}, confidences={"cnn": 0.93},
                              probabilities={"cnn": probabilities}, run_ids={"cnn": "20261124-0401"},
                              input_png=png, session_id="a1b2", source="upload", mode="number")
    assert store.input_png(drawing_id) == png
    answer = store.answers_frame().iloc[0]
    assert (answer["model"], answer["digit"], answer["run_id"]) == ("cnn", 4, "20261124-0401")
    assert answer["confidence"] == pytest.approx(0.93)
    np.testing.assert_array_equal(np.frombuffer(answer["probabilities"], np.float32), probabilities)
    drawing = store.drawings_frame().iloc[0]
    assert (drawing["source"], drawing["mode"], drawing["label"]) == ("upload", "number", 4)


BAD_RECORDS = {
    "wrong shape": (dict(pixels=np.zeros((28, 27), np.float32)), "28×28"),
    "0-255 bytes": (dict(pixels=np.zeros((28, 28), np.uint8)), "divide by 255"),
    "NaN": (dict(pixels=np.full((28, 28), np.nan, np.float32)), "NaN"),
    "above 1": (dict(pixels=np.full((28, 28), 2.0, np.float32)), r"\[0, 1\]"),
    "label 10": (dict(label=10), "digit 0-9"),
    "label as text": (dict(label="3"), "integer digit"),
    "label as bool": (dict(label=True), "integer digit"),
    "label as float": (dict(label=3.0), "integer digit"),
    "predictions as a list": (dict(predictions=[1, 2]), "map each model"),
    "odd model name": (dict(predictions={"svm'; DROP TABLE drawings; --": 1}), "model names"),
    "prediction 11": (dict(predictions={"svm": 11}), "prediction of svm"),
    "confidence 2": (dict(predictions={"svm": 1}, confidences={"svm": 2.0}), "confidence of svm"),
    "confidence of a silent model": (dict(predictions={"svm": 1}, confidences={"cnn": 0.5}), "no prediction"),
    "probabilities not summing to 1": (dict(predictions={"svm": 1}, probabilities={"svm": [0.5] * 10}), "summing"),
    "not a PNG": (dict(input_png=b"GIF89a"), "PNG"),
    "huge PNG": (dict(input_png=b"\x89PNG\r\n\x1a\n" + bytes(FEEDBACK.max_png_bytes)), "limit"),
    "unknown source": (dict(source="camera"), "canvas, upload"),
    "long session id": (dict(session_id="x" * 500), "session_id"),
}


@pytest.mark.parametrize("case", BAD_RECORDS, ids=list(BAD_RECORDS))
def test_bad_records_are_refused_with_a_reason(case: str, tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    changes, reason = BAD_RECORDS[case]
    arguments = {"pixels": digit_image(0), "label": 3, "predictions": {"svm": 3}, **changes}
    with pytest.raises(ValueError, match=reason):
        store.record(arguments.pop("pixels"), arguments.pop("label"), arguments.pop("predictions"), **arguments)
    assert store.count() == 0


def test_threads_writing_at_once_lose_nothing(feedback_url: str) -> None:
    store = FeedbackStore(feedback_url)
    threads, each = 8, 25
    ids: list[int] = []
    errors: list[BaseException] = []

    def write(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(each):
                pixels, label, predictions, probabilities = synthetic_record(rng)
                ids.append(store.record(pixels, label, predictions, probabilities=probabilities))
        except BaseException as error:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(error)

    workers = [threading.Thread(target=write, args=(seed,)) for seed in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert len(set(ids)) == threads * each == store.count()
    assert_consistent(store, answers_per_drawing=3)


def test_processes_writing_at_once_into_a_fresh_database_lose_nothing(feedback_url: str) -> None:
    report = concurrent_writes(feedback_url, processes=4, records_each=40)  # each process also creates the schema
    store = FeedbackStore(feedback_url)
    assert len(set(report.ids)) == 160 == store.count()
    assert sorted(report.ids) == store.drawings_frame()["id"].tolist()
    assert_consistent(store, answers_per_drawing=3)


HANGING_WRITER = """
import sys, time
import numpy as np
from sqlalchemy import event
from pipelines.feedback import FeedbackStore
store = FeedbackStore(sys.argv[1])
@event.listens_for(store.engine, "after_cursor_execute")
def hang_after_the_drawing_row(connection, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith("INSERT INTO DRAWINGS"):
        print("inside the write", flush=True)
        time.sleep(600)
store.record(np.zeros((28, 28), np.float32), 5, {"svm": 5, "cnn": 5})
"""


def test_a_writer_killed_mid_write_leaves_the_database_consistent(feedback_url: str) -> None:
    store = FeedbackStore(feedback_url)
    for seed in range(5):
        store.record(digit_image(seed), seed, {"svm": seed, "cnn": 0})
    writer = subprocess.Popen([sys.executable, "-c", HANGING_WRITER, feedback_url], cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "inside the write"  # its drawing row is written, not its answers
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(KILL_WAIT_SECONDS)
    finally:
        if writer.poll() is None:
            writer.kill()
    after = FeedbackStore(feedback_url)
    assert after.count() == 5
    assert after.record(digit_image(9), 9, {"svm": 9, "cnn": 9}) > 0  # the dead writer's lock is gone
    assert after.count() == 6
    assert_consistent(after, answers_per_drawing=2)


def test_deleting_changes_the_version(feedback_url: str) -> None:
    store = FeedbackStore(feedback_url)
    ids = [store.record(digit_image(seed), seed, {"svm": seed}) for seed in range(4)]
    before = store.version()
    assert store.delete(ids[1]) and not store.delete(ids[1])
    assert store.count() == 3 and store.version() != before
    assert store.images(ids).shape == (3, 28, 28)
    assert set(store.answers_frame()["drawing_id"]) == {ids[0], ids[2], ids[3]}
    emptied = store.version()
    assert store.delete_all() == 3 and store.count() == 0 and store.answers_frame().empty
    store.record(digit_image(7), 7, {"svm": 7})
    assert store.version() not in (before, emptied)  # ids are never reused


def test_held_out_part_is_fixed_and_never_in_training(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    for seed in range(200):
        store.record(digit_image(seed), seed % 10, {"svm": 0})
    all_images, _ = store.dataset()
    train_images, _ = store.dataset("train")
    held_images, held_labels = store.dataset("held_out")
    assert len(train_images) + len(held_images) == 200
    assert 20 <= len(held_images) <= 60  # about held_out_fraction (0.2) of 200
    train_rows = {image.tobytes() for image in train_images}
    assert not any(image.tobytes() in train_rows for image in held_images)
    np.testing.assert_array_equal(FeedbackStore(store.url).dataset("held_out")[0], held_images)
    assert is_held_out("0" * 32) and not is_held_out("f" * 32)
    with pytest.raises(ValueError, match="split"):
        store.dataset("test")


def test_the_schema_is_versioned_and_a_newer_one_refused(feedback_url: str) -> None:
    store = FeedbackStore(feedback_url)
    assert store.schema_version == SCHEMA_VERSION
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE feedback_schema SET version = 99"))
    store.close()
    with pytest.raises(FeedbackError, match="newer"):
        FeedbackStore(feedback_url)


def test_an_unreachable_database_gets_a_clear_error() -> None:
    with pytest.raises(FeedbackError, match="cannot be opened"):
        FeedbackStore("postgresql+psycopg://nobody@127.0.0.1:1/feedback")
    with pytest.raises(FeedbackError, match="not a database URL"):
        FeedbackStore("not a url")


def test_the_input_picture_is_cropped_and_small() -> None:
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[40:240, 130:150, :3] = 255  # a tall stroke: a "1"
    picture = Image.open(io.BytesIO(input_thumbnail(canvas)))
    assert max(picture.size) == FEEDBACK.thumbnail_px and picture.size[0] < picture.size[1] / 3
    assert input_thumbnail(np.zeros((280, 280), np.uint8)) is None
