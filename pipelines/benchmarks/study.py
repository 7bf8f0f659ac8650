"""The learning-curve study with one and with two local workers: wall times and the speed-up.

    python -m pipelines.benchmarks.study --data idx:../shared/mnist                       # the target: 3 models x 5 sizes up to 10,000 x 2 seeds
    python -m pipelines.benchmarks.study --data sample --sizes 200 400 --seeds 0 --no-write  # a quick check that it works

Each run is a real study (stored under a temporary artifacts folder); both must give the same accuracies, which is
checked and printed too. Appends a section to BENCHMARKS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from pipelines import config
from pipelines.data.sources import add_data_argument, load_data
from pipelines.store.registry import MODEL_NAMES
from pipelines.studies.run import run_study
from pipelines.studies.settings import STUDY_SETTINGS

WORKER_COUNTS = (1, 2)


def timed_study(workers: int, models: list[str], sizes: list[int] | None, seeds: list[int] | None,
                data: object) -> tuple[float, dict[str, float | None], int]:
    """Wall seconds, accuracy per fit and failed fits of one learning-curve study with `workers` processes."""
    with tempfile.TemporaryDirectory() as artifacts:
        started = time.perf_counter()
        study = run_study("learning-curve", models, data, Path(artifacts), workers=workers, sizes=sizes, seeds=seeds)
        seconds = time.perf_counter() - started
        return seconds, {fit["key"]: fit.get("accuracy") for fit in study.fits()}, study.manifest["failed_fits"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    parser.add_argument("--sizes", nargs="+", type=int, default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    add_data_argument(parser)
    parser.add_argument("--no-write", action="store_true", help="print only, do not append to BENCHMARKS.md")
    args = parser.parse_args(argv)
    config.configure_logging()
    data = load_data(args.data)
    timings, results = {}, {}
    for workers in WORKER_COUNTS:
        seconds, accuracies, failed = timed_study(workers, args.models, args.sizes, args.seeds, data)
        timings[workers], results[workers] = seconds, accuracies
        print(f"{workers} worker(s): {seconds:.1f} s wall, {len(accuracies)} fits, {failed} failed", flush=True)
    identical = results[1] == results[2]
    speedup = timings[1] / timings[2]
    sizes = args.sizes or list(STUDY_SETTINGS.learning_curve_sizes)
    seeds = args.seeds or list(STUDY_SETTINGS.seeds)
    command = "python -m pipelines.benchmarks.study " + " ".join(argv if argv is not None else sys.argv[1:])
    section = (f"\n## Study: learning curve on 1 and 2 local workers\n\n`{command.strip()}` "
               f"({data.source}; {', '.join(args.models)} × sizes {', '.join(map(str, sizes))} × seeds "
               f"{', '.join(map(str, seeds))}; {STUDY_SETTINGS.profile} profile hyperparameters)\n\n"
               "| workers | wall time (s) |\n| --- | --- |\n"
               + "".join(f"| {workers} | {timings[workers]:.1f} |\n" for workers in WORKER_COUNTS)
               + f"\nSpeed-up with two workers: **{speedup:.2f}×**; the same accuracy in every fit: "
                 f"{'yes' if identical else 'NO'}.\n")
    print(section)
    if not args.no_write:
        with open(config.BENCHMARKS_PATH, "a") as stream:
            stream.write(section)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
