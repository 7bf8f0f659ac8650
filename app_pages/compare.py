"""Compare: per-class scores, confusion matrices (click a cell to see its images), confused pairs, calibration."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

import ui
from pipelines.config import N_CLASSES
from pipelines.evaluation.analysis import (
    CONFUSION_VIEWS,
    cell_indices,
    confusion_view,
    most_confused_pairs,
    per_class_frame,
    reliability_frame,
)
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings

CELL_KEYS = ("cell_model", "cell_true", "cell_predicted")
DIGITS = list(range(N_CLASSES))


def choose_cell(model: str) -> None:
    """Plotly click callback: show the images behind the clicked cell."""
    points = st.session_state[f"confusion_{model}"]["selection"]["points"]
    if points:
        st.session_state.update(cell_model=model, cell_true=int(points[0]["y"]), cell_predicted=int(points[0]["x"]))


def render_confusions(arena: Arena, names: list[str], settings: DashboardSettings) -> None:
    view = st.segmented_control("View", CONFUSION_VIEWS, default="counts", key="confusion_view") or "counts"
    for column, name in zip(st.columns(len(names)), names):
        column.markdown(f"**{ui.model_label(arena, name)}**")
        matrix = confusion_view(arena.models[name].metrics["confusion_matrix"], view)
        column.plotly_chart(ui.confusion_figure(matrix, view, settings.chart_height), key=f"confusion_{name}",
                            on_select=lambda name=name: choose_cell(name), selection_mode="points",
                            config={"displayModeBar": False})
        pairs = most_confused_pairs(arena.models[name].metrics["confusion_matrix"], settings.confused_pairs)
        listed = ", ".join(f"{p.true}→{p.predicted} ×{p.count}" for p in pairs)
        column.caption(f"Most confused: {listed or 'none'}")

    st.markdown("**Test images behind a cell** — click a cell above, or choose it here:")
    if st.session_state.get("cell_model") not in names:
        first = most_confused_pairs(arena.models[names[0]].metrics["confusion_matrix"], 1)
        st.session_state.update(cell_model=names[0], cell_true=first[0].true if first else 0,
                                cell_predicted=first[0].predicted if first else 0)
    left, middle, right = st.columns(3)
    with left:
        model = ui.model_picker(arena, names, key="cell_model")
    true = middle.selectbox("True digit", DIGITS, key="cell_true")
    predicted = right.selectbox("Predicted digit", DIGITS, key="cell_predicted")
    dataset, comparable = arena.comparable()
    if dataset is None or model not in comparable:
        st.info("The test images of this model are not available.")
        return
    proba = arena.test_probabilities[model]
    indices = cell_indices(dataset["test_labels"], proba.argmax(axis=1), true, predicted)
    st.caption(f"{len(indices)} test image(s) of a {true} read as {predicted}"
               + (f"; showing {settings.gallery_size}" if len(indices) > settings.gallery_size else ""))
    shown = indices[: settings.gallery_size]
    ui.image_grid(dataset["test_images"][shown], [f"{proba[i, predicted]:.0%}" for i in shown], settings.thumbnail_px)


def render_compare(arena: Arena, settings: DashboardSettings) -> None:
    st.title("⚖️ Compare the models")
    if not ui.require_models(arena):
        return
    names = list(arena.models)
    metrics = arena.metrics()
    st.subheader("Per-digit precision, recall and F1")
    scores = per_class_frame(metrics)
    for tab, metric in zip(st.tabs(["F1", "Precision", "Recall"]), ["f1", "precision", "recall"]):
        figure = px.bar(scores[scores["metric"] == metric], x="digit", y="value", color="model", barmode="group",
                        color_discrete_map=ui.MODEL_COLOURS, height=settings.chart_height)
        figure.update_layout(margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(title=metric, rangemode="tozero"),
                             xaxis=dict(type="category"))
        tab.plotly_chart(figure, width="stretch", key=f"per_class_{metric}", config={"displayModeBar": False})

    st.subheader("Confusion matrices")
    render_confusions(arena, names, settings)

    st.subheader("Reliability: is a model as sure as it is right?")
    bins = reliability_frame(metrics)
    figure = px.line(bins, x="confidence", y="accuracy", color="model", markers=True,
                     color_discrete_map=ui.MODEL_COLOURS, hover_data=["count"], height=settings.chart_height)
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"),
                       name="perfectly calibrated")
    figure.update_layout(margin=dict(l=10, r=10, t=10, b=10), xaxis_title="mean confidence in bin",
                         yaxis_title="share right in bin")
    st.plotly_chart(figure, width="stretch", key="reliability", config={"displayModeBar": False})
    st.caption("Points below the dotted line: the model is over-confident there; above: under-confident.")


render_compare(ui.get_arena(), ui.settings())
