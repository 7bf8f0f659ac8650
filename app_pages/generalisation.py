"""Generalisation: every model on MNIST test, on digits redrawn on a canvas and on digits in shapes MNIST's writers
rarely made — the digits a user meets on the Draw page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

import ui
from pipelines.evaluation.generalisation import SET_NAMES, TAG_BREAKDOWNS, breakdown_rows, comparison_rows
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings

BENCHMARK_COMMAND = "python -m pipelines.benchmarks.out_of_style --data idx:../shared/mnist"
BREAKDOWN_TITLES = {"source": "font or letterform", "distortion": "elastic distortion or none",
                    "style": "font design or letterform", "digit": "digit"}


def render_generalisation(arena: Arena, settings: DashboardSettings) -> None:
    st.title("🧭 Generalisation")
    st.markdown("Accuracy on MNIST's test digits, on MNIST test digits redrawn as pen strokes on a canvas, and on "
                "**out-of-style** digits MNIST's writers rarely made: typeset in fonts never trained on, and "
                "handwritten letterforms such as flagged 1s, closed-loop 6s and 9s and crossed 7s, some elastically "
                "distorted. Measured when each model is trained and stored beside it.")
    if not ui.require_models(arena):
        return
    scores, missing = arena.generalisation()
    for name in missing:
        st.info(f"{ui.model_label(arena, name)} has no generalisation scores: it was trained before they were "
                "measured. Retrain it to measure them.")
    if not scores:
        return
    rows = pd.DataFrame(comparison_rows(scores))
    table = rows.pivot(index="model", columns="set", values="accuracy").loc[list(scores), list(SET_NAMES.values())]
    st.dataframe(table.style.format("{:.1%}"), width="stretch")
    figure = px.bar(rows, x="set", y="accuracy", color="model", barmode="group", height=settings.chart_height,
                    color_discrete_map=ui.MODEL_COLOURS, labels={"set": "", "accuracy": "accuracy"})
    figure.update_layout(margin=dict(l=10, r=10, t=10, b=10), yaxis_tickformat=".0%")
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False})
    sizes = next(iter(scores.values()))["n"]
    st.caption(f"Drawn digits: {sizes['drawn']:,}; out of style: {sizes['out_of_style']:,} (seeded, the same for every "
               f"model). The full 1,000-digit sets: `{BENCHMARK_COMMAND}`.")

    st.subheader("Where the out-of-style digits are missed")
    kind = st.selectbox("Break the accuracy down by", list(TAG_BREAKDOWNS),
                        format_func=BREAKDOWN_TITLES.__getitem__, key="generalisation-breakdown")
    breakdown = pd.DataFrame(breakdown_rows(scores, kind)).set_index("group")
    st.dataframe(breakdown.style.format("{:.0%}", subset=list(scores)), width="stretch")


render_generalisation(ui.get_arena(), ui.settings())
