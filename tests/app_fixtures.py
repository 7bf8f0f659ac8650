"""Shared helpers for the dashboard tests: a real `streamlit run` server, the browser, uploadable images."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines import config
from pipelines.serving.settings import ARTIFACTS_ENV

APP = config.PROJECT_ROOT / "app.py"
PAGES = ("overview", "compare", "mistakes", "draw", "drawings", "robustness", "generalisation", "data", "experiments",
         "train")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
APP_TIMEOUT_SECONDS = 180
"""AppTest's per-run limit: the first run loads TensorFlow and three models on a busy 2-core machine."""
SERVER_START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(artifacts_dir: Path, log_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free localhost port, reading `artifacts_dir`; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=config.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, ARTIFACTS_ENV: str(artifacts_dir)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start: {log_path.read_text()[-2000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


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
