"""Training runs started from the dashboard, in a background process that outlives a page reload.

Each job gets a folder holding its command, its log, its progress events
(JSON lines from `pipelines.progress`) and, once it ends, its exit code. A
small runner process (`python -m pipelines.training.jobs JOB_DIR`) runs the command
and writes the exit code, so whether a job finished is read from disk, not
from the process that started it.

    python -m pipelines.training.jobs JOB_DIR      # what the dashboard starts; not meant to be typed
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pipelines import config
from pipelines.progress import read_events
from pipelines.store.artifacts import atomic_write_bytes, atomic_write_json, process_alive

SPEC = "job.json"
LOG = "train.log"
EVENTS = "progress.jsonl"
EXIT_CODE = "exit_code"
CHILD_PID = "child_pid"
EVENT_FIELDS = frozenset({"time", "model", "done", "total", "stage", "unit", "message"})
"""What every progress event carries; anything else is a detail (loss, accuracy, ...)."""
INTERRUPTED = 130
EVENTS_PLACEHOLDER = "{events}"
"""Stands in a command for the job's own progress file, which the runner substitutes."""

JobState = Literal["running", "succeeded", "failed", "lost"]

_children: dict[int, subprocess.Popen] = {}
"""Runner processes started by this process, polled so that finished ones do not linger as zombies."""


class JobError(RuntimeError):
    """A job that cannot be started; the message says why."""


@dataclass(frozen=True)
class TrainingRequest:
    """What the user asked to train."""

    models: tuple[str, ...]
    profile: str
    data: str | None = None

    def command(self, artifacts_dir: Path, events_path: Path) -> list[str]:
        """The `pipelines.train` command line for this request."""
        command = [sys.executable, "-m", "pipelines.train", "--models", *self.models, "--profile", self.profile,
                   "--artifacts", str(artifacts_dir), "--progress-file", str(events_path), "--no-bar"]
        return command + (["--data", self.data] if self.data else [])


@dataclass(frozen=True)
class Job:
    """A background job's folder and what it was started with."""

    directory: Path
    spec: dict[str, Any]

    @property
    def job_id(self) -> str:
        return self.directory.name

    @property
    def log_path(self) -> Path:
        return self.directory / LOG

    @property
    def events_path(self) -> Path:
        return self.directory / EVENTS

    @property
    def pid(self) -> int | None:
        return self.spec.get("pid")


@dataclass(frozen=True)
class ModelProgress:
    """How far one model's training has got."""

    done: int = 0
    total: int = 0
    unit: str = "step"
    stage: str = "waiting"
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        if self.stage == "done":
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0


@dataclass(frozen=True)
class JobStatus:
    """A job's state, exit code, per-model progress and the end of its log."""

    state: JobState
    returncode: int | None
    progress: dict[str, ModelProgress]
    log_tail: str
    elapsed_seconds: float

    @property
    def finished(self) -> bool:
        return self.state != "running"


def start_job(command: list[str], jobs_dir: Path, description: dict[str, Any] | None = None) -> Job:
    """Run `command` in the background through the runner; returns at once."""
    jobs_dir = Path(jobs_dir)
    running = latest_job(jobs_dir)
    if running is not None and job_status(running).state == "running":
        raise JobError(f"training job {running.job_id} is still running; wait for it or stop it first")
    directory = jobs_dir / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}"
    directory.mkdir(parents=True)
    spec = {"command": command, "started": time.time(), **(description or {})}
    atomic_write_json(directory / SPEC, spec)
    with open(directory / LOG, "ab") as log:
        runner = subprocess.Popen([sys.executable, "-m", "pipelines.training.jobs", str(directory)], cwd=config.PROJECT_ROOT,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    _children[runner.pid] = runner
    spec["pid"] = runner.pid
    atomic_write_json(directory / SPEC, spec)
    return Job(directory, spec)


def start_training(request: TrainingRequest, artifacts_dir: Path, jobs_dir: Path) -> Job:
    """Start `pipelines.train` for a request in the background."""
    if not request.models:
        raise JobError("choose at least one model to train")
    if request.profile not in config.PROFILES:
        raise JobError(f"unknown profile {request.profile!r}: choose from {', '.join(config.PROFILES)}")
    command = request.command(Path(artifacts_dir), Path(EVENTS_PLACEHOLDER))
    return start_job(command, jobs_dir, {"models": list(request.models), "profile": request.profile,
                                         "data": request.data, "artifacts": str(artifacts_dir)})


def latest_job(jobs_dir: Path) -> Job | None:
    """The most recently started job, or None."""
    jobs_dir = Path(jobs_dir)
    if not jobs_dir.is_dir():
        return None
    for directory in sorted((p for p in jobs_dir.iterdir() if p.is_dir()), reverse=True):
        try:
            return Job(directory, json.loads((directory / SPEC).read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return None


def job_status(job: Job, tail_lines: int = 40) -> JobStatus:
    """Read a job's state from its folder."""
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]
    returncode = _read_int(job.directory / EXIT_CODE)
    if returncode is not None:
        state: JobState = "succeeded" if returncode == 0 else "failed"
    elif job.pid is not None and _alive(job.pid):
        state = "running"
    elif job.pid is None and time.time() - job.spec.get("started", 0) < 5:
        state = "running"  # between the spec and the runner's pid being written
    else:
        state = "lost"
    finished_at = (job.directory / EXIT_CODE).stat().st_mtime if returncode is not None else time.time()
    return JobStatus(state, returncode, model_progress(read_events(job.events_path)),
                     _tail(job.log_path, tail_lines), finished_at - job.spec.get("started", finished_at))


def stop_job(job: Job, wait_seconds: float = 10.0) -> bool:
    """Interrupt a running job's command (training then discards unfinished runs); False when it was not running.

    The interrupt goes to the command, not to the runner, so the runner still
    records how the command ended. A job stopped before its command started
    is killed outright and recorded as interrupted.
    """
    if job.pid is None or not _alive(job.pid):
        return False
    deadline = time.monotonic() + wait_seconds
    while (child := _read_int(job.directory / CHILD_PID)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        if child is not None:
            os.kill(child, signal.SIGINT)
        else:
            os.killpg(job.pid, signal.SIGKILL)
            atomic_write_bytes(job.directory / EXIT_CODE, f"{INTERRUPTED}\n".encode())
    except ProcessLookupError:
        return False
    return True


def model_progress(events: list[dict[str, Any]]) -> dict[str, ModelProgress]:
    """Fold progress events into the latest state of each model, in the order they started."""
    progress: dict[str, ModelProgress] = {}
    for event in events:
        name = event.get("model", "?")
        current = progress.get(name, ModelProgress())
        stage = event.get("stage", "step")
        details = {k: v for k, v in event.items() if k not in EVENT_FIELDS}
        progress[name] = ModelProgress(
            done=int(event.get("done", current.done)), total=int(event.get("total", current.total)),
            unit=event.get("unit", current.unit), stage=stage,
            message=event.get("message", current.message if stage == "note" else ""),
            details=details or current.details,
        )
    return progress


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """True for a live process; a finished child of ours is reaped first so it does not count."""
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    return process_alive(pid)


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run(directory: Path) -> int:
    """The runner: run the job's command with output into its log, then record the exit code."""
    spec = json.loads((directory / SPEC).read_text())
    command = [part.replace(EVENTS_PLACEHOLDER, str(directory / EVENTS)) for part in spec["command"]]
    # a server started in the background by a shell ignores interrupts, and a command inherits that: the stop
    # button interrupts the command, so it must not (this runner is in a session of its own, no terminal reaches it)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        child = subprocess.Popen(command, cwd=config.PROJECT_ROOT, stdin=subprocess.DEVNULL)
        atomic_write_bytes(directory / CHILD_PID, f"{child.pid}\n".encode())
        returncode = child.wait()
    except OSError as error:
        print(f"could not start {command[0]}: {error}", flush=True)
        returncode = 127
    atomic_write_bytes(directory / EXIT_CODE, f"{returncode}\n".encode())
    return returncode


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
