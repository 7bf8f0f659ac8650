"""The public front end, kept at this import path for outside callers: a drawing or photo in, MNIST-like 28×28 out.

The code lives in `pipelines.reading`; this module adds what needs the trained artifacts: `split_digits` lets the
piece counter say which pieces hold touching digits and the models judge where they are cut, as the dashboard does.
"""

from __future__ import annotations

import functools

import numpy as np

from pipelines.reading import segment
from pipelines.reading.canvas import FRONT_END, FrontEndConfig, canvas_to_mnist, ink_intensity, naive_resize
from pipelines.reading.segment import Counter, Judge

__all__ = ["FRONT_END", "FrontEndConfig", "canvas_to_mnist", "ink_intensity", "naive_resize", "split_digits"]


def split_digits(image: np.ndarray, judge: Judge | None = None, counter: Counter | None = None) -> list[np.ndarray]:
    """(H, W), (H, W, 3) or (H, W, 4) uint8, canvas or photo -> its digits as (28, 28) float32 in [0, 1], left to
    right; [] when nothing is written.

    A piece is cut when `counter` finds several digits in it, where `judge` is surest of both sides; with
    none given, the artifacts folder's piece counter and trained models (loaded once per process) do, and
    what is not trained is done without: the ink alone decides when nothing is.
    """
    return segment.split_digits(image, judge if judge is not None else served_models_judge(),
                                counter if counter is not None else served_piece_counter())


@functools.cache
def served_models_judge() -> Judge | None:
    """The soft vote of the models the dashboard serves, or None when none is trained."""
    from pipelines.evaluation.analysis import sureness_judge
    from pipelines.serving.settings import load_settings
    from pipelines.store.registry import load_models

    models = load_models(load_settings().artifacts_dir)
    return sureness_judge(models) if models else None


@functools.cache
def served_piece_counter() -> Counter | None:
    """The piece counter of the dashboard's artifacts folder, or None when none is trained."""
    from pipelines.serving.settings import load_settings
    from pipelines.store.pieces import load_piece_counter

    return load_piece_counter(load_settings().artifacts_dir)
