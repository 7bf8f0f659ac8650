"""Every dashboard page through Streamlit's AppTest: with a quick-profile training's artifacts, and with none."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import (
    APP_TIMEOUT_SECONDS,
    PAGES,
    ROUTER,
    number_photo,
    paper_photo,
    png_bytes,
    rerun_until_models_loaded,
)
from streamlit.testing.v1 import AppTest

from pipelines.serving.settings import ARTIFACTS_ENV, load_settings
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import MODEL_NAMES
from pipelines.training.jobs import job_status, latest_job

NO_MODELS = "No trained model yet"
JOB_SECONDS = 240


def open_app(artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(ARTIFACTS_ENV, str(artifacts))
    return AppTest.from_file(str(ROUTER), default_timeout=APP_TIMEOUT_SECONDS).run()


def visit(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    """Everything the page says, in one string to search."""
    parts = [e.value for e in app.markdown] + [e.value for e in app.caption] + [e.value for e in app.title]
    parts += [e.value for e in app.sidebar.markdown]
    parts += [e.body for kind in (app.info, app.warning, app.error, app.success) for e in kind]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def empty_artifacts(tmp_path: Path) -> Path:
    folder = tmp_path / "artifacts"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_models(page: str, trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), page)
    assert NO_MODELS not in texts(app)
    assert "Support vector machine" in texts(app)  # the sidebar lists the loaded models


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_models(page: str, empty_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(empty_artifacts, monkeypatch), page)
    if page == "train":
        assert "No training run has been started" in texts(app)
    elif page == "drawings":  # needs no model: it reads the labelled drawings
        assert "No labelled drawings yet" in texts(app)
    else:
        assert NO_MODELS in texts(app) and "python -m pipelines.train" in texts(app)


def test_overview_marks_the_best_model(trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "overview")
    board = app.table[0].value
    assert len(board) == len(MODEL_NAMES)
    most_accurate = board["Accuracy"].idxmax()
    assert f"The most accurate model is the **{most_accurate}**" in texts(app)
    assert "LeNet-5" in app.dataframe[0].value["Method"].str.cat()


def test_draw_page_offers_quick_training_without_models(empty_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(empty_artifacts, monkeypatch), "draw")
    assert any("Train the quick profile" in b.label for b in app.button)


def test_empty_canvas_gets_a_message_not_a_guess(trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "draw")
    assert any("canvas is empty" in e.body for e in app.info)
    assert not app.metric


def test_uploaded_photo_gets_every_models_prediction(trained_artifacts: Path, sample,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "draw")
    digit = sample.test_images[int(np.flatnonzero(sample.test_labels == 3)[0])]
    app.file_uploader(key="upload").set_value(("three.png", png_bytes(paper_photo(digit)), "image/png")).run()
    assert not app.exception
    titles = [m.label for m in app.metric]
    assert {"Support vector machine", "Random forest", "Convolutional network"} <= set(titles)
    assert any(m.label.startswith("Soft-vote ensemble") for m in app.metric)
    assert sum(m.value == "3" for m in app.metric) >= 2  # a clean 3 is read as 3 by most models
    assert any(reason in texts(app) for reason in ("all models agree", "the models disagree", "is only"))


@pytest.mark.parametrize(("payload", "message"), [
    (b"%PDF-1.4 this is not a picture", "not an image"),
    (png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))[:-200], "damaged or truncated"),
    (b"\x89PNG" + b"\0" * (6 * 1024 * 1024), "the limit is"),
])
def test_bad_uploads_get_a_clear_error(payload: bytes, message: str, trained_artifacts: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "draw")
    app.file_uploader(key="upload").set_value(("digit.png", payload, "image/png")).run()
    assert not app.exception
    assert any(message in e.body for e in app.error), [e.body for e in app.error]
    assert not [m for m in app.metric if m.label == "Random forest"]


def test_blank_upload_is_not_guessed(trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "draw")
    blank = png_bytes(np.full((60, 60), 240, dtype=np.uint8))
    app.file_uploader(key="upload").set_value(("blank.png", blank, "image/png")).run()
    assert any("blank" in e.body for e in app.info)
    assert not app.metric


def test_a_broken_model_is_reported_and_the_others_still_used(artifacts_copy: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run = ArtifactStore(artifacts_copy).runs("rf")[0]
    (run.path / "model.joblib").write_bytes(b"corrupt")
    app = visit(open_app(artifacts_copy, monkeypatch), "overview")
    assert any("The **rf** model could not be loaded" in w.body and "checksum" in w.body for w in app.warning)
    assert set(app.table[0].value.index) == {"Support vector machine", "Convolutional network"}


def test_fallback_to_the_sample_is_shown_loudly(artifacts_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = ArtifactStore(artifacts_copy).runs("cnn")[0]
    manifest = json.loads((run.path / "manifest.json").read_text())
    manifest["data"]["fallback_reason"] = "OpenML was not reachable"
    (run.path / "manifest.json").write_text(json.dumps(manifest))  # the manifest is not among its own checksums
    app = visit(open_app(artifacts_copy, monkeypatch), "data")
    assert any("trained on the small bundled sample" in e.body and "OpenML was not reachable" in e.body
               for e in app.error)


def test_compare_shows_the_images_of_the_chosen_cell(trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "compare")
    app.selectbox(key="cell_true").set_value(4)
    app.selectbox(key="cell_predicted").set_value(4).run()
    assert any("test image(s) of a 4 read as 4" in c.value for c in app.caption)
    app.segmented_control(key="confusion_view").set_value("errors only").run()
    assert not app.exception


@pytest.mark.parametrize("view", ["One model's mistakes", "The models disagree", "Every model is wrong"])
def test_mistake_views_and_filters(view: str, trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "mistakes")
    app.radio(key="mistakes_view").set_value(view).run()
    app.selectbox(key="mistakes_true").set_value(8).run()
    assert not app.exception
    said = texts(app)
    assert "No " in said or "test images" in said or "mistakes of the" in said


def test_new_run_is_picked_up_without_restart(artifacts_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rf_runs = ArtifactStore(artifacts_copy).runs_dir("rf")
    moved = artifacts_copy.parent / "rf-runs-aside"
    shutil.move(rf_runs, moved)
    app = visit(open_app(artifacts_copy, monkeypatch), "overview")
    assert "Random forest" not in set(app.table[0].value.index)
    shutil.move(moved, rf_runs)  # a training run landing
    app.run()
    assert "Random forest" in set(app.table[0].value.index)


def test_training_started_on_the_train_page_lands_without_restart(empty_artifacts: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(empty_artifacts, monkeypatch), "train")
    app.multiselect[0].set_value(["rf"])
    app.selectbox[0].set_value("sample")
    app.button[0].click().run()
    assert any("Training started" in s.body for s in app.success)
    job = latest_job(load_settings().jobs_dir)
    deadline = time.monotonic() + JOB_SECONDS
    while job_status(job).state == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job_status(job).state == "succeeded", job_status(job).log_tail
    app.run()
    assert not app.exception
    assert f"Job {job.job_id}: finished" in texts(app)
    assert "**Random forest**" in "\n".join(m.value for m in app.sidebar.markdown)  # loaded with no restart


def test_robustness_page_draws_every_perturbation_and_the_models_answers(
        trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "robustness")
    assert {header.value for header in app.main.subheader} == {
        "Rotation", "Shift", "Scale", "Thickness", "Noise", "Occlusion"}
    assert len(app.get("plotly_chart")) == 6
    if texts(app).count("the models answer") == 0:  # the curves came first; the answers once the models loaded
        assert texts(app).count("appears here once the models have loaded") == 6
        app = rerun_until_models_loaded(app)
    assert texts(app).count("the models answer") == 6
    assert "svm: **" in texts(app) and "cnn: **" in texts(app)


def _remove_from_newest_run(artifacts: Path, model: str, filename: str) -> None:
    """Make the newest run look like one trained before `filename` was stored (its checksum list too)."""
    run = ArtifactStore(artifacts).runs(model)[0]
    (run.path / filename).unlink()
    manifest = json.loads((run.path / "manifest.json").read_text())
    del manifest["files"][filename]
    (run.path / "manifest.json").write_text(json.dumps(manifest))


def test_a_run_without_robustness_curves_is_named(artifacts_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs from before the robustness lab load fine; the page says they have no curves."""
    _remove_from_newest_run(artifacts_copy, "rf", "robustness.json")
    app = visit(open_app(artifacts_copy, monkeypatch), "robustness")
    assert "Random forest (rf) has no robustness curves" in texts(app)
    assert len(app.get("plotly_chart")) == 6


def test_generalisation_page_sets_every_model_side_by_side(trained_artifacts: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "generalisation")
    table = app.dataframe[0].value
    assert list(table.columns) == ["MNIST test", "drawn digits", "out of style"]
    assert set(table.index) == set(MODEL_NAMES)
    stored = ArtifactStore(trained_artifacts).runs("cnn")[0].generalisation()["accuracy"]
    assert table.loc["cnn"].tolist() == pytest.approx([stored["mnist_test"], stored["drawn"], stored["out_of_style"]])
    assert len(app.get("plotly_chart")) == 1


def test_generalisation_page_breaks_the_misses_down_by_letterform(trained_artifacts: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "generalisation")
    app.selectbox(key="generalisation-breakdown").set_value("style").run()
    assert not app.exception, [e.value for e in app.exception]
    breakdown = app.dataframe[1].value
    assert "letterform: 6 closed loop" in breakdown.index and "letterform: 1 flagged" in breakdown.index
    assert any(group.startswith("font: ") for group in breakdown.index)
    assert set(MODEL_NAMES) <= set(breakdown.columns)


def test_a_run_without_generalisation_scores_gets_an_info(artifacts_copy: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs trained before the scores were stored load fine; the page says so and shows the others."""
    _remove_from_newest_run(artifacts_copy, "rf", "generalisation.json")
    app = visit(open_app(artifacts_copy, monkeypatch), "generalisation")
    assert "Random forest (rf) has no generalisation scores" in "\n".join(info.body for info in app.info)
    assert set(app.dataframe[0].value.index) == {"svm", "cnn"}


def _explaining(app: AppTest) -> AppTest:
    """Turn on "Why this prediction" (off when the page opens)."""
    app.toggle(key="explain_answers").set_value(True).run()
    return app


def _upload_a_three(app: AppTest, sample) -> AppTest:
    digit = sample.test_images[int(np.flatnonzero(sample.test_labels == 3)[0])]
    app.file_uploader(key="upload").set_value(("three.png", png_bytes(paper_photo(digit)), "image/png")).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_read_digit_is_explained_once_asked(trained_artifacts: Path, sample,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    app = _upload_a_three(visit(open_app(trained_artifacts, monkeypatch), "draw"), sample)
    assert len(app.metric) >= 4 and not [e for e in app.expander if e.label == "🔍 Why this prediction"]
    app = _explaining(app)
    [why] = [e for e in app.expander if e.label == "🔍 Why this prediction"]
    said = "\n".join(c.value for c in why.caption) + "\n".join(m.value for m in why.markdown)
    assert "Convolutional network**: the strokes it could not do without" in said  # occlusion: served by ONNX
    assert "Support vector machine**: the strokes it could not do without" in said and "occlusion" in said
    assert "Random forest**: the pixels it relies on" in said and "**deskewed**" in said
    assert "The most similar training images" in said and " of 8 are " in said
    assert len(why.image) == 4  # three maps and one grid of neighbours
    assert not why.info


def test_without_a_neighbour_index_the_maps_stay_and_an_info_says_why(artifacts_copy: Path, sample,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for index in artifacts_copy.glob("datasets/*.neighbours.joblib"):
        index.unlink()  # as models trained before the index existed
    app = _upload_a_three(_explaining(visit(open_app(artifacts_copy, monkeypatch), "draw")), sample)
    [why] = [e for e in app.expander if e.label == "🔍 Why this prediction"]
    assert any("most similar training images cannot be shown" in i.body and "missing" in i.body for i in why.info)
    assert len(why.image) == 3
    assert "the strokes it could not do without" in "\n".join(m.value for m in why.markdown)


def _upload_a_number(app: AppTest, sample, labels: tuple[int, ...]) -> AppTest:
    digits = [sample.test_images[int(np.flatnonzero(sample.test_labels == label)[0])] for label in labels]
    app.segmented_control(key="draw_mode").set_value("A number").run()
    app.file_uploader(key="upload").set_value(("number.png", png_bytes(number_photo(digits)), "image/png")).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_number_mode_reads_every_digit_of_an_uploaded_number(trained_artifacts: Path, sample,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    app = _upload_a_number(visit(open_app(trained_artifacts, monkeypatch), "draw"), sample, (4, 0, 7))
    assert any("canvas is empty" in e.body for e in app.info)  # the wide canvas is still empty
    [number] = [m for m in app.metric if m.label == "The number, by the soft vote"]
    assert len(number.value) == 3 and "of 3 digits" in str(number.delta)
    assert sum(number.value[i] == str(label) for i, label in enumerate((4, 0, 7))) >= 2  # quick models, clean digits
    for name in ("Support vector machine", "Random forest", "Convolutional network"):
        assert f"**{name}** " in texts(app)  # each model's reading of the whole number
    assert not [e for e in app.expander if e.label == "🔍 Why this prediction"]
    app = _explaining(app)
    assert [e for e in app.expander if e.label == "🔍 Why this prediction"]  # explained, digit 1 by default
    app.selectbox(key="explain-digit-upload").set_value(3).run()
    assert not app.exception


def test_number_mode_says_so_when_the_upload_is_blank(trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = visit(open_app(trained_artifacts, monkeypatch), "draw")
    app.segmented_control(key="draw_mode").set_value("A number").run()
    blank = png_bytes(np.full((60, 180), 240, dtype=np.uint8))
    app.file_uploader(key="upload").set_value(("blank.png", blank, "image/png")).run()
    assert any("blank" in e.body for e in app.info)
    assert not [m for m in app.metric if m.label == "The number, by the soft vote"]


def test_experiments_page_shows_studies_and_pins_a_run(studied_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    artifacts = studied_artifacts.parent / "pinning"
    shutil.copytree(studied_artifacts, artifacts)
    store = ArtifactStore(artifacts)
    newest = store.runs("svm")[0]
    older_id = "20000101T000000000000Z-1"
    shutil.copytree(newest.path, newest.path.with_name(older_id))
    app = visit(open_app(artifacts, monkeypatch), "experiments")
    assert "Accuracy on the test set, mean over seeds" in texts(app)
    assert "Cross-validated accuracy on 3 folds of 300 training images" in texts(app)
    charts = [chart for chart in app.get("plotly_chart")]
    assert len(charts) == 4  # learning curve, sweep heatmap, accuracy against time and against latency
    curve, sweep = app.dataframe[0].value, app.dataframe[1].value
    assert set(curve["model"]) == {"svm", "rf"} and (curve["seeds"] == 2).all()
    assert len(sweep) == 4 and sweep["accuracy_mean"].is_monotonic_decreasing

    app.selectbox(key="history_model").set_value("svm").run()
    history = app.dataframe[2].value
    assert list(history["run_id"]) == [newest.run_id, older_id] and history["served"].tolist() == [True, False]
    assert "the newest good run" in texts(app)
    app.selectbox(key="pin_choice").set_value(older_id).run()
    app.button(key="pin").click().run()
    assert not app.exception
    assert store.pinned("svm") == older_id
    assert f"the pinned run {older_id}" in texts(app)
    assert app.dataframe[2].value["served"].tolist() == [False, True]
    app.button(key="unpin").click().run()
    assert store.pinned("svm") is None
