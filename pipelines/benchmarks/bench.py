"""Benchmark: train a profile, then measure every model as the dashboard will use it.

    python -m pipelines.benchmarks.bench --data idx:../shared/mnist                  # full profile
    python -m pipelines.benchmarks.bench --data idx:../shared/mnist --profile quick

Each model trains in a fresh process so its peak memory is its own. After
training, the models are loaded back from the artifacts (timing the load) and
their single-image latency is measured again on the loaded copies. The table
is printed and written, with the machine and the date, to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import config
from pipelines.data.sources import add_data_argument, load_data
from pipelines.evaluation.evaluate import single_image_latency_ms
from pipelines.evaluation.report import (
    SUMMARY_COLUMNS,
    machine_description,
    markdown_table,
    text_table,
    update_markdown_section,
)
from pipelines.store.artifacts import ArtifactStore
from pipelines.store.registry import MODEL_NAMES, load_model

BENCH_COLUMNS = [
    *SUMMARY_COLUMNS[:6],
    ("load s", lambda row: f"{row['load_seconds']:.2f}"),
    ("latency ms after load (median / p95)",
     lambda row: f"{row['loaded_latency_ms']['median']:.2f} / {row['loaded_latency_ms']['p95']:.2f}"),
    *SUMMARY_COLUMNS[7:],
    ("peak memory MB", lambda row: f"{row['peak_memory_mb']:,.0f}"),
]


def _train_in_child(name: str, profile: str, source: str | None, artifacts: Path) -> dict[str, Any]:
    """Runs in a fresh process: train one model and report its metrics and this process's peak memory."""
    from pipelines.training.train import train

    config.configure_logging()
    results, failures = train([name], profile, source, artifacts)
    if failures:
        raise RuntimeError(failures[name])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {**results[0], "peak_memory_mb": peak_kib / 1024}


def _measure_loaded(name: str, store: ArtifactStore, test_images: np.ndarray) -> dict[str, Any]:
    started = time.perf_counter()
    model = load_model(name, store)
    load_seconds = time.perf_counter() - started
    return {"load_seconds": load_seconds, "loaded_latency_ms": single_image_latency_ms(model, test_images)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(config.PROFILES), default="full")
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    add_data_argument(parser)
    parser.add_argument("--artifacts", type=Path, default=config.ARTIFACTS_DIR)
    parser.add_argument("--out", type=Path, default=config.BENCHMARKS_PATH, help="Markdown file to update")
    args = parser.parse_args(argv)
    config.configure_logging()

    rows = []
    started = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    for name in args.models:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            rows.append(pool.submit(_train_in_child, name, args.profile, args.data, args.artifacts).result())
    total_minutes = (time.perf_counter() - started) / 60

    store = ArtifactStore(args.artifacts)
    test_images = load_data(args.data).test_images.astype(np.float32) / 255.0
    for row in rows:
        row.update(_measure_loaded(row["model"], store, test_images))

    total_mb = sum(row["artifact_bytes"] for row in rows) / 1e6
    command = "python -m pipelines.benchmarks.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    summary = (f"Profile `{args.profile}` on `{rows[0]['data_source']}` ({rows[0]['n_train']:,} training images, "
               f"{rows[0]['n_test']:,} test images): all {len(rows)} models trained, evaluated and stored in "
               f"{total_minutes:.1f} minutes; artifacts {total_mb:.1f} MB in total.")
    print("\n" + text_table(rows, BENCH_COLUMNS) + "\n\n" + summary)
    update_markdown_section(args.out, f"training-{args.profile}", "\n\n".join([
        f"## Training benchmark: `{args.profile}` profile",
        f"Measured {date.today().isoformat()} on {machine_description()}.",
        f"Command: `{command}`",
        markdown_table(rows, BENCH_COLUMNS),
        summary,
        "Latency is one `predict_proba` call on one 28×28 image, measured on the model loaded back from its "
        "artifact; throughput is batches of 1,000 test images; peak memory is the training process's maximum "
        "resident set size.",
    ]))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
