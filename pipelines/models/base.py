"""The one interface every digit classifier serves.

Training, evaluation, the artifact store and the dashboard only ever talk to
`DigitClassifier`; a fourth model is one new module that subclasses it and
one line in `pipelines.store.registry`.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np

from pipelines.config import IMAGE_SIDE, ONNX
from pipelines.progress import Progress

READS_IMAGES = "image"
"""What an ONNX graph reads when it takes the (n, 28, 28) images as they are, with no feature step before it."""


@dataclass(frozen=True)
class OnnxGraph:
    """A fitted model as an ONNX graph, and what it reads: the images, or a feature step of
    `pipelines.models.features` named with its arguments, run in Python before the graph."""

    model: Any  # onnx.ModelProto
    reads: str = READS_IMAGES
    reader_arguments: dict[str, Any] = field(default_factory=dict)


class DigitClassifier(ABC):
    """A model that maps (n, 28, 28) float32 images in [0, 1] to (n, 10) class probabilities."""

    name: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, params: Any) -> None:
        self.params = params

    @abstractmethod
    def fit(self, images: np.ndarray, labels: np.ndarray, progress: Progress) -> None:
        """Train on (n, 28, 28) float32 images in [0, 1] and integer labels 0-9."""

    @abstractmethod
    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) probabilities, rows summing to 1."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the model's file(s) into `directory`."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, params: Any) -> DigitClassifier:
        """Read a model written by `save`."""

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.predict_proba(images).argmax(axis=1)

    engine: ClassVar[str] = "its training library"
    """What computes the answers, as the dashboard names it."""

    exports_onnx: ClassVar[bool] = True
    """Whether training exports this model to ONNX for serving (`pipelines.models.portable`)."""

    def to_onnx(self) -> OnnxGraph:
        """The fitted model as an ONNX graph, which the dashboard serves without the training library."""
        raise NotImplementedError(f"the {self.name} model has no ONNX export")


class SklearnDigitClassifier(DigitClassifier):
    """The scikit-learn models: one estimator built from the params, stored with joblib."""

    filename: ClassVar[str] = "model.joblib"
    compression: ClassVar[int] = 3

    def __init__(self, params: Any, estimator: Any | None = None) -> None:
        super().__init__(params)
        self.estimator = estimator

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(self.as_rows(images))

    @staticmethod
    def as_rows(images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) images -> (n, 784) float32 rows, as the scikit-learn pipelines read them."""
        return np.asarray(images, dtype=np.float32).reshape(len(images), -1)

    def save(self, directory: Path) -> None:
        joblib.dump(self.estimator, Path(directory) / self.filename, compress=self.compression)

    @classmethod
    def load(cls, directory: Path, params: Any) -> SklearnDigitClassifier:
        return cls(params, joblib.load(Path(directory) / cls.filename))

    def to_onnx(self) -> OnnxGraph:
        """Everything after the feature step as an ONNX graph. The feature step (deskewing, gradient histograms) is
        Python that ONNX cannot express, so the served model runs that same function before the graph."""
        from skl2onnx import to_onnx  # only at training time: the dashboard never imports the converters

        head, reader = split_feature_step(self.estimator)
        arguments = dict(reader.kw_args or {})
        sample = reader.func(np.zeros((1, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32), **arguments)
        graph = to_onnx(head, sample.astype(np.float32), options={"zipmap": False}, target_opset=ONNX.opset)
        return OnnxGraph(graph, reader.func.__name__, arguments)


def split_feature_step(estimator: Any) -> tuple[Any, Any]:
    """A fitted pipeline (or calibrated pipelines) without its first step, and that step.

    The calibrated classifiers are shallow copies whose estimators are slices of the fitted pipelines, so no
    fitted part is refitted or copied in memory.
    """
    if hasattr(estimator, "calibrated_classifiers_"):
        head = copy.copy(estimator)
        head.calibrated_classifiers_ = []
        for calibrated in estimator.calibrated_classifiers_:
            without_reader = copy.copy(calibrated)
            without_reader.estimator = calibrated.estimator[1:]
            head.calibrated_classifiers_.append(without_reader)
        return head, estimator.calibrated_classifiers_[0].estimator[0]
    return estimator[1:], estimator[0]

