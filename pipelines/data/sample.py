"""Build the small, class-balanced MNIST sample that ships with the project.

    python -m pipelines.data.sample --data idx:../shared/mnist

Training images come from the training set and test images from the test set,
the first ones of each digit in the canonical order, so the file is reproducible.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from pipelines import config
from pipelines.data.sources import add_data_argument, load_data
from pipelines.store.artifacts import atomic_write_bytes

TRAIN_PER_CLASS = 300
TEST_PER_CLASS = 100


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first `per_class` examples of each digit, in their original order."""
    picked = [np.flatnonzero(labels == digit)[:per_class] for digit in range(config.N_CLASSES)]
    return np.sort(np.concatenate(picked))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser)
    parser.add_argument("--out", type=Path, default=config.SAMPLE_PATH)
    args = parser.parse_args(argv)
    data = load_data(args.data)
    train = first_per_class(data.train_labels, TRAIN_PER_CLASS)
    test = first_per_class(data.test_labels, TEST_PER_CLASS)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        train_images=data.train_images[train], train_labels=data.train_labels[train].astype(np.uint8),
        test_images=data.test_images[test], test_labels=data.test_labels[test].astype(np.uint8),
    )
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"wrote {args.out}: {len(train)} training and {len(test)} test images from {data.source}")


if __name__ == "__main__":
    main()
