"""Many processes recording drawings into one store at once: what the tests check and the benchmark times.

Each writer process opens its own `FeedbackStore` (so a fresh database sees
several processes create its schema at the same moment), waits at a barrier,
then records its drawings as fast as it can, timing each one.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.config import IMAGE_SIDE, N_CLASSES, SEED

WRITER_MODELS = ("svm", "rf", "cnn")


@dataclass(frozen=True)
class WriteReport:
    """Every id the writers got back and every record's time in milliseconds."""

    ids: list[int]
    milliseconds: np.ndarray
    wall_seconds: float


def synthetic_record(rng: np.random.Generator) -> tuple[np.ndarray, int, dict[str, int], dict[str, np.ndarray]]:
    """A random image, label and answers of the shape the Draw page records."""
    probabilities = {model: rng.dirichlet(np.ones(N_CLASSES)).astype(np.float32) for model in WRITER_MODELS}
    predictions = {model: int(p.argmax()) for model, p in probabilities.items()}
    return (rng.random((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32), int(rng.integers(N_CLASSES)), predictions,
            probabilities)


def _write(url: str, count: int, seed: int, barrier: Any) -> tuple[list[int], list[float]]:
    from pipelines.feedback.store import FeedbackStore

    store = FeedbackStore(url)
    rng = np.random.default_rng(seed)
    records = [synthetic_record(rng) for _ in range(count)]
    barrier.wait()
    ids, times = [], []
    for pixels, label, predictions, probabilities in records:
        started = time.perf_counter()
        ids.append(store.record(pixels, label, predictions, probabilities=probabilities, source="canvas",
                                mode="digit", session_id=f"writer-{seed}"))
        times.append((time.perf_counter() - started) * 1000)
    store.close()
    return ids, times


def concurrent_writes(url: str, processes: int, records_each: int) -> WriteReport:
    """`processes` writer processes, each recording `records_each` drawings into `url` at the same time."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(processes)
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            started = time.perf_counter()
            futures = [pool.submit(_write, url, records_each, SEED + index, barrier) for index in range(processes)]
            results = [future.result() for future in futures]
            wall = time.perf_counter() - started
    return WriteReport([i for ids, _ in results for i in ids],
                       np.array([t for _, times in results for t in times]), wall)
