"""Robustness: how each model's test accuracy falls as the digits are rotated, shifted, scaled, thinned or
thickened, made noisy or partly covered — the ways drawn digits differ from MNIST."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

import ui
from pipelines.evaluation.robustness import ROBUSTNESS, as_unit_float, curves_table, perturb
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings


def render_robustness(arena: Arena, settings: DashboardSettings) -> None:
    st.title("🌀 Robustness lab")
    st.markdown("Test accuracy of every model as the test digits are perturbed, each at several strengths "
                "(the curves are measured when a model is trained and stored beside it).")
    if not ui.require_models(arena):
        return
    curves, missing = arena.robustness()
    for name, reason in missing.items():
        st.warning(f"{ui.model_label(arena, name)} has no robustness curves (retrain it to measure them): {reason}")
    if not curves:
        return
    table = pd.DataFrame(curves_table(curves))
    test_set = ui.require_test_set(arena)
    columns = st.columns(2)
    for index, spec in enumerate(ROBUSTNESS.perturbations):
        with columns[index % 2]:
            st.subheader(spec.kind.capitalize())
            rows = table[table["kind"] == spec.kind]
            figure = px.line(rows, x="strength", y="accuracy", color="model", markers=True,
                             color_discrete_map=ui.MODEL_COLOURS, height=settings.chart_height,
                             labels={"strength": spec.unit})
            figure.update_layout(margin=dict(l=10, r=10, t=10, b=10), yaxis_tickformat=".0%")
            st.plotly_chart(figure, width="stretch", key=f"robustness-{spec.kind}", config={"displayModeBar": False})
            if test_set is not None:
                _sample_at_strength(arena, test_set, spec.kind, spec.strengths, settings)


def _sample_at_strength(arena: Arena, test_set: tuple[dict[str, np.ndarray], list[str]], kind: str,
                        strengths: tuple[float, ...], settings: DashboardSettings) -> None:
    """One test digit at the chosen strength, and what every model answers on it."""
    dataset, names = test_set
    strength = st.select_slider("Strength", options=list(strengths), key=f"strength-{kind}")
    rng = np.random.default_rng(settings.seed)
    index = int(rng.integers(len(dataset["test_labels"])))
    image = perturb(as_unit_float(dataset["test_images"][index : index + 1]), kind, strength, rng)
    st.image(ui.enlarge(image[0]), width=settings.thumbnail_px)
    if arena.loading:  # never waited for: the page reruns by itself once they have loaded
        st.caption(f"Test image #{index}, true digit {int(dataset['test_labels'][index])}; every model's answer "
                   "appears here once the models have loaded.")
        return
    models = arena.ready_models()
    answers = ", ".join(f"{name}: **{int(models[name].predict_proba(image).argmax())}**" for name in names
                        if name in models)
    st.caption(f"Test image #{index}, true digit {int(dataset['test_labels'][index])}; the models answer:")
    st.markdown(answers)


render_robustness(ui.get_arena(), ui.settings())
