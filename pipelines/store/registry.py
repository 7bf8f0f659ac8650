"""Which models exist, and loading the run of each the dashboard serves (pinned, else the latest good).

Registering a model is one line in MODEL_CLASSES. Classes are imported only
when needed, so commands that touch the scikit-learn models do not pay for
importing TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import platform
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import config
from pipelines.config import ONNX
from pipelines.models.base import DigitClassifier
from pipelines.store.artifacts import ArtifactError, ArtifactStore, Run

logger = logging.getLogger(__name__)

MODEL_CLASSES: dict[str, str] = {
    "svm": "pipelines.models.svm:SvmClassifier",
    "rf": "pipelines.models.forest:ForestClassifier",
    "cnn": "pipelines.models.cnn:CnnClassifier",
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_CLASSES)
CLASSICAL_PACKAGES = ("numpy", "scipy", "scikit-learn", "joblib")
DEEP_PACKAGES = ("keras", "tensorflow", "tensorflow-cpu")


def model_class(name: str) -> type[DigitClassifier]:
    """The classifier class registered under `name`."""
    try:
        module_name, class_name = MODEL_CLASSES[name].split(":")
    except KeyError:
        raise ValueError(f"unknown model {name!r}: choose from {', '.join(MODEL_NAMES)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def library_versions(model_name: str) -> dict[str, str]:
    """Versions of Python and of the libraries a model's file depends on."""
    packages = CLASSICAL_PACKAGES + (DEEP_PACKAGES if model_name == "cnn" else ())
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


class LoadedModel:
    """A trained model as the dashboard sees it: its run and metrics at once, its classifier when first needed.

    Reading the run costs a directory listing and two small JSON files; the classifier means ONNX Runtime,
    scikit-learn or TensorFlow and the model's file. Pages that show stored results never touch it, so they
    need not wait for it; `load` is safe to call from several threads (a background loader and a page).
    """

    def __init__(self, name: str, run: Run, metrics: dict[str, Any], warnings: list[str] | None = None,
                 serving: str = "onnx", classifier: DigitClassifier | None = None) -> None:
        self.name, self.run, self.metrics = name, run, metrics
        self.warnings = warnings or []
        self.serving = serving
        self._classifier = classifier
        self._route: Callable[[np.ndarray], np.ndarray] | None = None
        self._error: ArtifactError | None = None
        self._lock = threading.Lock()

    @property
    def title(self) -> str:
        return self.metrics.get("title") or self.name

    @property
    def manifest(self) -> dict[str, Any]:
        return self.run.manifest

    @property
    def loaded(self) -> bool:
        return self._classifier is not None

    @property
    def load_error(self) -> str | None:
        return str(self._error) if self._error else None

    @property
    def classifier(self) -> DigitClassifier:
        """The classifier, loaded now if no one has yet; raises ArtifactError if its file cannot be read."""
        if self._classifier is None:
            self.load()
        return self._classifier

    def load(self) -> None:
        """Read the classifier once; a failure is kept and raised again, not retried on every drawing."""
        with self._lock:
            if self._classifier is not None:
                return
            if self._error is None:
                try:
                    self._classifier = read_classifier(self.name, self.run, self.serving)
                except Exception as error:  # a corrupt file fails inside joblib, keras or onnx with any type
                    self._error = ArtifactError(f"{self.run.path}: the {self.name} model cannot be loaded "
                                                f"({type(error).__name__}: {error})")
                    logger.error("%s", self._error)
            if self._error is not None:
                raise self._error

    @property
    def serves_with(self) -> str:
        """What answers for this model: ONNX Runtime or the library it was trained with."""
        return self._classifier.engine if self._classifier is not None else "not loaded yet"

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) float32 images in [0, 1] -> (n, 10) probabilities."""
        return self._route(images) if self._route is not None else self.classifier.predict_proba(images)

    def route_predictions(self, predict: Callable[[np.ndarray], np.ndarray]) -> None:
        """Answer through `predict` from now on (the dashboard's batcher, which calls this model's classifier)."""
        self._route = predict

    def test_proba(self) -> np.ndarray:
        return self.run.test_proba()


@dataclass
class LoadReport:
    """What loading found: the models that loaded, and why the others did not."""

    models: dict[str, LoadedModel]
    errors: dict[str, str]


def read_classifier(name: str, run: Run, serving: str) -> DigitClassifier:
    """The run's ONNX graph in ONNX Runtime when serving "onnx" and the run has one; else the model as trained."""
    if serving == "onnx" and (run.path / ONNX.filename).is_file():
        from pipelines.models.portable import OnnxClassifier  # ONNX Runtime only when a graph is served

        return OnnxClassifier.load(run.path, run.manifest.get("hyperparameters"))
    return model_class(name).load(run.path, run.manifest.get("hyperparameters"))


def load_model(name: str, store: ArtifactStore, serving: str | None = None, lazy: bool = False) -> LoadedModel:
    """The pinned run of one model, else its newest run whose checksums verify; raises ArtifactError naming the
    bad file. Served as `serving` says ("onnx" or "native"; default: MNIST_SERVING, else onnx); with `lazy`, the
    classifier is read on first use, not now."""
    serving = serving or config.serving_from_env()
    run, skipped = store.serving_run(name)
    warnings = [problem if problem.startswith("the pinned run") else f"a newer run was skipped: {problem}"
                for problem in skipped]
    trained_with = run.manifest.get("versions", {})
    for package, version in library_versions(name).items():  # ONNX graphs too: their feature steps are Python
        if package in trained_with and trained_with[package] != version:
            warnings.append(f"trained with {package} {trained_with[package]}, running {version}")
    for warning in warnings:
        logger.warning("%s: %s", name, warning)
    model = LoadedModel(name, run, run.metrics, warnings, serving)
    if not lazy:
        model.load()
    return model


def load_report(artifacts_dir: Path | str = config.ARTIFACTS_DIR, names: tuple[str, ...] = MODEL_NAMES,
                serving: str | None = None, lazy: bool = False) -> LoadReport:
    """Load every model that can be loaded; one broken model does not stop the others. With `lazy`, only the runs
    are read (and verified) now; their classifiers when first used."""
    store = ArtifactStore(artifacts_dir)
    models, errors = {}, {}
    for name in names:
        try:
            models[name] = load_model(name, store, serving, lazy)
        except ArtifactError as error:
            errors[name] = str(error)
            logger.error("%s: %s", name, error)
    return LoadReport(models, errors)


def load_models(artifacts_dir: Path | str = config.ARTIFACTS_DIR, serving: str | None = None
                ) -> dict[str, LoadedModel]:
    """{"svm": m, "rf": m, "cnn": m} for the models that load (errors are logged)."""
    return load_report(artifacts_dir, serving=serving).models
