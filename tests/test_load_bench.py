"""The load test (`python -m pipelines.benchmarks.load`) against a real `streamlit run app.py` on loopback, with the
quick-trained models: every drawing of a few tabs is answered; a server that dies is an error, not a hang."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from pipelines import config
from pipelines.benchmarks.load import report
from pipelines.benchmarks.load.command import main
from pipelines.benchmarks.load.draw_page import CanvasSpec
from pipelines.benchmarks.load.drawings import drawing_pool
from pipelines.benchmarks.load.monitor import Monitor
from pipelines.benchmarks.load.session import (
    ANSWERED,
    CUT_SHORT,
    DISCONNECTED,
    PENDING,
    SUPERSEDED,
    TIMEOUT,
    DrawingRecord,
    SimulatedSession,
)
from pipelines.benchmarks.load.settings import LoadSettings
from pipelines.benchmarks.load.simulation import simulate
from pipelines.data.sources import MnistData
from pipelines.feedback.records import image_digest
from pipelines.reading.inputs import read_drawing
from pipelines.serving.server import AppServer, app_server, free_port
from pipelines.store.registry import MODEL_NAMES

TABS = 2
INTERVAL_SECONDS = 2.0
DRAWING_SECONDS = 5.0  # two or three drawings per tab, by its phase
SENSIBLE_SECONDS = 15.0  # a busy 2-core machine; the target is 0.8 s at the median
KILL_AFTER_SECONDS = 3.0
LONG_RUN_SECONDS = 60.0  # the killed run would draw this long if nobody noticed the server had gone
CANVAS = CanvasSpec("canvas-id", "fragment-id", 280, 280, 18.0, "#FFFFFF", "#000000", {"objects": []})
ANSWER_TIMEOUT_SECONDS = 5.0


def quiet(line: str) -> None:
    logging.getLogger("test_load_bench").info(line)


@pytest.fixture
def server(trained_artifacts: Path, tmp_path: Path) -> Iterator[AppServer]:
    """The dashboard on the quick-trained models, labelled drawings kept in a throwaway database."""
    feedback = {config.FEEDBACK_URL_ENV: f"sqlite:///{tmp_path / 'feedback.db'}"}
    with app_server(trained_artifacts, tmp_path / "streamlit.log", feedback) as running:
        yield running


def test_a_drawing_is_what_the_canvas_sends(sample: MnistData) -> None:
    drawing = drawing_pool(sample.test_images, sample.test_labels, 1, CANVAS, config.SEED)[0]
    state = json.loads(drawing.value_json)
    assert list(state) == ["drawing"] and ", " not in drawing.value_json  # compact, like JSON.stringify
    raw, data = state["drawing"]["raw"], state["drawing"]["data"]
    assert raw["background"] == "#000000" and raw["objects"]
    assert all(o["type"] == "Path" and o["strokeWidth"] == 18 and o["path"][0][0] == "M" for o in raw["objects"])
    header, encoded = data.split(";base64,", 1)  # how st_canvas's CanvasResult.image_data decodes it
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))
    assert header == "data:image/png" and pixels.shape == (280, 280, 4)
    assert image_digest(read_drawing(pixels).image) == drawing.digest


def fragment_run(run_id: str, digest: str, answers: dict[str, str], status: int) -> list[bytes]:
    """The messages of one canvas run as the server sends them: start, one answer block per model, the labelling
    button keyed with the image's digest, end."""
    start = ForwardMsg()
    start.new_session.page_script_hash = "page"
    start.metadata.run.script_run_id = run_id
    start.metadata.run.fragment_ids.append(CANVAS.fragment_id)
    messages = [start]
    for column, (model, digit) in enumerate(answers.items()):
        block, metric = ForwardMsg(), ForwardMsg()
        block.metadata.delta_path.extend([0, 3, column])
        block.delta.add_block.id = f"$$ID-0-prediction-canvas-{model}"
        metric.metadata.delta_path.extend([0, 3, column, 0])
        metric.delta.new_element.metric.body = digit
        messages += [block, metric]
    button, end = ForwardMsg(), ForwardMsg()
    button.delta.new_element.button.id = f"$$ID-1-feedback-right-canvas-{digest}"
    end.script_finished = status
    return [message.SerializeToString() for message in [*messages, button, end]]


def test_what_becomes_of_each_drawing_is_read_from_the_runs() -> None:
    now = [0.0]
    session = SimulatedSession(0, "http://127.0.0.1:1", ANSWER_TIMEOUT_SECONDS, frozenset(MODEL_NAMES),
                               clock=lambda: now[0])
    digests = [f"{n:016x}" for n in range(4)]
    for number, digest in enumerate(digests):  # sent at 1, 2, 3, 4 s
        session.drawings.append(DrawingRecord(0, number, 7, digest, 100, number + 1.0, number + 1.0))
    sevens = {name: "7" for name in MODEL_NAMES}

    def arrive(at: float, messages: list[bytes]) -> None:
        for message in messages:
            now[0] = at
            session.take(message)

    arrive(1.5, fragment_run("a", digests[0], sevens, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))
    # drawing 1 waited while drawing 2 replaced it; the run that read drawing 2 lost its end to the next run
    arrive(3.5, fragment_run("b", digests[2], sevens, ForwardMsg.FINISHED_EARLY_FOR_RERUN))
    now[0] = 4.0 + ANSWER_TIMEOUT_SECONDS + 1
    session.expire()

    outcomes = [(d.outcome, d.detail) for d in session.drawings]
    assert [outcome for outcome, _ in outcomes] == [ANSWERED, SUPERSEDED, ANSWERED, TIMEOUT]
    assert outcomes[2][1] == CUT_SHORT and session.interrupted_runs == 1
    assert session.drawings[0].latency == pytest.approx(0.5) and session.drawings[0].answers == sevens


def test_every_drawing_of_two_tabs_is_answered(server: AppServer, sample: MnistData) -> None:
    settings = LoadSettings(sessions=TABS, interval_seconds=INTERVAL_SECONDS, duration_seconds=DRAWING_SECONDS,
                            pool_size=10)
    result = asyncio.run(simulate(server.url, sample.test_images, sample.test_labels, settings, Monitor(server.pid),
                                  quiet))

    assert result.failure is None
    drawings = result.drawings()
    assert len(drawings) >= TABS * 2
    for drawing in drawings:
        assert drawing.outcome == ANSWERED, (drawing.outcome, drawing.detail)
        assert 0 < drawing.wait <= drawing.latency <= drawing.complete < SENSIBLE_SECONDS
        assert sorted(drawing.answers) == sorted(MODEL_NAMES)
        assert all(answer in "0123456789" and len(answer) == 1 for answer in drawing.answers.values())
    server_usage, generator_usage = result.monitor.server_usage, result.monitor.generator_usage
    assert server_usage is not None and server_usage.cpu_seconds > 0 and server_usage.cpu_percent > 0
    assert server_usage.peak_rss_mb > 0 and server_usage.mean_rss_mb > 0
    assert generator_usage.cpu_seconds > 0 and generator_usage.peak_rss_mb > 0
    row = report.summary(result)
    assert (row["sent"], row["answered"], row["lost"]) == (len(drawings), len(drawings), 0)


def test_a_server_killed_mid_run_is_an_error_not_a_hang(server: AppServer, sample: MnistData) -> None:
    settings = LoadSettings(sessions=TABS, interval_seconds=1.0, duration_seconds=LONG_RUN_SECONDS, pool_size=10)

    def kill_once_drawing(line: str) -> None:
        if line.startswith("every tab shows the Draw page"):
            asyncio.get_running_loop().call_later(KILL_AFTER_SECONDS, server.process.kill)

    started = time.monotonic()
    result = asyncio.run(simulate(server.url, sample.test_images, sample.test_labels, settings, Monitor(server.pid),
                                  kill_once_drawing))

    assert time.monotonic() - started < LONG_RUN_SECONDS / 2
    assert result.failure is not None and "lost their connection" in result.failure
    outcomes = {drawing.outcome for drawing in result.drawings()}
    assert PENDING not in outcomes and outcomes <= {ANSWERED, DISCONNECTED}
    assert all(session.closed for session in result.sessions)


def test_the_command_starts_its_server_and_writes_its_section(trained_artifacts: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    markdown, drawings = tmp_path / "BENCHMARKS.md", tmp_path / "drawings.csv"
    status = main(["--artifacts", str(trained_artifacts), "--sessions", "1", "--duration", "3", "--pool", "5",
                   "--out", str(markdown), "--drawings", str(drawings)])

    assert status == 0
    assert "p95 latency" in capsys.readouterr().out
    section = markdown.read_text()
    assert "<!-- begin load-test -->" in section and "| sessions | drawings sent |" in section
    rows = list(csv.DictReader(drawings.open()))
    assert rows and all(row["outcome"] == ANSWERED and float(row["latency_s"]) > 0 for row in rows)


def test_no_trained_model_is_said_plainly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["--artifacts", str(tmp_path)]) == 1
    assert "no trained model" in caplog.text


def test_no_server_at_the_url_is_said_plainly(caplog: pytest.LogCaptureFixture) -> None:
    assert main(["--url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "nothing answers" in caplog.text
