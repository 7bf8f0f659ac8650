"""Where the fits run: local worker processes through joblib, or a Dask cluster through joblib's Dask backend.

Both paths hand the same `run_fit` the same tasks, one task per fit, and yield each result as soon as it is
done. The data go to each worker once: a local process receives them when it starts; on a cluster they are
scattered to every worker before the first task, and each task refers to them.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

import joblib
from joblib.externals.loky import ProcessPoolExecutor

from pipelines.data.sources import MnistData
from pipelines.studies.settings import CLUSTER_ENV, StudySettings
from pipelines.studies.tasks import FitTask, fit_cost, run_fit

logger = logging.getLogger(__name__)

TASKS_MODULE = run_fit.__module__
QUEUED_PER_WORKER = 2
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS")


class ClusterError(RuntimeError):
    """The Dask scheduler could not be reached; the message says where it was looked for."""


def cluster_address(named: str | None) -> str | None:
    """The scheduler named on the command line, else in DASK_SCHEDULER_ADDRESS, else None (run locally)."""
    address = (named or os.environ.get(CLUSTER_ENV, "")).strip()
    return address or None


def run_fits(tasks: Iterable[FitTask], data: MnistData, settings: StudySettings, workers: int,
             cluster: str | None = None) -> Iterator[dict[str, Any]]:
    """Run every task, longest first, and yield each fit's record as it finishes (in any order)."""
    ordered = sorted(tasks, key=lambda task: fit_cost(task, settings), reverse=True)
    if cluster is None:
        yield from _run_locally(ordered, data, settings, workers)
    else:
        yield from _run_on_cluster(ordered, data, settings, cluster)


_worker_data: MnistData | None = None
"""The study's data inside a local worker process, installed once when the process starts."""


def _install_data(data: MnistData) -> None:
    global _worker_data
    _worker_data = data


def _run_fit_on_installed_data(task: FitTask, settings: StudySettings) -> dict[str, Any]:
    return run_fit(task, _worker_data, settings)


def _run_locally(tasks: list[FitTask], data: MnistData, settings: StudySettings, workers: int
                 ) -> Iterator[dict[str, Any]]:
    """`workers` fresh processes (joblib's loky executor), even for one, so every fit runs in a worker set up
    the same way; each receives the data once, when it starts."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, not {workers}")
    threads = str(settings.threads_per_fit)
    executor = ProcessPoolExecutor(workers, initializer=_install_data, initargs=(data,),
                                   env={name: threads for name in THREAD_VARIABLES})
    waiting = iter(tasks)
    running: set[Future] = set()
    try:
        while True:
            # a few fits queued per worker, not all: an interrupt then has little to unwind
            for task in itertools.islice(waiting, QUEUED_PER_WORKER * workers - len(running)):
                running.add(executor.submit(_run_fit_on_installed_data, task, settings))
            if not running:
                return
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:  # Ctrl-C or a closed generator: running fits are stopped, the others dropped (the executor's job)
        executor.shutdown(wait=True, kill_workers=True)


def check_cluster_imports(client: Any, address: str) -> None:
    """The scheduler unpickles the tasks and the workers run them: both must import this project's code.

    Without this check a scheduler that cannot leaves the study waiting for ever.
    """
    try:
        client.run_on_scheduler(importlib.util.find_spec, TASKS_MODULE)
        client.run(importlib.util.find_spec, TASKS_MODULE)
    except Exception as error:  # the remote ModuleNotFoundError, or whatever broke in getting it
        raise ClusterError(f"the Dask scheduler or a worker at {address} cannot import {TASKS_MODULE} "
                           f"({type(error).__name__}: {error}); start `dask scheduler` and `dask worker` from a "
                           "checkout of this project with PYTHONPATH=. (README: Studies)") from error


def _run_on_cluster(tasks: list[FitTask], data: MnistData, settings: StudySettings, address: str
                    ) -> Iterator[dict[str, Any]]:
    from distributed import Client

    try:
        client = Client(address, timeout=settings.cluster_timeout_seconds)
    except OSError as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({error}); start one with "
                           "`dask scheduler` and some workers with `dask worker ADDRESS`, or run without "
                           f"--cluster and {CLUSTER_ENV} to use local processes") from error
    with client:
        check_cluster_imports(client, address)
        workers = len(client.scheduler_info().get("workers", {}))
        logger.info("Dask cluster at %s: %d workers, dashboard %s", address, workers, client.dashboard_link)
        with joblib.parallel_config(backend="dask", scatter=[data]):
            parallel = joblib.Parallel(n_jobs=-1, batch_size=1, return_as="generator_unordered")
            yield from parallel(joblib.delayed(run_fit)(task, data, settings) for task in tasks)
