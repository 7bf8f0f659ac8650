"""What the load generator knows about the Draw page (app_pages/draw.py), in one place.

The page is found by its URL path in app.py's `st.navigation`; its canvas is the streamlit-drawable-canvas
component inside the `canvas_panel` fragment; each model's answer is an `st.metric` in the container keyed
`prediction-canvas-<model>`, and the labelling button under the answers is keyed with the digest of the 28×28
image the models saw (`feedback-right-canvas-<digest>`), which tells which drawing a run answered. If the page
changes these keys, this module is what to update.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from streamlit.proto.WidgetStates_pb2 import WidgetState

PAGE_NAME = "draw"
CANVAS_COMPONENT = "streamlit-drawable-canvas.streamlit_drawable_canvas"
CANVAS_STATE_KEY = "drawing"  # the component's frontend calls setStateValue("drawing", {raw, data})
PREDICTION_BLOCK = re.compile(r"-prediction-canvas-(?P<model>[A-Za-z0-9_]+)$")
ANSWER_BUTTON = re.compile(r"-feedback-right-canvas-(?P<digest>[0-9a-f]{16})$")
ANSWER_METRIC_PREFIX = "Soft-vote"  # the soft vote's metric, shown above the models' columns
WHITE, BLACK = "#FFFFFF", "#000000"


class PageError(RuntimeError):
    """The Draw page did not show what a person needs to draw (no canvas: no trained model, or an error)."""


@dataclass(frozen=True)
class CanvasSpec:
    """The canvas as the page configured it: what a drawing must look like to be what a browser sends."""

    widget_id: str
    fragment_id: str
    width: int
    height: int
    stroke_width: float
    stroke_color: str
    background_color: str
    initial_drawing: dict

    @classmethod
    def from_component(cls, widget_id: str, fragment_id: str, data_json: str) -> CanvasSpec:
        """Read the component's `data` (st_canvas's arguments, sent to the browser as JSON)."""
        data = json.loads(data_json)
        return cls(widget_id, fragment_id, int(data["canvasWidth"]), int(data["canvasHeight"]),
                   float(data["strokeWidth"]), str(data["strokeColor"]), str(data["backgroundColor"]),
                   data.get("initialDrawing") or {"objects": []})

    def check_drawable(self) -> None:
        """The drawings are white strokes on black, as the page draws them; say so if the page changed."""
        if self.stroke_color.upper() != WHITE or self.background_color.upper() != BLACK:
            raise PageError(f"the Draw page's canvas is {self.stroke_color} on {self.background_color}; the load test "
                            f"draws {WHITE} on {BLACK} (pipelines/benchmarks/load/drawings.py)")


@dataclass
class DrawPage:
    """One tab's view of the Draw page: its script hash, its canvas, and the widget states a browser keeps."""

    page_script_hash: str
    canvas: CanvasSpec
    page_widgets: dict[str, WidgetState] = field(default_factory=dict)  # outside the fragment (mode, stroke width)
    fragment_widgets: dict[str, WidgetState] = field(default_factory=dict)  # inside it, from the latest run

    def widget_states(self) -> list[WidgetState]:
        """Every kept widget state but the canvas's, as the browser's widget manager holds them."""
        return [*self.page_widgets.values(), *self.fragment_widgets.values()]


def prediction_model(block_id: str) -> str | None:
    """The model a container holds the answer of, from its key; None for any other container."""
    match = PREDICTION_BLOCK.search(block_id)
    return match["model"] if match else None


def answer_digest(button_id: str) -> str | None:
    """The digest of the image a run answered, from the labelling button's key; None for any other button."""
    match = ANSWER_BUTTON.search(button_id)
    return match["digest"] if match else None
