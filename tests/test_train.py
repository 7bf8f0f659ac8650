"""End-to-end quick training on the bundled sample, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import MODEL_NAMES, load_models
from pipelines.training import train as train_module

METRIC_KEYS = {"accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class", "confusion_matrix",
               "log_loss", "ece", "reliability", "train_seconds", "latency_ms", "throughput_per_second",
               "artifact_bytes", "n_train", "n_test", "profile", "data_source"}


def test_quick_training_produces_complete_loadable_runs(trained_artifacts: Path) -> None:
    store = ArtifactStore(trained_artifacts)
    for name in MODEL_NAMES:
        run = store.runs(name)[0]
        metrics = run.metrics
        assert METRIC_KEYS <= set(metrics)
        assert np.array(metrics["confusion_matrix"]).sum() == metrics["n_test"] == 1000
        assert run.test_proba().shape == (1000, 10)
        manifest = run.manifest
        assert manifest["profile"] == "quick"
        assert manifest["data"]["source"] == "sample"
        assert manifest["data"]["fingerprint"] == store.runs("svm")[0].manifest["data"]["fingerprint"]
        assert {"python", "numpy", "scikit-learn"} <= set(manifest["versions"])
        assert manifest["started_at"] <= manifest["finished_at"]
        assert set(manifest["files"]) >= {"metrics.json", "test_proba.npy", "robustness.json"}
        curves = run.robustness()["perturbations"]
        assert set(curves) == {"rotation", "shift", "scale", "thickness", "noise", "occlusion"}
        assert curves["rotation"]["accuracy"][0] > curves["rotation"]["accuracy"][-1]
    dataset = store.load_dataset(store.runs("svm")[0].manifest["data"]["fingerprint"])
    assert dataset["test_images"].shape == (1000, 28, 28)
    assert dataset["train_counts"].tolist() == [300] * 10


def test_retraining_one_model_leaves_the_others(artifacts_copy: Path, capsys: pytest.CaptureFixture) -> None:
    store = ArtifactStore(artifacts_copy)
    before = {name: store.runs(name)[0].path for name in MODEL_NAMES}
    assert train_module.main(["--models", "rf", "--data", "sample", "--artifacts", str(artifacts_copy),
                              "--no-bar"]) == 0
    assert "accuracy" in capsys.readouterr().out
    after = {name: store.runs(name)[0].path for name in MODEL_NAMES}
    assert after["svm"] == before["svm"] and after["cnn"] == before["cnn"]
    assert after["rf"] != before["rf"] and len(store.runs("rf")) == 2
    assert set(load_models(artifacts_copy)) == set(MODEL_NAMES)


def test_a_crash_during_training_keeps_the_previous_model(artifacts_copy: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store = ArtifactStore(artifacts_copy)
    previous = store.runs("svm")[0].path

    def crash(*args: object, **kwargs: object) -> None:
        raise MemoryError("simulated crash while evaluating")

    monkeypatch.setattr(train_module, "evaluate", crash)
    assert train_module.main(["--models", "svm", "--data", "sample", "--artifacts", str(artifacts_copy),
                              "--no-bar"]) == 1
    assert [run.path for run in store.runs("svm")] == [previous]
    assert load_models(artifacts_copy)["svm"].run.path == previous


def test_progress_events_are_written_for_the_app(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    assert train_module.main(["--models", "svm", "--data", "sample", "--artifacts", str(tmp_path / "a"),
                              "--progress-file", str(events), "--no-bar"]) == 0
    stages = [json.loads(line)["stage"] for line in events.read_text().splitlines()]
    assert stages[0] == "start" and stages[-1] == "done" and "step" in stages


def test_an_unreachable_named_source_exits_with_a_clear_message(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    assert train_module.main(["--data", f"idx:{tmp_path}/missing", "--artifacts", str(tmp_path)]) == 2
    assert "not a folder" in caplog.text
