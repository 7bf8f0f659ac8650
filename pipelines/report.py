"""Plain-text and Markdown tables of model metrics, shared by the train and bench commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Column = tuple[str, Callable[[dict[str, Any]], str]]

SUMMARY_COLUMNS: list[Column] = [
    ("model", lambda row: row["model"]),
    ("accuracy", lambda row: f"{row['accuracy']:.2%}"),
    ("macro-F1", lambda row: f"{row['macro_f1']:.4f}"),
    ("log loss", lambda row: f"{row['log_loss']:.4f}"),
    ("ECE", lambda row: f"{row['ece']:.4f}"),
    ("train s", lambda row: f"{row['train_seconds']:.1f}"),
    ("latency ms (median / p95)", lambda row: f"{row['latency_ms']['median']:.2f} / {row['latency_ms']['p95']:.2f}"),
    ("images/s", lambda row: f"{row['throughput_per_second']:,.0f}"),
    ("artifact MB", lambda row: f"{row['artifact_bytes'] / 1e6:.1f}"),
]


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column] = SUMMARY_COLUMNS) -> str:
    """A GitHub Markdown table, one row per metrics dict."""
    header = "| " + " | ".join(title for title, _ in columns) + " |"
    rule = "|" + "|".join(" --- " for _ in columns) + "|"
    body = ["| " + " | ".join(cell(row) for _, cell in columns) + " |" for row in rows]
    return "\n".join([header, rule, *body])


def text_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column] = SUMMARY_COLUMNS) -> str:
    """An aligned plain-text table for the terminal."""
    cells = [[title for title, _ in columns]] + [[cell(row) for _, cell in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(value.rjust(width) for value, width in zip(line, widths)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
