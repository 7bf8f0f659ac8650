"""The drawings the simulated tabs send: real MNIST test digits drawn as pen strokes, encoded as the canvas sends them.

On mouse-up, streamlit-drawable-canvas 0.13 (a Streamlit v2 component) calls `setStateValue("drawing", {raw,
data})`: `raw` is fabric.js's `canvas.toObject()` (one `Path` per stroke, as its PencilBrush builds them: a move,
a quadratic curve through each mouse position, a line to the last), `data` the whole canvas as a PNG data URL
(`return_image_data=True`). The frontend then sends the component's whole state as JSON. So the bytes here are
a browser's: the same strokes in both forms, PNG-encoded, in compact JSON.

The strokes are `pipelines.evaluation.drawn`'s skeletons of MNIST test digits, with its random size, position,
rotation and slant, drawn with the page's own pen width on a canvas of the page's own size.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from pipelines.benchmarks.load.draw_page import CANVAS_STATE_KEY, CanvasSpec
from pipelines.benchmarks.load.settings import BROWSER, BrowserSettings
from pipelines.evaluation.drawn import (
    DRAWN,
    balanced_sources,
    digit_strokes,
    place_strokes,
    render_strokes,
    sample_style,
)
from pipelines.feedback.records import image_digest
from pipelines.reading.inputs import read_drawing

FABRIC_VERSION = "7.4.0"  # the fabric.js bundled with streamlit-drawable-canvas 0.13
LOCKS = ("lockMovementX", "lockMovementY", "lockRotation", "lockScalingX", "lockScalingY", "lockSkewingX",
         "lockSkewingY", "lockScalingFlip")  # the extra properties the component asks toObject() for
PATH_DEFAULTS: dict[str, Any] = {
    "strokeDashArray": None, "strokeLineCap": "round", "strokeDashOffset": 0, "strokeLineJoin": "round",
    "strokeUniform": False, "strokeMiterLimit": 10, "scaleX": 1, "scaleY": 1, "angle": 0, "flipX": False,
    "flipY": False, "opacity": 1, "shadow": None, "visible": True, "backgroundColor": "", "fillRule": "nonzero",
    "paintFirst": "fill", "globalCompositeOperation": "source-over", "skewX": 0, "skewY": 0,
}
CANDIDATES_PER_DRAWING = 2  # a few skeletons fail to read back as a digit; draw more sources than needed


@dataclass(frozen=True)
class CanvasDrawing:
    """One drawing ready to send: the component's state as JSON, and what to expect back."""

    label: int  # the MNIST test digit it was drawn from
    value_json: str
    digest: str  # of the 28×28 image the page will make of it (draw_page.ANSWER_BUTTON)

    @property
    def value_bytes(self) -> int:
        return len(self.value_json.encode())


def js_number(value: float) -> float | int:
    """A number as JavaScript's JSON.stringify writes it: 18, not 18.0."""
    return int(value) if float(value).is_integer() else value


def pencil_path(points: np.ndarray, pen_width: float) -> list[list[Any]]:
    """fabric.js's PencilBrush path through the mouse positions: a move, a quadratic curve through each position,
    a line to the last (its `getSmoothPathFromPoints`; the end nudges simplified to the x direction)."""
    nudge = pen_width / 1000  # fabric widens a dot so it still shows
    first, last = points[0], points[-1]
    commands: list[list[Any]] = [["M", first[0] - nudge, first[1]]]
    for point, following in zip(points[:-1], points[1:]):
        middle = (point + following) / 2
        commands.append(["Q", point[0], point[1], middle[0], middle[1]])
    commands.append(["L", last[0] + nudge, last[1]])
    return commands


def fabric_path(points: np.ndarray, pen_width: float, colour: str, decimals: int) -> dict[str, Any]:
    """One stroke as fabric.js serialises a Path: its box (pen included) first, then style, then the commands."""
    points = np.round(points, decimals)
    low, high = points.min(axis=0), points.max(axis=0)
    path = [[command[0], *(round(float(value), decimals) for value in command[1:])]
            for command in pencil_path(points, pen_width)]
    return {**{lock: False for lock in LOCKS}, "type": "Path", "version": FABRIC_VERSION, "originX": "left",
            "originY": "top", "left": round(float(low[0] - pen_width / 2), 4),
            "top": round(float(low[1] - pen_width / 2), 4), "width": round(float(high[0] - low[0]), 4),
            "height": round(float(high[1] - low[1]), 4), "fill": None, "stroke": colour,
            "strokeWidth": js_number(pen_width), **PATH_DEFAULTS, "path": path}


def fabric_canvas(strokes: list[np.ndarray], canvas: CanvasSpec, decimals: int) -> dict[str, Any]:
    """The canvas's `toObject()`: every stroke, then the background."""
    return {"version": FABRIC_VERSION,
            "objects": [fabric_path(stroke, canvas.stroke_width, canvas.stroke_color, decimals) for stroke in strokes],
            "background": canvas.background_color}


def png_data_url(pixels: np.ndarray) -> str:
    """`canvas.toDataURL({format: "png"})`: the RGBA canvas as a base64 PNG data URL."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def component_value(raw: dict[str, Any], pixels: np.ndarray) -> str:
    """The component's whole state after a stroke, as the frontend JSON-encodes it (compact, like JSON.stringify)."""
    return json.dumps({CANVAS_STATE_KEY: {"raw": raw, "data": png_data_url(pixels)}}, separators=(",", ":"))


def make_drawing(image: np.ndarray, label: int, rng: np.random.Generator, canvas: CanvasSpec,
                 settings: BrowserSettings = BROWSER) -> CanvasDrawing | None:
    """One MNIST digit drawn on the page's canvas; None when the page could not read it as a digit."""
    config = dataclasses.replace(DRAWN, canvas_side=min(canvas.width, canvas.height))
    style = dataclasses.replace(sample_style(rng, config), pen_width=canvas.stroke_width)
    strokes = place_strokes(digit_strokes(image, config), style, config)
    pixels = render_strokes(strokes, style.pen_width, config, size=(canvas.width, canvas.height))
    reading = read_drawing(pixels)
    if reading.image is None:
        return None
    return CanvasDrawing(int(label), component_value(fabric_canvas(strokes, canvas, settings.coordinate_decimals),
                                                     pixels), image_digest(reading.image))


def drawing_pool(images: np.ndarray, labels: np.ndarray, count: int, canvas: CanvasSpec, seed: int,
                 settings: BrowserSettings = BROWSER) -> list[CanvasDrawing]:
    """`count` distinct drawings of test digits, every digit about as often, the same for the same seed."""
    pool: list[CanvasDrawing] = []
    seen: set[str] = set()
    for position, source in enumerate(balanced_sources(labels, count * CANDIDATES_PER_DRAWING, seed)):
        drawing = make_drawing(images[source], labels[source], np.random.default_rng([seed, position]), canvas,
                               settings)
        if drawing is not None and drawing.digest not in seen:
            pool.append(drawing)
            seen.add(drawing.digest)
        if len(pool) == count:
            return pool
    raise ValueError(f"only {len(pool)} of {count} drawings could be read back as digits")
