"""Per-image work spread over the cores in a pool of worker processes of our own.

The pool is joined when each call ends: joblib's reusable workers were left to the end of the process, and a
training child of `pipelines.benchmarks.bench` once hung there waiting for them.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def map_in_processes(function: Callable[..., Any], tasks: Sequence[tuple], workers: int) -> list[Any]:
    """`function(*task)` for every task, in order; here when one worker or one task would do."""
    workers = min(workers, len(tasks))
    if workers <= 1:
        return [function(*task) for task in tasks]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(function, *zip(*tasks)))
