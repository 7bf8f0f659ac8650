"""Score every model on MNIST test, the drawn-digit set and the out-of-style set, side by side.

    python -m pipelines.benchmarks.out_of_style --artifacts artifacts --data idx:../shared/mnist [--count 1000]

The out-of-style canvases (pipelines/evaluation/out_of_style.py) are digits in
fonts never trained on and handwritten letterforms MNIST's writers rarely
made, some elastically distorted; the drawn canvases redraw MNIST test digits.
Both go through `canvas_to_mnist` as a drawing on the Draw page does. The
terminal shows accuracy per model and per condition (font or letterform,
distortion, font design or letterform, digit); the `out-of-style` section of
BENCHMARKS.md is replaced, with the font split and a contact sheet of the first canvases.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, provenance, run_benchmark, trained_models
from pipelines.benchmarks.drawn import band_columns
from pipelines.data.sources import load_data
from pipelines.evaluation.drawn import contact_sheet
from pipelines.evaluation.evaluate import batch_probabilities
from pipelines.evaluation.fonts import faces_by_design
from pipelines.evaluation.generalisation import (
    SET_NAMES,
    TAG_BREAKDOWNS,
    GeneralisationConfig,
    GeneralisationSets,
    breakdown_rows,
    generalisation_scores,
    read_drawn,
    read_out_of_style,
)
from pipelines.evaluation.out_of_style import OUT_OF_STYLE, OutOfStyleConfig, make_out_of_style
from pipelines.evaluation.report import Column, markdown_table, text_table, update_markdown_section
from pipelines.store.registry import LoadedModel

logger = logging.getLogger("pipelines.benchmarks.out_of_style")

SECTION = "out-of-style"
SHEET_PATH = config.PROJECT_ROOT / "docs" / "out-of-style.png"
BREAKDOWN_TITLES = {"source": "font or letterform", "distortion": "elastic distortion", "style": "design or letterform",
                    "digit": "digit"}


@dataclass(frozen=True)
class BenchSettings:
    """Size of the run and of its contact sheet."""

    count: int = 1000
    drawn_count: int = 1000
    seed: int = config.SEED
    sheet_count: int = 48
    sheet_columns: int = 12
    sheet_thumbnail: int = 96
    sheet_gap: int = 3


def _percent(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: f"{row[key]:.1%}"


RESULT_COLUMNS: list[Column] = [
    ("model", lambda row: row["model"]),
    ("trained (profile, images)", lambda row: row["trained"]),
    *[(title, _percent(key)) for key, title in SET_NAMES.items()],
    ("out of style, no digit found", lambda row: str(row["not_found"])),
]


def score(models: dict[str, LoadedModel], test_images: np.ndarray, test_labels: np.ndarray,
          sets: GeneralisationSets) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """One summary row per model, and each model's scores in the layout training stores them in."""
    rows, scores = [], {}
    for name, model in models.items():
        probabilities, _ = batch_probabilities(model, test_images)  # type: ignore[arg-type]
        mnist_accuracy = float((probabilities.argmax(axis=1) == test_labels).mean())
        scores[name] = generalisation_scores(model, mnist_accuracy, sets)
        rows.append({"model": name, "run": model.run.run_id, **scores[name]["accuracy"],
                     "not_found": int((~sets.out_of_style.found).sum()),
                     "trained": f"{model.metrics.get('profile', '?')}, {model.metrics.get('n_train', 0):,}"})
    return rows, scores


def breakdown_tables(scores: dict[str, dict[str, Any]],
                     table: Callable[[Sequence[dict[str, Any]], Sequence[Column]], str]) -> list[str]:
    """One table per breakdown of the out-of-style accuracy, as Markdown or as plain text."""
    return [table(breakdown_rows(scores, kind), band_columns(BREAKDOWN_TITLES[kind], list(scores), key="group"))
            for kind in TAG_BREAKDOWNS]


def split_description(style: OutOfStyleConfig) -> list[str]:
    """The designs on each side of the font split, with the families installed here."""
    lines = []
    for evaluation, title in ((True, "evaluation (never trained on)"), (False, "training")):
        designs = faces_by_design(evaluation, style.split)
        listed = "; ".join(f"{design} ({', '.join(sorted({face.family for face in faces}))})"
                           for design, faces in designs.items())
        lines.append(f"- {title}: {len(designs)} designs, "
                     f"{sum(len(faces) for faces in designs.values())} font files: {listed or 'none installed'}")
    return lines


def markdown_report(rows: list[dict[str, Any]], scores: dict[str, dict[str, Any]], command: str, source: str,
                    settings: BenchSettings, style: OutOfStyleConfig, sheet: Path | None) -> str:
    """The BENCHMARKS.md section: what was measured, where, with what, and the tables."""
    sheet_note = f" A sample: [{sheet.name}]({os.path.relpath(sheet, config.PROJECT_ROOT)})." if sheet else ""
    return "\n".join([
        "## Generalisation: MNIST test, drawn digits and out-of-style digits",
        "",
        f"{settings.count:,} **out-of-style** canvases ({style.font_drawing.canvas_side}×"
        f"{style.font_drawing.canvas_side}, white ink on black, read by `canvas_to_mnist` like a drawing; "
        "`pipelines/evaluation/out_of_style.py`): about "
        f"{style.font_share:.0%} digits typeset in font designs that are never trained on, at the font's own weights "
        f"and italics plus up to ±{style.font_drawing.rotation_degrees:g}° rotation and ±"
        f"{style.font_drawing.slant_degrees:g}° slant; the rest handwritten letterforms MNIST's writers rarely made "
        "(flagged and footed 1s, closed-loop 6s and 9s, crossed 7s, open and closed 4s, looped 2s, flat-topped 3s...), "
        "drawn as pen strokes like the drawn-digit set with random proportions, wobble, pen width and up to ±"
        f"{style.letterform_drawing.rotation_degrees:g}° rotation and ±{style.letterform_drawing.slant_degrees:g}° slant; "
        f"{style.elastic_share:.0%} of both elastically distorted (displacements of "
        f"{style.elastic_displacement[0]:.0%}–{style.elastic_displacement[1]:.0%} of the ink height, smooth over "
        f"{style.elastic_smoothness:.0%} of it). Labels balanced, seed {settings.seed}. Beside them, MNIST test and "
        f"{settings.drawn_count:,} drawn digits (MNIST test digits redrawn as strokes). Evaluation only.{sheet_note}",
        "",
        "Font split (designs, i.e. typefaces with their clones and sister families, by a hash of the name; "
        "`pipelines/evaluation/fonts.py`):",
        "",
        *split_description(style),
        "",
        *provenance(source, command, rows),
        "",
        markdown_table(rows, RESULT_COLUMNS),
        "",
        "Out-of-style accuracy by font or letterform, by distortion, by font design or letterform, and by digit:",
        *(f"\n{table}" for table in breakdown_tables(scores, markdown_table)),
    ])


def save_sheet(settings: BenchSettings, style: OutOfStyleConfig, path: Path) -> None:
    """A PNG of the first canvases (the set's first items are the same whatever its size)."""
    canvases, _, _ = make_out_of_style(settings.sheet_count, settings.seed, style)
    path.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(canvases, settings.sheet_columns, settings.sheet_thumbnail, settings.sheet_gap).save(path, optimize=True)
    logger.info("contact sheet of %d canvases: %s", len(canvases), path)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    settings = BenchSettings(count=args.count, drawn_count=args.drawn_count, seed=args.seed)
    data = load_data(args.data)
    models = trained_models(args.artifacts)
    if not models:
        return 1
    logger.info("drawing %d out-of-style and %d drawn digits", settings.count, settings.drawn_count)
    sets = GeneralisationSets(read_drawn(data.test_images, data.test_labels, settings.drawn_count, settings.seed),
                              read_out_of_style(settings.count, settings.seed, OUT_OF_STYLE),
                              GeneralisationConfig(settings.drawn_count, settings.count, settings.seed))
    if args.sheet is not None:
        save_sheet(settings, OUT_OF_STYLE, args.sheet)
    logger.info("scoring %s", ", ".join(models))
    rows, scores = score(models, data.test_images.astype(np.float32) / 255.0, data.test_labels, sets)
    print("\n\n".join(["", text_table(rows, RESULT_COLUMNS), *breakdown_tables(scores, text_table)]))
    command = "python -m pipelines.benchmarks.out_of_style " + shlex.join(argv)
    update_markdown_section(args.out, SECTION, markdown_report(rows, scores, command, data.source, settings,
                                                               OUT_OF_STYLE, args.sheet))
    logger.info("wrote the %s section of %s", SECTION, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = benchmark_parser(__doc__)
    parser.add_argument("--count", type=int, default=BenchSettings.count, help="out-of-style canvases (balanced)")
    parser.add_argument("--drawn-count", type=int, default=BenchSettings.drawn_count, help="drawn canvases (balanced)")
    parser.add_argument("--seed", type=int, default=BenchSettings.seed)
    parser.add_argument("--sheet", type=Path, default=SHEET_PATH, help="PNG contact sheet of the first canvases")
    args = parser.parse_args(argv)
    if args.count < 1 or args.drawn_count < 1:
        parser.error("--count and --drawn-count must be at least 1")
    return run_benchmark(run, args, argv)


if __name__ == "__main__":
    sys.exit(main())
