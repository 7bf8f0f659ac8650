"""Generalisation: a model's accuracy on MNIST test, on the drawn-digit set and on the out-of-style set.

MNIST test is written by MNIST's writers; the drawn set redraws their digits
on a canvas; the out-of-style set (`pipelines.evaluation.out_of_style`) has
shapes they rarely made. Training stores a small version of the comparison
with every run (`generalisation.json`, sizes in `GeneralisationConfig`), so
the dashboard reads scores instead of running models over thousands of
canvases; `python -m pipelines.benchmarks.out_of_style` measures the full sets.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pipelines.config import IMAGE_SIDE, SEED
from pipelines.evaluation.drawn import iter_drawn_digits
from pipelines.evaluation.evaluate import batch_probabilities
from pipelines.evaluation.out_of_style import OUT_OF_STYLE, ItemTags, OutOfStyleConfig, iter_out_of_style
from pipelines.reading.canvas import canvas_to_mnist

NO_DIGIT = -1
"""The prediction recorded when the front end finds nothing drawn: always wrong."""
SET_NAMES = {"mnist_test": "MNIST test", "drawn": "drawn digits", "out_of_style": "out of style"}
"""The three sets, in the order a reader compares them, with their display names."""


class ProbabilisticModel(Protocol):
    def predict_proba(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class GeneralisationConfig:
    """How large the sets stored with every training run are: small, so training stays quick."""

    drawn_count: int = 300
    out_of_style_count: int = 300
    seed: int = SEED


GENERALISATION = GeneralisationConfig()


@dataclass(frozen=True)
class ReadSet:
    """A canvas set as the models receive it: 28×28 images from `canvas_to_mnist`, labels, and per-item tags."""

    images: np.ndarray  # (n, 28, 28) float32; blank where no digit was found
    labels: np.ndarray  # (n,) int64
    found: np.ndarray  # (n,) bool: the front end found a digit
    tags: list[ItemTags] | None = None  # out-of-style sets only


def read_canvases(batches: Iterable[tuple[np.ndarray, np.ndarray, list[ItemTags] | None]]) -> ReadSet:
    """Put every canvas through the Draw page's front end, keeping only the 28×28 results."""
    blank = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    images, labels, found, tags = [], [], [], []
    for canvases, batch_labels, batch_tags in batches:
        for canvas in canvases:
            digit = canvas_to_mnist(canvas)
            found.append(digit is not None)
            images.append(blank if digit is None else digit)
        labels.extend(int(label) for label in batch_labels)
        tags.extend(batch_tags or [])
    return ReadSet(np.stack(images), np.array(labels, dtype=np.int64), np.array(found), tags or None)


def read_drawn(test_images: np.ndarray, test_labels: np.ndarray, count: int, seed: int) -> ReadSet:
    """The drawn-digit set (MNIST test digits redrawn as pen strokes), read by the front end."""
    return read_canvases((batch.canvases, batch.labels, None)
                         for batch in iter_drawn_digits(test_images, test_labels, count, seed))


def read_out_of_style(count: int, seed: int, config: OutOfStyleConfig = OUT_OF_STYLE) -> ReadSet:
    """The out-of-style set, read by the front end, each item with its tags."""
    return read_canvases((batch.canvases, batch.labels, batch.tags) for batch in iter_out_of_style(count, seed, config))


def hits(model: ProbabilisticModel, read: ReadSet) -> np.ndarray:
    """(n,) bool: the model named the right digit (a canvas with no digit found is a miss)."""
    probabilities, _ = batch_probabilities(model, read.images)  # type: ignore[arg-type]  # any predict_proba will do
    return np.where(read.found, probabilities.argmax(axis=1), NO_DIGIT) == read.labels


def accuracy_by(correct: np.ndarray, groups: Sequence[str]) -> dict[str, dict[str, float]]:
    """{group: {"n", "accuracy"}} in order of first appearance."""
    keys = np.array(groups)
    return {key: {"n": int((keys == key).sum()), "accuracy": float(correct[keys == key].mean())}
            for key in dict.fromkeys(groups)}


TAG_BREAKDOWNS = {
    "source": lambda tag: tag.source,
    "distortion": lambda tag: tag.distortion,
    "style": lambda tag: f"{tag.source}: {tag.style}",
    "digit": lambda tag: str(tag.label),
}
"""The ways out-of-style accuracy is broken down, each a function of an item's tags."""


def breakdowns(correct: np.ndarray, tags: Sequence[ItemTags]) -> dict[str, dict[str, dict[str, float]]]:
    """Accuracy by every breakdown in TAG_BREAKDOWNS, groups sorted by name."""
    return {kind: dict(sorted(accuracy_by(correct, [key(tag) for tag in tags]).items()))
            for kind, key in TAG_BREAKDOWNS.items()}


@dataclass(frozen=True)
class GeneralisationSets:
    """The sets a training run is scored on, made once per training run and shared by its models."""

    drawn: ReadSet
    out_of_style: ReadSet
    config: GeneralisationConfig


def make_sets(test_images: np.ndarray, test_labels: np.ndarray,
              config: GeneralisationConfig = GENERALISATION) -> GeneralisationSets:
    return GeneralisationSets(read_drawn(test_images, test_labels, config.drawn_count, config.seed),
                              read_out_of_style(config.out_of_style_count, config.seed), config)


def generalisation_scores(model: ProbabilisticModel, mnist_test_accuracy: float,
                          sets: GeneralisationSets) -> dict[str, Any]:
    """The JSON stored with a run: accuracy on each set, and the out-of-style accuracy broken down by tags."""
    started = time.perf_counter()
    drawn_hits = hits(model, sets.drawn)
    style_hits = hits(model, sets.out_of_style)
    return {
        "seed": sets.config.seed,
        "accuracy": {"mnist_test": mnist_test_accuracy, "drawn": float(drawn_hits.mean()),
                     "out_of_style": float(style_hits.mean())},
        "n": {"drawn": int(len(drawn_hits)), "out_of_style": int(len(style_hits))},
        "out_of_style_breakdown": breakdowns(style_hits, sets.out_of_style.tags or []),
        "seconds": time.perf_counter() - started,
    }


def comparison_rows(scores_by_model: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model and set (model, set, accuracy, n), ready for a grouped bar chart."""
    return [{"model": name, "set": SET_NAMES[key], "accuracy": scores["accuracy"][key], "n": scores["n"].get(key)}
            for name, scores in scores_by_model.items() for key in SET_NAMES]


def breakdown_rows(scores_by_model: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """One row per group of one breakdown: the group, its size and each model's accuracy."""
    groups: dict[str, dict[str, Any]] = {}
    for name, scores in scores_by_model.items():
        for group, score in scores["out_of_style_breakdown"][kind].items():
            groups.setdefault(group, {"group": group, "n": score["n"]})[name] = score["accuracy"]
    return list(groups.values())
