"""A reduced-scale study: which training change lifts out-of-style accuracy without costing MNIST accuracy.

    python -m pipelines.benchmarks.generalise_study --data idx:../shared/mnist --train 10000 --models rf svm

Every candidate trains the full profile's hyperparameters on the same stratified
`--train` MNIST training digits (plus the same varied copies) and differs in
one thing at a time:

- `hog`: the SVM or forest reads gradient histograms of the deskewed digit (`features="hog"`) instead of pixels;
- `style`: extra training digits typeset in the *training* font designs and drawn in the *training* letterforms
  (`OutOfStyleConfig(evaluation=False)`), read by `canvas_to_mnist`;
- `elastic`: extra elastically distorted copies of MNIST training digits;
- combinations, joined with `+`.

Each is scored on all 10,000 MNIST test digits, on the out-of-style set
(evaluation designs and letterforms only, never trained on) and on drawn
digits, with its training time and single-image latency. The table replaces
the `generalise-study` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, run_benchmark
from pipelines.data.sources import MnistData, load_data
from pipelines.evaluation.drawn import ink_canvas
from pipelines.evaluation.evaluate import batch_probabilities, single_image_latency_ms
from pipelines.evaluation.generalisation import (
    GeneralisationConfig,
    GeneralisationSets,
    hits,
    read_canvases,
    read_drawn,
    read_out_of_style,
)
from pipelines.evaluation.out_of_style import OUT_OF_STYLE, elastic_distort, iter_out_of_style
from pipelines.evaluation.report import Column, machine_description, markdown_table, text_table, update_markdown_section
from pipelines.progress import Progress
from pipelines.store.registry import model_class

logger = logging.getLogger("pipelines.benchmarks.generalise_study")

SECTION = "generalise-study"
CHANGES = ("hog", "style", "elastic")
STUDY_SEED = config.SEED + 1  # training copies are drawn from another seed than the evaluation sets


def style_copies(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Training digits from the training side of the out-of-style generator, as the front end reads them."""
    training_side = dataclasses.replace(OUT_OF_STYLE, evaluation=False)
    read = read_canvases((b.canvases, b.labels, None) for b in iter_out_of_style(count, STUDY_SEED, training_side))
    return read.images[read.found], read.labels[read.found]


def elastic_copies(images: np.ndarray, labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` MNIST training digits bent by the same elastic distortion as the benchmark, re-read by the front end."""
    rng = np.random.default_rng(STUDY_SEED)
    chosen = rng.permutation(len(labels))[:count]
    canvases = np.stack([elastic_distort(ink_canvas(images[index]), rng) for index in chosen])
    read = read_canvases([(canvases, labels[chosen], None)])
    return read.images[read.found], read.labels[read.found]


def candidate_params(model: str, candidate: str) -> object:
    """The full profile's hyperparameters of `model`, on HOG features when the candidate names them, else pixels."""
    params = config.PROFILES["full"].params_for(model)
    return dataclasses.replace(params, features="hog" if "hog" in candidate.split("+") else "pixels")


def run_candidate(model: str, candidate: str, data: MnistData, extras: dict[str, tuple[np.ndarray, np.ndarray]],
                  test_images: np.ndarray, sets: GeneralisationSets) -> dict[str, Any]:
    """Train one model with one candidate change and score it."""
    images = [data.train_images.astype(np.float32) / 255.0]
    labels = [data.train_labels]
    for change in candidate.split("+"):
        if change in extras:
            images.append(extras[change][0])
            labels.append(extras[change][1])
    train_images, train_labels = np.concatenate(images), np.concatenate(labels)
    classifier = model_class(model)(candidate_params(model, candidate))
    started = time.perf_counter()
    classifier.fit(train_images, train_labels, Progress(f"{model} {candidate}", None, show_bar=False))
    train_seconds = time.perf_counter() - started
    probabilities, _ = batch_probabilities(classifier, test_images)
    return {"model": model, "candidate": candidate, "n_train": int(len(train_labels)), "train_seconds": train_seconds,
            "mnist_test": float((probabilities.argmax(axis=1) == data.test_labels).mean()),
            "drawn": float(hits(classifier, sets.drawn).mean()),
            "out_of_style": float(hits(classifier, sets.out_of_style).mean()),
            "latency_ms": single_image_latency_ms(classifier, test_images, calls=100)["median"]}


def _percent(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: f"{row[key]:.2%}"


COLUMNS: list[Column] = [
    ("model", lambda row: row["model"]),
    ("candidate", lambda row: row["candidate"]),
    ("training digits", lambda row: f"{row['n_train']:,}"),
    ("MNIST test", _percent("mnist_test")),
    ("drawn", _percent("drawn")),
    ("out of style", _percent("out_of_style")),
    ("train s", lambda row: f"{row['train_seconds']:.0f}"),
    ("latency ms", lambda row: f"{row['latency_ms']:.2f}"),
]


def markdown_report(rows: list[dict[str, Any]], command: str, args: argparse.Namespace, source: str) -> str:
    return "\n".join([
        "## Generalisation study (reduced scale): features and training copies",
        "",
        f"The full profile's hyperparameters trained on a stratified {args.train:,} MNIST training digits, each with "
        "its varied copy as today, one change at a time (extra digits get their varied copies too): `hog` = gradient histograms of the deskewed digit instead of "
        f"pixels (`features=\"hog\"`); `style` = {args.style_copies:,} extra digits from the *training* font designs "
        f"and letterforms; `elastic` = {args.elastic_copies:,} elastically distorted MNIST training digits. Scored on "
        f"the 10,000 MNIST test digits, {args.count:,} out-of-style digits (evaluation designs and letterforms only) "
        f"and {args.drawn_count:,} drawn digits; latency is the median single-image `predict_proba`. The machine was "
        "shared with other jobs, so times are indicative.",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine_description()}",
        f"- data: `{source}`",
        f"- command: `{command}`",
        "",
        markdown_table(rows, COLUMNS),
    ])


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    needed = {change for candidate in args.candidates for change in candidate.split("+")}
    unknown = needed - set(CHANGES) - {"baseline"}
    if unknown:
        logger.error("unknown change(s) %s: choose from baseline, %s", ", ".join(sorted(unknown)), ", ".join(CHANGES))
        return 2
    data = load_data(args.data).limit_train(args.train)
    test_images = data.test_images.astype(np.float32) / 255.0
    logger.info("drawing %d out-of-style and %d drawn digits to score on", args.count, args.drawn_count)
    sets = GeneralisationSets(read_drawn(data.test_images, data.test_labels, args.drawn_count, config.SEED),
                              read_out_of_style(args.count, config.SEED),
                              GeneralisationConfig(args.drawn_count, args.count, config.SEED))
    extras = {}
    if "style" in needed:
        logger.info("drawing %d training copies from the training designs and letterforms", args.style_copies)
        extras["style"] = style_copies(args.style_copies)
    if "elastic" in needed:
        logger.info("bending %d MNIST training digits", args.elastic_copies)
        extras["elastic"] = elastic_copies(data.train_images, data.train_labels, args.elastic_copies)
    rows = []
    for model in args.models:
        for candidate in args.candidates:
            logger.info("training %s, %s", model, candidate)
            rows.append(run_candidate(model, candidate, data, extras, test_images, sets))
            print(text_table(rows[-1:], COLUMNS), flush=True)
    print("\n" + text_table(rows, COLUMNS))
    command = "python -m pipelines.benchmarks.generalise_study " + shlex.join(argv)
    update_markdown_section(args.out, SECTION, markdown_report(rows, command, args, data.source))
    logger.info("wrote the %s section of %s", SECTION, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = benchmark_parser(__doc__, artifacts=False)
    parser.add_argument("--train", type=int, default=10_000, help="MNIST training digits (a stratified subset)")
    parser.add_argument("--models", nargs="+", default=["rf", "svm"])
    parser.add_argument("--candidates", nargs="+", default=["baseline", "hog", "style", "elastic", "hog+style"])
    parser.add_argument("--style-copies", type=int, default=5000)
    parser.add_argument("--elastic-copies", type=int, default=5000)
    parser.add_argument("--count", type=int, default=1000, help="out-of-style digits to score on")
    parser.add_argument("--drawn-count", type=int, default=500, help="drawn digits to score on")
    return run_benchmark(run, parser.parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main())
