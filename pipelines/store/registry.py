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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import config
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


@dataclass
class LoadedModel:
    """A trained model as the dashboard sees it: the classifier, its run, its metrics."""

    name: str
    classifier: DigitClassifier
    run: Run
    metrics: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.classifier.title

    @property
    def manifest(self) -> dict[str, Any]:
        return self.run.manifest

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) float32 images in [0, 1] -> (n, 10) probabilities."""
        return self.classifier.predict_proba(images)

    def test_proba(self) -> np.ndarray:
        return self.run.test_proba()


@dataclass
class LoadReport:
    """What loading found: the models that loaded, and why the others did not."""

    models: dict[str, LoadedModel]
    errors: dict[str, str]


def load_model(name: str, store: ArtifactStore) -> LoadedModel:
    """The pinned run of one model, else its newest run whose checksums verify; raises ArtifactError naming the
    bad file."""
    run, skipped = store.serving_run(name)
    warnings = [problem if problem.startswith("the pinned run") else f"a newer run was skipped: {problem}"
                for problem in skipped]
    trained_with = run.manifest.get("versions", {})
    for package, version in library_versions(name).items():
        if package in trained_with and trained_with[package] != version:
            warnings.append(f"trained with {package} {trained_with[package]}, running {version}")
    try:
        classifier = model_class(name).load(run.path, run.manifest.get("hyperparameters"))
    except Exception as error:  # a corrupt file fails inside joblib or keras with any exception type
        raise ArtifactError(f"{run.path}: the {name} model cannot be loaded ({type(error).__name__}: {error})") from error
    for warning in warnings:
        logger.warning("%s: %s", name, warning)
    return LoadedModel(name, classifier, run, run.metrics, warnings)


def load_report(artifacts_dir: Path | str = config.ARTIFACTS_DIR, names: tuple[str, ...] = MODEL_NAMES) -> LoadReport:
    """Load every model that can be loaded; one broken model does not stop the others."""
    store = ArtifactStore(artifacts_dir)
    models, errors = {}, {}
    for name in names:
        try:
            models[name] = load_model(name, store)
        except ArtifactError as error:
            errors[name] = str(error)
            logger.error("%s: %s", name, error)
    return LoadReport(models, errors)


def load_models(artifacts_dir: Path | str = config.ARTIFACTS_DIR) -> dict[str, LoadedModel]:
    """{"svm": m, "rf": m, "cnn": m} for the models that load (errors are logged)."""
    return load_report(artifacts_dir).models
