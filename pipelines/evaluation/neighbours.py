"""The training digits most like a drawing: a searchable sample of the training set, built at training time.

    python -m pipelines.evaluation.neighbours --profile full --data idx:../shared/mnist   # for models trained before the index

The space is defined here and only here: deskew (pipelines.models.features), then project on the first principal
components, fitted on the indexed images. Distances there are about shape rather than slant or stray pixels,
and it is the space the SVM starts from. The index keeps its images (uint8) so the dashboard can show them
without the training set; it is stored next to the dataset, under the same fingerprint.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from pipelines import config
from pipelines.data.sources import DataSourceError, MnistData, add_data_argument, load_data
from pipelines.evaluation.analysis import samples_per_digit
from pipelines.evaluation.explain import EXPLAIN, ExplainConfig
from pipelines.evaluation.robustness import as_unit_float
from pipelines.models.features import deskew_flatten
from pipelines.store.artifacts import ArtifactError, ArtifactStore

logger = logging.getLogger("pipelines.evaluation.neighbours")

SEARCH_ALGORITHM = "ball_tree"
"""Exact, single-threaded, about 1.5 ms a query over 20,000 images. Brute force is as quick on an idle machine
but its OpenMP threads stall for about 100 ms when another process holds a core (measured on 2 cores)."""


@dataclass(frozen=True)
class Neighbours:
    """The training images nearest to one drawing, nearest first."""

    images: np.ndarray  # (k, 28, 28) uint8
    labels: np.ndarray  # (k,)
    distances: np.ndarray  # (k,), Euclidean in the index's space
    train_indices: np.ndarray  # (k,), positions in the training set

    def vote(self) -> tuple[int, int]:
        """The most common label among them, and how many carry it."""
        counts = np.bincount(self.labels.astype(int), minlength=config.N_CLASSES)
        return int(counts.argmax()), int(counts.max())


@dataclass(frozen=True)
class NeighbourIndex:
    """A balanced, seeded subset of a dataset's training images, searchable by similarity."""

    projection: Pipeline  # deskew, then PCA, fitted on `images`
    search: NearestNeighbors  # fitted on the projections of `images`
    images: np.ndarray  # (n, 28, 28) uint8
    labels: np.ndarray  # (n,) uint8
    train_indices: np.ndarray  # (n,) their positions in the training set

    @property
    def components(self) -> int:
        return int(self.projection[-1].n_components_)

    def nearest(self, image: np.ndarray, count: int) -> Neighbours:
        """The `count` indexed images nearest to one (28, 28) float32 image in [0, 1]."""
        embedding = self.projection.transform(np.asarray(image, dtype=np.float32).reshape(1, -1))
        distances, positions = self.search.kneighbors(embedding, n_neighbors=min(count, len(self.labels)))
        chosen = positions[0]
        return Neighbours(self.images[chosen], self.labels[chosen], distances[0], self.train_indices[chosen])


def build_index(images: np.ndarray, labels: np.ndarray, settings: ExplainConfig = EXPLAIN) -> NeighbourIndex:
    """Index up to `settings.index_size` training images, the same number of each digit, chosen from the seed."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != (config.IMAGE_SIDE, config.IMAGE_SIDE):
        raise ValueError(f"the index keeps training images as stored, (n, 28, 28) uint8; got {images.shape} "
                         f"{images.dtype}")
    chosen = samples_per_digit(np.asarray(labels), settings.index_size // config.N_CLASSES, settings.seed)
    kept = np.sort(np.concatenate(list(chosen.values())))
    projection = make_pipeline(FunctionTransformer(deskew_flatten),
                               PCA(n_components=min(settings.index_components, len(kept)), random_state=settings.seed))
    pixels = as_unit_float(images[kept])
    # fit, then transform like a query: PCA's fit_transform takes another numerical path, off by ~1 % in float32
    search = NearestNeighbors(algorithm=SEARCH_ALGORITHM).fit(projection.fit(pixels).transform(pixels))
    return NeighbourIndex(projection, search, images[kept], np.asarray(labels)[kept].astype(np.uint8), kept)


def ensure_index(store: ArtifactStore, data: MnistData, settings: ExplainConfig = EXPLAIN) -> Path:
    """Build and store the index of a dataset unless it is there already (it depends on the data alone).

    Stored as a dict of its fields, not as the dataclass: the pickle then names only scikit-learn and numpy
    classes, which load the same whichever module wrote them (`python -m` would record `__main__`).
    """
    path = store.neighbours_path(data.fingerprint)
    if not path.is_file():
        index = build_index(data.train_images, data.train_labels, settings)
        store.save_neighbours(data.fingerprint, {field.name: getattr(index, field.name) for field in fields(index)})
    return path


def load_index(store: ArtifactStore, fingerprint: str) -> NeighbourIndex:
    """The stored index of a dataset; ArtifactError naming the file when it is missing or not an index."""
    payload = store.load_neighbours(fingerprint)
    try:
        index = NeighbourIndex(**payload)
        consistent = index.images.ndim == 3 and len(index.images) == len(index.labels) == index.search.n_samples_fit_
    except (TypeError, AttributeError):
        consistent = False
    if not consistent:
        raise ArtifactError(f"{store.neighbours_path(fingerprint)}: not a neighbour index this version can use; "
                            "delete it and retrain (or run python -m pipelines.evaluation.neighbours) to rebuild it")
    return index


def main(argv: list[str] | None = None) -> int:
    """Build the index for models trained before training stored one, without retraining them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(config.PROFILES), default=config.DEFAULT_PROFILE,
                        help="the profile the models were trained with (it decides the training subset)")
    add_data_argument(parser)
    parser.add_argument("--artifacts", type=Path, default=config.ARTIFACTS_DIR, help="artifacts folder to write to")
    args = parser.parse_args(argv)
    config.configure_logging()
    try:
        data = load_data(args.data).limit_train(config.PROFILES[args.profile].train_limit)
    except DataSourceError as error:
        logger.error("%s", error)
        return 2
    logger.info("neighbour index of %s (fingerprint %s): %s", data.source, data.fingerprint[:12],
                ensure_index(ArtifactStore(args.artifacts), data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
