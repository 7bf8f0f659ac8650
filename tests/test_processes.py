"""A call run in a process of its own: its answer, its error and an interrupt come back to the caller."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from pipelines.processes import CallApart


def answer_with_pid(value: int) -> tuple[int, int]:
    return value * 2, os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def wait_for_interrupt(marker: Path) -> str:
    try:
        marker.write_text("started")
        time.sleep(60)
    except KeyboardInterrupt:
        marker.write_text("cleaned up")
        raise
    return "never interrupted"


def test_the_answer_comes_back_from_another_process() -> None:
    doubled, pid = CallApart(answer_with_pid, 21).result()
    assert doubled == 42 and pid != os.getpid()


def test_an_error_comes_back_with_where_it_was_raised() -> None:
    with pytest.raises(ValueError, match="no digit") as raised:
        CallApart(fail, "no digit").result()
    assert any("in fail" in note for note in raised.value.__notes__)


@pytest.mark.parametrize("started_ignoring_interrupts", [False, True])
def test_an_interrupt_lets_the_call_clean_up(tmp_path: Path, started_ignoring_interrupts: bool) -> None:
    marker = tmp_path / "marker"
    previous = signal.getsignal(signal.SIGINT)
    if started_ignoring_interrupts:  # as a process a shell started in the background does; what it spawns inherits it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        call = CallApart(wait_for_interrupt, marker)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    call.interrupt(grace_seconds=0.1)
    assert time.monotonic() - started < 10
    assert marker.read_text() == "cleaned up"
    with pytest.raises(KeyboardInterrupt):
        call.result()
