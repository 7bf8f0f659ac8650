"""Score every model on photographed digits and on written numbers, canvas and photo.

    python -m pipelines.benchmarks.photos --artifacts artifacts --data idx:../shared/mnist [--count 300] [--numbers 300]

Photographed digits (`pipelines/evaluation/photos.py`): the same MNIST test digits, written with the same
hand, on every paper (clean scan, grey paper with falling light, ruled paper, a shadow, blur and JPEG, a
blue pen, a fat marker, chalk on a board, everything at once), read through `canvas_to_mnist`. Numbers:
2–6 test digits, some touching, on the Draw page's wide canvas and photographed on the same papers, cut by
the ink alone, with the models judging the cuts, and with the piece counter deciding which pieces to cut and
the models where (as the dashboard does). Evaluation only: none of
it is ever trained on. The results replace the `photographed-digits` and `numbers` sections of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from pipelines import config
from pipelines.benchmarks.command import benchmark_parser, provenance, run_benchmark, trained_models
from pipelines.data.sources import load_data
from pipelines.evaluation.analysis import soft_vote
from pipelines.evaluation.numbers import NumberReading, read_number, read_perfectly_cut
from pipelines.evaluation.photos import PAPERS, PHOTO_SET, WrittenNumber, iter_numbers, iter_photographed_digits
from pipelines.evaluation.report import Column, markdown_table, text_table, update_markdown_section
from pipelines.reading.canvas import canvas_to_mnist
from pipelines.reading.segment import Counter
from pipelines.serving.settings import DashboardSettings
from pipelines.store.pieces import STORE_NAME as PIECE_COUNTER
from pipelines.store.pieces import load_piece_counter
from pipelines.store.registry import LoadedModel

logger = logging.getLogger("pipelines.benchmarks.photos")

SECTIONS = ("photographed-digits", "numbers")
VOTE = "soft vote"


@dataclass(frozen=True)
class PhotoBenchSettings:
    """How many photos and numbers, and the seed they are drawn from."""

    count: int = 300  # digits per paper
    numbers: int = 300  # numbers per set (canvas, photo)
    seed: int = config.SEED
    sure_above: float = DashboardSettings.sure_above


def score_photos(models: dict[str, LoadedModel], images: np.ndarray, labels: np.ndarray,
                 settings: PhotoBenchSettings) -> list[dict[str, Any]]:
    """One row per paper: each model's and the soft vote's accuracy on the same digits."""
    rows = []
    for paper, photos, truth in iter_photographed_digits(images, labels, settings.count, settings.seed):
        read = [canvas_to_mnist(photo) for photo in tqdm(photos, desc=paper.name, leave=False)]
        found = np.array([digit is not None for digit in read])
        batch = np.stack([np.zeros((config.IMAGE_SIDE,) * 2, np.float32) if d is None else d for d in read])
        probabilities = {name: model.predict_proba(batch) for name, model in models.items()}
        probabilities[VOTE] = soft_vote(list(probabilities.values()))
        row: dict[str, Any] = {"paper": paper.name, "n": len(truth), "not_found": int((~found).sum())}
        row.update({name: float(((p.argmax(axis=1) == truth) & found).mean()) for name, p in probabilities.items()})
        row.update({f"{name} vs clean": row[name] - (rows[0] if rows else row)[name] for name in probabilities})
        rows.append(row)
        logger.info("%s: %s", paper.name, ", ".join(f"{name} {row[name]:.1%}" for name in probabilities))
    return rows


CUTS_BY_INK, CUTS_BY_MODELS, CUTS_BY_COUNTER = "the ink alone", "the models", "piece counter, then the models"
CUTS_PERFECT = "perfect (each digit's own ink)"


def score_numbers(models: dict[str, LoadedModel], images: np.ndarray, labels: np.ndarray,
                  settings: PhotoBenchSettings, counter: Counter | None) -> list[dict[str, Any]]:
    """Per set (canvas, photo) and way of cutting (see `CUTS_BY_*`, and `CUTS_PERFECT` for what the models would
    read were the segmentation perfect): right counts and whole numbers read."""
    cuttings = [(CUTS_BY_INK, False, None), (CUTS_BY_MODELS, True, None)]
    cuttings += [(CUTS_BY_COUNTER, True, counter)] if counter is not None else []
    rows = []
    for set_name, papers in (("canvas", None), ("photo", PAPERS)):
        numbers = list(iter_numbers(images, labels, settings.numbers, settings.seed, papers))
        for cuts, judged, cutting_counter in cuttings:
            readings, seconds = [], []
            for number in tqdm(numbers, desc=f"{set_name} numbers, {cuts}", leave=False):
                clock = time.perf_counter()
                readings.append(read_number(models, number.image, settings.sure_above, judged, cutting_counter))
                seconds.append(time.perf_counter() - clock)
            rows.append(_numbers_row(set_name, cuts, numbers, readings, seconds, list(models)))
        # the same numbers drawn again with each digit's own ink, too big to keep for all of them at once
        perfect = [read_perfectly_cut(models, number.image, number.own_ink, settings.sure_above)
                   for number in tqdm(iter_numbers(images, labels, settings.numbers, settings.seed, papers, True),
                                      desc=f"{set_name} numbers, {CUTS_PERFECT}", total=settings.numbers,
                                      leave=False)]
        rows.append(_numbers_row(set_name, CUTS_PERFECT, numbers, perfect, [], list(models)))
    return rows


def _numbers_row(set_name: str, cuts: str, numbers: list[WrittenNumber], readings: list[NumberReading],
                 seconds: list[float], names: list[str]) -> dict[str, Any]:
    """Right counts, whole numbers read by each model and the soft vote, and the time for the longest numbers."""
    touching = np.array([n.touching for n in numbers])
    longest = [s for s, n in zip(seconds, numbers) if len(n.digits) == PHOTO_SET.number_digits[1]]
    counted = np.array([len(r.digits) == len(n.digits) for r, n in zip(readings, numbers)])
    row: dict[str, Any] = {"set": set_name, "cuts": cuts, "n": len(numbers), "touching": int(touching.sum()),
                           "count": float(counted.mean()), "count_touching": float(counted[touching].mean())}
    row.update({name: float(np.mean([r.read_by(name) == n.text for r, n in zip(readings, numbers)])) for name in names})
    row[VOTE] = float(np.mean([r.vote_digits == n.text for r, n in zip(readings, numbers)]))
    row["vote_sure"] = float(np.mean([r.vote == n.text for r, n in zip(readings, numbers)]))
    row["longest_ms"] = 1000 * float(np.median(longest)) if longest else float("nan")
    row["longest_n"] = len(longest)
    logger.info("%s numbers, %s: count right %.1f%%, %s", set_name, cuts, 100 * row["count"],
                ", ".join(f"{name} {row[name]:.1%}" for name in [*names, VOTE]))
    return row


def _percent(key: str) -> Column:
    return key, lambda row: f"{row[key]:.1%}"


def photo_columns(names: Sequence[str]) -> list[Column]:
    def against_clean(name: str) -> Column:
        return name, lambda row: f"{row[name]:.1%} ({row[f'{name} vs clean'] * 100:+.1f})"
    return [("paper", lambda row: row["paper"]), ("n", lambda row: str(row["n"])),
            *(against_clean(name) for name in [*names, VOTE]), ("no digit found", lambda row: str(row["not_found"]))]


def number_columns(names: Sequence[str]) -> list[Column]:
    return [("set", lambda row: row["set"]), ("cuts", lambda row: row["cuts"]), ("n", lambda row: str(row["n"])),
            ("right count", lambda row: f"{row['count']:.1%}"),
            ("right count, touching", lambda row: f"{row['count_touching']:.1%} of {row['touching']}"),
            *(_percent(name) for name in [*names, VOTE]),
            ("soft vote, sure of every digit", lambda row: f"{row['vote_sure']:.1%}"),
            (f"{PHOTO_SET.number_digits[1]}-digit number, median ms",
             lambda row: f"{row['longest_ms']:.0f} ({row['longest_n']})" if row["longest_n"] else "not timed")]


def _facts(command: str, source: str, models: dict[str, LoadedModel]) -> list[str]:
    return provenance(source, command, [{"model": name, "run": model.run.run_id} for name, model in models.items()])


def photos_report(rows: list[dict[str, Any]], names: Sequence[str], facts: list[str],
                  settings: PhotoBenchSettings) -> str:
    return "\n".join([
        "## Photographed digits",
        "",
        f"{settings.count} MNIST **test** digits (balanced, seed {settings.seed}), redrawn as pen strokes and "
        f"written on each paper in the same hand, then photographed ({PHOTO_SET.photo_size[0]}×"
        f"{PHOTO_SET.photo_size[1]}, JPEG): `pipelines/evaluation/photos.py`. Read through `canvas_to_mnist`, "
        "whose photo front end divides out the paper's light, thresholds locally (Sauvola), removes ruled lines, "
        "drops specks and brings the pen to MNIST's width. In brackets: points against the model's own score on "
        "the clean scans of the same digits. Evaluation only, never trained on.",
        "", *facts, "", markdown_table(rows, photo_columns(names)),
    ])


def numbers_report(rows: list[dict[str, Any]], names: Sequence[str], facts: list[str],
                   settings: PhotoBenchSettings) -> str:
    low, high = PHOTO_SET.number_digits
    return "\n".join([
        "## Written numbers",
        "",
        f"{settings.numbers} numbers per set of {low}–{high} MNIST **test** digits written left to right "
        f"(`pipelines/evaluation/photos.py`), {PHOTO_SET.touching_share:.0%} of them with one pair pushed together "
        f"until they touch: on the Draw page's {PHOTO_SET.canvas_size[0]}×{PHOTO_SET.canvas_size[1]} canvas, and "
        "photographed on the papers above in turn. A number counts as read when every digit is right and no digit "
        f"is missing or extra. Cut by `{CUTS_BY_INK}`: the segmentation with nothing trained; by `{CUTS_BY_MODELS}`: "
        "the soft vote decides whether and where a wide piece is cut; by "
        f"`{CUTS_BY_COUNTER}`: what the Draw page and `split_digits` do, the piece counter (trained on pieces made "
        "up from MNIST's training digits, `pipelines/training/pieces.py`) decides which pieces hold several "
        "digits, the soft vote weighed by the cut scorer the counter carries where they are cut; "
        f"`{CUTS_PERFECT}`: the yardstick, each digit cut out where its own strokes were drawn, what the models "
        "would read were the segmentation perfect. The soft vote's number takes its best guess at every digit; "
        f"the last column asks it to be sure of every one (≥ {settings.sure_above:.0%}, no model dissenting). The "
        f"last column is the median time to find and read a {PHOTO_SET.number_digits[1]}-digit number (how many "
        "there were), front end, segmentation and every model reading every digit, in one process, one number at "
        "a time. Evaluation only, never trained on.",
        "", *facts, "", markdown_table(rows, number_columns(names)),
    ])


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    settings = PhotoBenchSettings(count=args.count, numbers=args.numbers, seed=args.seed)
    data = load_data(args.data)
    models = trained_models(args.artifacts)
    if not models:
        return 1
    names = list(models)
    facts = _facts("python -m pipelines.benchmarks.photos " + shlex.join(argv), data.source, models)
    if settings.count:
        rows = score_photos(models, data.test_images, data.test_labels, settings)
        print("\n" + text_table(rows, photo_columns(names)))
        update_markdown_section(args.out, SECTIONS[0], photos_report(rows, names, facts, settings))
    if settings.numbers:
        counter = load_piece_counter(args.artifacts)
        if counter is None:
            logger.warning("no piece counter in %s: train one with python -m pipelines.train --models %s",
                           args.artifacts, PIECE_COUNTER)
        rows = score_numbers(models, data.test_images, data.test_labels, settings, counter)
        print("\n" + text_table(rows, number_columns(names)))
        counter_fact = [f"- {PIECE_COUNTER}: " + (f"`{counter.run_id}`" if counter else "none trained")]
        update_markdown_section(args.out, SECTIONS[1], numbers_report(rows, names, facts + counter_fact, settings))
    logger.info("wrote %s", args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = benchmark_parser(__doc__)
    parser.add_argument("--count", type=int, default=PhotoBenchSettings.count, help="digits per paper (0: skip)")
    parser.add_argument("--numbers", type=int, default=PhotoBenchSettings.numbers, help="numbers per set (0: skip)")
    parser.add_argument("--seed", type=int, default=PhotoBenchSettings.seed)
    return run_benchmark(run, parser.parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main())
