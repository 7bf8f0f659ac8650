"""Support vector machine: deskewed pixels, PCA, RBF kernel, calibrated probabilities, trained on varied copies."""

from __future__ import annotations

import os

import numpy as np
from joblib.externals.loky import get_reusable_executor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from pipelines.config import SEED, SvmParams
from pipelines.data.augment import source_indices, with_varied_copies
from pipelines.models.base import SklearnDigitClassifier
from pipelines.models.features import feature_step
from pipelines.progress import Progress


class SvmClassifier(SklearnDigitClassifier):
    """RBF SVC on the principal components of deskewed digits.

    `SVC(probability=True)` is deprecated, so probabilities come from a
    sigmoid calibration fitted on cross-validated decision values
    (two folds, fitted in parallel: libsvm uses one core), after which one
    SVC is refitted on all the data. The folds
    keep each digit and its varied copies together, so the calibration never
    scores an SVC on copies of digits it was trained on.
    """

    name = "svm"
    title = "Support vector machine"

    def fit(self, images: np.ndarray, labels: np.ndarray, progress: Progress) -> None:
        params: SvmParams = self.params
        svc_pipeline = make_pipeline(
            feature_step(params.features, params.hog),
            PCA(n_components=params.pca_components, random_state=SEED),
            SVC(kernel="rbf", C=params.C, gamma=params.gamma, random_state=SEED),
        )
        progress.start(total=1, unit="fit")
        varied_images, varied_labels = with_varied_copies(images, labels, params.variation, params.varied_copies,
                                                          progress)
        sources = source_indices(len(images), 1 + params.varied_copies)
        folds = StratifiedGroupKFold(params.calibration_folds, shuffle=True, random_state=SEED)
        self.estimator = CalibratedClassifierCV(svc_pipeline, method="sigmoid", ensemble=False,
                                                cv=list(folds.split(varied_images, varied_labels, groups=sources)),
                                                n_jobs=min(params.calibration_folds, os.cpu_count() or 1))
        progress.note(f"fitting {params.calibration_folds}-fold calibration (folds in parallel) and the final SVC "
                      f"on {len(varied_labels):,} digits")
        try:
            self.estimator.fit(varied_images.reshape(len(varied_images), -1), varied_labels)
        finally:
            # joblib keeps its worker processes for reuse; left running they once hung a training child at exit
            get_reusable_executor().shutdown(wait=True)
        progress.advance(support_vectors=int(self.support_vector_count))

    @property
    def support_vector_count(self) -> int:
        svc = self.estimator.calibrated_classifiers_[0].estimator[-1]
        return int(svc.n_support_.sum())
