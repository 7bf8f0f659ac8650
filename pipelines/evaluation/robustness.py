"""Robustness lab: a model's test accuracy as its test images are rotated, shifted, scaled, thinned,
thickened, made noisy or partly covered, each at several strengths.

Drawn digits differ from MNIST in exactly these ways, so the curves show
which model degrades gracefully and at what strength it breaks. Every model
is scored on the same perturbed images (they are drawn from the seed, the
perturbation and the strength, never from the model), so curves of different
models and runs compare point for point.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy import ndimage

from pipelines.config import IMAGE_SIDE, SEED
from pipelines.evaluation.evaluate import batch_probabilities


class ProbabilisticModel(Protocol):
    def predict_proba(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Perturbation:
    """One kind of perturbation: the strengths measured, and the strength that leaves an image unchanged."""

    kind: str
    strengths: tuple[float, ...]
    neutral: float
    unit: str


@dataclass(frozen=True)
class RobustnessConfig:
    """The perturbations, their strengths, and how many test images the curves are measured on."""

    n_images: int = 2000
    perturbations: tuple[Perturbation, ...] = (
        Perturbation("rotation", (0.0, 10.0, 20.0, 30.0), 0.0, "degrees, random sign"),
        Perturbation("shift", (0.0, 2.0, 4.0, 6.0), 0.0, "pixels, random direction"),
        Perturbation("scale", (0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3), 1.0, "factor about the centre"),
        Perturbation("thickness", (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0), 0.0, "pixels of stroke width"),
        Perturbation("noise", (0.0, 0.1, 0.2, 0.3, 0.5), 0.0, "Gaussian sigma, clipped to [0, 1]"),
        Perturbation("occlusion", (0.0, 2.0, 4.0, 6.0, 8.0), 0.0, "width of a bar across the ink, pixels"),
    )
    thickness_upscale: int = 2  # thickness changes are made at 2× so one step is half a pixel on each side
    occlusion_ink_level: float = 0.2  # the bar crosses the digit somewhere this bright

    def perturbation(self, kind: str) -> Perturbation:
        for spec in self.perturbations:
            if spec.kind == kind:
                return spec
        raise ValueError(f"unknown perturbation {kind!r}: choose from {', '.join(self.kinds)}")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(spec.kind for spec in self.perturbations)


ROBUSTNESS = RobustnessConfig()
CENTRE = (IMAGE_SIDE - 1) / 2.0  # geometric centre of a 28×28 image in pixel indices


def _warp(images: np.ndarray, matrices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Affine-resample each image (bilinear, black outside): input pixel = matrix @ output pixel + offset."""
    return np.stack([ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="constant", cval=0.0)
                     for image, matrix, offset in zip(images, matrices, offsets)]).astype(np.float32)


def _about_centre(matrices: np.ndarray) -> np.ndarray:
    """Offsets that make each linear map turn or scale about the image centre instead of the corner."""
    centre = np.full(2, CENTRE)
    return centre - matrices @ centre


def rotate(images: np.ndarray, degrees: float, rng: np.random.Generator, config: RobustnessConfig) -> np.ndarray:
    """Each image turned by `degrees`, clockwise or counter-clockwise at random."""
    angles = np.radians(degrees) * rng.choice([-1.0, 1.0], size=len(images))
    cos, sin = np.cos(angles), np.sin(angles)
    matrices = np.stack([np.stack([cos, -sin], axis=-1), np.stack([sin, cos], axis=-1)], axis=1)
    return _warp(images, matrices, _about_centre(matrices))


def shift(images: np.ndarray, pixels: float, rng: np.random.Generator, config: RobustnessConfig) -> np.ndarray:
    """Each image moved by `pixels` in a random direction."""
    directions = rng.uniform(0.0, 2 * math.pi, size=len(images))
    offsets = -pixels * np.stack([np.sin(directions), np.cos(directions)], axis=1)
    return _warp(images, np.broadcast_to(np.eye(2), (len(images), 2, 2)), offsets)


def scale(images: np.ndarray, factor: float, rng: np.random.Generator, config: RobustnessConfig) -> np.ndarray:
    """Each image enlarged (factor > 1) or shrunk about the centre."""
    matrices = np.broadcast_to(np.eye(2) / factor, (len(images), 2, 2))
    return _warp(images, matrices, _about_centre(matrices))


def thickness(images: np.ndarray, pixels: float, rng: np.random.Generator, config: RobustnessConfig) -> np.ndarray:
    """Strokes made `pixels` wider (grey dilation) or narrower (grey erosion, negative), at 2× then back."""
    factor = config.thickness_upscale
    radius = round(abs(pixels) * factor / 2)  # half the width change on each side, in upscaled pixels
    if radius == 0:
        return images.astype(np.float32)
    rows, cols = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    disc = (rows**2 + cols**2 <= radius**2)[None]
    fine = ndimage.zoom(images.astype(np.float32), (1, factor, factor), order=1)
    morph = ndimage.grey_dilation if pixels > 0 else ndimage.grey_erosion
    fine = morph(fine, footprint=disc)
    coarse = fine.reshape(len(images), IMAGE_SIDE, factor, IMAGE_SIDE, factor).mean(axis=(2, 4))
    return np.clip(coarse, 0.0, 1.0).astype(np.float32)


def noise(images: np.ndarray, sigma: float, rng: np.random.Generator, config: RobustnessConfig) -> np.ndarray:
    """Gaussian noise of standard deviation `sigma` on every pixel, clipped back to [0, 1]."""
    return np.clip(images + rng.normal(0.0, sigma, size=images.shape), 0.0, 1.0).astype(np.float32)


def occlusion(images: np.ndarray, width: float, rng: np.random.Generator, config: RobustnessConfig) -> np.ndarray:
    """A black bar `width` pixels wide across each image, horizontal or vertical, centred where there is ink."""
    covered = images.astype(np.float32).copy()
    half = int(round(width)) // 2
    for image in covered:
        axis = int(rng.integers(2))  # 0: a horizontal bar (rows), 1: a vertical bar (columns)
        inked = np.flatnonzero((image >= config.occlusion_ink_level).any(axis=1 - axis))
        centre = int(rng.choice(inked)) if len(inked) else IMAGE_SIDE // 2
        start = max(0, centre - half)
        band = slice(start, start + int(round(width)))
        if axis == 0:
            image[band, :] = 0.0
        else:
            image[:, band] = 0.0
    return covered


PERTURB: dict[str, Callable[[np.ndarray, float, np.random.Generator, RobustnessConfig], np.ndarray]] = {
    "rotation": rotate, "shift": shift, "scale": scale, "thickness": thickness, "noise": noise,
    "occlusion": occlusion,
}


def as_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 0-255 or float images -> float32 in [0, 1]."""
    images = np.asarray(images)
    return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)


def perturb(images: np.ndarray, kind: str, strength: float, rng: np.random.Generator,
            config: RobustnessConfig = ROBUSTNESS) -> np.ndarray:
    """(n, 28, 28) images in [0, 1] -> the same images perturbed; the neutral strength returns them unchanged."""
    spec = config.perturbation(kind)
    images = as_unit_float(images)
    if strength == spec.neutral:
        return images.copy()
    return PERTURB[kind](images, strength, rng, config)


def _accuracy(model: ProbabilisticModel, images: np.ndarray, labels: np.ndarray) -> float:
    probabilities, _ = batch_probabilities(model, images)  # type: ignore[arg-type]  # any predict_proba will do
    return float((probabilities.argmax(axis=1) == labels).mean())


def _generator(seed: int, kind: str, strength_index: int) -> np.random.Generator:
    """The same random draws for a (seed, kind, strength) whatever the model and whatever the other kinds."""
    return np.random.default_rng([seed, zlib.crc32(kind.encode()), strength_index])


def robustness_curves(model: ProbabilisticModel, images: np.ndarray, labels: np.ndarray,
                      config: RobustnessConfig = ROBUSTNESS, rng_seed: int = SEED) -> dict[str, Any]:
    """Accuracy at every strength of every perturbation, on a seeded subset of the test images (JSON-ready).

    {"n_images", "seed", "clean_accuracy", "seconds",
     "perturbations": {kind: {"unit", "neutral", "strengths": [...], "accuracy": [...]}}}
    """
    started = time.perf_counter()
    labels = np.asarray(labels)
    chosen = np.sort(np.random.default_rng(rng_seed).permutation(len(labels))[: config.n_images])
    subset, truth = as_unit_float(images[chosen]), labels[chosen]
    clean = _accuracy(model, subset, truth)
    curves = {}
    for spec in config.perturbations:
        accuracy = [clean if strength == spec.neutral else
                    _accuracy(model, perturb(subset, spec.kind, strength, _generator(rng_seed, spec.kind, index),
                                             config), truth)
                    for index, strength in enumerate(spec.strengths)]
        curves[spec.kind] = {"unit": spec.unit, "neutral": spec.neutral, "strengths": list(spec.strengths),
                             "accuracy": accuracy}
    return {"n_images": int(len(chosen)), "seed": int(rng_seed), "clean_accuracy": clean,
            "seconds": time.perf_counter() - started, "perturbations": curves}


def curves_table(curves_by_model: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored curves of several models as rows (model, kind, strength, accuracy), ready for a line chart."""
    return [{"model": name, "kind": kind, "strength": strength, "accuracy": accuracy}
            for name, curves in curves_by_model.items()
            for kind, curve in curves["perturbations"].items()
            for strength, accuracy in zip(curve["strengths"], curve["accuracy"])]
