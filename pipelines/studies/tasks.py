"""One fit of a study: what it trains on, with which hyperparameters, and how it is measured.

A task is a small frozen value (model, hyperparameter overrides, training size, seed, fold); the data travel
separately, once per worker. Everything random in a fit follows from the task, and each fit runs with the same
thread limits wherever it runs, so a laptop and a cluster give the same numbers for the same task.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import joblib
import numpy as np
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from pipelines import config
from pipelines.data.sources import MnistData
from pipelines.evaluation.evaluate import quality_metrics, single_image_latency_ms
from pipelines.progress import Progress
from pipelines.store.artifacts import now_iso
from pipelines.store.registry import model_class
from pipelines.studies.settings import StudySettings

StudyKind = Literal["learning-curve", "sweep"]
STUDY_KINDS: tuple[StudyKind, ...] = ("learning-curve", "sweep")


@dataclass(frozen=True)
class FitTask:
    """One model fitted once: on `size` training images picked by `seed`, scored on the test set, or on
    fold `fold` of a cross-validation over the training subset."""

    model: str
    size: int
    seed: int
    overrides: tuple[tuple[str, Any], ...] = ()  # hyperparameters that differ from the profile's
    fold: int | None = None
    folds: int | None = None

    @property
    def key(self) -> str:
        """Unique within a study; how finished fits are matched to the plan."""
        swept = ",".join(f"{name}={value}" for name, value in self.overrides)
        fold = f"/fold{self.fold}" if self.fold is not None else ""
        return f"{self.model}/n{self.size}/seed{self.seed}/{swept}{fold}"


def hyperparameters(task: FitTask, settings: StudySettings, n_train: int) -> Any:
    """The model's params: the profile's, without varied copies, with the task's overrides.

    A CNN fitted on few images gets more epochs, for at least `settings.min_cnn_steps` optimiser steps: with the
    profile's epochs alone, 500 images make 12 steps and a near-chance network, which says nothing about how
    much the data teach it. A sweep that sets the epochs itself keeps them.
    """
    base = config.PROFILES[settings.profile].params_for(task.model)
    overrides = dict(task.overrides)
    params = dataclasses.replace(base, varied_copies=settings.varied_copies, **overrides)
    if isinstance(params, config.CnnParams) and "epochs" not in overrides:
        fitted_on = n_train - math.ceil(n_train * params.validation_fraction)
        steps_per_epoch = math.ceil(fitted_on / params.batch_size)
        params = dataclasses.replace(params, epochs=max(params.epochs,
                                                        math.ceil(settings.min_cnn_steps / steps_per_epoch)))
    return params


COST_PER_IMAGE_PASS = {"cnn": 2.0, "svm": 1.0, "rf": 0.6}
"""What one pass over one training image costs, relatively (a CNN epoch; the whole fit of the others), as the
study's fits timed it on one core."""


def fit_cost(task: FitTask, settings: StudySettings) -> float:
    """A rough relative cost, to start the longest fits first and so have the workers finish together."""
    passes = getattr(hyperparameters(task, settings, task.size), "epochs", 1)
    return task.size * passes * COST_PER_IMAGE_PASS.get(task.model, 1.0)


def training_and_scoring_sets(task: FitTask, data: MnistData
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """(train images, train labels, scoring images, scoring labels, what the score is measured on)."""
    subset = data.limit_train(task.size, seed=task.seed)
    if task.fold is None:
        return subset.train_images, subset.train_labels, data.test_images, data.test_labels, "test set"
    folds = StratifiedKFold(task.folds, shuffle=True, random_state=task.seed)
    train_rows, held_out = list(folds.split(subset.train_images, subset.train_labels))[task.fold]
    return (subset.train_images[train_rows], subset.train_labels[train_rows], subset.train_images[held_out],
            subset.train_labels[held_out], f"fold {task.fold + 1} of {task.folds} of the training subset")


def run_fit(task: FitTask, data: MnistData, settings: StudySettings) -> dict[str, Any]:
    """Fit and score one task; a failure is returned as a record, never raised, so the others go on."""
    record: dict[str, Any] = {"key": task.key, "model": task.model, "size": task.size, "seed": task.seed,
                              "fold": task.fold, "params": dict(task.overrides),
                              "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        record.update(_fit_and_score(task, data, settings))
        record["status"] = "ok"
    except Exception as error:  # any failure of one fit is data for the study, not the end of it
        record.update(status="failed", error=f"{type(error).__name__}: {error}")
    record["finished_at"] = now_iso()
    return record


def _fit_and_score(task: FitTask, data: MnistData, settings: StudySettings) -> dict[str, Any]:
    train_x, train_y, score_x, score_y, scored_on = training_and_scoring_sets(task, data)
    params = hyperparameters(task, settings, len(train_y))
    train_x = train_x.astype(np.float32) / 255.0
    score_x = score_x.astype(np.float32) / 255.0
    with limited_threads(settings.threads_per_fit):
        if task.model == "cnn":
            deterministic_tensorflow(settings.threads_per_fit)
        classifier = model_class(task.model)(params)
        clock = time.perf_counter()
        classifier.fit(train_x, train_y, Progress(task.model, show_bar=False))
        train_seconds = time.perf_counter() - clock
        probabilities = classifier.predict_proba(score_x)
        latency = single_image_latency_ms(classifier, score_x, settings.latency_calls)
    quality = quality_metrics(probabilities, score_y)
    return {
        "accuracy": quality["accuracy"], "macro_f1": quality["macro_f1"], "log_loss": quality["log_loss"],
        "train_seconds": train_seconds, "latency_ms": latency["median"], "n_train": int(len(train_y)),
        "n_scored": int(len(score_y)), "scored_on": scored_on, "hyperparameters": dataclasses.asdict(params),
        "predictions_sha256": hashlib.sha256(probabilities.argmax(axis=1).astype(np.uint8).tobytes()).hexdigest(),
    }


@contextlib.contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """BLAS/OpenMP pools limited to `threads`, and with one thread joblib's inner parallelism (the forest's
    trees) made sequential: so N workers really use N cores."""
    inner = joblib.parallel_config(backend="sequential") if threads == 1 else contextlib.nullcontext()
    with threadpool_limits(threads), inner:
        yield


def deterministic_tensorflow(threads: int) -> None:
    """Same seeds, same numbers: op determinism and fixed thread pools, set before TensorFlow's first op here.

    The pools can only be sized before TensorFlow starts in a process; a worker's first CNN fit sizes them
    and later fits find them so.
    """
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # already started in this process, with the pools an earlier fit set
    tf.config.experimental.enable_op_determinism()
    keras.backend.clear_session()  # no layer names or seed state carried over from an earlier fit


def plan_learning_curve(models: list[str], sizes: list[int], seeds: list[int]) -> list[FitTask]:
    """Every model at every size with every seed."""
    return [FitTask(model, size, seed) for model in models for size in sizes for seed in seeds]


def plan_sweep(model: str, grid: list[dict[str, Any]], size: int, folds: int, seed: int) -> list[FitTask]:
    """Every hyperparameter combination on every fold of one training subset."""
    return [FitTask(model, size, seed, tuple(sorted(combination.items())), fold, folds)
            for combination in grid for fold in range(folds)]
