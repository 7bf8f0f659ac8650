"""Your drawings: the digits people drew here and labelled, how each model does on them, and what it got wrong."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from pipelines.config import FEEDBACK
from pipelines.evaluation.analysis import CONFUSION_VIEWS, confusion_view
from pipelines.feedback import FeedbackStore
from pipelines.feedback.summary import (
    SOFT_VOTE,
    Accuracy,
    accuracy_table,
    confusion,
    export_csv,
    export_npz,
    model_answers,
    wrong_answers,
)
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings


def date_filtered(drawings: pd.DataFrame, answers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The drawings stored between two chosen days (UTC), and their answers."""
    first, last = drawings["created_at"].min().date(), drawings["created_at"].max().date()
    chosen = st.date_input("Drawings stored between (UTC)", (first, last), min_value=first, max_value=last,
                           key="drawings_dates")
    start, end = (chosen[0], chosen[-1]) if isinstance(chosen, tuple) and chosen else (first, last)
    days = drawings["created_at"].dt.date
    kept = drawings[(days >= start) & (days <= end)]
    return kept, answers[answers["drawing_id"].isin(kept["id"])]


def accuracy_frame(scores: list[Accuracy], arena: Arena) -> pd.DataFrame:
    return pd.DataFrame([{"Model": ui.model_label(arena, s.model), "Right": s.correct, "Drawings": s.total,
                          "Accuracy": s.accuracy, f"{FEEDBACK.confidence_level:.0%} interval":
                          f"{s.low:.1%} – {s.high:.1%}"} for s in scores])


def show_confusions(joined: dict[str, pd.DataFrame], arena: Arena, settings: DashboardSettings) -> None:
    view = st.segmented_control("View", CONFUSION_VIEWS, default="counts", key="drawings_confusion_view") or "counts"
    for column, (name, frame) in zip(st.columns(len(joined)), joined.items()):
        column.markdown(f"**{ui.model_label(arena, name)}**")
        column.plotly_chart(ui.confusion_figure(confusion_view(confusion(frame), view), view, settings.chart_height),
                            key=f"drawings_confusion_{name}", config={"displayModeBar": False})


def show_mistakes(joined: dict[str, pd.DataFrame], store: FeedbackStore, arena: Arena,
                  settings: DashboardSettings) -> None:
    model = ui.model_picker(arena, list(joined), key="drawings_wrong_model")
    wrong = wrong_answers(joined[model], FEEDBACK.wrong_gallery_size)
    st.caption(f"{int((joined[model]['label'] != joined[model]['digit']).sum())} wrong; the most confident first"
               + (f", showing {len(wrong)}" if len(wrong) == FEEDBACK.wrong_gallery_size else ""))
    ui.image_grid(store.images(wrong["id"]), [
        f"#{row.id}: a {row.label} read as {row.digit}" + ("" if pd.isna(row.confidence) else f" ({row.confidence:.0%})")
        for row in wrong.itertuples()], settings.thumbnail_px)


def show_downloads(drawings: pd.DataFrame, answers: pd.DataFrame, store: FeedbackStore) -> None:
    left, right = st.columns(2)
    left.download_button("⬇️ Answers (CSV)", lambda: export_csv(drawings, answers), file_name="drawings.csv",
                         mime="text/csv", key="download_csv", on_click="ignore")
    right.download_button("⬇️ Images (npz)", lambda: export_npz(drawings["id"], drawings["label"],
                                                                store.images(drawings["id"])),
                          file_name="drawings.npz", mime="application/octet-stream", key="download_npz",
                          on_click="ignore")


def show_moderation(drawings: pd.DataFrame, store: FeedbackStore) -> None:
    labels = dict(zip(drawings["id"].tolist(), drawings["label"].tolist()))
    chosen = st.selectbox("Drawing", list(reversed(labels)), key="moderate_id",
                          format_func=lambda i: f"#{i}, labelled {labels[i]}")
    left, middle, right = st.columns([1, 1, 2])
    picture = store.input_png(chosen)
    if picture:
        left.image(picture, caption="as drawn")
    middle.image(ui.enlarge(store.images([chosen])[0]), caption="what the models saw")
    if right.button("🗑️ Delete this drawing", key="delete_drawing"):
        store.delete(chosen)
        st.rerun()
    sure = right.checkbox("I want to delete every labelled drawing", key="delete_all_sure")
    if right.button("🗑️ Delete all", key="delete_all", disabled=not sure):
        store.delete_all()
        st.rerun()


def render_drawings(arena: Arena, settings: DashboardSettings) -> None:
    st.title("🖍️ Your drawings")
    st.write("Digits drawn on the Draw page and labelled there: the most honest test this arena has.")
    store = ui.feedback_store()
    if store is None:
        return
    drawings, answers = ui.feedback_frames(store)
    if drawings.empty:
        st.info("No labelled drawings yet: draw a digit on the Draw page and say whether the answer was right.",
                icon="✏️")
        st.page_link(ui.DRAW_PAGE, label="Go to the Draw page", icon="✏️")
        return
    drawings, answers = date_filtered(drawings, answers)
    joined = {name: frame for name, frame in model_answers(drawings, answers).items() if len(frame)}
    scores = accuracy_table(joined)
    counts = st.columns(4)
    counts[0].metric("Labelled drawings", f"{len(drawings):,}")
    counts[1].metric("Held out, never trained on", f"{int(drawings['held_out'].sum()):,}")
    counts[2].metric("Sessions", f"{drawings['session_id'].nunique():,}")
    vote = next((score for score in scores if score.model == SOFT_VOTE), None)
    counts[3].metric("The soft vote is right", "–" if vote is None else f"{vote.accuracy:.0%}")
    if not joined:
        st.info("None of these drawings has a model's answer.")
        return
    st.subheader("How often each model is right")
    st.dataframe(accuracy_frame(scores, arena), hide_index=True, width="stretch",
                 column_config={"Accuracy": st.column_config.NumberColumn(format="percent")})
    st.caption(f"Each model's answers when the drawing was made. The interval is a {FEEDBACK.confidence_level:.0%} "
               f"Wilson score interval: few drawings, wide interval. The {SOFT_VOTE} averages the models' "
               "probabilities.")
    st.subheader("Confusion matrices")
    show_confusions(joined, arena, settings)
    st.subheader("The drawings a model got wrong")
    show_mistakes(joined, store, arena, settings)
    st.subheader("Download")
    show_downloads(drawings, answers, store)
    st.subheader("Moderate")
    show_moderation(drawings, store)


render_drawings(ui.get_arena(), ui.settings())
