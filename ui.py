"""Streamlit view helpers shared by the pages: the models loaded once, the sidebar, notices, image grids.

Logic lives in `pipelines/`; this module only decides how things look.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

from pipelines import config
from pipelines.evaluation.analysis import ConfusionView
from pipelines.serving.arena import Arena, load_arena, runs_signature
from pipelines.serving.settings import DashboardSettings, load_settings
from pipelines.store.registry import MODEL_NAMES, LoadedModel
from pipelines.training.jobs import JobError, TrainingRequest, job_status, latest_job, start_training

if TYPE_CHECKING:  # imported where used: the leaderboard is drawn before Plotly, SQLAlchemy or SciPy's statistics load
    import plotly.graph_objects as go

    from pipelines.evaluation.people import PeopleScores
    from pipelines.feedback import FeedbackStore

TRAIN_PAGE = "app_pages/train.py"
WAITED_FOR_MODELS_KEY = "waited_for_models"
"""Session state: the arena (its id) whose models a page of this session waited for, with a spinner."""
DRAW_PAGE = "app_pages/draw.py"
TRAIN_COMMAND = "python -m pipelines.train --profile quick"
MODEL_COLOURS = {"svm": "#4C78A8", "rf": "#54A24B", "cnn": "#E45756"}
"""One colour per model, the same on every chart."""
ENSEMBLE_COLOUR = "#9D755D"
MODEL_STATE_POLL_SECONDS = 1.0
"""How often the sidebar looks again whether the models have finished loading."""
THUMBNAIL_SCALE = 3
"""Test images are 28 px; shown three times larger with hard pixel edges."""
DRAWINGS_PAGE = "app_pages/drawings.py"
DIGITS = list(range(config.N_CLASSES))
AXIS_RANGE = [-0.5, config.N_CLASSES - 0.5]


def settings() -> DashboardSettings:
    """Read per run, so a test can point the app at another artifacts folder."""
    return load_settings()


@st.cache_resource(max_entries=4, show_spinner="Reading the trained runs…")
def _cached_arena(artifacts_dir: str, signature: tuple[str, ...]) -> Arena:
    """One read per set of runs on disk; a new run changes `signature` and so triggers a reload. The classifiers
    load later, in the background (`start_loading_models`)."""
    del signature  # only part of the cache key
    return load_arena(artifacts_dir, start_loading=False)


def get_arena() -> Arena:
    """The models and their test results, loaded once per process and per set of runs."""
    artifacts_dir = settings().artifacts_dir
    return _cached_arena(str(artifacts_dir), runs_signature(artifacts_dir))


def start_loading_models() -> None:
    """Called by the router once a page has been drawn: the models start loading a moment later, once the browser
    has drawn it too, or at once when a page needs them."""
    get_arena().start_loading(after_seconds=settings().model_loading_delay_seconds)


def ready_models(arena: Arena) -> dict[str, LoadedModel]:
    """The models that can answer now, waiting with a spinner while they load (one that failed is left out, and
    named by `render_frame`)."""
    if not arena.loading:
        return arena.ready_models()
    with st.spinner("Loading the models (the first visit after a start or a new training run)…"):
        models = arena.ready_models()
    st.session_state[WAITED_FOR_MODELS_KEY] = id(arena)
    return models


@st.fragment(run_every=MODEL_STATE_POLL_SECONDS)
def _loading_notice(arena: Arena) -> None:
    """Shown while the models load; when they are ready the page reruns once to show their state, unless it waited
    for them itself and all loaded (a rerun then would only hold back the answer to a first drawing)."""
    if arena.loading:
        st.caption("⏳ Loading the models in the background; the pages of stored results do not wait for them.")
    elif arena.load_errors() or st.session_state.get(WAITED_FOR_MODELS_KEY) != id(arena):
        st.rerun()


def model_label(arena: Arena, name: str) -> str:
    return f"{arena.models[name].title} ({name})" if name in arena.models else name


def render_frame(arena: Arena) -> None:
    """What every page shows around its content: the sidebar of loaded models, and loud warnings."""
    with st.sidebar:
        st.subheader("Loaded models")
        for name in MODEL_NAMES:
            if name in arena.models:
                model = arena.models[name]
                data = model.manifest.get("data", {})
                finished = str(model.manifest.get("finished_at", "?")).replace("T", " ")[:16]
                state = "failed to load" if model.load_error else f"answers with {model.serves_with}"
                st.markdown(f"**{model.title}**  \n{model.manifest.get('profile', '?')} profile · {finished} UTC  \n"
                            f"data: {data.get('source', '?')}, {data.get('n_train', 0):,} training images  \n"
                            f"{state}")
            else:
                st.markdown(f"**{name}**: not loaded")
        if arena.loading:
            _loading_notice(arena)
        job = latest_job(settings().jobs_dir)
        if job is not None and job_status(job).state == "running":
            st.info("⏳ A training run is in progress.")
            st.page_link(TRAIN_PAGE, label="Follow it on the Train page", icon="🏋️")
    for name, reason in arena.fallback_reasons().items():
        st.error(f"⚠️ **{model_label(arena, name)} was trained on the small bundled sample, not on full MNIST.** "
                 f"{reason}", icon="🚨")
    for name, error in {**arena.errors, **arena.load_errors()}.items():
        if arena.models:
            st.warning(f"The **{name}** model could not be loaded, so it is left out; the others are used. {error}",
                       icon="⚠️")
    for name, model in arena.models.items():
        for warning in model.warnings:
            st.caption(f"⚠️ {model_label(arena, name)}: {warning}")
    for problem in arena.dataset_errors.values():
        st.warning(f"Some test-set views are unavailable: {problem}", icon="⚠️")


def require_models(arena: Arena) -> bool:
    """True when at least one model loaded; otherwise say how to train one."""
    if arena.models:
        return True
    st.info(f"No trained model yet in `{arena.artifacts_dir}`. Train one on the **Train** page, or run "
            f"`{TRAIN_COMMAND}` in a terminal (about 3 minutes); the models appear here without restarting the app.",
            icon="🏋️")
    st.page_link(TRAIN_PAGE, label="Go to the Train page", icon="🏋️")
    for name, error in arena.errors.items():
        st.caption(f"{name}: {error}")
    return False


def require_test_set(arena: Arena) -> tuple[dict[str, np.ndarray], list[str]] | None:
    """The test set most models share and those models; otherwise say why there is none."""
    if not require_models(arena):
        return None
    dataset, names = arena.comparable()
    if dataset is None:
        st.info("The test images of these models cannot be read (see the warning above), so this view is empty. "
                "Retraining writes them again.")
        return None
    return dataset, names


def launch_training(request: TrainingRequest) -> None:
    """Start a background training run and say so, or say why it could not start."""
    current = settings()
    try:
        job = start_training(request, current.artifacts_dir, current.jobs_dir)
    except JobError as error:
        st.error(str(error))
        return
    st.session_state["watched_job"] = job.job_id
    st.success(f"Training started ({', '.join(request.models)}, {request.profile} profile). "
               "Follow it on the Train page; the new models appear on every page when it is done.", icon="🚀")


def enlarge(image: np.ndarray, scale: int = THUMBNAIL_SCALE) -> np.ndarray:
    """A small image scaled up with hard pixel edges, as uint8 (what the model sees, visibly)."""
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8)
    return np.kron(pixels, np.ones((scale, scale), dtype=np.uint8))


def outline_boxes(image: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], colour: str,
                  width: int) -> np.ndarray:
    """The input as RGB with a numbered rectangle around each (top, left, bottom, right) box."""
    pixels = np.asarray(image)
    picture = Image.fromarray(pixels[..., :3] if pixels.ndim == 3 else pixels).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for number, (top, left, bottom, right) in enumerate(boxes, start=1):
        draw.rectangle((left - width, top - width, right + width, bottom + width), outline=colour, width=width)
        draw.text((left, max(0, top - width - 12)), str(number), fill=colour)
    return np.asarray(picture)


def image_grid(images: Sequence[np.ndarray], captions: Sequence[str], thumbnail_px: int) -> None:
    """A flowing grid of digit images with captions."""
    if len(images):
        st.image([enlarge(image) for image in images], caption=list(captions), width=thumbnail_px)


def model_picker(arena: Arena, names: Sequence[str], key: str, label: str = "Model") -> str:
    """Choose one model by its title."""
    return st.selectbox(label, list(names), format_func=lambda name: model_label(arena, name), key=key)


def digit_filter(label: str, key: str) -> int | None:
    """Any digit, or one digit."""
    choice = st.selectbox(label, ["any", *range(10)], key=key)
    return None if choice == "any" else int(choice)


def confusion_figure(matrix: np.ndarray, view: ConfusionView, height: int) -> go.Figure:
    """A heatmap (true digit down, prediction across) with an invisible point per cell to make it clickable."""
    import plotly.graph_objects as go

    cell_format = "{:.0%}" if view == "row-normalised" else "{:.0f}"
    text = [["" if np.isnan(v) else cell_format.format(v) for v in row] for row in matrix]
    figure = go.Figure(go.Heatmap(z=matrix, x=DIGITS, y=DIGITS, text=text, texttemplate="%{text}", colorscale="Blues",
                                  showscale=False, hoverinfo="skip"))
    cells = [(t, p) for t in DIGITS for p in DIGITS]
    figure.add_scatter(x=[p for _, p in cells], y=[t for t, _ in cells], mode="markers", showlegend=False,
                       marker=dict(size=18, opacity=0.01), hovertemplate="true %{y} → predicted %{x}<extra></extra>")
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), clickmode="event+select",
                         xaxis=dict(title="predicted", dtick=1, range=AXIS_RANGE),
                         yaxis=dict(title="true", dtick=1, range=AXIS_RANGE[::-1]))
    return figure


@st.cache_resource(max_entries=4, show_spinner=False)
def _cached_feedback_store(url: str) -> FeedbackStore:
    from pipelines.feedback import FeedbackStore

    return FeedbackStore(url)


def feedback_store() -> FeedbackStore | None:
    """The store of labelled drawings (MNIST_FEEDBACK_URL, else feedback.db beside the models), opened once;
    None, with the reason shown, when it cannot be opened."""
    from pipelines.feedback import FeedbackError

    url = config.feedback_url_from_env(settings().artifacts_dir)
    try:
        return _cached_feedback_store(url)
    except FeedbackError as error:
        st.error(f"The labelled drawings cannot be read or saved: {error}", icon="🗄️")
        return None


def session_id() -> str:
    """A random id for this browser session, so drawings from one session can be told apart; nothing more."""
    return st.session_state.setdefault("feedback_session", uuid.uuid4().hex)


@st.cache_resource(max_entries=8, show_spinner="Scoring the models on people's drawings…")
def _cached_people_scores(_arena: Arena, _store: FeedbackStore, url: str, version: tuple[int, int],
                          signature: tuple[str, ...]) -> PeopleScores:
    """Recomputed only when a drawing is added or deleted or a new run lands (the key: url, version, signature)."""
    from pipelines.evaluation.people import score_held_out

    images, labels = _store.dataset("held_out")
    return score_held_out(_arena.ready_models(), images, labels)


def people_scores(arena: Arena) -> PeopleScores | None:
    """The loaded models' accuracy on the held-out labelled drawings, or None when the store cannot be read."""
    if not arena.models or arena.loading:  # scored once the models are ready, never waited for
        return None
    store = feedback_store()
    if store is None:
        return None
    return _cached_people_scores(arena, store, store.url, store.version(), runs_signature(arena.artifacts_dir))


@st.cache_data(max_entries=4, show_spinner=False)
def _cached_feedback_frames(url: str, version: tuple[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    del version  # only part of the cache key: a new or deleted drawing changes it
    store = _cached_feedback_store(url)
    return store.drawings_frame(), store.answers_frame()


def feedback_frames(store: FeedbackStore) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every labelled drawing (no pixels) and every model's answer to them, read again only after a change."""
    return _cached_feedback_frames(store.url, store.version())
