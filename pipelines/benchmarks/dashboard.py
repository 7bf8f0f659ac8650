"""The real dashboard as the browser journey and the browser benchmarks drive it: headless Debian Chromium and mouse
strokes on the canvas (the server itself: `pipelines.serving.server`).

Shared by tests/ and the benchmark commands so that what is measured is exactly what is tested.
"""

from __future__ import annotations

from typing import Any

from pipelines.store.registry import MODEL_NAMES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
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
