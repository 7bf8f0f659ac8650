"""The labelling widget shown under every answer on the Draw page: "✓ right" or "the right digit is …".

A view only: it records through `pipelines.feedback.FeedbackStore` (opened by `ui.feedback_store`) the 28×28
image the models saw, a small picture of the input, the label, every model's answer, confidence, probabilities
and run, the time and this browser session's random id; nothing else about the person.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

import ui
from pipelines.config import N_CLASSES
from pipelines.evaluation.analysis import LivePrediction, soft_vote
from pipelines.feedback import FeedbackError
from pipelines.feedback.records import image_digest
from pipelines.serving.arena import Arena

SAVED_STATE = "feedback_saved"
"""session_state[SAVED_STATE][key] = (digest of the image, label, drawing id) once labelled."""


def run_ids(arena: Arena) -> dict[str, str]:
    """The run each loaded model answers from."""
    return {name: model.run.run_id for name, model in arena.models.items()}


def _save(image: np.ndarray, label: int, predictions: Sequence[LivePrediction], run_ids: dict[str, str],
          input_png: bytes | None, source: str, mode: str, key: str) -> None:
    """Button and pills callback: record the labelled drawing once, or keep the reason to show."""
    store = ui.feedback_store()
    if store is None:
        return
    try:
        drawing_id = store.record(
            image, int(label), {p.model: p.digit for p in predictions},
            confidences={p.model: p.confidence for p in predictions},
            probabilities={p.model: p.probabilities for p in predictions},
            run_ids={model: run for model, run in run_ids.items() if any(p.model == model for p in predictions)},
            input_png=input_png, session_id=ui.session_id(), source=source, mode=mode)
    except (ValueError, FeedbackError, SQLAlchemyError) as error:
        st.session_state[f"feedback_error_{key}"] = str(error)
        return
    st.session_state.setdefault(SAVED_STATE, {})[key] = (image_digest(image), int(label), drawing_id)
    st.session_state.pop(f"feedback_error_{key}", None)


def label_answer(image: np.ndarray, predictions: Sequence[LivePrediction], run_ids: dict[str, str],
                 input_png: bytes | None, key: str, source: str = "canvas", mode: str = "digit") -> None:
    """Ask whether the arena's answer to `image` was right, and store the drawing with the person's label.

    Args:
        image: the 28×28 float32 image the models saw.
        predictions: each model's answer to it (`predict_all`).
        run_ids: the run each model answered from.
        input_png: a small picture of the input as drawn (`pipelines.feedback.records.input_thumbnail`).
        key: unique on the page, e.g. "canvas" or "upload-2" (one per digit of a number).
        source: "canvas" or "upload"; mode: "digit" or "number".
    """
    digest = image_digest(image)
    saved = st.session_state.get(SAVED_STATE, {}).get(key)
    with st.container(key=f"feedback-{key}", border=True):
        if saved is not None and saved[0] == digest:
            st.success(f"Saved as a **{saved[1]}**, thank you: it now counts on the Your drawings page.", icon="✅")
            st.page_link(ui.DRAWINGS_PAGE, label="See your drawings", icon="🖍️")
            return
        answer = int(soft_vote([p.probabilities for p in predictions]).argmax())
        rest = (predictions, run_ids, input_png, source, mode, key)
        pick_key = f"feedback-digit-{key}-{digest}"  # a new drawing gets a fresh, unselected widget

        def save_pick() -> None:
            if st.session_state[pick_key] is not None:
                _save(image, st.session_state[pick_key], *rest)

        st.button(f"✓ right ({answer})", key=f"feedback-right-{key}-{digest}", on_click=_save,
                  args=(image, answer, *rest))
        st.pills("…or the right digit is", list(range(N_CLASSES)), key=pick_key, on_change=save_pick)
        st.caption("Labelling keeps this drawing (not who drew it) to test the models and, later, to train them.")
        problem = st.session_state.get(f"feedback_error_{key}")
        if problem:
            st.error(f"This label could not be saved: {problem}", icon="🗄️")
