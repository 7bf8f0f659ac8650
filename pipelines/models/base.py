"""The one interface every digit classifier serves.

Training, evaluation, the artifact store and the dashboard only ever talk to
`DigitClassifier`; a fourth model is one new module that subclasses it and
one line in `pipelines.store.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np

from pipelines.progress import Progress


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


class SklearnDigitClassifier(DigitClassifier):
    """The scikit-learn models: one estimator built from the params, stored with joblib."""

    filename: ClassVar[str] = "model.joblib"
    compression: ClassVar[int] = 3

    def __init__(self, params: Any, estimator: Any | None = None) -> None:
        super().__init__(params)
        self.estimator = estimator

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(np.asarray(images, dtype=np.float32).reshape(len(images), -1))

    def save(self, directory: Path) -> None:
        joblib.dump(self.estimator, Path(directory) / self.filename, compress=self.compression)

    @classmethod
    def load(cls, directory: Path, params: Any) -> SklearnDigitClassifier:
        return cls(params, joblib.load(Path(directory) / cls.filename))

