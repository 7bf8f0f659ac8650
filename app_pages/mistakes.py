"""Mistakes: the test digits the models get wrong, most confident first, and where they disagree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import ui
from pipelines.evaluation.analysis import all_wrong, disagreements, mistakes
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings

VIEWS = ("One model's mistakes", "The models disagree", "Every model is wrong")


def answers_caption(row: pd.Series, names: list[str]) -> str:
    """`true 4 · svm 4 · rf 9 · cnn 4` for one test image."""
    return f"true {row['true']} · " + " · ".join(f"{name} {row[name]}" for name in names)


def show_gallery(images: np.ndarray, captions: list[str], total: int, settings: DashboardSettings, what: str) -> None:
    if total == 0:
        st.success(f"No {what} with these filters.", icon="✅")
        return
    more = f"; showing the first {settings.gallery_size}" if total > settings.gallery_size else ""
    st.caption(f"{total} {what}{more}")
    ui.image_grid(images, captions, settings.thumbnail_px)


def render_mistakes(arena: Arena, settings: DashboardSettings) -> None:
    st.title("❌ Mistakes")
    if (test_set := ui.require_test_set(arena)) is None:
        return
    dataset, names = test_set
    labels, images = dataset["test_labels"], dataset["test_images"]
    view = st.radio("Show", VIEWS, horizontal=True, key="mistakes_view")
    left, middle, right = st.columns(3)
    with middle:
        true = ui.digit_filter("True digit", key="mistakes_true")
    with right:
        predicted = ui.digit_filter("Predicted digit", key="mistakes_predicted")
    if view == VIEWS[0]:
        with left:
            model = ui.model_picker(arena, names, key="mistakes_model")
        wrong = mistakes(arena.test_probabilities[model], labels, true, predicted)
        shown = wrong.head(settings.gallery_size)
        captions = [f"true {r.true} → {r.predicted} ({r.confidence:.0%})" for r in shown.itertuples()]
        show_gallery(images[shown["index"].to_numpy()], captions, len(wrong), settings,
                     f"mistakes of the {arena.models[model].title} (most confident first)")
        return
    probabilities = {name: arena.test_probabilities[name] for name in names}
    if len(probabilities) < 2 and view == VIEWS[1]:
        st.info("Only one model is loaded: there is nothing to disagree with.")
        return
    table = (disagreements if view == VIEWS[1] else all_wrong)(probabilities, labels, true, predicted)
    shown = table.head(settings.gallery_size)
    show_gallery(images[shown["index"].to_numpy()], [answers_caption(row, names) for _, row in shown.iterrows()],
                 len(table), settings, "test images where the models disagree" if view == VIEWS[1]
                 else "test images every model gets wrong")


render_mistakes(ui.get_arena(), ui.settings())
