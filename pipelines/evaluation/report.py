"""Plain-text and Markdown tables of model metrics, shared by the train and bench commands."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipelines.store.artifacts import atomic_write_bytes

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


def machine_description() -> str:
    """Where the figures were measured."""
    return (f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}")


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


def update_markdown_section(path: Path, section: str, content: str) -> None:
    """Replace (or append) one generated section of a Markdown file, leaving the rest as it is.

    Sections are delimited by `<!-- begin NAME -->` and `<!-- end NAME -->`, so several
    benchmark commands can each own a part of BENCHMARKS.md.
    """
    begin, end = f"<!-- begin {section} -->", f"<!-- end {section} -->"
    block = f"{begin}\n{content.strip()}\n{end}"
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    atomic_write_bytes(path, text.encode())
