"""Overview: the leaderboard, published reference results, and a plain reading of the numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

import ui
from pipelines.config import FEEDBACK
from pipelines.evaluation.analysis import LEADERBOARD_COLUMNS, LITERATURE, best_models, leaderboard, plain_reading
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from pipelines.evaluation.people import PeopleScores

BEST_STYLE = "background-color: #FDE2E1; font-weight: 700"
CONTEXT_TITLES = {"title": "Model", "trained": "Trained (UTC)", "profile": "Profile", "data": "Data"}
FORMATS = {"accuracy": "{:.2%}", "macro_f1": "{:.4f}", "log_loss": "{:.4f}", "ece": "{:.4f}",
           "train_seconds": "{:.1f}", "latency_ms": "{:.2f}", "artifact_mb": "{:.2f}", "people_accuracy": "{:.1%}"}


def styled_leaderboard(board: pd.DataFrame) -> pd.io.formats.style.Styler:
    """The leaderboard with readable headers and the best cell of each scored column highlighted."""
    best = {LEADERBOARD_COLUMNS[column].title: model for column, model in best_models(board).items()}
    titles = {column: spec.title for column, spec in LEADERBOARD_COLUMNS.items()}
    shown = board.rename(columns={**titles, **CONTEXT_TITLES}).set_index("Model")
    model_of_row = dict(zip(shown.index, board.index))

    def highlight(column: pd.Series) -> list[str]:
        return [BEST_STYLE if best.get(column.name) == model_of_row[row] else "" for row in column.index]

    return shown.style.apply(highlight).format({titles[column]: spec for column, spec in FORMATS.items()
                                                if column in board}, na_rep="–")


def people_caption(people: PeopleScores, arena: Arena) -> str:
    """What the "People's drawings" column is, with its intervals, or how many drawings it still waits for."""
    if not people.enough:
        return (f"A **People's drawings** column appears once {FEEDBACK.min_held_out} labelled drawings are held out "
                f"(now {people.count}): label the answers on the Draw page.")
    intervals = "; ".join(f"{ui.model_label(arena, name)} {score.low:.0%}–{score.high:.0%}"
                          for name, score in people.scores.items())
    return (f"**People's drawings**: accuracy on the {people.count} held-out drawings labelled on the Draw page, "
            f"never trained on; {FEEDBACK.confidence_level:.0%} intervals: {intervals}.")


def error_chart(board: pd.DataFrame, settings: DashboardSettings) -> go.Figure:
    """Our test error next to published ones, on one log axis (errors span 0.2 % to 12 %)."""
    import plotly.graph_objects as go  # after the leaderboard is on screen: Plotly takes a while to import

    figure = go.Figure()
    colours = [ui.MODEL_COLOURS.get(name, ui.ENSEMBLE_COLOUR) for name in board.index]
    figure.add_bar(y=[f"{row.title} (ours)" for row in board.itertuples()], x=(1 - board["accuracy"]) * 100,
                   orientation="h", marker_color=colours, name="this arena")
    figure.add_bar(y=[ref.method for ref in LITERATURE], x=[ref.error_percent for ref in LITERATURE],
                   orientation="h", marker_color="#B8C2CC", name="published")
    figure.update_layout(height=settings.chart_height, xaxis_title="test error, % (log scale)", xaxis_type="log",
                         margin=dict(l=10, r=10, t=30, b=10),
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return figure


def render_overview(arena: Arena, settings: DashboardSettings) -> None:
    st.title("🏆 Leaderboard")
    if not ui.require_models(arena):
        return
    people = ui.people_scores(arena)
    board = leaderboard(arena.metrics(), arena.manifests(), people.accuracies() if people else None)
    st.table(styled_leaderboard(board))  # a static table: on screen 1-2 s sooner than a data grid on a first visit
    st.caption("Highlighted: the best value in each column. Latency is the median time to classify one image; "
               "calibration error (ECE) is the average gap between how sure a model is and how often it is right.")
    if people is not None:
        st.caption(people_caption(people, arena))

    dataset, _ = arena.comparable()
    n_test = int(len(dataset["test_labels"])) if dataset is not None else None
    st.subheader("What the numbers say")
    st.markdown("\n".join(f"- {sentence}" for sentence in plain_reading(board, n_test)))

    st.subheader("Against the literature")
    left, right = st.columns([3, 2])
    left.plotly_chart(error_chart(board, settings), width="stretch", config={"displayModeBar": False})
    right.dataframe(pd.DataFrame([{"Method": ref.method, "Test error %": ref.error_percent, "Source": ref.source}
                                  for ref in LITERATURE]), hide_index=True, width="stretch")


render_overview(ui.get_arena(), ui.settings())
