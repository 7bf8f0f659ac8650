"""Train, evaluate and store the models.

    python -m pipelines.train                          # all models, quick profile, default data source
    python -m pipelines.train --profile full --data idx:../shared/mnist
    python -m pipelines.train --models cnn             # retrain one model; the others stay as they are
    python -m pipelines.train --extra-data feedback    # also learn from the drawings labelled on the Draw page
    python -m pipelines.train --models piece-counter   # only the classifier that tells the segmentation when to cut

The piece counter is trained when named, when the artifacts folder has none yet, and when its stored one is
from another profile.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import config
from pipelines.data.sources import DataSourceError, MnistData, add_data_argument, load_data
from pipelines.evaluation.evaluate import evaluate
from pipelines.evaluation.generalisation import GeneralisationSets, generalisation_scores, make_sets
from pipelines.evaluation.neighbours import ensure_index
from pipelines.evaluation.report import text_table
from pipelines.evaluation.robustness import robustness_curves
from pipelines.feedback import FeedbackError, FeedbackStore
from pipelines.feedback.training import training_drawings
from pipelines.models.portable import export_for_serving
from pipelines.processes import CallApart
from pipelines.progress import Progress
from pipelines.store.artifacts import (
    GENERALISATION,
    METRICS,
    ROBUSTNESS,
    TEST_PROBA,
    ArtifactStore,
    atomic_write_json,
    now_iso,
)
from pipelines.store.pieces import STORE_NAME as PIECE_COUNTER
from pipelines.store.registry import MODEL_NAMES, library_versions, model_class
from pipelines.training.pieces import train_piece_counter

logger = logging.getLogger("pipelines.train")

TRAINED_APART = ("cnn",)
"""Models trained in a process of their own while the rest of a run goes on beside them. The CNN keeps both cores
busy for most of a run; the rest leaves one idle much of the time (the SVM's one-core fits and predictions, the
evaluations), and fills it with the CNN's work this way."""

EXTRA_DATA = ("feedback",)
"""Training data that can be added to MNIST's: `feedback`, the drawings people labelled on the Draw page."""


def git_commit() -> str:
    """The commit the code was trained from, marked `-dirty` when the tree has changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.PROJECT_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=config.PROJECT_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def train_one(name: str, data: MnistData, profile: config.Profile, store: ArtifactStore,
              events_path: Path | None = None, show_bar: bool = True,
              sets: GeneralisationSets | None = None, bar_line: int | None = None) -> dict[str, Any]:
    """Fit one model, evaluate it on the test set and store it as a new run; returns its metrics.

    `sets` are the drawn and out-of-style canvases it is scored on; made here when not given. `bar_line`: the
    terminal line of its progress bar, when it trains beside another model.
    """
    params = profile.params_for(name)
    classifier = model_class(name)(params)
    progress = Progress(name, events_path, show_bar, bar_line)
    started_at = now_iso()
    train_images = data.train_images.astype(np.float32) / 255.0
    test_images = data.test_images.astype(np.float32) / 255.0

    clock = time.perf_counter()
    classifier.fit(train_images, data.train_labels, progress)
    train_seconds = time.perf_counter() - clock

    manifest = {
        "hyperparameters": asdict(params), "profile": profile.name, "seed": config.SEED,
        "data": data.describe(), "versions": library_versions(name), "git_commit": git_commit(),
        "started_at": started_at,
    }
    with store.new_run(name, manifest) as staging:
        progress.note("saving")
        classifier.save(staging)
        artifact_bytes = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        progress.note("evaluating")
        metrics, test_proba = evaluate(classifier, test_images, data.test_labels)
        metrics.update(model=name, title=classifier.title, train_seconds=train_seconds,
                       artifact_bytes=artifact_bytes, n_train=int(len(data.train_labels)), profile=profile.name,
                       data_source=data.source, fallback_reason=data.fallback_reason)
        np.save(staging / TEST_PROBA, test_proba)
        progress.note("exporting to ONNX and checking it on the test set")
        metrics["onnx"] = asdict(export_for_serving(classifier, staging, test_images, test_proba))
        atomic_write_json(staging / METRICS, metrics)
        progress.note("robustness curves")
        atomic_write_json(staging / ROBUSTNESS, robustness_curves(classifier, test_images, data.test_labels))
        progress.note("drawn and out-of-style digits")
        sets = sets if sets is not None else make_sets(data.test_images, data.test_labels)
        atomic_write_json(staging / GENERALISATION, generalisation_scores(classifier, metrics["accuracy"], sets))
    progress.close()
    return metrics


def with_feedback(data: MnistData, feedback_url: str) -> MnistData:
    """MNIST's training images plus the labelled drawings, never their held-out part."""
    store = FeedbackStore(feedback_url)
    drawings = training_drawings(store)
    store.close()
    if not len(drawings.labels):
        logger.warning("--extra-data feedback: no labelled drawings to add yet in %s", drawings.description["store"])
    logger.info("adding %d labelled drawings (%d more held out, never trained on), fingerprint %s",
                len(drawings.labels), drawings.description["held_out_not_trained_on"],
                drawings.description["fingerprint"][:12])
    return data.with_extra_training("feedback", drawings.images, drawings.labels, drawings.description)


def counter_wanted(store: ArtifactStore, models: list[str], profile_name: str) -> bool:
    """Whether this run trains the piece counter: named, or none stored yet, or the stored one from another
    profile. It reads MNIST's digits, not the models, so retraining a model does not retrain it."""
    runs = store.runs(PIECE_COUNTER)
    return PIECE_COUNTER in models or not runs or runs[0].manifest.get("profile") != profile_name


def _attempt(name: str, failures: dict[str, str], work: Callable[[], Any]) -> Any | None:
    """`work()`, or None with its failure logged and put in `failures`: one model's failure must not lose the
    others."""
    try:
        return work()
    except Exception as error:
        logger.exception("%s failed", name)
        failures[name] = f"{type(error).__name__}: {error}"
        return None


def train(models: list[str], profile_name: str, source: str | None, artifacts_dir: Path,
          events_path: Path | None = None, show_bar: bool = True, extra_data: tuple[str, ...] = (),
          feedback_url: str | None = None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Train the named models (and the piece counter when `counter_wanted`) on one dataset (MNIST's, plus any
    `extra_data`); a model that fails does not stop the others."""
    profile = config.PROFILES[profile_name]
    data = load_data(source).limit_train(profile.train_limit)
    if "feedback" in extra_data:
        data = with_feedback(data, feedback_url or config.feedback_url_from_env(artifacts_dir))
    logger.info("data: %s, %d training and %d test images, fingerprint %s", data.source,
                len(data.train_labels), len(data.test_labels), data.fingerprint[:12])
    store = ArtifactStore(artifacts_dir)
    store.save_dataset(data.fingerprint, data.summary_arrays())
    ensure_index(store, data)
    logger.info("drawing the drawn-digit and out-of-style sets every model is scored on")
    sets = make_sets(data.test_images, data.test_labels)
    with_counter = counter_wanted(store, models, profile.name)
    named = [name for name in models if name != PIECE_COUNTER]
    work_beside = (with_counter or len(named) > 1) and (os.cpu_count() or 1) > 1
    apart = {}
    for line, name in enumerate((name for name in named if name in TRAINED_APART and work_beside), start=1):
        logger.info("training %s (%s profile) in a process of its own, beside the rest", name, profile.name)
        apart[name] = CallApart(train_one, name, data, profile, store, events_path, show_bar, sets, line)
    failures: dict[str, str] = {}
    try:
        if with_counter:  # first: its varied copies are the SVM's and the forest's
            logger.info("training the %s (%s profile)", PIECE_COUNTER, profile.name)
            _attempt(PIECE_COUNTER, failures, lambda: train_piece_counter(
                data.train_images.astype(np.float32) / 255.0, profile.pieces, profile.name, store,
                Progress(PIECE_COUNTER, events_path, show_bar), data.describe()))
        results = []
        for name in (name for name in named if name not in apart):
            logger.info("training %s (%s profile)", name, profile.name)
            results.append(_attempt(name, failures, lambda: train_one(name, data, profile, store, events_path,
                                                                      show_bar, sets)))
        results += [_attempt(name, failures, call.result) for name, call in apart.items()]
    except KeyboardInterrupt:
        for call in apart.values():
            call.interrupt()
        raise
    return sorted((metrics for metrics in results if metrics is not None),
                  key=lambda metrics: named.index(metrics["model"])), failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=[*MODEL_NAMES, PIECE_COUNTER], default=list(MODEL_NAMES))
    parser.add_argument("--profile", choices=sorted(config.PROFILES), default=config.DEFAULT_PROFILE)
    add_data_argument(parser)
    parser.add_argument("--artifacts", type=Path, default=config.ARTIFACTS_DIR, help="output folder")
    parser.add_argument("--progress-file", type=Path, default=None, help="also write progress as JSON lines here")
    parser.add_argument("--no-bar", action="store_true", help="no progress bars (logs only)")
    parser.add_argument("--extra-data", nargs="+", choices=EXTRA_DATA, default=[],
                        help="also train on: feedback (the drawings labelled on the Draw page, minus a fixed "
                             "held-out part)")
    parser.add_argument("--feedback-url", default=None,
                        help=f"the feedback database; default: ${config.FEEDBACK_URL_ENV}, else feedback.db in "
                             "the artifacts folder")
    args = parser.parse_args(argv)
    config.configure_logging()
    try:
        results, failures = train(args.models, args.profile, args.data, args.artifacts, args.progress_file,
                                  not args.no_bar, tuple(args.extra_data), args.feedback_url)
    except (DataSourceError, FeedbackError) as error:
        logger.error("%s", error)
        return 2
    except KeyboardInterrupt:
        logger.error("interrupted: runs that had not finished were discarded, earlier runs are intact")
        return 130
    if results:
        print("\n" + text_table(results))
        if results[0].get("fallback_reason"):
            print(f"\nWARNING: {results[0]['fallback_reason']}")
    for name, failure in failures.items():
        print(f"FAILED {name}: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
