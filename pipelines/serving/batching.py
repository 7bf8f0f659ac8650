"""Every session's images for one model answered by one thread, in batches.

With many people drawing at once, each Streamlit session runs its script in a thread of its own. The forest's
`predict_proba` walks its 100 trees in Python, taking and releasing the GIL at every tree; twenty threads doing
that at once convoy on the GIL and the server's throughput collapsed (20 simulated sessions: 22 of 600 drawings
answered, BENCHMARKS.md "Load test"). Here the sessions only queue their images and wait, without the GIL, while
one thread per model answers whatever has queued up in a single call: the per-call overhead is paid once per
batch, and the model's Python runs in one thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from pipelines.config import IMAGE_SIDE

logger = logging.getLogger(__name__)

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BatchSettings:
    """How many images one call may take (a number mode's occlusion maps send about a hundred at once)."""

    max_images: int = 512


BATCHES = BatchSettings()


class Batcher:
    """`predict` queues (n, 28, 28) images and returns their (n, 10) probabilities once the model's thread has
    answered them, together with whatever else was waiting."""

    def __init__(self, predict: Predict, name: str, settings: BatchSettings = BATCHES) -> None:
        self._predict = predict
        self._settings = settings
        self._queue: queue.SimpleQueue[tuple[np.ndarray, Future]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    def predict(self, images: np.ndarray) -> np.ndarray:
        answer: Future = Future()
        self._queue.put((np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIDE, IMAGE_SIDE), answer))
        return answer.result()

    def _serve(self) -> None:
        while True:
            waiting = [self._queue.get()]
            count = len(waiting[0][0])
            while count < self._settings.max_images:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                count += len(waiting[-1][0])
            self._answer(waiting)

    def _answer(self, waiting: list[tuple[np.ndarray, Future]]) -> None:
        """One call for all the waiting images; an error goes to each caller, and the thread serves on."""
        try:
            probabilities = self._predict(np.concatenate([images for images, _ in waiting]))
        except Exception as error:  # the model's own error, for the session that asked to show
            for _, answer in waiting:
                answer.set_exception(error)
            return
        start = 0
        for images, answer in waiting:
            answer.set_result(probabilities[start : start + len(images)])
            start += len(images)
