"""Measure a trained model on the test set: quality, calibration and speed.

Quality metrics come from `sklearn.metrics`; only the expected calibration
error, which scikit-learn does not provide, is computed here.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn import metrics as sk_metrics

from pipelines.config import N_CLASSES
from pipelines.models.base import DigitClassifier

CALIBRATION_BINS = 15
LATENCY_CALLS = 200
LATENCY_WARMUP_CALLS = 5
THROUGHPUT_BATCH = 1000


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = CALIBRATION_BINS) -> list[dict[str, float]]:
    """Per confidence bin: how many predictions, their mean confidence and their accuracy."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    bins = []
    for index in range(n_bins):
        members = which == index
        count = int(members.sum())
        bins.append({
            "lower": float(edges[index]), "upper": float(edges[index + 1]), "count": count,
            "confidence": float(confidence[members].mean()) if count else float("nan"),
            "accuracy": float(correct[members].mean()) if count else float("nan"),
        })
    return bins


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = CALIBRATION_BINS) -> float:
    """Mean gap between confidence and accuracy over confidence bins, weighted by bin size."""
    total = len(labels)
    return float(sum(b["count"] / total * abs(b["accuracy"] - b["confidence"])
                     for b in reliability_bins(probabilities, labels, n_bins) if b["count"]))


def quality_metrics(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro and per-class precision/recall/F1, confusion matrix, log loss, calibration."""
    predictions = probabilities.argmax(axis=1)
    classes = list(range(N_CLASSES))
    precision, recall, f1, support = sk_metrics.precision_recall_fscore_support(
        labels, predictions, labels=classes, zero_division=0)
    return {
        "accuracy": float(sk_metrics.accuracy_score(labels, predictions)),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "per_class": {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(),
                      "support": support.tolist()},
        "confusion_matrix": sk_metrics.confusion_matrix(labels, predictions, labels=classes).tolist(),
        "log_loss": float(sk_metrics.log_loss(labels, np.clip(probabilities, 1e-15, 1.0), labels=classes)),
        "ece": expected_calibration_error(probabilities, labels),
        "reliability": reliability_bins(probabilities, labels),
    }


def batch_probabilities(model: DigitClassifier, images: np.ndarray) -> tuple[np.ndarray, float]:
    """Probabilities for every image, and images per second in batches of THROUGHPUT_BATCH."""
    started = time.perf_counter()
    probabilities = np.concatenate([model.predict_proba(images[start : start + THROUGHPUT_BATCH])
                                    for start in range(0, len(images), THROUGHPUT_BATCH)])
    return probabilities, len(images) / (time.perf_counter() - started)


def single_image_latency_ms(model: DigitClassifier, images: np.ndarray, calls: int = LATENCY_CALLS) -> dict[str, float]:
    """Median and 95th percentile of one-image `predict_proba` calls, after a warm-up."""
    for index in range(LATENCY_WARMUP_CALLS):
        model.predict_proba(images[index : index + 1])
    timings = []
    for index in range(min(calls, len(images))):
        started = time.perf_counter()
        model.predict_proba(images[index : index + 1])
        timings.append((time.perf_counter() - started) * 1000)
    return {"median": float(np.median(timings)), "p95": float(np.percentile(timings, 95))}


def evaluate(model: DigitClassifier, images: np.ndarray, labels: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """All metrics of one model on the test set, and its (n, 10) test probabilities."""
    probabilities, throughput = batch_probabilities(model, images)
    report = quality_metrics(probabilities, labels)
    report["throughput_per_second"] = float(throughput)
    report["latency_ms"] = single_image_latency_ms(model, images)
    report["n_test"] = int(len(labels))
    return report, probabilities.astype(np.float32)
