"""Script runs as one tab sees them: the ForwardMsgs between a `new_session` and its `script_finished`, read
into what the load test needs (when the answers arrived, which drawing they answer, errors).

Only lifecycle messages carry a run id; deltas belong to the run that started last, because one session runs
one script at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from pipelines.benchmarks.load import draw_page, protocol
from pipelines.benchmarks.load.draw_page import CanvasSpec


@dataclass
class RunRecord:
    """One script run of one session, with arrival times in the session's clock (seconds)."""

    run_id: str
    fragment_ids: tuple[str, ...]
    started_at: float
    finished_at: float | None = None
    status: str | None = None  # a value of protocol.SCRIPT_FINISHED
    answers: dict[str, str] = field(default_factory=dict)  # model -> the digit its metric shows
    answer_at: float | None = None  # when the last model's answer arrived
    soft_vote: str | None = None
    digest: str | None = None  # of the 28×28 image the models saw: which drawing this run answered
    notices: list[str] = field(default_factory=list)  # info and warning boxes, e.g. "The canvas is empty"
    errors: list[str] = field(default_factory=list)  # exceptions and error boxes
    page_script_hash: str | None = None
    canvas: CanvasSpec | None = None
    widgets: dict[str, WidgetState] = field(default_factory=dict)  # states the browser keeps, by widget id
    fragment_widgets: dict[str, WidgetState] = field(default_factory=dict)
    bytes_received: int = 0

    @property
    def is_fragment_run(self) -> bool:
        return bool(self.fragment_ids)

    @property
    def interrupted(self) -> bool:
        return self.status == protocol.SCRIPT_FINISHED[ForwardMsg.FINISHED_EARLY_FOR_RERUN]


def kept_state(element: Element) -> WidgetState | None:
    """The state a browser commits for a widget as soon as it is shown (its default); None for widgets that only
    send when used (buttons) or are not part of drawing (the uploader)."""
    kind = element.WhichOneof("type")
    if kind == "slider":
        state = WidgetState(id=element.slider.id)
        state.double_array_value.data.extend(element.slider.default)
        return state
    if kind == "button_group":
        state = WidgetState(id=element.button_group.id)
        state.int_array_value.data.extend(element.button_group.default)
        return state
    return None


class RunReader:
    """Feed it a session's ForwardMsgs in order; it hands back each run once that run has finished."""

    def __init__(self) -> None:
        self.current: RunRecord | None = None
        self.page_script_hash: str | None = None
        self._prediction_blocks: dict[tuple[int, ...], str] = {}

    def feed(self, message: ForwardMsg, at: float, size: int = 0) -> RunRecord | None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            run = message.metadata.run
            self.current = RunRecord(run.script_run_id, tuple(run.fragment_ids), at)
            self._prediction_blocks = {}
        run = self.current
        if run is None:
            return None
        run.bytes_received += size
        if kind == "navigation":
            self.page_script_hash = run.page_script_hash = message.navigation.page_script_hash
        elif kind == "delta":
            self._read_delta(run, message, at)
        elif kind == "session_event" and message.session_event.HasField("script_compilation_exception"):
            run.errors.append(message.session_event.script_compilation_exception.message)
        elif kind == "script_finished":
            run.finished_at, run.status = at, protocol.SCRIPT_FINISHED.get(message.script_finished, "unknown")
            self.current = None
            return run
        return None

    def _read_delta(self, run: RunRecord, message: ForwardMsg, at: float) -> None:
        delta, path = message.delta, tuple(message.metadata.delta_path)
        if delta.WhichOneof("type") == "add_block":
            model = draw_page.prediction_model(delta.add_block.id)
            if model is not None:
                self._prediction_blocks[path] = model
            return
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "metric":
            model = self._prediction_blocks.get(path[:-1])
            if model is not None:
                run.answers[model], run.answer_at = element.metric.body, at
            elif element.metric.label.startswith(draw_page.ANSWER_METRIC_PREFIX):
                run.soft_vote = element.metric.body
        elif kind == "button":
            run.digest = draw_page.answer_digest(element.button.id) or run.digest
        elif kind == "exception":
            run.errors.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert":
            target = run.errors if element.alert.format == Alert.ERROR else run.notices
            target.append(element.alert.body)
        elif kind == "bidi_component" and element.bidi_component.component_name == draw_page.CANVAS_COMPONENT:
            run.canvas = CanvasSpec.from_component(element.bidi_component.id, delta.fragment_id,
                                                   element.bidi_component.json)
        state = kept_state(element)
        if state is not None:
            (run.fragment_widgets if delta.fragment_id else run.widgets)[state.id] = state
