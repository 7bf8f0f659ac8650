"""Experiments: how the models got where they are — learning curves, sweeps, what accuracy costs, and the run
history of each model with the choice of which run the dashboard serves."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import ui
from pipelines.evaluation.history import compare_runs, run_history
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings
from pipelines.store.artifacts import ArtifactError, ArtifactStore
from pipelines.store.registry import MODEL_NAMES
from pipelines.studies import frames
from pipelines.studies.store import Study, StudyStore

STUDY_COMMAND = "python -m pipelines.study --kind {kind} --data idx:../shared/mnist"
MARGINS = dict(l=10, r=10, t=10, b=10)


def pick_study(studies: StudyStore, kind: str, example_options: str) -> Study | None:
    """The chosen study of a kind (newest first), or None after saying how to run one."""
    found = studies.studies(kind)
    if not found:
        st.info(f"No {kind} study yet. Run `{STUDY_COMMAND.format(kind=kind)}{example_options}`.")
        return None
    return st.selectbox("Study", found, key=f"{kind}_study", format_func=lambda s: (
        f"{s.study_id} · {', '.join(s.plan()['models'])} · {s.manifest['status']} · "
        f"{s.manifest['finished_fits']}/{s.manifest['planned_fits']} fits"))


def show_failures(study: Study) -> None:
    failed = frames.failed_fits(study)
    if not failed.empty:
        st.warning(f"{len(failed)} fit(s) of this study failed; the others are shown.")
        st.dataframe(failed, hide_index=True, width="stretch")


def learning_curve_figure(curve: pd.DataFrame, height: int) -> go.Figure:
    """One line per model (mean over seeds) inside a band from the worst to the best seed."""
    figure = go.Figure()
    for model, rows in curve.groupby("model"):
        colour = ui.MODEL_COLOURS.get(model, ui.ENSEMBLE_COLOUR)
        figure.add_scatter(x=[*rows["size"], *rows["size"][::-1]], y=[*rows["accuracy_max"], *rows["accuracy_min"][::-1]],
                           fill="toself", fillcolor=colour, opacity=0.2, line=dict(width=0), hoverinfo="skip",
                           showlegend=False)
        figure.add_scatter(x=rows["size"], y=rows["accuracy_mean"], mode="lines+markers", name=model,
                           line=dict(color=colour))
    figure.update_layout(height=height, margin=MARGINS, xaxis_title="training images (log scale)", xaxis_type="log",
                         yaxis_title="test accuracy", yaxis_tickformat=".0%")
    return figure


def render_learning_curves(studies: StudyStore, settings: DashboardSettings) -> None:
    study = pick_study(studies, "learning-curve", "")
    if study is None:
        return
    curve = frames.learning_curve(frames.fits_frame(study))
    if not curve.empty:
        st.plotly_chart(learning_curve_figure(curve, settings.chart_height), width="stretch",
                        config={"displayModeBar": False})
        st.caption("Accuracy on the test set, mean over seeds (each seed picks another stratified training "
                   "subset); the band spans the worst to the best seed. The test set only measures here: nothing "
                   "is chosen on it.")
        st.dataframe(curve, hide_index=True, width="stretch")
    show_failures(study)


def render_sweeps(studies: StudyStore, settings: DashboardSettings) -> None:
    study = pick_study(studies, "sweep", " --models svm")
    if study is None:
        return
    results = frames.sweep_results(frames.fits_frame(study))
    parameters = [column for column in results.columns if column.startswith(frames.PARAM_PREFIX)]
    if len(parameters) == 2:
        grid = results.pivot(index=parameters[1], columns=parameters[0], values="accuracy_mean")
        figure = px.imshow(grid, text_auto=".2%", aspect="auto", color_continuous_scale="Blues",
                           labels=dict(color="accuracy"), height=settings.chart_height)
        figure.update_xaxes(type="category")
        figure.update_yaxes(type="category")
    elif len(parameters) == 1:
        figure = px.line(results.sort_values(parameters[0]), x=parameters[0], y="accuracy_mean", error_y="accuracy_std",
                         markers=True, height=settings.chart_height)
    else:
        figure = None
    if figure is not None:
        figure.update_layout(margin=MARGINS)
        st.plotly_chart(figure, width="stretch", config={"displayModeBar": False})
    st.caption(f"Cross-validated accuracy on {study.plan()['folds']} folds of {study.plan()['sizes'][0]:,} training "
               "images (mean over folds), never on the test set. Best first:")
    st.dataframe(results, hide_index=True, width="stretch")
    show_failures(study)


def render_cost(arena: Arena, studies: StudyStore, settings: DashboardSettings) -> None:
    points = frames.cost_points(ArtifactStore(arena.artifacts_dir), MODEL_NAMES, studies.studies("learning-curve"))
    if points.empty:
        st.info("No stored run or learning-curve fit to plot yet.")
        return
    for column, (x, title) in zip(st.columns(2), (("train_seconds", "training time, s"),
                                                  ("latency_ms", "latency, one image, ms"))):
        figure = px.scatter(points, x=x, y="accuracy", color="model", symbol="origin", hover_name="label",
                            color_discrete_map=ui.MODEL_COLOURS, log_x=True, height=settings.chart_height,
                            labels={x: f"{title} (log scale)", "accuracy": "test accuracy"})
        figure.update_layout(margin=MARGINS, yaxis_tickformat=".0%")
        column.plotly_chart(figure, width="stretch", key=f"cost-{x}", config={"displayModeBar": False})
    st.caption("Every kept training run and every learning-curve fit, on the test set. Sweep fits are left out: "
               "they are scored on the training set's folds.")


def render_history(arena: Arena) -> None:
    if not arena.models:
        st.caption("The run history appears once a model is trained (see above).")
        return
    store = ArtifactStore(arena.artifacts_dir)
    name = ui.model_picker(arena, [n for n in MODEL_NAMES if store.runs(n)], key="history_model")
    history = run_history(store, name)
    st.dataframe(history, hide_index=True, width="stretch")
    runs = {run.run_id: run for run in store.runs(name)}
    ids = list(runs)
    if len(ids) >= 2:
        left, right = st.columns(2)
        first = left.selectbox("Compare run", ids, index=0, key="compare_first")
        second = right.selectbox("with run", ids, index=1, key="compare_second")
        comparison = compare_runs(runs[first], runs[second])
        if st.toggle("Only what differs", value=True, key="only_differences"):
            comparison = comparison[comparison["differs"]]
        st.dataframe(comparison, hide_index=True, width="stretch")

    pinned = store.pinned(name)
    st.markdown(f"**Served by the dashboard:** {'the pinned run ' + pinned if pinned else 'the newest good run'}")
    choice = st.selectbox("Run to serve", ids, key="pin_choice")
    pin, unpin = st.columns(2)
    if pin.button("📌 Serve this run", key="pin"):
        try:
            store.pin(name, choice)
            st.rerun()
        except ArtifactError as error:
            st.error(f"This run cannot be served: {error}")
    if pinned and unpin.button("Serve the newest run again", key="unpin"):
        store.unpin(name)
        st.rerun()


def render_experiments(arena: Arena, settings: DashboardSettings) -> None:
    st.title("🧪 Experiments")
    st.markdown("How each model's accuracy grows with data, how it depends on its hyperparameters, what it costs, "
                "and every kept training run.")
    ui.require_models(arena)  # said once, above the tabs: a hidden tab's text is not on screen
    studies = StudyStore(settings.artifacts_dir)
    curves, sweeps, cost, history = st.tabs(["Learning curves", "Sweeps", "Accuracy and cost", "Run history"])
    with curves:
        render_learning_curves(studies, settings)
    with sweeps:
        render_sweeps(studies, settings)
    with cost:
        render_cost(arena, studies, settings)
    with history:
        render_history(arena)


render_experiments(ui.get_arena(), ui.settings())
