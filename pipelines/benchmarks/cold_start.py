"""Benchmark: the dashboard as a teacher meets it, in a real headless Chromium, from a fresh `streamlit run app.py`.

    python -m pipelines.benchmarks.cold_start                      # 3 fresh starts, the models in artifacts/
    python -m pipelines.benchmarks.cold_start --repeats 5 --serving native

For each fresh start: the seconds from the first page request to the leaderboard on screen (and from the
`streamlit run` itself), from clicking Draw to its canvas, from the first digit's mouse-up to all three answers,
and the app process's memory once every page has been opened and all three models are loaded (its peak too).
Prints the table and writes it to BENCHMARKS.md (`--out`). Targets (issue 11) are reported, not asserted.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, provenance, trained_models
from pipelines.benchmarks.dashboard import CHROMIUM, CHROMIUM_ARGS, STROKES, draw, wait_for_predictions
from pipelines.benchmarks.load.monitor import ProcessTree
from pipelines.evaluation.report import markdown_table, text_table, update_markdown_section
from pipelines.serving.server import app_server

SECTION = "cold-start"
NAV_LABELS = ("Overview", "Compare", "Mistakes", "Your drawings", "Robustness", "Generalisation", "Data",
              "Experiments", "Train")
"""Every page but Draw, opened after the first drawing so the memory figure covers them all."""
WAIT_SECONDS = 120
LEADERBOARD = "[data-testid=stTable]"
"""The Overview's leaderboard: a static table (a data grid took a second or two longer to appear)."""
SAMPLE_SECONDS = 0.1
MB = 1024 * 1024
COLUMNS = [
    ("start", lambda row: str(row["start"])),
    ("leaderboard s (from request)", lambda row: f"{row['leaderboard_s']:.2f}"),
    ("leaderboard s (from `streamlit run`)", lambda row: f"{row['leaderboard_from_run_s']:.2f}"),
    ("Draw opened s", lambda row: f"{row['draw_open_s']:.2f}"),
    ("first digit answered s", lambda row: f"{row['first_answer_s']:.2f}"),
    ("memory MB, all pages opened", lambda row: f"{row['rss_mb']:.0f}"),
    ("peak memory MB", lambda row: f"{row['peak_rss_mb']:.0f}"),
]
TARGETS = "leaderboard ≤ 3 s; Draw opened and first digit answered ≤ 1.5 s; memory ≤ 700 MB with all three models"


class MemoryWatch:
    """The resident memory of a process and its children (the load test's `ProcessTree`), sampled in a thread; the
    peak and the latest."""

    def __init__(self, pid: int) -> None:
        self.tree = ProcessTree(pid)
        self.peak = self.latest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def rss(self) -> int:
        return self.tree.rss() or self.latest

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.latest = self.rss()
            self.peak = max(self.peak, self.latest)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def one_start(browser: Any, artifacts: Path, serving: str, number: int, log_path: Path) -> dict[str, Any]:
    """A fresh server and a fresh browser page: the timings of a first visit, and the app's memory after it."""
    started = time.perf_counter()
    with app_server(artifacts, log_path, {config.SERVING_ENV: serving}) as server:
        watch = MemoryWatch(server.pid)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requested = time.perf_counter()
        page.goto(server.url)
        page.locator(LEADERBOARD).first.wait_for(timeout=WAIT_SECONDS * 1000)
        on_screen = time.perf_counter()
        page.locator("[data-testid=stSidebarNav] a", has_text="Draw").first.click()
        page.locator("canvas.upper-canvas").first.wait_for(timeout=WAIT_SECONDS * 1000)
        canvas_shown = time.perf_counter()
        draw(page, STROKES[0])
        released = time.perf_counter()
        wait_for_predictions(page, WAIT_SECONDS)
        answered = time.perf_counter()
        for label in NAV_LABELS:
            page.locator("[data-testid=stSidebarNav] a", has_text=label).first.click()
            page.wait_for_timeout(300)
            page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=WAIT_SECONDS * 1000)
        page.wait_for_timeout(1000)
        rss = watch.rss()
        watch.stop()
        page.close()
    return {"start": number, "leaderboard_s": on_screen - requested,
            "leaderboard_from_run_s": on_screen - started, "draw_open_s": canvas_shown - on_screen,
            "first_answer_s": answered - released, "rss_mb": rss / MB, "peak_rss_mb": max(watch.peak, rss) / MB}


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"start": "median", **{key: statistics.median(row[key] for row in rows) for key in rows[0]
                                  if key != "start"}}


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, data=False)
    parser.add_argument("--repeats", type=int, default=3, help="fresh starts of the server")
    parser.add_argument("--serving", choices=config.SERVING_FORMATS, default="onnx")
    args = parser.parse_args(argv)
    config.configure_logging()
    models = trained_models(args.artifacts)
    if not models:
        return 1
    if not Path(CHROMIUM).is_file():
        print(f"no Chromium at {CHROMIUM}: scripts/setup installs Debian's chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="cold-start-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for number in range(1, args.repeats + 1):
            rows.append(one_start(browser, args.artifacts, args.serving, number, Path(folder) / f"{number}.log"))
            print(text_table([rows[-1]], COLUMNS).splitlines()[-1], flush=True)
        browser.close()
    rows.append(median_row(rows))
    print(text_table(rows, COLUMNS))
    print(f"targets: {TARGETS}")
    if args.out:  # BENCHMARKS.md unless told otherwise, like every benchmark
        command = "python -m pipelines.benchmarks.cold_start " + " ".join(argv or sys.argv[1:])
        facts = provenance(str(args.artifacts), command.strip(),
                           [{"model": name, "run": model.run.run_id} for name, model in models.items()])
        text = "\n".join(["## A fresh start: leaderboard, first drawing, memory", "", *facts,
                          f"- serving: {args.serving}; targets: {TARGETS}", "", markdown_table(rows, COLUMNS)])
        update_markdown_section(args.out, SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
