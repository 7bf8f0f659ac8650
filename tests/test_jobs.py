"""Background jobs: starting, following, stopping, and a real training run started as the app does."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest

from pipelines.store.registry import load_report
from pipelines.training import jobs

WAIT_SECONDS = 240


def wait_until_finished(job: jobs.Job, limit: float = WAIT_SECONDS) -> jobs.JobStatus:
    deadline = time.monotonic() + limit
    while True:
        status = jobs.job_status(job)
        if status.finished or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_job_runs_in_the_background_and_its_exit_code_is_read_from_disk(tmp_path: Path) -> None:
    job = jobs.start_job(python("import time; print('hello from the job'); time.sleep(1)"), tmp_path)
    assert jobs.job_status(job).state == "running"
    status = wait_until_finished(job)
    assert (status.state, status.returncode) == ("succeeded", 0)
    assert "hello from the job" in status.log_tail
    assert jobs.latest_job(tmp_path).job_id == job.job_id


def test_a_failing_job_is_reported_as_failed(tmp_path: Path) -> None:
    job = jobs.start_job(python("import sys; sys.exit('it broke')"), tmp_path)
    status = wait_until_finished(job)
    assert (status.state, status.returncode) == ("failed", 1)
    assert "it broke" in status.log_tail


def test_only_one_job_at_a_time_and_it_can_be_stopped(tmp_path: Path) -> None:
    job = jobs.start_job(python("import time; time.sleep(60)"), tmp_path)
    with pytest.raises(jobs.JobError, match="still running"):
        jobs.start_job(python("pass"), tmp_path)
    assert jobs.stop_job(job)
    status = wait_until_finished(job, limit=30)
    assert status.state == "failed" and status.returncode != 0
    assert not jobs.stop_job(job)


def test_a_job_started_by_a_server_that_ignores_interrupts_can_still_be_stopped(tmp_path: Path) -> None:
    """As `nohup streamlit run app.py &` from a script leaves the server: interrupts ignored, inherited by children."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        job = jobs.start_job(python("import time; time.sleep(60)"), tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert jobs.stop_job(job)
    status = wait_until_finished(job, limit=30)
    assert status.state == "failed" and status.returncode != 0


def test_a_job_whose_runner_vanished_is_lost(tmp_path: Path) -> None:
    directory = tmp_path / "20200101T000000000000Z"
    directory.mkdir()
    (directory / jobs.SPEC).write_text(json.dumps({"command": ["true"], "started": time.time() - 60, "pid": 2**22 + 7}))
    assert jobs.job_status(jobs.latest_job(tmp_path)).state == "lost"


def test_progress_events_fold_into_per_model_state() -> None:
    events = [
        {"model": "svm", "stage": "start", "done": 0, "total": 1, "unit": "fit"},
        {"model": "svm", "stage": "note", "done": 0, "total": 1, "message": "fitting"},
        {"model": "svm", "stage": "step", "done": 1, "total": 1, "support_vectors": 900},
        {"model": "svm", "stage": "done", "done": 1, "total": 1},
        {"model": "cnn", "stage": "start", "done": 0, "total": 4, "unit": "epoch"},
        {"model": "cnn", "stage": "step", "done": 1, "total": 4, "loss": 0.5},
    ]
    progress = jobs.model_progress(events)
    assert list(progress) == ["svm", "cnn"]
    assert progress["svm"].fraction == 1.0 and progress["svm"].stage == "done"
    assert progress["cnn"].fraction == 0.25 and progress["cnn"].unit == "epoch"
    assert progress["cnn"].details == {"loss": 0.5}


def test_training_request_builds_the_train_command(tmp_path: Path) -> None:
    command = jobs.TrainingRequest(("rf",), "quick", "sample").command(tmp_path, tmp_path / "events.jsonl")
    assert command[1:4] == ["-m", "pipelines.train", "--models"]
    assert command[command.index("--data") + 1] == "sample"
    assert "--data" not in jobs.TrainingRequest(("rf",), "quick").command(tmp_path, tmp_path / "e")
    with pytest.raises(jobs.JobError):
        jobs.start_training(jobs.TrainingRequest((), "quick"), tmp_path, tmp_path / "jobs")
    with pytest.raises(jobs.JobError):
        jobs.start_training(jobs.TrainingRequest(("rf",), "enormous"), tmp_path, tmp_path / "jobs")


def test_training_from_the_app_lands_a_model_with_progress(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    job = jobs.start_training(jobs.TrainingRequest(("rf",), "quick", "sample"), artifacts, artifacts / ".jobs")
    status = wait_until_finished(job)
    assert status.state == "succeeded", status.log_tail
    assert status.progress["rf"].stage == "done" and status.progress["rf"].total > 0
    report = load_report(artifacts)
    assert set(report.models) == {"rf"} and report.models["rf"].metrics["n_train"] > 0
