"""A classroom on the Draw page: one warm-up tab, then N tabs opened together, each drawing on its own schedule.

Everything runs in one event loop in this process, so the generator's CPU is this process's and the server's is
the server's. The warm-up pays what a fresh server pays once (TensorFlow, the models, the saliency graph) and
tells what the page's canvas looks like, so the drawings are made for it before anything is measured. The
measured window runs from the first scheduled drawing until every drawing is answered or counted lost.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipelines.benchmarks.load.draw_page import DrawPage, PageError
from pipelines.benchmarks.load.drawings import CanvasDrawing, drawing_pool
from pipelines.benchmarks.load.monitor import MEGABYTE, Monitor
from pipelines.benchmarks.load.session import ANSWERED, PENDING, DrawingRecord, SimulatedSession
from pipelines.benchmarks.load.settings import BROWSER, MEASURE, BrowserSettings, LoadSettings, MeasureSettings

logger = logging.getLogger("pipelines.benchmarks.load")

WARM_UP_SESSION = -1


@dataclass
class LoadResult:
    """What a load test measured: every tab with its drawings, the resources used, and why it stopped early."""

    settings: LoadSettings
    page: DrawPage
    pool: list[CanvasDrawing]
    warm_up: SimulatedSession
    sessions: list[SimulatedSession]
    monitor: Monitor
    failure: str | None = None  # set when tabs lost their connection: the figures are then partial

    def drawings(self) -> list[DrawingRecord]:
        return [drawing for session in self.sessions for drawing in session.drawings]


def send_times(settings: LoadSettings, session: int, start: float) -> list[float]:
    """When a tab draws: every interval from its own random phase, while inside the duration."""
    phase = float(np.random.default_rng([settings.seed, session]).uniform(0, settings.interval_seconds))
    count = int((settings.duration_seconds - phase) // settings.interval_seconds) + 1
    return [start + phase + k * settings.interval_seconds for k in range(max(0, count))]


def drawing_order(settings: LoadSettings, session: int) -> list[int]:
    """Which drawings of the pool a tab sends, in order: its own shuffle, so tabs do not draw in step."""
    return [int(i) for i in np.random.default_rng([settings.seed, session, 1]).permutation(settings.pool_size)]


def progress_line(elapsed: float, sessions: list[SimulatedSession], monitor: Monitor) -> str:
    """One line for the terminal: drawings so far, their median latency, the server's load right now."""
    drawings = [d for session in sessions for d in session.drawings]
    answered = [d.latency for d in drawings if d.outcome == ANSWERED and d.latency is not None]
    pending = sum(d.outcome == PENDING for d in drawings)
    lost = len(drawings) - len(answered) - pending
    median = f"{statistics.median(answered):.2f} s" if answered else "-"
    server = (f"; server {monitor.last_server_cpu_percent:.0f} % CPU, {monitor.last_server_rss / MEGABYTE:,.0f} MB"
              if monitor.server is not None else "")
    return (f"{elapsed:5.0f} s  sent {len(drawings)}, answered {len(answered)}, lost {lost}, waiting {pending}; "
            f"median {median}{server}")


async def report_progress(sessions: list[SimulatedSession], monitor: Monitor, started: float,
                          say: Callable[[str], None], settings: MeasureSettings) -> None:
    while True:
        await asyncio.sleep(settings.progress_seconds)
        say(progress_line(time.perf_counter() - started, sessions, monitor))


async def open_all(sessions: list[SimulatedSession]) -> None:
    """Open every tab at once (a classroom arriving); the first failure is raised after all have been tried."""
    results = await asyncio.gather(*(session.open() for session in sessions), return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        raise failures[0]


async def warm_up(app_url: str, images: np.ndarray, labels: np.ndarray, settings: LoadSettings,
                  browser: BrowserSettings) -> tuple[SimulatedSession, DrawPage, list[CanvasDrawing]]:
    """Load the page and answer one drawing in a tab of its own; make the drawings for the page's canvas."""
    session = SimulatedSession(WARM_UP_SESSION, app_url, settings.answer_timeout_seconds, browser=browser)
    try:
        page = await session.open()
        page.canvas.check_drawable()
        pool = drawing_pool(images, labels, settings.pool_size, page.canvas, settings.seed, browser)
        await session.draw(pool[0], time.perf_counter())
        await session.drain()
    finally:
        await session.close()
    first = session.drawings[0]
    if first.outcome != ANSWERED:
        raise PageError(f"the warm-up drawing was not answered ({first.outcome}: {first.detail})")
    return session, page, pool


async def simulate(app_url: str, images: np.ndarray, labels: np.ndarray, settings: LoadSettings, monitor: Monitor,
                   say: Callable[[str], None], browser: BrowserSettings = BROWSER,
                   measure: MeasureSettings = MEASURE) -> LoadResult:
    """The whole load test against the app at `app_url`; raise PageError or ConnectionError if it cannot start."""
    sampler = asyncio.create_task(monitor.sample_until_stopped())
    sessions: list[SimulatedSession] = []
    try:
        say("warming up: one tab loads the Draw page and draws once")
        warm, page, pool = await warm_up(app_url, images, labels, settings, browser)
        say(f"warm-up answered in {warm.drawings[0].latency:.2f} s; opening {settings.sessions} tabs at once")
        models = frozenset(warm.drawings[0].answers)
        sessions = [SimulatedSession(number, app_url, settings.answer_timeout_seconds, models, browser=browser)
                    for number in range(settings.sessions)]
        await open_all(sessions)
        say(f"every tab shows the Draw page; drawing every {settings.interval_seconds:g} s for "
            f"{settings.duration_seconds:g} s")
        start = time.perf_counter()
        monitor.begin()
        progress = asyncio.create_task(report_progress(sessions, monitor, start, say, measure))
        try:
            await asyncio.gather(*(session.draw_on_schedule(pool, drawing_order(settings, session.number),
                                                            send_times(settings, session.number, start))
                                   for session in sessions))
            await asyncio.gather(*(session.drain() for session in sessions))
        finally:
            progress.cancel()
            monitor.end()
        lost_connection = [session for session in sessions if session.closed]
        failure = (f"{len(lost_connection)} of {len(sessions)} tabs lost their connection: {lost_connection[0].error}"
                   if lost_connection else None)
        return LoadResult(settings, page, pool, warm, sessions, monitor, failure)
    finally:
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
        monitor.stop()
        await sampler
