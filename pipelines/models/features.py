"""Feature steps shared by the classical models: scaling, flattening, deskewing.

They live in a module of their own so that a saved scikit-learn pipeline
refers to them by name and training and prediction run the same code.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def deskew(image: np.ndarray) -> np.ndarray:
    """Undo the slant of one digit by shearing so its principal axis is vertical.

    The shear comes from the image moments (covariance of x against y over
    the variance of y), the classic preprocessing that takes a plain RBF SVM
    on MNIST from about 98.4 % to about 99 %.
    """
    total = image.sum()
    if total <= 0:
        return image
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    mean_row = (rows * image).sum() / total
    mean_col = (cols * image).sum() / total
    var_row = (((rows - mean_row) ** 2) * image).sum() / total
    cov = ((rows - mean_row) * (cols - mean_col) * image).sum() / total
    if var_row < 1e-6:
        return image
    alpha = cov / var_row
    shear = np.array([[1.0, 0.0], [alpha, 1.0]])
    centre = np.array(image.shape) / 2.0
    offset = np.array([mean_row, mean_col]) - shear @ centre
    return ndimage.affine_transform(image, shear, offset=offset, order=1, mode="constant", cval=0.0)


def deskew_flatten(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) images in [0, 1] -> (n, 784) float32 deskewed rows for a scikit-learn estimator."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        images = images.reshape(-1, 28, 28)
    return np.stack([deskew(image) for image in images]).reshape(len(images), -1).astype(np.float32)
