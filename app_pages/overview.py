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
    import altair as alt

    from pipelines.evaluation.people import PeopleScores

BEST_STYLE = "background-color: #FDE2E1; font-weight: 700"
PUBLISHED_COLOUR = "#B8C2CC"
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


def error_chart(board: pd.DataFrame, settings: DashboardSettings) -> alt.Chart:
    """Our test error next to published ones, on one log axis (errors span 0.2 % to 12 %).

    Vega-Lite, not Plotly: on a first visit the browser's loading of Plotly's script held the leaderboard back by up
    to 2 s, although the chart comes after it (BENCHMARKS.md, "A fresh start").
    """
    import altair as alt

    ours = pd.DataFrame({"method": [f"{row.title} (ours)" for row in board.itertuples()],
                         "error": (1 - board["accuracy"].to_numpy()) * 100,
                         "colour": [ui.MODEL_COLOURS.get(name, ui.ENSEMBLE_COLOUR) for name in board.index]})
    published = pd.DataFrame({"method": [ref.method for ref in LITERATURE],
                              "error": [ref.error_percent for ref in LITERATURE], "colour": PUBLISHED_COLOUR})
    bars = pd.concat([ours, published], ignore_index=True)
    return alt.Chart(bars, height=settings.chart_height).mark_bar().encode(
        x=alt.X("error:Q", scale=alt.Scale(type="log"), title="test error, % (log scale)"),
        y=alt.Y("method:N", sort=None, title=None),
        color=alt.Color("colour:N", scale=None),
        tooltip=[alt.Tooltip("method:N", title="method"), alt.Tooltip("error:Q", title="test error %", format=".2f")],
    )


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
    left.altair_chart(error_chart(board, settings), width="stretch")
    right.dataframe(pd.DataFrame([{"Method": ref.method, "Test error %": ref.error_percent, "Source": ref.source}
                                  for ref in LITERATURE]), hide_index=True, width="stretch")


render_overview(ui.get_arena(), ui.settings())
