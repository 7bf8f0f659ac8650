"""Serving: graphs exported at training time agree with their models, the dashboard's arena reads stored results
without loading a model and never imports TensorFlow, and a model that cannot be loaded is left out, named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipelines import config
from pipelines.config import ONNX
from pipelines.data.sources import MnistData
from pipelines.evaluation.robustness import as_unit_float
from pipelines.models.portable import export_onnx
from pipelines.serving.arena import load_arena
from pipelines.store.artifacts import ArtifactStore, sha256_file
from pipelines.store.registry import load_models

EXPORTED = ("svm", "cnn")
DEFERRED_SECONDS = 120
IMPORTS_TENSORFLOW = """
import sys
from pipelines.serving.arena import load_arena
arena = load_arena(sys.argv[1])
models = arena.ready_models()
import numpy as np
answers = {name: model.predict_proba(np.zeros((1, 28, 28), np.float32)).shape for name, model in models.items()}
print(len(answers), "tensorflow" in sys.modules)
"""


def _run(artifacts: Path, name: str) -> Path:
    return ArtifactStore(artifacts).runs(name)[0].path


def test_training_writes_a_checked_graph_for_the_svm_and_the_cnn_and_not_the_forest(trained_artifacts: Path) -> None:
    for name in EXPORTED:
        run = _run(trained_artifacts, name)
        check = json.loads((run / "metrics.json").read_text())["onnx"]
        assert check["served"] and check["same_label"] >= ONNX.min_same_label, check
        assert check["max_probability_gap"] <= ONNX.max_probability_gap
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["files"][ONNX.filename] == sha256_file(run / ONNX.filename)  # checksummed like the rest
    forest = _run(trained_artifacts, "rf")
    assert not (forest / ONNX.filename).exists()
    assert "served by the library" in json.loads((forest / "metrics.json").read_text())["onnx"]["reason"]


def test_served_graphs_give_the_native_models_answers(trained_artifacts: Path, sample: MnistData) -> None:
    images = as_unit_float(sample.test_images[:500])
    served, native = load_models(trained_artifacts, "onnx"), load_models(trained_artifacts, "native")
    for name in EXPORTED:
        assert served[name].serves_with == "ONNX Runtime" and native[name].serves_with == "its training library"
        ours, theirs = served[name].predict_proba(images), native[name].predict_proba(images)
        np.testing.assert_allclose(ours, theirs, atol=ONNX.max_probability_gap)
        np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-9)
    assert served["rf"].serves_with == "its training library"


def test_a_graph_that_disagrees_with_its_model_is_not_written(trained_artifacts: Path, sample: MnistData,
                                                             tmp_path: Path) -> None:
    model = load_models(trained_artifacts, "native")["svm"]
    images = as_unit_float(sample.test_images[:200])
    wrong = np.roll(model.predict_proba(images), 1, axis=1)  # what another model would have answered
    check = export_onnx(model.classifier, tmp_path, images, wrong)
    assert not check.served and "disagrees" in check.reason and check.same_label < ONNX.min_same_label
    assert not (tmp_path / ONNX.filename).exists()
    agreed = export_onnx(model.classifier, tmp_path, images, model.predict_proba(images))
    assert agreed.served and (tmp_path / ONNX.filename).is_file()


@pytest.mark.parametrize(("serving", "imported"), [("onnx", False), ("native", True)])
def test_the_dashboard_answers_without_tensorflow_unless_told_to_serve_natively(
        trained_artifacts: Path, serving: str, imported: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(config.PROJECT_ROOT), config.SERVING_ENV: serving}
    result = subprocess.run([sys.executable, "-c", IMPORTS_TENSORFLOW, str(trained_artifacts)], env=env,
                            capture_output=True, text=True, timeout=300, cwd=config.PROJECT_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["3", str(imported)]


def test_stored_results_are_read_without_loading_any_model(trained_artifacts: Path) -> None:
    arena = load_arena(trained_artifacts, start_loading=False)
    assert set(arena.models) == {"svm", "rf", "cnn"} and arena.loading  # not started: nothing tried yet
    assert not any(model.loaded for model in arena.models.values())
    assert arena.metrics()["cnn"]["accuracy"] > 0.9 and arena.comparable()[0] is not None
    assert arena.models["rf"].title == "Random forest"
    assert set(arena.ready_models()) == {"svm", "rf", "cnn"}  # now loaded, in the background thread


def test_a_deferred_load_waits_for_its_delay_unless_a_page_needs_the_models(trained_artifacts: Path) -> None:
    arena = load_arena(trained_artifacts, start_loading=False)
    arena.start_loading(after_seconds=DEFERRED_SECONDS)
    time.sleep(1)
    assert arena.loading and not any(model.loaded for model in arena.models.values())  # still waiting
    started = time.monotonic()
    assert set(arena.ready_models()) == {"svm", "rf", "cnn"}  # the Draw page's call: loaded at once
    assert time.monotonic() - started < DEFERRED_SECONDS / 2 and not arena.loading


def test_a_model_that_cannot_be_loaded_is_left_out_and_named(trained_artifacts: Path, tmp_path: Path) -> None:
    """A graph whose checksum is right but whose bytes are not ONNX (written by a broken exporter, say)."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, artifacts)
    run = _run(artifacts, "cnn")
    (run / ONNX.filename).write_bytes(b"not an onnx graph")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"][ONNX.filename] = sha256_file(run / ONNX.filename)
    (run / "manifest.json").write_text(json.dumps(manifest))
    arena = load_arena(artifacts, serving="onnx")
    assert arena.metrics()["cnn"]["accuracy"] > 0.9  # its stored results are still shown
    assert set(arena.ready_models()) == {"svm", "rf"}
    assert "the cnn model cannot be loaded" in arena.load_errors()["cnn"]


def test_an_unknown_serving_format_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.SERVING_ENV, "tensorrt")
    with pytest.raises(ValueError, match="MNIST_SERVING='tensorrt': choose one of onnx, native"):
        config.serving_from_env()
