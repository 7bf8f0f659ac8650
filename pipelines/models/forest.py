"""Random forest on deskewed pixels and varied copies, grown in chunks so training can report progress."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline

from pipelines.config import SEED, ForestParams
from pipelines.data.augment import with_varied_copies
from pipelines.models.base import SklearnDigitClassifier
from pipelines.models.features import feature_step
from pipelines.progress import Progress

TREES_PER_STEP = 10
SMALL_BATCH = 64
"""Up to this many images the trees are asked one after another here, not through scikit-learn's per-tree joblib
calls, which cost about 70 µs a tree: 7 of the 9 ms a drawing took."""


class ForestClassifier(SklearnDigitClassifier):
    """A random forest whose leaf size and tree count bound its file size and load time."""

    name = "rf"
    title = "Random forest"
    exports_onnx = False
    """Served by scikit-learn: ONNX Runtime's tree ensemble held this forest (1.6 M nodes) in 1.1 GB and took 3 s
    to load, against 0.33 GB and 1.2 s for scikit-learn (BENCHMARKS.md, "Serving")."""

    def fit(self, images: np.ndarray, labels: np.ndarray, progress: Progress) -> None:
        params: ForestParams = self.params
        forest = RandomForestClassifier(
            n_estimators=0, min_samples_leaf=params.min_samples_leaf, max_features=params.max_features,
            max_samples=params.max_samples, n_jobs=-1, random_state=SEED, warm_start=True,
        )
        varied_images, labels = with_varied_copies(images, labels, params.variation, params.varied_copies, progress)
        reader = feature_step(params.features, params.hog)
        features = reader.fit_transform(varied_images)
        progress.start(total=params.n_estimators, unit="tree")
        while forest.n_estimators < params.n_estimators:
            step = min(TREES_PER_STEP, params.n_estimators - forest.n_estimators)
            forest.n_estimators += step
            forest.fit(features, labels)
            progress.advance(step)
        forest.set_params(n_jobs=1, warm_start=False)  # one image at a time is faster without a worker pool
        self.estimator = make_pipeline(reader, forest)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """The forest's mean over its trees, as scikit-learn computes it; small batches skip its joblib calls."""
        if len(images) > SMALL_BATCH:
            return super().predict_proba(images)
        features = np.ascontiguousarray(self.estimator[:-1].transform(self.as_rows(images)), dtype=np.float32)
        trees = self.estimator[-1].estimators_
        return np.mean([tree.predict_proba(features, check_input=False) for tree in trees], axis=0)
