"""Work in processes of our own: per-image work spread over the cores, or one long call beside this process.

A pool is joined when each call ends: joblib's reusable workers were left to the end of the process, and a
training child of `pipelines.benchmarks.bench` once hung there waiting for them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from pipelines.config import configure_logging


def map_in_processes(function: Callable[..., Any], tasks: Sequence[tuple], workers: int) -> list[Any]:
    """`function(*task)` for every task, in order; here when one worker or one task would do."""
    workers = min(workers, len(tasks))
    if workers <= 1:
        return [function(*task) for task in tasks]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(function, *zip(*tasks)))


class CallApart:
    """`function(*args)` started now in a spawned process of its own; `result()` waits for what it returned or
    raises what it raised.

    For work that fills the cores by itself while this process goes on with other work. An interrupt reaches
    the call (a terminal's Ctrl-C reaches both processes; `interrupt` passes on one sent to this process alone),
    so it can clean up as it would in this process.
    """

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._outcome, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_call_and_send, args=(sender, function, args),
                                        name=getattr(function, "__name__", "call"))
        self._process.start()
        sender.close()

    def result(self) -> Any:
        try:
            succeeded, value = self._outcome.recv()
        except EOFError:
            self._process.join()
            raise ChildProcessError(f"the process running {self._process.name} ended without an answer "
                                    f"(exit code {self._process.exitcode})") from None
        self._process.join()
        if not succeeded:
            raise value
        return value

    def interrupt(self, grace_seconds: float = 5.0) -> None:
        """Stop the call as Ctrl-C would, unless it already ended in the `grace_seconds` an interrupt from the
        terminal may take to reach it; then wait for it to finish cleaning up."""
        self._process.join(grace_seconds)
        if self._process.is_alive():
            os.kill(self._process.pid, signal.SIGINT)
            self._process.join()


def _call_and_send(sender: Connection, function: Callable[..., Any], args: tuple) -> None:
    configure_logging()  # the spawned interpreter starts with none
    # a process started in the background by a shell ignores interrupts, and the spawned one inherits that:
    # `CallApart.interrupt` needs it to raise KeyboardInterrupt, so the call can clean up
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        outcome = (True, function(*args))
    except BaseException as error:  # noqa: BLE001 - handed to the caller, interrupts included
        error.add_note(f"raised in the process of its own:\n{traceback.format_exc()}")  # the traceback stays here
        outcome = (False, error)
    try:
        sender.send(outcome)
    except Exception as error:  # noqa: BLE001 - an error that will not pickle still has to arrive
        sender.send((False, RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]} ({error})")))
