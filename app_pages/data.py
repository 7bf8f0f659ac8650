"""Data: what the models learned from and were tested on — class balance, samples, mean digits."""

from __future__ import annotations

import numpy as np
import plotly.express as px
import streamlit as st

import ui
from pipelines.config import N_CLASSES
from pipelines.evaluation.analysis import class_balance, samples_per_digit
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings


def render_data(arena: Arena, settings: DashboardSettings) -> None:
    st.title("🗂️ The data")
    if (test_set := ui.require_test_set(arena)) is None:
        return
    dataset, names = test_set
    manifest = arena.models[names[0]].manifest["data"]
    st.markdown(f"Source: **{manifest['source']}** · {manifest['n_train']:,} training and {manifest['n_test']:,} test "
                f"images · fingerprint `{manifest['fingerprint'][:12]}` · used by "
                + ", ".join(ui.model_label(arena, name) for name in names))

    st.subheader("Class balance")
    balance = class_balance(dataset["train_counts"], dataset["test_counts"])
    figure = px.bar(balance, x="digit", y="share", color="set", barmode="group", hover_data=["images"],
                    height=settings.chart_height, color_discrete_sequence=["#4C78A8", "#F58518"])
    figure.update_layout(margin=dict(l=10, r=10, t=10, b=10), yaxis_tickformat=".0%", xaxis_type="category")
    st.plotly_chart(figure, width="stretch", key="balance", config={"displayModeBar": False})

    st.subheader("The mean image of each digit (training set)")
    means = np.clip(dataset["train_means"], 0, 255).round().astype(np.uint8)  # stored as 0-255 floats
    ui.image_grid(list(means), [str(d) for d in range(N_CLASSES)], settings.thumbnail_px)

    st.subheader("Test samples per digit")
    chosen = samples_per_digit(dataset["test_labels"], settings.samples_per_digit, settings.seed)
    for digit, indices in chosen.items():
        st.caption(f"Digit {digit}")
        ui.image_grid(dataset["test_images"][indices], [f"#{i}" for i in indices], settings.thumbnail_px)


render_data(ui.get_arena(), ui.settings())
