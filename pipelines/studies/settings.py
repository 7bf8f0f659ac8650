"""Every setting of a study, in one object: the grids, sizes, folds and how each fit is measured."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines import config

STUDIES_FOLDER = "studies"
"""Studies live in `<artifacts>/studies/<study_id>/`, beside the models' runs."""
CLUSTER_ENV = "DASK_SCHEDULER_ADDRESS"
"""When set (tcp://HOST:PORT), studies run on that Dask cluster unless `--cluster` names another."""


@dataclass(frozen=True)
class StudySettings:
    """Defaults of `python -m pipelines.study`; the command line overrides the sizes, seeds and grid."""

    profile: str = config.DEFAULT_PROFILE  # the hyperparameters every fit starts from
    varied_copies: int = 0  # studies measure the models on the digits alone: copies would double each fit
    learning_curve_sizes: tuple[int, ...] = (500, 1_000, 2_000, 5_000, 10_000)
    seeds: tuple[int, ...] = (0, 1)  # each picks another stratified training subset of every size
    sweep_size: int = 5_000  # training images the sweep cross-validates on
    sweep_folds: int = 3
    sweep_grids: dict[str, dict[str, tuple]] = field(default_factory=lambda: {
        "svm": {"C": (1.0, 3.0, 10.0, 30.0), "gamma": (0.01, 0.02, 0.04, 0.08)},
        "rf": {"n_estimators": (10, 30, 60, 100, 200)},
        "cnn": {"epochs": (1, 2, 3, 5)},
    })
    random_search_iterations: int = 8
    min_size: int = 200  # the CNN holds out 5 % for validation, which needs a few images of every digit
    min_cnn_steps: int = 150  # optimiser steps a CNN fit makes at least, its epochs raised on small subsets
    latency_calls: int = 50  # one-image predictions timed per fit (the training runs time 200)
    threads_per_fit: int = 1  # BLAS, TensorFlow and the forest's trees: N workers then really use N cores
    cluster_timeout_seconds: float = 30.0
    seed: int = config.SEED  # the sweep's subset and folds


STUDY_SETTINGS = StudySettings()
