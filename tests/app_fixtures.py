"""Shared helpers for the dashboard tests: a real `streamlit run` server, the browser, uploadable images."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.benchmarks.dashboard import CHROMIUM, CHROMIUM_ARGS  # noqa: F401 - the browser tests import them
from pipelines.serving.server import ROUTER, app_server, free_port  # noqa: F401 - other tests import ROUTER, free_port

PAGES = ("overview", "compare", "mistakes", "draw", "drawings", "robustness", "generalisation", "data", "experiments",
         "train")
APP_TIMEOUT_SECONDS = 180
"""AppTest's per-run limit: the first run loads TensorFlow and three models on a busy 2-core machine."""


MODELS_LOADING = "Loading the models in the background"


def rerun_until_models_loaded(app: object, timeout_seconds: float = APP_TIMEOUT_SECONDS) -> object:
    """Rerun the page, as its own loading notice does, until the models have loaded in the background."""
    deadline = time.monotonic() + timeout_seconds
    while any(MODELS_LOADING in caption.value for caption in app.sidebar.caption):
        assert time.monotonic() < deadline, "the models did not load"
        time.sleep(0.2)
        app.run()
    return app


@contextmanager
def streamlit_server(artifacts_dir: Path, log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free localhost port, reading `artifacts_dir`; yields its URL.

    A server that does not start raises `ServerError` with the tail of its log.
    """
    with app_server(artifacts_dir, log_path) as server:
        yield server.url


def png_bytes(image: np.ndarray) -> bytes:
    """An array saved as PNG, as a user's upload would arrive."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def paper_photo(digit: np.ndarray, side: int = 200) -> np.ndarray:
    """An MNIST digit as dark ink on light paper, enlarged: what a phone photo of a written digit resembles."""
    enlarged = np.asarray(Image.fromarray(digit).resize((side // 2, side // 2), Image.Resampling.BILINEAR))
    paper = np.full((side, side), 235, dtype=np.uint8)
    offset = side // 4
    ink = (enlarged.astype(np.float32) * 0.8).astype(np.uint8)
    paper[offset : offset + side // 2, offset : offset + side // 2] -= ink
    return paper


def number_photo(digits: list[np.ndarray], side: int = 200) -> np.ndarray:
    """MNIST digits side by side as dark ink on light paper: a photographed number."""
    return np.hstack([paper_photo(digit, side) for digit in digits])
