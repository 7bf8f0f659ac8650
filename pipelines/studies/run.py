"""Run a study: learning curves or a hyperparameter sweep, each fit one task, on local processes or Dask.

    python -m pipelines.study --kind learning-curve --data idx:../shared/mnist --workers 2
    python -m pipelines.study --kind learning-curve --models svm rf --sizes 500 1000 2000 --seeds 0 1 2
    python -m pipelines.study --kind sweep --models svm --sizes 5000 --grid C=1,10,100 gamma=0.01,0.04
    python -m pipelines.study --kind sweep --models rf --search random --iterations 4
    python -m pipelines.study --kind learning-curve --cluster tcp://scheduler-host:8786

Learning-curve fits are scored on the test set; sweep fits on held-out folds of the training subset, never on
the test set. Every finished fit is on disk at once: Ctrl-C (or a kill) keeps them, and a failed fit is recorded
while the others go on.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from pipelines import config
from pipelines.data.sources import DataSourceError, MnistData, add_data_argument, load_data
from pipelines.progress import Progress
from pipelines.store.registry import MODEL_NAMES, library_versions
from pipelines.studies.engine import ClusterError, cluster_address, run_fits
from pipelines.studies.frames import summary_table
from pipelines.studies.plans import StudyError, plan
from pipelines.studies.settings import CLUSTER_ENV, STUDY_SETTINGS, StudySettings
from pipelines.studies.store import Study, StudyStore
from pipelines.studies.tasks import STUDY_KINDS

logger = logging.getLogger("pipelines.study")


def run_study(kind: str, models: list[str], data: MnistData, artifacts_dir: Path, workers: int = 1,
              cluster: str | None = None, sizes: list[int] | None = None, seeds: list[int] | None = None,
              grid: list[str] | None = None, search: str = "grid", iterations: int | None = None,
              settings: StudySettings = STUDY_SETTINGS, show_bar: bool = True,
              events_path: Path | None = None) -> Study:
    """Plan, run and store one study; returns it sealed ("complete", or "interrupted" after Ctrl-C)."""
    tasks, shape = plan(kind, models, sizes, seeds, len(data.train_labels), settings, grid, search, iterations)
    description = {
        "kind": kind, "models": models, **shape, "profile": settings.profile,
        "settings": {key: value for key, value in asdict(settings).items() if key != "sweep_grids"},
        "data": data.describe(), "engine": {"cluster": cluster, "workers": None if cluster else workers},
        "versions": {name: library_versions(name) for name in models},
        "tasks": [{"key": task.key, **asdict(task)} for task in tasks],
    }
    store = StudyStore(artifacts_dir)
    study_id, writer = store.start(description)
    logger.info("study %s: %d fits (%s) on %s", study_id, len(tasks), kind,
                f"the Dask cluster at {cluster}" if cluster else f"{workers} local worker process(es)")
    progress = Progress("study", events_path, show_bar)
    progress.start(total=len(tasks), unit="fit")
    status = "failed"
    try:
        # closing: an interrupt between two fits still stops the workers, not only one inside the engine
        with contextlib.closing(run_fits(tasks, data, settings, workers, cluster)) as fits:
            for fit in fits:
                writer.append(fit)
                if fit["status"] != "ok":
                    logger.warning("fit %s failed: %s", fit["key"], fit["error"])
                progress.advance(fit=fit["key"], accuracy=fit.get("accuracy", float("nan")))
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        logger.warning("interrupted: the finished fits are kept")
    finally:
        progress.close()
        if status == "failed" and writer.appended:  # an error is on its way up: keep what finished
            store.seal(writer, status)
        elif status == "failed":  # the engine never started: nothing to keep, the error says why
            store.discard(writer)
    return store.seal(writer, status)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=STUDY_KINDS, required=True)
    parser.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    parser.add_argument("--sizes", nargs="+", type=int, default=None,
                        help="training set sizes (learning curve: default "
                             f"{' '.join(map(str, STUDY_SETTINGS.learning_curve_sizes))}; sweep: one size)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help=f"learning curve: seeds, each another training subset (default "
                             f"{' '.join(map(str, STUDY_SETTINGS.seeds))})")
    parser.add_argument("--grid", nargs="+", default=None, metavar="NAME=V1,V2",
                        help="sweep: the hyperparameter values to try (default: the model's grid in "
                             "pipelines/studies/settings.py)")
    parser.add_argument("--search", choices=("grid", "random"), default="grid")
    parser.add_argument("--iterations", type=int, default=None, help="random search: combinations to try")
    add_data_argument(parser)
    parser.add_argument("--artifacts", type=Path, default=config.ARTIFACTS_DIR, help="artifacts folder")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    parser.add_argument("--cluster", default=None, metavar="tcp://HOST:PORT",
                        help=f"a Dask scheduler to run the fits on (default: ${CLUSTER_ENV}, else local processes)")
    parser.add_argument("--no-bar", action="store_true", help="no progress bar (logs only)")
    args = parser.parse_args(argv)
    config.configure_logging()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` ends a study like Ctrl-C: sealed, finished fits kept
    try:
        data = load_data(args.data)
        study = run_study(args.kind, args.models, data, args.artifacts, args.workers, cluster_address(args.cluster),
                          args.sizes, args.seeds, args.grid, args.search, args.iterations, show_bar=not args.no_bar)
    except (DataSourceError, StudyError, ClusterError, ValueError) as error:
        logger.error("%s", error)
        return 2
    print(f"\nstudy {study.study_id} ({study.manifest['status']}): {study.manifest['finished_fits']} fits finished, "
          f"{study.manifest['failed_fits']} failed, of {study.manifest['planned_fits']} planned; in {study.path}")
    print(summary_table(study))
    if study.manifest["status"] == "interrupted":
        return 130
    return 1 if study.manifest["failed_fits"] else 0


if __name__ == "__main__":
    sys.exit(main())
