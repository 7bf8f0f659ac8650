"""The load test's figures: one summary row, the lost drawings by cause, per-drawing records, and the Markdown
section of BENCHMARKS.md."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.benchmarks.load.session import ANSWERED, CUT_SHORT, LOST_OUTCOMES, DrawingRecord
from pipelines.benchmarks.load.settings import BROWSER, MEASURE, BrowserSettings, MeasureSettings
from pipelines.benchmarks.load.simulation import LoadResult
from pipelines.evaluation.report import Column, markdown_table, text_table
from pipelines.store.registry import MODEL_NAMES

SECTION = "load-test"
NOT_MEASURED = "n/a"


def seconds(values: Sequence[float], percentile: float | None = None) -> str:
    if not values:
        return NOT_MEASURED
    value = np.max(values) if percentile is None else np.percentile(values, percentile)
    return f"{value:.2f} s"


def percent(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:.0f} %"


def megabytes(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:,.0f} MB"


def summary(result: LoadResult, measure: MeasureSettings = MEASURE) -> dict[str, Any]:
    """Every figure of the run, by name; latencies only over answered drawings."""
    drawings = result.drawings()
    answered = [d for d in drawings if d.outcome == ANSWERED]
    server = result.monitor.server_usage
    generator = result.monitor.generator_usage
    row: dict[str, Any] = {
        "sessions": len(result.sessions), "sent": len(drawings), "answered": len(answered),
        "lost": sum(d.outcome in LOST_OUTCOMES for d in drawings),
        "latency": [d.latency for d in answered if d.latency is not None],
        "wait": [d.wait for d in answered if d.wait is not None],
        "complete": [d.complete for d in answered if d.complete is not None],
        "send_lag": [d.send_lag for d in drawings],
        "page_load": [s.page_load_seconds for s in result.sessions if s.page_load_seconds is not None],
        "server_cpu": server.cpu_percent if server else None,
        "server_peak_cpu": server.peak_cpu_percent if server else None,
        "server_peak_rss": server.peak_rss_mb if server else None,
        "server_mean_rss": server.mean_rss_mb if server else None,
        "generator_cpu": generator.cpu_percent, "generator_peak_rss": generator.peak_rss_mb,
        "machine_busy": result.monitor.machine_busy_percent, "window": generator.wall_seconds,
        "lost_by": Counter(d.outcome for d in drawings if d.outcome in LOST_OUTCOMES),
        "interrupted_runs": sum(s.interrupted_runs for s in result.sessions),
        "answered_cut": sum(d.detail == CUT_SHORT for d in answered),
        "late_answers": sum(s.late_answers for s in result.sessions),
        "unmatched_runs": sum(s.unmatched_runs for s in result.sessions),
        "sent_bytes": float(np.mean([d.sent_bytes for d in drawings])) if drawings else 0.0,
        "received_bytes": sum(s.bytes_received for s in result.sessions) / max(1, len(drawings)),
        "soft_vote_right": sum(d.soft_vote == str(d.label) for d in answered),
    }
    for p in measure.percentiles:
        row[f"p{p}"] = seconds(row["latency"], p)
    row["max"] = seconds(row["latency"])
    return row


TABLE: list[Column] = [
    ("sessions", lambda row: str(row["sessions"])),
    ("drawings sent", lambda row: f"{row['sent']:,}"),
    ("answered", lambda row: f"{row['answered']:,}"),
    ("lost", lambda row: f"{row['lost']:,}"),
    *[(f"p{p} latency", lambda row, p=p: row[f"p{p}"]) for p in MEASURE.percentiles],
    ("max latency", lambda row: row["max"]),
    ("server CPU (all cores)", lambda row: percent(row["server_cpu"])),
    ("server peak RSS", lambda row: megabytes(row["server_peak_rss"])),
    ("generator CPU (all cores)", lambda row: percent(row["generator_cpu"])),
]


def targets(row: dict[str, Any], measure: MeasureSettings = MEASURE) -> str:
    """The issue's targets against this run: reported, never asserted."""
    latency = row["latency"]
    p50 = float(np.percentile(latency, 50)) if latency else float("inf")
    p95 = float(np.percentile(latency, 95)) if latency else float("inf")
    checks = [(f"p50 ≤ {measure.target_p50_seconds:g} s", p50 <= measure.target_p50_seconds),
              (f"p95 ≤ {measure.target_p95_seconds:g} s", p95 <= measure.target_p95_seconds),
              ("no drawing lost", row["lost"] == 0)]
    return "targets: " + ", ".join(f"{name} {'met' if met else 'NOT met'}" for name, met in checks)


def details(result: LoadResult, row: dict[str, Any], browser: BrowserSettings = BROWSER) -> list[str]:
    """The lines under the table: how the time splits, what was lost and why, what else was measured."""
    settings = result.settings
    lost = ", ".join(f"{count} {outcome}" for outcome, count in row["lost_by"].most_common()) or "none"
    debounce = browser.canvas_debounce_seconds
    with_debounce = [value + debounce for value in row["latency"]]
    lines = [
        f"- {settings.sessions} tabs, each drawing every {settings.interval_seconds:g} s (random phase, seed "
        f"{settings.seed}) for {settings.duration_seconds:g} s; a drawing is lost when no answer comes within "
        f"{settings.answer_timeout_seconds:g} s, when a newer drawing replaced it before the app read it "
        "(superseded), or when its run shows an error",
        f"- latency: from sending the canvas's value to the last model's answer arriving; a person also waits the "
        f"canvas's {debounce * 1000:.0f} ms debounce after mouse-up, which makes p50 {seconds(with_debounce, 50)}, "
        f"p95 {seconds(with_debounce, 95)}",
        f"- queued before the run started: p50 {seconds(row['wait'], 50)}, p95 {seconds(row['wait'], 95)}; whole "
        f"run (with the explanation): p50 {seconds(row['complete'], 50)}, p95 {seconds(row['complete'], 95)}",
        f"- lost: {lost}; answers that came after the timeout: {row['late_answers']}",
        f"- runs whose end arrived as \"interrupted\": {row['interrupted_runs']} ({row['answered_cut']} of them had "
        "already shown their answers, counted answered): the session's next run started before the server had "
        "sent the end of the previous one, so Streamlit dropped the unsent rest (the explanation) and rewrote its "
        "end",
        f"- server: {percent(row['server_cpu'])} of all cores on average, {percent(row['server_peak_cpu'])} at the "
        f"busiest {MEASURE.sample_seconds:g} s; memory peak {megabytes(row['server_peak_rss'])}, mean "
        f"{megabytes(row['server_mean_rss'])}; the whole machine was {row['machine_busy']:.0f} % busy",
        f"- load generator (this process): {percent(row['generator_cpu'])} of all cores, "
        f"{megabytes(row['generator_peak_rss'])}; sends late by p95 {seconds(row['send_lag'], 95)}, max "
        f"{seconds(row['send_lag'])}",
        f"- per drawing: {row['sent_bytes'] / 1000:.1f} kB sent (PNG and fabric.js JSON of "
        f"{result.page.canvas.width}×{result.page.canvas.height} px strokes, pen {result.page.canvas.stroke_width:g}), "
        f"{row['received_bytes'] / 1000:.1f} kB received; page load with all tabs at once p50 "
        f"{seconds(row['page_load'], 50)}, max {seconds(row['page_load'])}",
        f"- the soft vote named the drawn digit for {row['soft_vote_right']} of {row['answered']} answered drawings",
    ]
    if result.failure:
        lines.append(f"- STOPPED EARLY: {result.failure}")
    return lines


def text_report(result: LoadResult, row: dict[str, Any]) -> str:
    return "\n".join(["", text_table([row], TABLE), "", targets(row), *details(result, row)])


def markdown_section(result: LoadResult, row: dict[str, Any], facts: Sequence[str]) -> str:
    """The `load-test` section of BENCHMARKS.md."""
    return "\n".join([f"## Draw page under load: {len(result.sessions)} sessions drawing at once", "",
                      "Simulated browser tabs speaking Streamlit's websocket protocol to a real `streamlit run "
                      "app.py` (`pipelines/benchmarks/load/`).", "", *facts, "",
                      markdown_table([row], TABLE), "", targets(row), "", *details(result, row)])


DRAWING_FIELDS = ["session", "drawing", "label", "outcome", "detail", "sent_s", "latency_s", "wait_s", "complete_s",
                  "send_lag_s", "sent_bytes", "soft_vote", *MODEL_NAMES]


def drawing_row(drawing: DrawingRecord, start: float) -> dict[str, Any]:
    def rounded(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"
    return {"session": drawing.session, "drawing": drawing.number, "label": drawing.label,
            "outcome": drawing.outcome, "detail": drawing.detail, "sent_s": rounded(drawing.sent_at - start),
            "latency_s": rounded(drawing.latency), "wait_s": rounded(drawing.wait),
            "complete_s": rounded(drawing.complete), "send_lag_s": rounded(drawing.send_lag),
            "sent_bytes": drawing.sent_bytes, "soft_vote": drawing.soft_vote or "",
            **{name: drawing.answers.get(name, "") for name in MODEL_NAMES}}


def write_drawings(path: Path, result: LoadResult) -> None:
    """Every drawing of every tab as a CSV row: when it was sent, what came back, the drawn digit."""
    drawings = result.drawings()
    start = min((d.scheduled_at for d in drawings), default=0.0)
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=DRAWING_FIELDS)
        writer.writeheader()
        writer.writerows(drawing_row(drawing, start) for drawing in sorted(drawings, key=lambda d: d.sent_at))
