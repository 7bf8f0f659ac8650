"""Models served through ONNX Runtime: exported at training time, checked against the originals, loaded without
TensorFlow.

A run's `model.onnx` carries what it needs to be served in its metadata: the model's name and title, and what the
graph reads (the images, or the feature step of `pipelines.models.features` the model was trained with). Export
writes the graph only when it gives the original's digit on nearly every test image and the same probabilities
to within `ONNX.max_probability_gap`; otherwise the run is served by the library it was trained with.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from pipelines.config import IMAGE_SIDE, ONNX
from pipelines.models.base import READS_IMAGES, DigitClassifier
from pipelines.models.features import feature_reader
from pipelines.progress import Progress

logger = logging.getLogger(__name__)

READS_KEY, ARGUMENTS_KEY, NAME_KEY, TITLE_KEY = "reads", "reader_arguments", "model", "title"


class OnnxClassifier(DigitClassifier):
    """A trained model's graph in ONNX Runtime, with the Python feature step it reads through (if any)."""

    name = "onnx"
    title = "ONNX graph"
    engine = "ONNX Runtime"

    def __init__(self, params: Any, payload: bytes) -> None:
        super().__init__(params)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = ONNX.threads_per_call
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(payload, options, providers=["CPUExecutionProvider"])
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.name = metadata.get(NAME_KEY, self.name)
        self.title = metadata.get(TITLE_KEY, self.title)
        reads = metadata.get(READS_KEY, READS_IMAGES)
        self._read = (None if reads == READS_IMAGES
                      else feature_reader(reads, json.loads(metadata.get(ARGUMENTS_KEY, "{}"))))
        self._input = self.session.get_inputs()[0].name
        self._output = next(i for i, output in enumerate(self.session.get_outputs())
                            if output.type == "tensor(float)" and len(output.shape) == 2)

    def fit(self, images: np.ndarray, labels: np.ndarray, progress: Progress) -> None:
        raise NotImplementedError("an ONNX graph is exported from a trained model, not trained itself")

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        batch = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
        inputs = batch if self._read is None else self._read(batch)
        probabilities = self.session.run(None, {self._input: np.asarray(inputs, dtype=np.float32)})[self._output]
        probabilities = np.asarray(probabilities, dtype=np.float64)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        raise NotImplementedError("the graph is written by export_onnx, next to the model it came from")

    @classmethod
    def load(cls, directory: Path, params: Any) -> OnnxClassifier:
        return cls(params, (Path(directory) / ONNX.filename).read_bytes())


@dataclass(frozen=True)
class OnnxCheck:
    """How the exported graph compared with the original on the test set, and whether it is served."""

    served: bool
    same_label: float | None = None
    max_probability_gap: float | None = None
    onnx_bytes: int | None = None
    export_seconds: float | None = None
    reason: str | None = None


def export_for_serving(classifier: DigitClassifier, directory: Path, images: np.ndarray,
                       original_probabilities: np.ndarray) -> OnnxCheck:
    """`export_onnx` for the models whose class is served through ONNX Runtime; the others are reported as such."""
    if not classifier.exports_onnx:
        return OnnxCheck(False, reason=f"the {classifier.name} model is served by the library it was trained with")
    return export_onnx(classifier, directory, images, original_probabilities)


def export_onnx(classifier: DigitClassifier, directory: Path, images: np.ndarray,
                original_probabilities: np.ndarray) -> OnnxCheck:
    """Write `model.onnx` into a run's staging folder if the graph agrees with the original on `images`.

    An export that fails or disagrees is reported, not raised: the model is then served by the library it was
    trained with.
    """
    started = time.perf_counter()
    try:
        graph = classifier.to_onnx()
    except Exception as error:  # converters raise anything on an unsupported layer or estimator
        logger.warning("%s: ONNX export failed, so it is served natively: %s", classifier.name, error)
        return OnnxCheck(False, reason=f"export failed ({type(error).__name__}: {error})")
    metadata = {NAME_KEY: classifier.name, TITLE_KEY: classifier.title, READS_KEY: graph.reads,
                ARGUMENTS_KEY: json.dumps(graph.reader_arguments)}
    for key, value in metadata.items():
        entry = graph.model.metadata_props.add()
        entry.key, entry.value = key, value
    payload = graph.model.SerializeToString()
    served = OnnxClassifier(classifier.params, payload).predict_proba(images)
    same_label = float((served.argmax(axis=1) == original_probabilities.argmax(axis=1)).mean())
    gap = float(np.abs(served - original_probabilities).max())
    check = OnnxCheck(same_label >= ONNX.min_same_label and gap <= ONNX.max_probability_gap, same_label, gap,
                      len(payload), time.perf_counter() - started)
    if check.served:
        (Path(directory) / ONNX.filename).write_bytes(payload)  # a staging folder: the run appears whole or not
    else:
        check = replace(check, reason=f"the graph disagrees with the model: same digit on {same_label:.3%}, "
                                      f"probabilities up to {gap:.2g} apart")
        logger.warning("%s: %s; served natively", classifier.name, check.reason)
    return check
