"""Score every model on the drawn-digit benchmark, through the canvas front end and through a naive one.

    python -m pipelines.benchmarks.drawn --artifacts artifacts --data idx:../shared/mnist [--count 1000]

The canvases (pipelines/evaluation/drawn.py) are MNIST test digits redrawn as pen strokes
at random sizes, positions, slants and pen widths. Each model reads them once
through `canvas_to_mnist` (crop, fit in 20×20, centre by mass) and once with
the whole canvas squashed to 28×28, so the table shows what the front end buys.
The result replaces the `drawn-digits` section of BENCHMARKS.md, and a contact
sheet of the first canvases is saved so readers can see what was measured.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, provenance, run_benchmark, trained_models
from pipelines.data.sources import load_data
from pipelines.evaluation.drawn import DRAWN, DrawnConfig, StrokeStyle, contact_sheet, iter_drawn_digits
from pipelines.evaluation.generalisation import NO_DIGIT
from pipelines.evaluation.report import Column, markdown_table, text_table, update_markdown_section
from pipelines.reading.canvas import FRONT_END, canvas_to_mnist, naive_resize
from pipelines.store.registry import LoadedModel

logger = logging.getLogger("pipelines.benchmarks.drawn")

SECTION = "drawn-digits"
SHEET_PATH = config.PROJECT_ROOT / "docs" / "drawn-digits.png"


@dataclass(frozen=True)
class Breakdown:
    """A drawing parameter the canvas_to_mnist accuracy is broken down by, and the bands it is cut into."""

    title: str
    value: Callable[[StrokeStyle], float]
    edges: tuple[float, ...]


def stroke_after_front_end(style: StrokeStyle) -> float:
    """About how many pixels wide the pen is once the front end fits the digit's height into its 20-px box.

    MNIST strokes are about 2–3.5 px there; much thinner or thicker is what a
    model has not seen. (Exact for digits taller than wide, an overestimate otherwise.)
    """
    return FRONT_END.box_side * style.pen_width / (style.height_fraction * DRAWN.canvas_side)


BREAKDOWNS: tuple[Breakdown, ...] = (
    Breakdown("stroke px after the front end", stroke_after_front_end, (0.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)),
    Breakdown("pen width px", lambda style: style.pen_width, (8.0, 12.0, 16.0, 20.0, 25.0, 30.0)),
    Breakdown("rotation, absolute degrees", lambda style: abs(style.rotation_degrees),
              (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)),
)


@dataclass(frozen=True)
class BenchSettings:
    """Size of the run and of its contact sheet, and the drawing parameters the accuracy is broken down by."""

    count: int = 1000
    seed: int = config.SEED
    sheet_count: int = 40
    sheet_columns: int = 8
    sheet_thumbnail: int = 112
    sheet_gap: int = 4
    breakdowns: tuple[Breakdown, ...] = BREAKDOWNS


@dataclass
class FrontEnds:
    """The benchmark as the models see it: both front ends' 28×28 images, plus how each canvas was drawn."""

    canvas: list[np.ndarray] = field(default_factory=list)
    naive: list[np.ndarray] = field(default_factory=list)
    found: list[bool] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    styles: list[StrokeStyle] = field(default_factory=list)


def prepare(images: np.ndarray, labels: np.ndarray, settings: BenchSettings, drawn: DrawnConfig,
            sheet_path: Path | None) -> FrontEnds:
    """Draw the set chunk by chunk, keeping only the 28×28 images; save the contact sheet from the first chunk."""
    result = FrontEnds()
    blank = np.zeros((config.IMAGE_SIDE, config.IMAGE_SIDE), dtype=np.float32)
    for batch in iter_drawn_digits(images, labels, settings.count, settings.seed, drawn):
        if sheet_path is not None and not result.labels:
            save_sheet(batch.canvases[: settings.sheet_count], settings, sheet_path)
        for canvas in batch.canvases:
            digit = canvas_to_mnist(canvas)
            result.found.append(digit is not None)
            result.canvas.append(blank if digit is None else digit)
            result.naive.append(naive_resize(canvas))
        result.labels.extend(int(label) for label in batch.labels)
        result.styles.extend(batch.styles)
    return result


def save_sheet(canvases: np.ndarray, settings: BenchSettings, path: Path) -> None:
    """A PNG of the first canvases, so readers of BENCHMARKS.md can see what the models were given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet(canvases, settings.sheet_columns, settings.sheet_thumbnail, settings.sheet_gap)
    sheet.save(path, optimize=True)
    logger.info("contact sheet of %d canvases: %s", len(canvases), path)


def predictions(model: LoadedModel, images: list[np.ndarray], found: np.ndarray) -> np.ndarray:
    """The model's digit for every image, NO_DIGIT where the front end found nothing drawn."""
    predicted = model.predict_proba(np.stack(images)).argmax(axis=1)
    return np.where(found, predicted, NO_DIGIT)


def score(models: dict[str, LoadedModel], fronts: FrontEnds) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """One row per model (both accuracies, the gain, canvases with no digit found) and its per-canvas hits."""
    labels = np.array(fronts.labels)
    found = np.array(fronts.found)
    rows, hits = [], {}
    for name, model in models.items():
        hits[name] = predictions(model, fronts.canvas, found) == labels
        naive = float((predictions(model, fronts.naive, np.ones_like(found)) == labels).mean())
        rows.append({
            "model": name, "trained": f"{model.metrics.get('profile', '?')}, {model.metrics.get('n_train', 0):,}",
            "run": model.run.run_id, "canvas_accuracy": float(hits[name].mean()), "naive_accuracy": naive,
            "gain": float(hits[name].mean()) - naive, "not_found": int((~found).sum()),
        })
    return rows, hits


RESULT_COLUMNS: list[Column] = [
    ("model", lambda row: row["model"]),
    ("trained (profile, images)", lambda row: row["trained"]),
    ("canvas_to_mnist", lambda row: f"{row['canvas_accuracy']:.1%}"),
    ("naive resize", lambda row: f"{row['naive_accuracy']:.1%}"),
    ("gain", lambda row: f"{row['gain'] * 100:+.1f} pt"),
    ("no digit found", lambda row: str(row["not_found"])),
]


def band_rows(breakdown: Breakdown, styles: Sequence[StrokeStyle], hits: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """canvas_to_mnist accuracy of each model within each band of one drawing parameter."""
    values = np.array([breakdown.value(style) for style in styles])
    edges = breakdown.edges
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        members = (values >= low) & (values <= high if high == edges[-1] else values < high)
        row: dict[str, Any] = {"band": f"{low:g}–{high:g}", "n": int(members.sum())}
        row.update({name: float(hit[members].mean()) if members.any() else float("nan") for name, hit in hits.items()})
        rows.append(row)
    return rows


def band_columns(title: str, names: Sequence[str], key: str = "band") -> list[Column]:
    """The band (or any group, under `key`), its size, then one accuracy column per model."""
    def accuracy(name: str) -> Callable[[dict[str, Any]], str]:
        return lambda row: f"{row[name]:.1%}"
    return [(title, lambda row: row[key]), ("n", lambda row: str(row["n"]))] + [
        (name, accuracy(name)) for name in names]


Breakdowns = list[tuple[Breakdown, list[dict[str, Any]]]]


def breakdown_tables(breakdowns: Breakdowns, names: Sequence[str],
                     table: Callable[[Sequence[dict[str, Any]], Sequence[Column]], str]) -> list[str]:
    """One table per breakdown, as Markdown or as plain text."""
    return [table(rows, band_columns(breakdown.title, names)) for breakdown, rows in breakdowns]


def markdown_report(rows: list[dict[str, Any]], breakdowns: Breakdowns, names: Sequence[str], command: str,
                    source: str, settings: BenchSettings, drawn: DrawnConfig, sheet: Path | None) -> str:
    """The BENCHMARKS.md section: what was measured, where, with what, and the tables."""
    sheet_note = f" A sample: [{sheet.name}]({os.path.relpath(sheet, config.PROJECT_ROOT)})." if sheet else ""
    return "\n".join([
        "## Drawn digits: canvas front end against a naive resize",
        "",
        f"{settings.count:,} MNIST **test** digits, skeletonised and redrawn as pen strokes on a "
        f"{drawn.canvas_side}×{drawn.canvas_side} black canvas with white anti-aliased ink (`pipelines/evaluation/drawn.py`): "
        f"ink height {drawn.height_fraction[0]:.0%}–{drawn.height_fraction[1]:.0%} of the canvas, "
        f"rotation ±{drawn.rotation_degrees:g}°, slant ±{drawn.slant_degrees:g}°, pen {drawn.pen_width[0]:g}–"
        f"{drawn.pen_width[1]:g} px (at most {drawn.max_pen_to_height:.0%} of the digit's height), "
        f"anywhere on the canvas; labels balanced, seed {settings.seed}. Evaluation only, never trained on."
        f"{sheet_note} A canvas where `canvas_to_mnist` finds no digit counts as an error.",
        "",
        *provenance(source, command, rows),
        "",
        markdown_table(rows, RESULT_COLUMNS),
        "",
        "`canvas_to_mnist` accuracy by the stroke width the models receive (pen width × 20 / ink height; "
        "MNIST's is about 2–3.5 px), by pen width on the canvas and by rotation:",
        *(f"\n{table}" for table in breakdown_tables(breakdowns, names, markdown_table)),
    ])


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    settings = BenchSettings(count=args.count, seed=args.seed)
    data = load_data(args.data)
    models = trained_models(args.artifacts)
    if not models:
        return 1
    logger.info("drawing %d digits from %s", settings.count, data.source)
    fronts = prepare(data.test_images, data.test_labels, settings, DRAWN, args.sheet)
    rows, hits = score(models, fronts)
    names = list(hits)
    breakdowns = [(breakdown, band_rows(breakdown, fronts.styles, hits)) for breakdown in settings.breakdowns]
    print("\n\n".join(["", text_table(rows, RESULT_COLUMNS), *breakdown_tables(breakdowns, names, text_table)]))
    command = "python -m pipelines.benchmarks.drawn " + shlex.join(argv)
    update_markdown_section(args.out, SECTION, markdown_report(rows, breakdowns, names, command, data.source,
                                                               settings, DRAWN, args.sheet))
    logger.info("wrote the %s section of %s", SECTION, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = benchmark_parser(__doc__)
    parser.add_argument("--count", type=int, default=BenchSettings.count, help="canvases to draw (balanced labels)")
    parser.add_argument("--seed", type=int, default=BenchSettings.seed)
    parser.add_argument("--sheet", type=Path, default=SHEET_PATH, help="PNG contact sheet of the first canvases")
    return run_benchmark(run, parser.parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main())
