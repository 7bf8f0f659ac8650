"""The artifact store: atomic runs, checksums, history, and loading that survives a broken model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipelines.store.artifacts import HISTORY_LIMIT, MANIFEST, ArtifactError, ArtifactStore, atomic_write_bytes
from pipelines.store.registry import MODEL_NAMES, load_models, load_report


def _write_run(store: ArtifactStore, payload: bytes = b"weights") -> Path:
    with store.new_run("demo", {"note": "test"}) as staging:
        (staging / "model.bin").write_bytes(payload)
    return store.runs("demo")[0].path


def test_a_run_lands_with_checksums_of_every_file(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    run_path = _write_run(store)
    manifest = json.loads((run_path / MANIFEST).read_text())
    assert set(manifest["files"]) == {"model.bin"}
    assert manifest["model"] == "demo" and manifest["run_id"] == run_path.name
    store.verify(store.runs("demo")[0])


def test_a_run_that_fails_midway_leaves_no_trace_and_the_previous_run_intact(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    previous = _write_run(store, b"good")
    with pytest.raises(RuntimeError, match="killed"):
        with store.new_run("demo", {}) as staging:
            (staging / "model.bin").write_bytes(b"half")
            raise RuntimeError("killed")
    assert [run.path for run in store.runs("demo")] == [previous]
    assert not list(store.runs_dir("demo").glob(".staging-*"))
    assert (previous / "model.bin").read_bytes() == b"good"


def test_staging_left_by_a_dead_process_is_ignored_and_cleaned(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    abandoned = store.runs_dir("demo") / ".staging-20200101T000000000000Z-999999999"
    abandoned.mkdir(parents=True)
    (abandoned / "model.bin").write_bytes(b"partial")
    assert store.runs("demo") == []
    _write_run(store)
    assert not abandoned.exists()


def test_checksum_mismatch_is_detected_and_the_previous_good_run_is_used(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    older = _write_run(store, b"older")
    newer = _write_run(store, b"newer")
    (newer / "model.bin").write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match=r"model.bin: checksum mismatch"):
        store.verify(store.runs("demo")[0])
    run, skipped = store.latest_good("demo")
    assert run.path == older
    assert "checksum mismatch" in skipped[0]


def test_history_is_pruned_to_the_newest_runs(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    paths = [_write_run(store, bytes([i])) for i in range(HISTORY_LIMIT + 2)]
    assert [run.path for run in store.runs("demo")] == paths[::-1][:HISTORY_LIMIT]


def test_no_runs_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no trained demo model yet"):
        ArtifactStore(tmp_path).latest_good("demo")


def test_atomic_write_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_one_corrupt_model_does_not_stop_the_others(artifacts_copy: Path) -> None:
    store = ArtifactStore(artifacts_copy)
    model_file = store.runs("rf")[0].path / "model.joblib"
    model_file.write_bytes(b"not a joblib file")
    report = load_report(artifacts_copy)
    assert set(report.models) == {"svm", "cnn"}
    assert "model.joblib: checksum mismatch" in report.errors["rf"]
    assert set(load_models(artifacts_copy)) == {"svm", "cnn"}


def test_a_corrupt_file_with_matching_checksum_is_named(artifacts_copy: Path) -> None:
    store = ArtifactStore(artifacts_copy)
    run = store.runs("cnn")[0]
    (run.path / "model.keras").write_bytes(b"garbage")
    manifest = json.loads((run.path / MANIFEST).read_text())
    from pipelines.store.artifacts import sha256_file
    manifest["files"]["model.keras"] = sha256_file(run.path / "model.keras")
    (run.path / MANIFEST).write_text(json.dumps(manifest))
    report = load_report(artifacts_copy, serving="native")  # the Keras file is what native serving reads
    assert "the cnn model cannot be loaded" in report.errors["cnn"]
    assert str(run.path) in report.errors["cnn"]
    assert {"svm", "rf"} <= set(report.models)


def test_missing_artifacts_folder_reports_every_model(tmp_path: Path) -> None:
    report = load_report(tmp_path / "none")
    assert report.models == {}
    assert set(report.errors) == set(MODEL_NAMES)


def test_library_version_drift_is_a_warning(artifacts_copy: Path) -> None:
    run = ArtifactStore(artifacts_copy).runs("svm")[0]
    manifest = json.loads((run.path / MANIFEST).read_text())
    manifest["versions"]["scikit-learn"] = "0.0.1"
    (run.path / MANIFEST).write_text(json.dumps(manifest))
    loaded = load_models(artifacts_copy)["svm"]
    assert any("trained with scikit-learn 0.0.1" in warning for warning in loaded.warnings)


def test_dataset_round_trip(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    images = np.zeros((2, 28, 28), np.uint8)
    store.save_dataset("abc", {"test_images": images})
    np.testing.assert_array_equal(store.load_dataset("abc")["test_images"], images)
    with pytest.raises(ArtifactError, match="cannot be read"):
        store.load_dataset("missing")


def test_a_pinned_run_is_served_instead_of_the_newest_and_survives_pruning(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    pinned = _write_run(store, b"pinned")
    store.pin("demo", pinned.name)
    assert store.serving_run("demo") == (store.runs("demo")[-1], [])
    newer = [_write_run(store, bytes([i])) for i in range(HISTORY_LIMIT + 1)]
    kept = [run.path for run in store.runs("demo")]
    assert pinned in kept and newer[0] not in kept and len(kept) == HISTORY_LIMIT + 1
    assert store.serving_run("demo")[0].path == pinned
    store.unpin("demo")
    assert store.serving_run("demo")[0].path == newer[-1] and store.pinned("demo") is None


def test_a_damaged_pinned_run_falls_back_to_the_newest_good_one_with_a_warning(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    pinned = _write_run(store, b"pinned")
    store.pin("demo", pinned.name)
    newest = _write_run(store, b"newest")
    (pinned / "model.bin").write_bytes(b"tampered")
    run, problems = store.serving_run("demo")
    assert run.path == newest and "the pinned run" in problems[0] and "checksum mismatch" in problems[0]


def test_only_an_existing_good_run_can_be_pinned(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    run = _write_run(store)
    with pytest.raises(ArtifactError, match="no such demo run"):
        store.pin("demo", "20200101T000000000000Z-1")
    (run / "model.bin").write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        store.pin("demo", run.name)
    assert store.pinned("demo") is None


def test_the_dashboard_loads_the_pinned_run_and_notices_the_pin(artifacts_copy: Path) -> None:
    from pipelines.serving.arena import runs_signature

    store = ArtifactStore(artifacts_copy)
    newest = store.runs("rf")[0]
    older = newest.path.with_name("20000101T000000000000Z-1")
    shutil.copytree(newest.path, older)
    before = runs_signature(artifacts_copy)
    store.pin("rf", older.name)
    after = runs_signature(artifacts_copy)
    assert after[1] != before[1] and after[0] == before[0] and after[1].endswith(older.name)
    report = load_report(artifacts_copy, ("rf",))
    assert report.models["rf"].run.run_id == older.name and not report.models["rf"].warnings
    shutil.rmtree(older)
    report = load_report(artifacts_copy, ("rf",))
    assert report.models["rf"].run.run_id == newest.run_id
    assert any("the pinned run" in warning for warning in report.models["rf"].warnings)
