"""Support vector machine: deskewed pixels, PCA, RBF kernel, calibrated probabilities, trained on varied copies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, _fit_calibrator
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import SVC

from pipelines.config import SEED, SvmParams
from pipelines.data.augment import source_indices, with_varied_copies
from pipelines.models.base import SklearnDigitClassifier
from pipelines.models.features import feature_step
from pipelines.progress import Progress


class SvmClassifier(SklearnDigitClassifier):
    """RBF SVC on the principal components of deskewed digits.

    `SVC(probability=True)` is deprecated, so probabilities come from a
    sigmoid calibration fitted on cross-validated decision values of
    two folds, and one SVC is fitted on all the data beside them. The folds
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
            SVC(kernel="rbf", C=params.C, gamma=params.gamma, cache_size=params.kernel_cache_mb, random_state=SEED),
        )
        progress.start(total=1, unit="fit")
        varied_images, varied_labels = with_varied_copies(images, labels, params.variation, params.varied_copies,
                                                          progress)
        rows = varied_images.reshape(len(varied_images), -1)
        sources = source_indices(len(images), 1 + params.varied_copies)
        folds = list(StratifiedGroupKFold(params.calibration_folds, shuffle=True, random_state=SEED)
                     .split(rows, varied_labels, groups=sources))
        progress.note(f"fitting the SVC on {len(varied_labels):,} digits while its {params.calibration_folds} "
                      "calibration folds are fitted beside it")
        # libsvm uses one core and lets go of the GIL: the final SVC, the longest fit, runs in a thread of its own
        # while the folds run one after another in this one, so both cores work throughout
        with ThreadPoolExecutor(max_workers=1) as pool:
            final_fit = pool.submit(clone(svc_pipeline).fit, rows, varied_labels)
            scores = cross_val_predict(clone(svc_pipeline), rows, varied_labels, cv=folds,
                                       method="decision_function")
            final_pipeline = final_fit.result()
        self.estimator = calibrated_on_scores(final_pipeline, scores, varied_labels)
        progress.advance(support_vectors=int(self.support_vector_count))

    @property
    def support_vector_count(self) -> int:
        svc = self.estimator.calibrated_classifiers_[0].estimator[-1]
        return int(svc.n_support_.sum())


def calibrated_on_scores(fitted: Pipeline, scores: np.ndarray, labels: np.ndarray) -> CalibratedClassifierCV:
    """`CalibratedClassifierCV(ensemble=False, method="sigmoid")` as its own `fit` builds it, from an estimator
    fitted on all the data and its cross-validated decision values computed elsewhere.

    scikit-learn fits the folds and then the final estimator one after the other; this lets them run at once.
    The sigmoids are fitted by scikit-learn's own `_fit_calibrator` (scikit-learn is pinned in requirements.txt).
    """
    calibrated = CalibratedClassifierCV(fitted, method="sigmoid", ensemble=False)
    calibrated.classes_ = np.unique(labels)
    calibrated.calibrated_classifiers_ = [
        _fit_calibrator(fitted, scores, labels, calibrated.classes_, "sigmoid", xp=np)
    ]
    calibrated.n_features_in_ = fitted.n_features_in_
    return calibrated
