"""The "Your drawings" page and the leaderboard's "people's drawings" column, in AppTest, over a real store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import APP_TIMEOUT_SECONDS, ROUTER, number_photo, paper_photo, png_bytes, rerun_until_models_loaded
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from pipelines.config import FEEDBACK
from pipelines.data.sources import MnistData
from pipelines.evaluation.people import score_held_out
from pipelines.feedback import FeedbackStore
from pipelines.feedback.summary import SOFT_VOTE, accuracy_table, model_answers
from pipelines.serving.settings import ARTIFACTS_ENV
from pipelines.store.registry import load_models

DRAWINGS = 300  # about 60 held out (a fifth, by a hash of random ids): surely over the 30 the column needs
OLD_DAY = dt.datetime(2026, 1, 15, 12, 0)


@pytest.fixture
def labelled_store(sample: MnistData, trained_artifacts: Path, private_feedback_store: str) -> FeedbackStore:
    """Real test digits labelled with their true digit, answered by the trained models, as the Draw page would."""
    store = FeedbackStore(private_feedback_store)
    models = load_models(trained_artifacts)
    images = sample.test_images[:DRAWINGS].astype(np.float32) / 255
    probabilities = {name: model.predict_proba(images) for name, model in models.items()}
    for index, image in enumerate(images):
        answers = {name: proba[index] for name, proba in probabilities.items()}
        store.record(image, int(sample.test_labels[index]), {name: int(p.argmax()) for name, p in answers.items()},
                     confidences={name: float(p.max()) for name, p in answers.items()}, probabilities=answers,
                     session_id=f"session-{index % 3}", source="canvas", mode="digit")
    return store


def open_page(page: str, artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(ARTIFACTS_ENV, str(artifacts))
    app = AppTest.from_file(str(ROUTER), default_timeout=APP_TIMEOUT_SECONDS).run()
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_the_page_shows_every_models_accuracy_on_the_drawings(labelled_store: FeedbackStore, trained_artifacts: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_page("drawings", trained_artifacts, monkeypatch)
    assert metric(app, "Labelled drawings") == f"{DRAWINGS:,}"
    assert metric(app, "Sessions") == "3"
    table = app.dataframe[0].value
    expected = {score.model: score for score in accuracy_table(model_answers(labelled_store.drawings_frame(),
                                                                             labelled_store.answers_frame()))}
    assert len(table) == len(expected) == 4 and SOFT_VOTE in expected
    for row in table.itertuples():
        name = next(model for model in expected if row.Model.endswith(f"({model})") or row.Model == model)
        assert row.Accuracy == pytest.approx(expected[name].accuracy) and row.Drawings == DRAWINGS
    shown = app.selectbox(key="drawings_wrong_model").value
    wrong = DRAWINGS - expected[shown].correct
    assert any(caption.value.startswith(f"{wrong} wrong") for caption in app.caption)
    assert len(app.image) == 2  # the gallery of mistakes, and the drawing to moderate


def test_a_drawing_can_be_deleted_and_the_dates_filtered(labelled_store: FeedbackStore, trained_artifacts: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with labelled_store.engine.begin() as connection:
        connection.execute(text("UPDATE drawings SET created_at = :day WHERE id <= 10"), {"day": OLD_DAY})
    app = open_page("drawings", trained_artifacts, monkeypatch)
    app.date_input(key="drawings_dates").set_value((OLD_DAY.date(), OLD_DAY.date())).run()
    assert metric(app, "Labelled drawings") == "10"
    app.date_input(key="drawings_dates").set_value((OLD_DAY.date(), dt.date.today())).run()
    assert metric(app, "Labelled drawings") == f"{DRAWINGS:,}"
    newest = app.selectbox(key="moderate_id").value
    app.button(key="delete_drawing").click().run()
    assert labelled_store.count() == DRAWINGS - 1 and newest not in labelled_store.drawings_frame()["id"].tolist()
    assert metric(app, "Labelled drawings") == f"{DRAWINGS - 1:,}"
    assert app.button(key="delete_all").disabled
    app.checkbox(key="delete_all_sure").check().run()
    app.button(key="delete_all").click().run()
    assert labelled_store.count() == 0
    assert any("No labelled drawings yet" in info.body for info in app.info)


def test_the_leaderboard_gains_a_peoples_drawings_column(labelled_store: FeedbackStore, trained_artifacts: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    images, labels = labelled_store.dataset("held_out")
    assert len(labels) >= FEEDBACK.min_held_out, "the fixture should hold out enough drawings"
    models = load_models(trained_artifacts)
    expected = score_held_out(models, images, labels)
    board = rerun_until_models_loaded(open_page("overview", trained_artifacts, monkeypatch)).table[0].value
    assert len(expected.scores) == len(board) == len(models)
    for name, score in expected.scores.items():
        assert board.at[models[name].title, "People's drawings"] == pytest.approx(score.accuracy)


def test_the_leaderboard_waits_for_enough_drawings(trained_artifacts: Path, private_feedback_store: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = rerun_until_models_loaded(open_page("overview", trained_artifacts, monkeypatch))
    assert "People's drawings" not in app.table[0].value.columns
    assert any(f"once {FEEDBACK.min_held_out} labelled drawings" in caption.value for caption in app.caption)


def right_button(app: AppTest) -> object:
    return next(button for button in app.button if button.label.startswith("✓ right"))


def test_an_answer_labelled_on_the_draw_page_is_stored_with_everything(
        trained_artifacts: Path, sample: MnistData, private_feedback_store: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_page("draw", trained_artifacts, monkeypatch)
    three = sample.test_images[int(np.flatnonzero(sample.test_labels == 3)[0])]
    app.file_uploader(key="upload").set_value(("three.png", png_bytes(paper_photo(three)), "image/png")).run()
    answer = int(right_button(app).label.split("(")[1].rstrip(")"))
    right_button(app).click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(f"Saved as a **{answer}**" in success.body for success in app.success)
    store = FeedbackStore(private_feedback_store)
    assert store.count() == 1
    drawing = store.drawings_frame().iloc[0]
    assert (drawing["label"], drawing["source"], drawing["mode"]) == (answer, "upload", "digit")
    assert drawing["session_id"] and store.input_png(int(drawing["id"])).startswith(b"\x89PNG")
    answers = store.answers_frame()
    models = load_models(trained_artifacts)
    assert set(answers["model"]) == set(models)
    assert {row.model: row.run_id for row in answers.itertuples()} == {n: m.run.run_id for n, m in models.items()}

    seven = sample.test_images[int(np.flatnonzero(sample.test_labels == 7)[0])]
    app.file_uploader(key="upload").set_value(("seven.png", png_bytes(paper_photo(seven)), "image/png")).run()
    picker = next(group for group in app.button_group if "feedback-digit-upload" in str(group.key))
    picker.set_value(7).run()  # "the right digit is 7"
    assert not app.exception, [e.value for e in app.exception]
    assert store.count() == 2 and store.dataset()[1].tolist() == [answer, 7]
    assert len(set(store.drawings_frame()["session_id"])) == 1  # one browser session


def test_each_digit_of_a_number_is_labelled_on_its_own(trained_artifacts: Path, sample: MnistData,
                                                       private_feedback_store: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_page("draw", trained_artifacts, monkeypatch)
    app.segmented_control(key="draw_mode").set_value("A number").run()
    digits = [sample.test_images[int(np.flatnonzero(sample.test_labels == label)[0])] for label in (4, 0, 7)]
    app.file_uploader(key="upload").set_value(("number.png", png_bytes(number_photo(digits)), "image/png")).run()
    pickers = [group for group in app.button_group if "feedback-digit-upload-" in str(group.key)]
    assert len(pickers) == 3  # one under every digit
    next(group for group in pickers if "feedback-digit-upload-2-" in str(group.key)).set_value(0).run()
    assert not app.exception, [e.value for e in app.exception]
    store = FeedbackStore(private_feedback_store)
    drawing = store.drawings_frame().iloc[0]
    assert store.count() == 1 and (drawing["label"], drawing["mode"]) == (0, "number")
    assert store.input_png(int(drawing["id"])).startswith(b"\x89PNG")
    assert len([group for group in app.button_group if "feedback-digit-upload-" in str(group.key)]) == 2
