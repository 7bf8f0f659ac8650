"""Draw: a digit or a whole number on the canvas, or a photo of one, every model's answer as the mouse lifts, and why."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

import feedback_views
import ui
from pipelines.evaluation.analysis import LivePrediction, agreement, predict_all, verdict
from pipelines.evaluation.explain import Explanation, PixelMap, heatmap
from pipelines.evaluation.numbers import UNSURE_DIGIT, NumberReading, read_number
from pipelines.feedback.records import input_thumbnail
from pipelines.reading.inputs import Reading, UploadError, problem_of, read_drawing, read_upload
from pipelines.serving.arena import Arena
from pipelines.serving.settings import DashboardSettings
from pipelines.store.registry import MODEL_NAMES
from pipelines.training.jobs import TrainingRequest

DIGIT, NUMBER = "One digit", "A number"
EMPTY = {"canvas": "✏️ The canvas is empty: draw a digit and the models answer as soon as you lift the mouse.",
         "upload": "The uploaded image is blank: no digit could be found in it."}
UNREADABLE = "The drawing is too small or too faint to be a digit: draw it bigger, filling most of the box."
NOT_SURE = "🤔 not sure"
BADGE_COLOURS = {"unanimous": "green", "majority": "orange", "split": "red"}
MODEL_SEES_SCALE = 5
BAR_GREY = "#C9D1DA"
WHY = "🔍 Why this prediction"
EXPLAIN_KEY = "explain_answers"
EXPLAIN_HELP = ("Under every answer, each model's map of the ink it needed and the most similar training digits. Off by "
                "default: it takes longer than the answers themselves, and a class drawing at once shares the server.")
MAP_HEADINGS = {"saliency": "the strokes that decided", "importance": "the pixels it relies on",
                "occlusion": "the strokes it could not do without"}


def probability_bars(probabilities: np.ndarray, colour: str, height: int) -> str:
    """The ten class probabilities as a small HTML bar chart (far quicker to draw than a chart per stroke)."""
    winner = int(probabilities.argmax())
    bars = "".join(
        f'<div style="flex:1;display:flex;flex-direction:column;justify-content:flex-end;align-items:center" '
        f'title="{digit}: {p:.1%}"><div style="width:70%;height:{max(p, 0.01) * 100:.1f}%;'
        f'background:{colour if digit == winner else BAR_GREY};border-radius:2px 2px 0 0"></div>'
        f'<span style="font-size:0.75rem">{digit}</span></div>'
        for digit, p in enumerate(probabilities))
    return f'<div class="probability-bars" style="display:flex;gap:2px;height:{height}px">{bars}</div>'


def show_predictions(image: np.ndarray, predictions: list[LivePrediction], settings: DashboardSettings,
                     key: str) -> None:
    """The 28×28 input, the agreement badge, the soft vote, then one column per model."""
    seen, summary = st.columns([1, 2])
    seen.image(ui.enlarge(image, MODEL_SEES_SCALE), caption="What the models see (28×28)")
    with summary:
        consensus = agreement([p.digit for p in predictions])
        st.badge(consensus.label, color=BADGE_COLOURS[consensus.kind])
        answer = verdict([p.probabilities for p in predictions], settings.sure_above)
        st.metric("Soft-vote ensemble (mean of the probabilities)", answer.digit if answer.sure else NOT_SURE,
                  f"{answer.confidence:.0%} sure", delta_color="off", delta_arrow="off")
        st.caption(answer.reason)
    for column, prediction in zip(st.columns(len(predictions)), predictions):
        with column.container(border=True, key=f"prediction-{key}-{prediction.model}"):
            st.metric(prediction.title, prediction.digit, f"{prediction.confidence:.0%} sure", delta_color="off",
                      delta_arrow="off")
            st.caption(f"answered in {prediction.latency_ms:.1f} ms")
            colour = ui.MODEL_COLOURS.get(prediction.model, ui.ENSEMBLE_COLOUR)
            st.markdown(probability_bars(prediction.probabilities, colour, settings.probability_chart_height),
                        unsafe_allow_html=True)


def map_caption(pixel_map: PixelMap) -> str:
    if pixel_map.method == "saliency":
        return (f"The parts of your strokes that pushed it towards **{pixel_map.digit}**, brightest where they pushed "
                f"most (gradient × input, smoothed over noisy copies); your drawing outlined in white. "
                f"{pixel_map.milliseconds:.0f} ms.")
    if pixel_map.method == "occlusion":
        return (f"Where hiding a small square of your strokes most lowered its confidence in **{pixel_map.digit}**, "
                f"brightest where the loss was largest (occlusion: forward passes only); your drawing outlined in "
                f"white. {pixel_map.milliseconds:.0f} ms.")
    return ("How much the forest relies on each pixel (its feature importances: the same for every drawing), under "
            "your drawing **deskewed**, outlined in white: the forest reads deskewed pixels, so this is what it saw.")


def show_neighbours(explanation: Explanation, arena: Arena) -> None:
    """The training images most like the drawing, or why they cannot be shown."""
    neighbours, index = explanation.neighbours, arena.explainer.index
    if neighbours is None or index is None:  # both or neither: no index, no neighbours
        st.info(f"The most similar training images cannot be shown: {arena.neighbours_error}", icon="ℹ️")
        return
    st.markdown("**The most similar training images** (what every model learnt from)")
    ui.image_grid(neighbours.images, [f"{label} · {distance:.1f}"
                                      for label, distance in zip(neighbours.labels, neighbours.distances)],
                  arena.explainer.config.neighbour_px)
    digit, votes = neighbours.vote()
    st.caption(f"{votes} of {len(neighbours.labels)} are {digit}s. Under each, its label · its distance to your "
               f"drawing: nearest first among {len(index.labels):,} training images, both deskewed, over their first "
               f"{index.components} principal components; {explanation.neighbours_ms:.0f} ms.")


def show_explanation(image: np.ndarray, arena: Arena, key: str) -> None:
    """Each model's map over the image it saw, then the nearest training images; only what the loaded models allow."""
    explanation = arena.explainer.explain(image)
    with st.container(key=f"explain-{key}"), st.expander(WHY, expanded=True):
        if explanation.maps:
            for column, pixel_map in zip(st.columns(len(explanation.maps)), explanation.maps):
                colour = ui.MODEL_COLOURS.get(pixel_map.model, ui.ENSEMBLE_COLOUR)
                column.markdown(f"**{arena.models[pixel_map.model].title}**: {MAP_HEADINGS[pixel_map.method]}")
                column.image(heatmap(pixel_map.values, pixel_map.seen, colour))
                column.caption(map_caption(pixel_map))
        for name, problem in arena.explainer.problems.items():
            st.caption(f"{ui.model_label(arena, name)} has no map: {problem}")
        show_neighbours(explanation, arena)


def show_reading(reading: Reading, arena: Arena, settings: DashboardSettings, source: str,
                 pixels: np.ndarray | None = None, explain: bool = False) -> None:
    """Predictions, a place to label them, and their explanation for a readable input; otherwise say what is
    wrong instead of guessing."""
    if reading.problem == "empty":
        st.info(EMPTY[source])
    elif reading.problem == "unreadable":
        st.warning(UNREADABLE)
    else:
        predictions = predict_all(ui.ready_models(arena), reading.image)
        show_predictions(reading.image, predictions, settings, source)
        feedback_views.label_answer(reading.image, predictions, feedback_views.run_ids(arena),
                                    input_thumbnail(pixels) if pixels is not None else None, source, source, "digit")
        if explain:
            show_explanation(reading.image, arena, source)


def show_number(pixels: np.ndarray | None, arena: Arena, settings: DashboardSettings, source: str,
                explain: bool = False) -> None:
    """Every digit of a written number boxed, read by every model and by the soft vote; one digit explained."""
    models = ui.ready_models(arena)
    number = (read_number(models, pixels, settings.sure_above, counter=arena.piece_counter) if pixels is not None
              else NumberReading([]))
    if not number.digits:
        show_reading(Reading(None, "empty" if pixels is None else problem_of(pixels)), arena, settings, source)
        return
    boxes = [d.piece.box for d in number.digits]
    st.image(ui.outline_boxes(pixels, boxes, settings.box_colour, settings.box_width),
             caption=f"{len(boxes)} digit{'s' if len(boxes) > 1 else ''} found, left to right")
    sure = sum(d.verdict.sure for d in number.digits)
    with st.container(key=f"number-{source}-vote"):
        st.metric("The number, by the soft vote", number.vote, f"sure of {sure} of {len(boxes)} digits",
                  delta_color="off", delta_arrow="off")
        st.caption(f"`{UNSURE_DIGIT}` marks a digit the models disagree on or the soft vote is below "
                   f"{settings.sure_above:.0%} sure of. Each model reads: " + ", ".join(
                       f"**{model.title}** {number.read_by(name)}" for name, model in models.items()))
    for position, (column, digit) in enumerate(zip(st.columns(len(boxes)), number.digits), start=1):
        with column.container(border=True, key=f"number-{source}-digit-{position}"):
            st.image(ui.enlarge(digit.piece.image), caption=f"digit {position}")
            st.markdown(f"**{digit.verdict.digit if digit.verdict.sure else NOT_SURE}**")
            st.caption("  \n".join(f"{p.title}: {p.digit} ({p.confidence:.0%})" for p in digit.predictions))
            feedback_views.label_answer(digit.piece.image, digit.predictions, feedback_views.run_ids(arena),
                                        input_thumbnail(pixels, digit.piece.box), f"{source}-{position}", source,
                                        "number")
    if not explain:
        return
    chosen = st.selectbox("Explain digit", range(1, len(boxes) + 1), key=f"explain-digit-{source}",
                          format_func=lambda position: f"digit {position}")
    show_explanation(number.digits[chosen - 1].piece.image, arena, source)


@st.fragment
def canvas_panel(arena: Arena, settings: DashboardSettings, stroke_width: int, mode: str, explain: bool) -> None:
    """The canvas and its predictions; a stroke reruns only this fragment."""
    generation = st.session_state.setdefault("canvas_generation", 0)
    width = settings.number_canvas_width if mode == NUMBER else settings.canvas_side
    left, right = st.columns([1, 2]) if mode == DIGIT else (st.container(), st.container())
    with left:
        drawing = st_canvas(stroke_width=stroke_width, stroke_color="#FFFFFF", background_color="#000000",
                            width=width, height=settings.canvas_side, return_image_data=True,
                            key=f"canvas-{mode}-{generation}")
        if st.button("🧹 Clear the canvas", key="clear_canvas"):
            st.session_state["canvas_generation"] = generation + 1
            st.rerun(scope="fragment")
    with right:
        if mode == NUMBER:
            show_number(drawing.image_data, arena, settings, "canvas", explain)
        else:
            show_reading(read_drawing(drawing.image_data), arena, settings, "canvas", drawing.image_data, explain)


def upload_panel(arena: Arena, settings: DashboardSettings, mode: str, explain: bool) -> None:
    what = "a number" if mode == NUMBER else "one digit"
    upload = st.file_uploader(f"…or upload a photo or scan of {what} (ink on paper, any light, ruled paper too)",
                              type=list(settings.upload_types), key="upload")
    if upload is None:
        return
    try:
        pixels = read_upload(upload.getvalue(), settings.max_upload_bytes, settings.max_upload_pixels)
    except UploadError as error:
        st.error(f"**{upload.name}** cannot be used. {error}", icon="🚫")
        return
    if mode == NUMBER:
        show_number(pixels, arena, settings, "upload", explain)
    else:
        show_reading(read_drawing(pixels), arena, settings, "upload", pixels, explain)


def render_draw(arena: Arena, settings: DashboardSettings) -> None:
    st.title("✏️ Draw a digit")
    if not ui.require_models(arena):
        if st.button(f"🚀 Train the {settings.quick_profile} profile now (a few minutes)", key="train_quick"):
            ui.launch_training(TrainingRequest(MODEL_NAMES, settings.quick_profile))
        return
    mode = st.segmented_control("What are you writing?", [DIGIT, NUMBER], default=DIGIT, key="draw_mode") or DIGIT
    low, high = settings.stroke_range
    stroke_width = st.slider("Stroke width", low, high, settings.stroke_width, key="stroke_width")
    explain = st.toggle(WHY, value=False, key=EXPLAIN_KEY, help=EXPLAIN_HELP)
    canvas_panel(arena, settings, stroke_width, mode, explain)
    st.divider()
    upload_panel(arena, settings, mode, explain)


render_draw(ui.get_arena(), ui.settings())
