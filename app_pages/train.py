"""Train: start a training run in the background and follow it; the new models appear when it lands."""

from __future__ import annotations

import streamlit as st

import ui
from pipelines import config
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings
from pipelines.store.registry import MODEL_NAMES
from pipelines.training.jobs import Job, JobStatus, TrainingRequest, job_status, latest_job, stop_job

DATA_CHOICES = {
    "sample": "Bundled sample: 3,000 training + 1,000 test images (fast, offline)",
    "openml": "OpenML mnist_784: 60,000 + 10,000 images (downloaded once, then cached)",
    "idx": "The four MNIST IDX files in a folder",
    "default": "Default: $MNIST_SOURCE, else OpenML, falling back to the sample when offline",
}
STATE_BADGES = {"running": ("running", "blue"), "succeeded": ("finished", "green"), "failed": ("failed", "red"),
                "lost": ("stopped unexpectedly", "red")}


def request_form(running: bool) -> TrainingRequest | None:
    """The user's choice of models, profile and data, once they press Start."""
    with st.form("train_form"):
        models = st.multiselect("Models", MODEL_NAMES, default=list(MODEL_NAMES))
        profiles = sorted(config.PROFILES)
        profile = st.radio("Profile", profiles, index=profiles.index(config.DEFAULT_PROFILE),
                           horizontal=True, help="quick: at most 10,000 training images, a few minutes; "
                                                 "full: all training images, much longer")
        source = st.selectbox("Data", list(DATA_CHOICES), format_func=DATA_CHOICES.get)
        folder = st.text_input("IDX folder (used with the IDX choice)", str(config.SHARED_MNIST_DIR))
        submitted = st.form_submit_button("🚀 Start training", disabled=running, type="primary")
    if not submitted:
        return None
    if not models:
        st.error("Choose at least one model.")
        return None
    data = {"default": None, "idx": f"idx:{folder.strip()}"}.get(source, source)
    return TrainingRequest(tuple(models), profile, data)


def show_status(job: Job, status: JobStatus) -> None:
    label, colour = STATE_BADGES[status.state]
    spec = job.spec
    st.badge(f"Job {job.job_id}: {label}", color=colour)
    st.caption(f"{', '.join(spec.get('models', []))} · {spec.get('profile', '?')} profile · data: "
               f"{spec.get('data') or 'default'} · {status.elapsed_seconds:.0f} s")
    for name, progress in status.progress.items():
        step = f"{progress.done}/{progress.total} {progress.unit}s" if progress.total else "starting"
        stage = "done" if progress.stage == "done" else progress.message or step
        st.progress(progress.fraction, text=f"**{name}** — {stage}")
    if status.state == "failed":
        st.error(f"Training ended with exit code {status.returncode}; the log below says why. Models that "
                 "finished before the failure were kept.")
    with st.expander("Log", expanded=status.state != "succeeded"):
        st.code(status.log_tail or "(no output yet)", language="text")


def job_panel(job: Job, settings: DashboardSettings) -> None:
    """The latest job, refreshed every few seconds while it runs; on completion the whole app reloads its models."""
    status = job_status(job, settings.log_tail_lines)
    show_status(job, status)
    if status.state == "running":
        if st.button("⏹ Stop training", key="stop_job"):
            stop_job(job)
    elif st.session_state.get("reloaded_after") != job.job_id:
        st.session_state["reloaded_after"] = job.job_id
        st.rerun(scope="app")  # the runs on disk changed: reload models, sidebar and pages


def render_train(arena: Arena, settings: DashboardSettings) -> None:
    st.title("🏋️ Train")
    st.markdown(f"Training runs in a background process and writes to `{settings.artifacts_dir}`; this page stays "
                "usable and the new models replace the old ones on every page when they are saved. "
                f"The same from a terminal: `{ui.TRAIN_COMMAND}`.")
    job = latest_job(settings.jobs_dir)
    running = job is not None and job_status(job).state == "running"
    request = request_form(running)
    if request is not None:
        ui.launch_training(request)
        job = latest_job(settings.jobs_dir)
    if job is None:
        st.info("No training run has been started from the app yet." + ("" if arena.models else
                " No model is trained yet either: start with the quick profile on the bundled sample."))
        return
    st.subheader("Latest run")
    live = job_status(job).state == "running"
    st.fragment(job_panel, run_every=settings.job_poll_seconds if live else None)(job, settings)


render_train(ui.get_arena(), ui.settings())
