"""One simulated browser tab on the Draw page: it connects, opens the page, draws, and records what became of
every drawing.

Which drawing a run answered is read from the run itself (the digest in the labelling button's key), not guessed
from timing, because Streamlit folds reruns together: a fragment rerun that arrives while the session's script is
still running waits, and a later one replaces its widget states, so the earlier drawing is never read
("superseded"). Timing is used only for a run that shows no answer (an error), to blame the newest drawing sent
before it started.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Origin, Subprotocol

from pipelines.benchmarks.load import protocol
from pipelines.benchmarks.load.draw_page import PAGE_NAME, DrawPage, PageError
from pipelines.benchmarks.load.drawings import CanvasDrawing
from pipelines.benchmarks.load.runs import RunReader, RunRecord
from pipelines.benchmarks.load.settings import BROWSER, LOAD, BrowserSettings

PENDING, ANSWERED = "pending", "answered"
SUPERSEDED, TIMEOUT, ERROR, NO_ANSWER, DISCONNECTED = "superseded", "timeout", "error", "no answer", "connection lost"
LOST_OUTCOMES = (SUPERSEDED, TIMEOUT, ERROR, NO_ANSWER, DISCONNECTED)
CUT_SHORT = "its run ended as interrupted after the answers arrived"
Clock = Callable[[], float]


@dataclass
class DrawingRecord:
    """One drawing one tab sent, and what came back; times in seconds on the shared clock."""

    session: int
    number: int  # the session's first drawing is 0
    label: int
    digest: str
    sent_bytes: int
    scheduled_at: float
    sent_at: float
    outcome: str = PENDING
    detail: str = ""
    run_started_at: float | None = None
    answer_at: float | None = None
    finished_at: float | None = None
    answers: dict[str, str] = field(default_factory=dict)
    soft_vote: str | None = None

    @property
    def latency(self) -> float | None:
        """Send to the last model's answer: what the issue calls mouse-up to answer (less the canvas's debounce)."""
        return None if self.answer_at is None else self.answer_at - self.sent_at

    @property
    def wait(self) -> float | None:
        """Send to the start of the run that read it: time queued behind the session's previous runs."""
        return None if self.run_started_at is None else self.run_started_at - self.sent_at

    @property
    def complete(self) -> float | None:
        """Send to the end of that run (the explanation under the answers included)."""
        return None if self.finished_at is None else self.finished_at - self.sent_at

    @property
    def send_lag(self) -> float:
        """How late the load generator sent it: large values mean the generator, not the server, was busy."""
        return self.sent_at - self.scheduled_at


class SimulatedSession:
    """A browser tab at /draw, over one websocket. `open`, then `draw` as often as needed, `drain`, `close`."""

    def __init__(self, number: int, app_url: str, answer_timeout: float = LOAD.answer_timeout_seconds,
                 expected_models: frozenset[str] | None = None, clock: Clock = time.perf_counter,
                 browser: BrowserSettings = BROWSER) -> None:
        self.number = number
        self.expected_models = expected_models  # every model must answer; None: any answer will do
        self.app_url = app_url
        self.url = protocol.page_url(app_url, PAGE_NAME)
        self.answer_timeout = answer_timeout
        self.clock = clock
        self.browser = browser
        self.page: DrawPage | None = None
        self.drawings: list[DrawingRecord] = []
        self.page_load_seconds: float | None = None
        self.interrupted_runs = 0  # runs whose end came as "interrupted" (FINISHED_EARLY_FOR_RERUN)
        self.unmatched_runs = 0  # fragment runs no drawing of this tab explains
        self.late_answers = 0  # answers that came after their drawing was already counted lost
        self.bytes_received = 0  # by the runs that answer drawings (not the page load)
        self.error: str | None = None
        self._socket: ClientConnection | None = None
        self._reader = RunReader()
        self._receiver: asyncio.Task[None] | None = None
        self._loaded: asyncio.Future[DrawPage] | None = None
        self._settled = asyncio.Event()
        self._settled.set()

    @property
    def closed(self) -> bool:
        return self.error is not None

    def pending(self) -> list[DrawingRecord]:
        return [drawing for drawing in self.drawings if drawing.outcome == PENDING]

    async def open(self) -> DrawPage:
        """Connect and load the Draw page as a fresh tab; raise PageError or ConnectionError if it cannot be used."""
        started = self.clock()
        self._loaded = asyncio.get_running_loop().create_future()
        try:
            self._socket = await connect(
                protocol.stream_url(self.app_url), subprotocols=[Subprotocol(protocol.SUBPROTOCOL)],
                origin=Origin(self.app_url.rstrip("/")), proxy=None, ping_interval=None, max_size=None,
                open_timeout=self.browser.connect_timeout_seconds, close_timeout=self.browser.close_timeout_seconds)
        except (OSError, WebSocketException, asyncio.TimeoutError) as error:
            raise ConnectionError(f"session {self.number} could not connect to {self.app_url}: {error}") from error
        self._receiver = asyncio.create_task(self._receive(), name=f"session-{self.number}-receive")
        await self._socket.send(protocol.page_load(PAGE_NAME, self.url, self.browser))
        try:
            self.page = await asyncio.wait_for(asyncio.shield(self._loaded), self.browser.page_load_timeout_seconds)
        except asyncio.TimeoutError:
            raise PageError(f"session {self.number}: the Draw page did not finish loading within "
                            f"{self.browser.page_load_timeout_seconds:.0f} s") from None
        self.page_load_seconds = self.clock() - started
        return self.page

    async def draw(self, drawing: CanvasDrawing, scheduled_at: float) -> DrawingRecord | None:
        """Send one drawing as the canvas does on mouse-up; None when the tab has lost its connection."""
        if self.closed or self.page is None or self._socket is None:
            return None
        page = self.page
        widgets = [*page.widget_states(), protocol.json_widget(page.canvas.widget_id, drawing.value_json)]
        payload = protocol.rerun(page.page_script_hash, widgets, page.canvas.fragment_id, self.url, self.browser)
        record = DrawingRecord(self.number, len(self.drawings), drawing.label, drawing.digest, len(payload),
                               scheduled_at, self.clock())
        self.drawings.append(record)
        self._settled.clear()
        try:
            await self._socket.send(payload)
        except ConnectionClosed as error:
            self._disconnected(f"the server closed the connection ({error})")
        return record

    async def draw_on_schedule(self, pool: Sequence[CanvasDrawing], order: Sequence[int],
                               times: Sequence[float]) -> None:
        """Draw `pool[order[k % len(order)]]` at each of `times` (shared clock), counting overdue answers lost."""
        for position, at in enumerate(times):
            await asyncio.sleep(max(0.0, at - self.clock()))
            if self.closed:
                return
            await self.draw(pool[order[position % len(order)]], at)
            self.expire()

    async def drain(self) -> None:
        """Wait until every drawing is answered or counted lost (at most the answer timeout after the last send)."""
        while self.pending():
            overdue_at = min(drawing.sent_at for drawing in self.pending()) + self.answer_timeout
            try:
                await asyncio.wait_for(self._settled.wait(), max(0.0, overdue_at - self.clock()))
            except asyncio.TimeoutError:
                pass
            self.expire()

    def expire(self) -> None:
        """Count lost every drawing that has waited longer than the answer timeout."""
        now = self.clock()
        for drawing in self.pending():
            if now - drawing.sent_at > self.answer_timeout:
                self._resolve(drawing, TIMEOUT, f"no answer within {self.answer_timeout:g} s")

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._receiver is not None:
            self._receiver.cancel()
            await asyncio.gather(self._receiver, return_exceptions=True)

    async def _receive(self) -> None:
        assert self._socket is not None
        try:
            async for data in self._socket:
                self.take(data)
            self._disconnected("the server closed the connection")
        except ConnectionClosed as error:
            self._disconnected(f"the server closed the connection ({error})")

    def take(self, data: bytes) -> None:
        """Read one ForwardMsg as it arrives; a finished run settles the drawing it answered."""
        run = self._reader.feed(protocol.parse(data), self.clock(), len(data))
        if run is not None:
            self._on_run(run)

    def _disconnected(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
        for drawing in self.pending():
            self._resolve(drawing, DISCONNECTED, reason)
        if self._loaded is not None and not self._loaded.done():
            self._loaded.set_exception(ConnectionError(f"session {self.number}: {reason}"))

    def _on_run(self, run: RunRecord) -> None:
        if self._loaded is not None and not self._loaded.done():
            self._page_loaded(run)
        elif run.is_fragment_run:
            self.bytes_received += run.bytes_received
            if self.page is not None:
                self.page.fragment_widgets = run.fragment_widgets  # the browser forgets widgets no longer shown
            self._attribute(run)

    def _page_loaded(self, run: RunRecord) -> None:
        assert self._loaded is not None
        page_hash = run.page_script_hash or self._reader.page_script_hash
        if run.canvas is None or not page_hash:
            said = "; ".join([*run.errors, *run.notices]) or "nothing about why"
            self._loaded.set_exception(PageError(f"the Draw page shows no canvas (are there trained models?); "
                                                 f"it says: {said}"))
        else:
            self._loaded.set_result(DrawPage(page_hash, run.canvas, run.widgets, run.fragment_widgets))

    def _attribute(self, run: RunRecord) -> None:
        """Give a finished fragment run to the drawing it read; drawings sent before that one were never read.

        A run reported as interrupted still counts when its answers arrived: the person saw them. (Under load this
        is mostly Streamlit's queue, not a real interruption: when a session's next run starts before the server
        has sent the end of the previous one, the unsent rest is dropped and its end rewritten as "interrupted".)
        """
        if run.interrupted:
            self.interrupted_runs += 1
            if not run.answers:
                return
        drawing = self._drawing_read_by(run)
        if drawing is None:
            self.unmatched_runs += 1
            return
        if drawing.outcome != PENDING:
            self.late_answers += 1
            return
        for earlier in self.pending():
            if earlier.sent_at < drawing.sent_at:
                self._resolve(earlier, SUPERSEDED, f"replaced by drawing {drawing.number} before any run read it")
        drawing.run_started_at, drawing.answer_at, drawing.finished_at = run.started_at, run.answer_at, run.finished_at
        drawing.answers, drawing.soft_vote = dict(run.answers), run.soft_vote
        missing = sorted(set(self.expected_models or ()) - set(run.answers))
        if run.errors:
            self._resolve(drawing, ERROR, run.errors[0])
        elif not run.answers:
            self._resolve(drawing, NO_ANSWER, run.notices[0] if run.notices else "no model answered")
        elif missing:
            self._resolve(drawing, ERROR if not run.interrupted else NO_ANSWER,
                          f"no answer from {', '.join(missing)}" + (" (run cut short)" if run.interrupted else ""))
        elif not all(answer.isdigit() for answer in run.answers.values()):
            self._resolve(drawing, ERROR, f"an answer is not a digit: {run.answers}")
        else:
            self._resolve(drawing, ANSWERED, CUT_SHORT if run.interrupted else "")

    def _drawing_read_by(self, run: RunRecord) -> DrawingRecord | None:
        if run.digest is not None:
            same = [drawing for drawing in self.drawings if drawing.digest == run.digest]
            before = [drawing for drawing in same if drawing.sent_at <= run.started_at]
            return (before or same or [None])[-1]
        before = [drawing for drawing in self.pending() if drawing.sent_at <= run.started_at]
        return before[-1] if before else None

    def _resolve(self, drawing: DrawingRecord, outcome: str, detail: str = "") -> None:
        drawing.outcome, drawing.detail = outcome, detail
        if not self.pending():
            self._settled.set()
