"""One real-browser journey: `streamlit run app.py` in headless Chromium, every page, drawing on the canvas.

Also saves the screenshots under docs/ and prints the draw latency (mouse-up to
all three predictions on screen) for the record; timing is not asserted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import CHROMIUM, CHROMIUM_ARGS, number_photo, png_bytes, streamlit_server

from pipelines import config
from pipelines.benchmarks import dashboard
from pipelines.benchmarks.dashboard import STROKES, draw
from pipelines.data.sources import load_sample
from pipelines.store.registry import MODEL_NAMES

playwright_api = pytest.importorskip("playwright.sync_api")

DOCS = config.PROJECT_ROOT / "docs"
PAGE_TITLES = {"overview": "Leaderboard", "compare": "Compare the models", "mistakes": "Mistakes",
               "draw": "Draw a digit", "drawings": "Your drawings", "robustness": "Robustness lab",
               "generalisation": "Generalisation", "data": "The data", "experiments": "Experiments", "train": "Train"}
NAV_LABELS = {"overview": "Overview", "compare": "Compare", "mistakes": "Mistakes", "draw": "Draw",
              "drawings": "Your drawings", "robustness": "Robustness", "generalisation": "Generalisation", "data": "Data",
              "experiments": "Experiments", "train": "Train"}
EMPTY_CANVAS = "The canvas is empty"
EXPLANATION = ".st-key-explain-canvas"
EXPLAIN_TOGGLE = "explain_answers"
FEEDBACK = ".st-key-feedback-canvas"
SAVED = "Saved as a"
EXPLANATION_IMAGES = 3 + 8  # a map for each model (occlusion for the ONNX-served SVM and CNN), then eight neighbours
LOAD_SECONDS = 120
PREDICTION_SECONDS = 30
DRAWINGS = 12
VIEWPORT = {"width": 1400, "height": 1000}
MAX_SCREENSHOT_HEIGHT = 4000
WIDE_CANVAS_PX = 600  # the digit canvas is 280 px wide, the Number mode's 840
NUMBER_STROKES = [STROKES[0], STROKES[1], STROKES[2]]  # 1, 7, 0: each written in its third of the wide canvas


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/setup installs Debian's chromium)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(page: object, name: str) -> None:
    """Go to a page through the sidebar navigation, as a user would, and wait for it to finish running."""
    page.locator("[data-testid=stSidebarNav] a", has_text=NAV_LABELS[name]).first.click()
    page.get_by_role("heading", name=PAGE_TITLES[name]).first.wait_for(timeout=LOAD_SECONDS * 1000)
    wait_until_idle(page)


def wait_until_idle(page: object) -> None:
    """Streamlit shows a status widget while a script runs; wait until it is gone."""
    page.wait_for_timeout(300)
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=LOAD_SECONDS * 1000)


def screenshot(page: object, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport to fit it."""
    height = page.evaluate("document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height + 80, VIEWPORT["height"]),
                                                                       MAX_SCREENSHOT_HEIGHT)})
    page.wait_for_function("[...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
                           ".every(chart => chart.querySelector('svg.main-svg'))", timeout=LOAD_SECONDS * 1000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def assert_no_exception(page: object) -> None:
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.first.inner_text()


def predictions(page: object) -> list[object]:
    return [page.locator(f".st-key-prediction-canvas-{name}") for name in MODEL_NAMES]


def wait_for_predictions(page: object) -> None:
    dashboard.wait_for_predictions(page, PREDICTION_SECONDS)


def wait_for_explanation(page: object) -> object:
    """Until the "Why this prediction" section shows both maps and every neighbour; returns the section."""
    page.wait_for_function(f"document.querySelectorAll('{EXPLANATION} img').length >= {EXPLANATION_IMAGES}"
                           " && [...document.querySelectorAll('" + EXPLANATION + " img')].every(img => img.complete)",
                           timeout=PREDICTION_SECONDS * 1000, polling="raf")
    return page.locator(EXPLANATION)


def clear_canvas(page: object, how: str = "toolbar") -> None:
    """Clear with the canvas toolbar's bin, or with the page's own button (which mounts a fresh canvas)."""
    old_canvas = page.locator("canvas.upper-canvas").first.element_handle()
    if how == "toolbar":
        page.get_by_role("button", name="Reset canvas & history").click()
    else:
        page.get_by_role("button", name="Clear the canvas").click()
    page.get_by_text(EMPTY_CANVAS).wait_for(timeout=PREDICTION_SECONDS * 1000)
    for locator in [*predictions(page), page.locator(EXPLANATION)]:
        locator.wait_for(state="detached", timeout=PREDICTION_SECONDS * 1000)
    if how != "toolbar":
        page.wait_for_function("canvas => !canvas.isConnected", arg=old_canvas, timeout=PREDICTION_SECONDS * 1000)
    wait_until_idle(page)


def test_journey_with_trained_models(trained_artifacts: Path, browser: object, tmp_path: Path) -> None:
    DOCS.mkdir(exist_ok=True)
    with streamlit_server(trained_artifacts, tmp_path / "streamlit.log") as url:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        page.get_by_role("heading", name=PAGE_TITLES["overview"]).wait_for(timeout=LOAD_SECONDS * 1000)
        wait_until_idle(page)
        for name in PAGE_TITLES:
            open_page(page, name)
            assert_no_exception(page)
            assert page.get_by_text("Support vector machine").count() > 0  # the sidebar lists the loaded models
            if name not in ("draw", "drawings"):
                screenshot(page, DOCS / f"{name}.png")

        open_page(page, "draw")
        page.get_by_text(EMPTY_CANVAS).wait_for()
        latencies = []
        for drawing in range(DRAWINGS):
            explaining = drawing >= DRAWINGS // 2  # the first half with the explanations off, as the page opens
            if drawing == DRAWINGS // 2:
                page.locator(f".st-key-{EXPLAIN_TOGGLE} label").first.click()
                wait_until_idle(page)
            draw(page, STROKES[drawing % len(STROKES)])
            released = time.perf_counter()
            wait_for_predictions(page)
            latencies.append((time.perf_counter() - released) * 1000)
            for locator in predictions(page):
                assert "sure" in locator.inner_text()  # the digit and its confidence are shown
            assert page.get_by_text(EMPTY_CANVAS).count() == 0
            if explaining:
                explanation = wait_for_explanation(page)
                assert "Why this prediction" in explanation.inner_text() and "deskewed" in explanation.inner_text()
            else:
                wait_until_idle(page)
                assert page.locator(EXPLANATION).count() == 0
            if drawing == DRAWINGS // 2 + 1:
                assert_no_exception(page)
                screenshot(page, DOCS / "draw.png")
                explanation.screenshot(path=str(DOCS / "explain.png"))
            clear_canvas(page, "button" if drawing % 4 == 3 else "toolbar")
        print(f"\nDRAW LATENCY median={statistics.median(latencies):.0f} ms over {len(latencies)} drawings "
              f"(min {min(latencies):.0f}, max {max(latencies):.0f} ms; "
              f"mouse-up to all {len(MODEL_NAMES)} predictions on screen)")

        assert page.get_by_text(EMPTY_CANVAS).count() == 1 and all(p.count() == 0 for p in predictions(page))
        assert_no_exception(page)
        label_drawings(page)
        write_a_number_and_upload_a_photo(page, tmp_path)
        page.close()


def metric_value(page: object, label: str) -> str:
    metric = page.locator("[data-testid=stMetric]", has_text=label).first
    return metric.locator("[data-testid=stMetricValue]").inner_text().strip()


def label_drawing(page: object, strokes: list[list[tuple[float, float]]], right: bool) -> None:
    """Draw, then say "✓ right" or pick another digit than the soft vote's, and wait until it is saved."""
    draw(page, strokes)
    wait_for_predictions(page)
    feedback = page.locator(FEEDBACK)
    confirm = feedback.get_by_role("button", name="✓ right")
    confirm.wait_for(timeout=PREDICTION_SECONDS * 1000)
    if right:
        confirm.click()
    else:
        answer = int(confirm.inner_text().split("(")[1].split(")")[0])
        feedback.locator("[data-testid=stButtonGroup] button").nth((answer + 1) % 10).click()  # the pills 0-9
    page.locator(FEEDBACK).get_by_text(SAVED).wait_for(timeout=PREDICTION_SECONDS * 1000)
    wait_until_idle(page)


def label_drawings(page: object) -> None:
    """None labelled yet; one drawing labelled right and one wrong; then two drawings, the soft vote right on half."""
    open_page(page, "drawings")
    page.get_by_text("No labelled drawings yet").wait_for(timeout=LOAD_SECONDS * 1000)
    open_page(page, "draw")
    label_drawing(page, STROKES[0], right=True)
    clear_canvas(page, "button")
    label_drawing(page, STROKES[1], right=False)
    open_page(page, "drawings")
    assert metric_value(page, "Labelled drawings") == "2" and metric_value(page, "The soft vote is right") == "50%"
    assert_no_exception(page)
    screenshot(page, DOCS / "drawings.png")
    open_page(page, "draw")


def write_a_number_and_upload_a_photo(page: object, tmp_path: Path) -> None:
    """Number mode: three digits written across the wide canvas, then a photographed number uploaded."""
    page.get_by_role("radio", name="A number").click()  # st.segmented_control renders a radio group
    wide = page.locator("canvas.upper-canvas").first  # inside the component's shadow root: a locator pierces it
    deadline = time.monotonic() + LOAD_SECONDS
    while (wide.bounding_box() or {"width": 0})["width"] < WIDE_CANVAS_PX:
        assert time.monotonic() < deadline, "the Number mode's wide canvas did not appear"
        page.wait_for_timeout(200)
    wait_until_idle(page)
    for position, strokes in enumerate(NUMBER_STROKES):
        draw(page, [[((position + x) / len(NUMBER_STROKES), y) for x, y in stroke] for stroke in strokes])
    vote = page.locator(".st-key-number-canvas-vote [data-testid=stMetricValue]")
    page.wait_for_function("(document.querySelector('.st-key-number-canvas-vote [data-testid=stMetricValue]') || "
                           "{innerText: ''}).innerText.trim().length === 3 && "
                           "!!document.querySelector('.st-key-number-canvas-digit-3')",
                           timeout=PREDICTION_SECONDS * 1000, polling="raf")
    assert page.locator(".st-key-number-canvas-digit-4").count() == 0
    assert_no_exception(page)
    screenshot(page, DOCS / "number.png")
    print(f"\nNUMBER WRITTEN 170, READ {vote.inner_text().strip()}")

    photo = tmp_path / "number.png"
    photo.write_bytes(png_bytes(paper_number()))
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(photo))
    page.wait_for_function("(document.querySelector('.st-key-number-upload-vote [data-testid=stMetricValue]') || "
                           "{innerText: ''}).innerText.trim().length === 3",
                           timeout=PREDICTION_SECONDS * 1000, polling="raf")
    wait_until_idle(page)
    assert_no_exception(page)
    print(f"PHOTO OF 407, READ {page.locator('.st-key-number-upload-vote [data-testid=stMetricValue]').inner_text()}")


def paper_number() -> object:
    """A photographed 4, 0, 7 from the bundled sample, dark ink on light paper."""
    sample = load_sample()
    return number_photo([sample.test_images[int(np.flatnonzero(sample.test_labels == label)[0])]
                         for label in (4, 0, 7)])


def test_every_page_without_artifacts(browser: object, tmp_path: Path) -> None:
    empty = tmp_path / "artifacts"
    empty.mkdir()
    with streamlit_server(empty, tmp_path / "streamlit.log") as url:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        page.get_by_role("heading", name=PAGE_TITLES["overview"]).wait_for(timeout=LOAD_SECONDS * 1000)
        for name in PAGE_TITLES:
            open_page(page, name)
            assert_no_exception(page)
            if name == "drawings":  # needs no model
                page.get_by_text("No labelled drawings yet").wait_for(timeout=LOAD_SECONDS * 1000)
            elif name != "train":  # the title shows first; on a busy machine the notice may follow a moment later
                notice = page.get_by_text("No trained model yet")
                notice.first.wait_for(timeout=PREDICTION_SECONDS * 1000)
                assert notice.count() == 1
        open_page(page, "draw")
        assert page.get_by_role("button", name="Train the quick profile now").count() == 1
        screenshot(page, DOCS / "no-models.png")
        page.close()
