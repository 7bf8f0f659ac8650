"""The learning-curve study with one and with two local workers: wall times, the speed-up, and the curve itself.

    python -m pipelines.benchmarks.study --data idx:../shared/mnist                       # the target: 3 models x 5 sizes up to 10,000 x 2 seeds
    python -m pipelines.benchmarks.study --data sample --sizes 200 400 --seeds 0 --no-write  # a quick check that it works

Each run is a real study (stored under a temporary artifacts folder); both must give the same numbers in every fit,
which is checked and printed too (exit 1 if not). Writes its section of BENCHMARKS.md unless --no-write. Run it
alone on the machine: the speed-up is a timing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, provenance
from pipelines.data.sources import MnistData, load_data
from pipelines.evaluation.report import markdown_table, text_table, update_markdown_section
from pipelines.store.registry import MODEL_NAMES
from pipelines.studies.run import run_study
from pipelines.studies.settings import STUDY_SETTINGS

SECTION = "study-speed"
WORKER_COUNTS = (1, 2)
SAME_IN_EVERY_FIT = ("accuracy", "predictions_sha256")
TARGET = "3 models × 5 sizes up to 10,000 × 2 seeds in ≤ 10 min with two workers, ≥ 1.7× faster than with one"


def timed_study(workers: int, models: list[str], sizes: list[int] | None, seeds: list[int] | None,
                data: MnistData) -> tuple[float, dict[str, dict[str, Any]], int]:
    """Wall seconds, each fit's record by key, and the failed fits of one learning-curve study on `workers`."""
    with tempfile.TemporaryDirectory() as artifacts:
        started = time.perf_counter()
        study = run_study("learning-curve", models, data, Path(artifacts), workers=workers, sizes=sizes, seeds=seeds)
        seconds = time.perf_counter() - started
        return seconds, {fit["key"]: fit for fit in study.fits()}, study.manifest["failed_fits"]


def curve_rows(fits: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean test accuracy and training seconds over the seeds, per model and size."""
    grouped = defaultdict(list)
    for fit in fits.values():
        if fit["status"] == "ok":
            grouped[fit["model"], fit["size"]].append(fit)
    return [{"model": model, "size": size, "seeds": len(group),
             "accuracy": statistics.mean(fit["accuracy"] for fit in group),
             "train_s": statistics.mean(fit["train_seconds"] for fit in group),
             "epochs": group[0]["hyperparameters"].get("epochs")}
            for (model, size), group in sorted(grouped.items())]


CURVE_COLUMNS = [
    ("model", lambda row: row["model"]),
    ("training images", lambda row: f"{row['size']:,}"),
    ("seeds", lambda row: str(row["seeds"])),
    ("test accuracy (mean)", lambda row: f"{row['accuracy']:.2%}"),
    ("train s (mean, one core)", lambda row: f"{row['train_s']:.1f}"),
    ("epochs", lambda row: "" if row["epochs"] is None else str(row["epochs"])),
]


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, artifacts=False)
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    parser.add_argument("--sizes", nargs="+", type=int, default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--no-write", action="store_true", help="print only, do not write BENCHMARKS.md")
    args = parser.parse_args(argv)
    config.configure_logging()
    data = load_data(args.data)
    timings, results = {}, {}
    for workers in WORKER_COUNTS:
        seconds, fits, failed = timed_study(workers, args.models, args.sizes, args.seeds, data)
        timings[workers], results[workers] = seconds, fits
        print(f"{workers} worker(s): {seconds:.1f} s wall, {len(fits)} fits, {failed} failed", flush=True)
    one, two = ({key: {name: fit.get(name) for name in SAME_IN_EVERY_FIT} for key, fit in results[workers].items()}
                for workers in WORKER_COUNTS)
    identical = one == two
    speedup = timings[1] / timings[2]
    rows = curve_rows(results[2])
    print(text_table(rows, CURVE_COLUMNS))
    sizes = args.sizes or list(STUDY_SETTINGS.learning_curve_sizes)
    seeds = args.seeds or list(STUDY_SETTINGS.seeds)
    command = "python -m pipelines.benchmarks.study " + " ".join(argv if argv is not None else sys.argv[1:])
    section = "\n".join([
        "## Study: learning curve on 1 and 2 local workers", "",
        f"Target (issue 12): {TARGET}. {', '.join(args.models)} × sizes {', '.join(map(str, sizes))} × seeds "
        f"{', '.join(map(str, seeds))}, {STUDY_SETTINGS.profile} profile hyperparameters, no varied copies, one "
        f"thread per fit; a CNN fit makes at least {STUDY_SETTINGS.min_cnn_steps} optimiser steps.", "",
        *provenance(data.source, command.strip(), []), "",
        "| workers | wall time | fits |", "| --- | --- | --- |",
        *(f"| {workers} | {timings[workers] / 60:.1f} min ({timings[workers]:.0f} s) | {len(results[workers])} |"
          for workers in WORKER_COUNTS),
        "", f"Speed-up with two workers: **{speedup:.2f}×**; the same accuracy and predictions in every fit: "
            f"{'yes' if identical else 'NO'}.", "",
        "The learning curve itself (the two-worker run):", "", markdown_table(rows, CURVE_COLUMNS),
    ])
    print(section)
    if not args.no_write:
        update_markdown_section(args.out, SECTION, section)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
