"""The dashboard as a real `streamlit run app.py` process on a free loopback port, for tests and the load benchmark.

Started from the project folder with this interpreter, reading the artifacts folder it is given; ready once
`/_stcore/health` answers. A server that exits or stays silent is a `ServerError` carrying the tail of its log,
so a caller says why instead of waiting for ever.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines import config
from pipelines.serving.settings import ARTIFACTS_ENV

APP = config.PROJECT_ROOT / "app.py"
"""What `streamlit run` is given: the server's entry point."""
ROUTER = config.PROJECT_ROOT / "dashboard.py"
"""What each session runs, and what AppTest runs."""
HEALTH_PATH = "/_stcore/health"


@dataclass(frozen=True)
class ServerConfig:
    """How long to wait for the server, and how it is asked to behave."""

    start_seconds: float = 90.0  # importing TensorFlow on a busy 2-core machine
    poll_seconds: float = 0.5
    health_timeout_seconds: float = 2.0
    stop_seconds: float = 15.0  # SIGTERM first; SIGKILL after this
    log_tail_chars: int = 2000
    address: str = "127.0.0.1"


SERVER = ServerConfig()


class ServerError(RuntimeError):
    """The dashboard server did not start, or stopped answering."""


@dataclass
class AppServer:
    """A running dashboard: where to reach it, its process, and its log."""

    url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = SERVER.log_tail_chars) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def free_port(address: str = SERVER.address) -> int:
    """A port nothing listens on right now (another process may still take it before the server does)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def is_healthy(url: str, timeout: float = SERVER.health_timeout_seconds) -> bool:
    """Whether the server at `url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}{HEALTH_PATH}", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_healthy(server: AppServer, settings: ServerConfig = SERVER) -> None:
    """Return once the server answers; raise ServerError (with its log) if it exits or takes too long."""
    deadline = time.monotonic() + settings.start_seconds
    while not is_healthy(server.url, settings.health_timeout_seconds):
        if server.process.poll() is not None:
            raise ServerError(f"streamlit exited with code {server.process.returncode} before answering: "
                              f"{server.log_tail(settings.log_tail_chars)}")
        if time.monotonic() > deadline:
            raise ServerError(f"streamlit did not answer {HEALTH_PATH} within {settings.start_seconds:.0f} s: "
                              f"{server.log_tail(settings.log_tail_chars)}")
        time.sleep(settings.poll_seconds)


def stop(server: AppServer, settings: ServerConfig = SERVER) -> None:
    """Terminate the server (and kill it if it does not stop in time); nothing if it already exited."""
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=settings.stop_seconds)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextmanager
def app_server(artifacts_dir: Path, log_path: Path, environ: Mapping[str, str] | None = None,
               settings: ServerConfig = SERVER) -> Iterator[AppServer]:
    """`streamlit run app.py` on a free loopback port reading `artifacts_dir`, healthy when yielded, stopped after.

    `environ` adds to (or overrides) this process's environment, e.g. where labelled drawings are stored.
    """
    port = free_port(settings.address)
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.port", str(port), "--server.address", settings.address,
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {**os.environ, ARTIFACTS_ENV: str(artifacts_dir), **(environ or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=config.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = AppServer(f"http://{settings.address}:{port}", process, log_path)
    try:
        wait_until_healthy(server, settings)
        yield server
    finally:
        stop(server, settings)
