"""The real dashboard, as the browser journey and the dashboard benchmarks drive it: `streamlit run app.py` on a
free loopback port, headless Debian Chromium, and mouse strokes on the canvas.

Shared by tests/ and the benchmark commands so that what is measured is exactly what is tested.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines import config
from pipelines.serving.settings import ARTIFACTS_ENV
from pipelines.store.registry import MODEL_NAMES

APP = config.PROJECT_ROOT / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SERVER_START_SECONDS = 90
STEPS_PER_SEGMENT = 6
STROKES: list[list[list[tuple[float, float]]]] = [
    [[(0.5, 0.15), (0.5, 0.85)]],                                              # 1
    [[(0.25, 0.2), (0.75, 0.2), (0.4, 0.85)]],                                 # 7
    [[(0.5, 0.15), (0.72, 0.3), (0.72, 0.7), (0.5, 0.85), (0.28, 0.7), (0.28, 0.3), (0.5, 0.15)]],  # 0
    [[(0.3, 0.25), (0.5, 0.15), (0.7, 0.25), (0.65, 0.45), (0.3, 0.85), (0.75, 0.85)]],  # 2
    [[(0.6, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.4), (0.6, 0.85)]],      # 4
    [[(0.3, 0.2), (0.7, 0.2), (0.5, 0.45), (0.7, 0.65), (0.5, 0.85), (0.3, 0.75)]],  # 3
]
"""Digits as mouse strokes, in fractions of the canvas: 1, 7, 0, 2, 4, 3."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DashboardServer:
    """A running `streamlit run app.py`: its URL and its process, whose CPU and memory a benchmark reads."""

    def __init__(self, process: subprocess.Popen, url: str, started: float) -> None:
        self.process, self.url, self.started = process, url, started


@contextmanager
def dashboard_server(artifacts_dir: Path, log_path: Path, env: dict[str, str] | None = None
                     ) -> Iterator[DashboardServer]:
    """`streamlit run app.py` on a free loopback port reading `artifacts_dir`, once its health check answers."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=config.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {}), ARTIFACTS_ENV: str(artifacts_dir)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start: {Path(log_path).read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield DashboardServer(process, url, started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def streamlit_server(artifacts_dir: Path, log_path: Path) -> Iterator[str]:
    """The dashboard's URL only, for tests that need nothing else of the server."""
    with dashboard_server(artifacts_dir, log_path) as server:
        yield server.url


def draw(page: Any, strokes: list[list[tuple[float, float]]]) -> None:
    """Mouse strokes on the canvas, in fractions of its size; returns after the last mouse-up."""
    canvas = page.locator("canvas.upper-canvas").first
    box = canvas.bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=STEPS_PER_SEGMENT)
        page.mouse.up()


def wait_for_predictions(page: Any, timeout_seconds: float) -> None:
    """Until every model's digit, confidence and probability chart are drawn."""
    complete = " && ".join(
        f"!!document.querySelector('.st-key-prediction-canvas-{name} [data-testid=stMetricDelta]')"
        f" && !!document.querySelector('.st-key-prediction-canvas-{name} .probability-bars')"
        for name in MODEL_NAMES)
    page.wait_for_function(complete, timeout=timeout_seconds * 1000, polling="raf")
