"""Time the Draw page's "Why this prediction" on trained models, over drawn digits.

    python -m pipelines.benchmarks.explain --artifacts artifacts --data idx:../shared/mnist [--neighbours DIR]

The drawings are the drawn-digit benchmark's canvases (pipelines/evaluation/drawn.py) read by canvas_to_mnist, as on the
page. The models are only read. The neighbour index comes from the artifacts folder named by `--neighbours`
(default: the models' own), so models trained before the index existed can be timed against an index built
elsewhere with `python -m pipelines.evaluation.neighbours --artifacts DIR`. The result replaces the `explain-latency`
section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, run_benchmark
from pipelines.data.sources import load_data
from pipelines.evaluation.analysis import shared_dataset
from pipelines.evaluation.drawn import make_drawn_digits
from pipelines.evaluation.explain import EXPLAIN, Explainer
from pipelines.evaluation.neighbours import load_index
from pipelines.evaluation.report import Column, machine_description, markdown_table, text_table, update_markdown_section
from pipelines.reading.canvas import canvas_to_mnist
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import load_models

logger = logging.getLogger("pipelines.benchmarks.explain")

SECTION = "explain-latency"
COLUMNS: list[Column] = [
    ("part", lambda row: row["part"]),
    ("median ms", lambda row: f"{np.median(row['ms']):.1f}"),
    ("p95 ms", lambda row: f"{np.percentile(row['ms'], 95):.1f}"),
    ("max ms", lambda row: f"{np.max(row['ms']):.1f}"),
]


def run(args: argparse.Namespace, argv: list[str]) -> int:
    models = load_models(args.artifacts)
    fingerprint, _ = shared_dataset({name: m.manifest["data"]["fingerprint"] for name, m in models.items()})
    if fingerprint is None:
        logger.error("no model could be loaded from %s: train first (python -m pipelines.train)", args.artifacts)
        return 1
    index_store = ArtifactStore(args.neighbours or args.artifacts)
    started = time.perf_counter()
    index = load_index(index_store, fingerprint)
    load_seconds = time.perf_counter() - started
    data = load_data(args.data)
    canvases, labels = make_drawn_digits(data.test_images, data.test_labels, args.count, config.SEED)
    drawings = [(image, label) for image, label in zip(map(canvas_to_mnist, canvases), labels) if image is not None]
    explainer = Explainer(models, index)
    started = time.perf_counter()
    explainer.explain(drawings[0][0])  # the first call compiles the saliency; the page pays it once per model set
    first_ms = (time.perf_counter() - started) * 1000
    load_before = os.getloadavg()[0]
    parts: dict[str, list[float]] = {}
    agreeing = 0
    for image, label in drawings:
        started = time.perf_counter()
        explanation = explainer.explain(image)
        parts.setdefault("whole explanation", []).append((time.perf_counter() - started) * 1000)
        for pixel_map in explanation.maps:
            parts.setdefault(f"{pixel_map.model} {pixel_map.method}", []).append(pixel_map.milliseconds)
        parts.setdefault("neighbours", []).append(explanation.neighbours_ms)
        agreeing += explanation.neighbours.vote()[0] == label
    rows = [{"part": part, "ms": ms} for part, ms in parts.items()]
    size_mb = index_store.neighbours_path(fingerprint).stat().st_size / 1e6
    facts = [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine_description()}; load average "
        f"{load_before:.1f} when the timing began (other processes share the cores)",
        f"- command: `python -m pipelines.benchmarks.explain {shlex.join(argv)}`",
        "- models: " + ", ".join(f"{name} `{m.run.run_id}` ({m.manifest.get('profile', '?')} profile)"
                                 for name, m in models.items()),
        f"- {len(drawings)} drawn test digits read by canvas_to_mnist; {EXPLAIN.smoothgrad_samples} noisy copies "
        f"for a saliency map (TensorFlow serving only); first call {first_ms:.0f} ms",
        f"- neighbour index: {len(index.labels):,} training images, {index.components} components, {size_mb:.1f} MB, "
        f"loaded in {load_seconds:.2f} s; the majority label of the {EXPLAIN.neighbours_shown} nearest is the drawn "
        f"digit's for {agreeing / len(drawings):.1%} of the drawings",
    ]
    if args.neighbours is not None:
        facts.append(f"- the index was built apart from the models, by `python -m pipelines.evaluation.neighbours --artifacts "
                     f"{args.neighbours}` with their profile and `--data`")
    print("\n".join(["", text_table(rows, COLUMNS), "", *facts]))
    update_markdown_section(args.out, SECTION, "\n".join(
        ['## Draw page: "Why this prediction"', "", *facts, "", markdown_table(rows, COLUMNS)]))
    logger.info("wrote the %s section of %s", SECTION, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = benchmark_parser(__doc__)
    parser.add_argument("--neighbours", type=Path, default=None, help="artifacts folder holding the neighbour index")
    parser.add_argument("--count", type=int, default=200, help="drawn digits to explain")
    return run_benchmark(run, parser.parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main())
