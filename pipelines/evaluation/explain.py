"""Why a model gave its answer: saliency or occlusion maps, the forest's pixel importances, the nearest training
digits.

Computed without Streamlit from the loaded models; the Draw page only draws the result. Which explanation a
model gets follows from what it is, not from its name: a Keras network gets a saliency map, an estimator
ending in a tree ensemble over the 784 pixels gets its feature importances, any other model (an ONNX graph
served without its training library, an SVM) an occlusion map, and every model shares the nearest training
images (pipelines.evaluation.neighbours).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import ndimage
from sklearn.pipeline import Pipeline

from pipelines.config import IMAGE_SIDE, SEED

if TYPE_CHECKING:
    from pipelines.evaluation.neighbours import NeighbourIndex, Neighbours
    from pipelines.store.registry import LoadedModel


@dataclass(frozen=True)
class ExplainConfig:
    """Every constant of the explanations: the neighbour index built at training time, and the Draw page's maps."""

    smoothgrad_samples: int = 32  # noisy copies whose gradients are averaged (Smilkov et al. 2017 use 10-50)
    smoothgrad_noise: float = 0.25  # their noise's standard deviation, on the [0, 1] pixel scale
    saliency_blur: float = 0.5  # Gaussian sigma in pixels: a gradient is speckled pixel to pixel, its regions are not
    occlusion_patch: int = 5  # side of the square of ink hidden at a time, in pixels: about a stroke's width
    occlusion_stride: int = 2  # between the squares: each inked pixel is hidden by about six of them
    neighbours_shown: int = 8
    index_size: int = 20_000  # training images kept in the neighbour index at most, the same number of each digit
    index_components: int = 50  # principal components of the deskewed digits that neighbours are searched in
    map_scale: int = 6  # a 28×28 map is shown 168 px wide
    neighbour_px: int = 64  # thumbnails of the neighbours: eight fit on one line beside the canvas
    heat_gamma: float = 0.8  # < 1 lifts the weaker parts of a map so they stay visible beside its peak
    outline_level: float = 0.5  # the drawing is outlined where its ink crosses this intensity
    outline_rgb: tuple[int, int, int] = (255, 255, 255)  # white, as the ink on the canvas
    seed: int = SEED


EXPLAIN = ExplainConfig()
MapMethod = Literal["saliency", "importance", "occlusion"]


class CnnSaliency:
    """Which ink pushed a Keras network towards its answer: SmoothGrad × input, compiled once (~15 ms on 2 cores).

    The gradient of the predicted digit's logit (not its probability: a confident softmax is flat, p rounds to
    1.0 in float32 and its gradient vanishes) is averaged over noisy copies of the drawing (SmoothGrad, Smilkov
    et al. 2017), multiplied by the drawing and kept where positive: the strokes that raised the score. Plain
    gradients were tried first; covering their peak hurt the quick CNN no more than covering a random piece of
    the stroke, while gradient × input's peak costs it about three times as much (tests/test_explain.py).
    The noise comes from a fixed seed, so a drawing always gets the same map.
    """

    def __init__(self, network: Any, config: ExplainConfig = EXPLAIN) -> None:
        import keras  # here, not at the top: training the scikit-learn models alone never loads TensorFlow
        import tensorflow as tf

        head = network.layers[-1]
        if not isinstance(head, keras.layers.Dense) or getattr(head.activation, "__name__", "") != "softmax":
            raise ValueError(f"a saliency map needs a network ending in a softmax Dense layer; {network.name} ends "
                             f"in {type(head).__name__}")
        features = keras.Model(network.inputs, head.input)

        def logits(batch: tf.Tensor) -> tf.Tensor:
            scores = tf.matmul(features(batch, training=False), head.kernel)
            return scores if head.bias is None else scores + head.bias

        shape = [config.smoothgrad_samples, IMAGE_SIDE, IMAGE_SIDE, 1]

        @tf.function(input_signature=[tf.TensorSpec([IMAGE_SIDE, IMAGE_SIDE], tf.float32)])
        def smoothgrad(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            batch = tf.reshape(image, [1, IMAGE_SIDE, IMAGE_SIDE, 1])
            digit = tf.argmax(logits(batch)[0], output_type=tf.int32)
            noisy = batch + tf.random.stateless_normal(shape, seed=[config.seed, 0], stddev=config.smoothgrad_noise)
            with tf.GradientTape() as tape:
                tape.watch(noisy)
                score = tf.reduce_sum(logits(noisy)[:, digit])
            gradient = tf.reduce_mean(tape.gradient(score, noisy), axis=0)[..., 0]
            return tf.nn.relu(gradient * image), digit

        self._smoothgrad = smoothgrad
        self.blur = config.saliency_blur

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """(28, 28) float32 image in [0, 1] -> ((28, 28) non-negative saliency, the digit it explains)."""
        values, digit = self._smoothgrad(np.asarray(image, dtype=np.float32).reshape(IMAGE_SIDE, IMAGE_SIDE))
        return ndimage.gaussian_filter(values.numpy(), self.blur), int(digit)


class Occlusion:
    """Which ink a model needed for its answer, found by hiding it: forward passes only, so any served model can
    be explained, an ONNX graph included (Zeiler and Fergus 2014).

    Squares of `occlusion_patch` pixels are blanked one at a time wherever there is ink, all in one batch; a
    pixel's value is the mean fall in the answer's probability over the squares that hid it, kept where
    positive: the strokes whose absence cost the answer most.
    """

    def __init__(self, model: Any, config: ExplainConfig = EXPLAIN) -> None:
        self.model = model
        side, step = config.occlusion_patch, config.occlusion_stride
        corners = range(-(side // 2), IMAGE_SIDE - side // 2, step)
        self.squares = [(slice(max(top, 0), top + side), slice(max(left, 0), left + side))
                        for top in corners for left in corners]

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """(28, 28) float32 image in [0, 1] -> ((28, 28) non-negative importance, the digit it explains)."""
        image = np.asarray(image, dtype=np.float32).reshape(IMAGE_SIDE, IMAGE_SIDE)
        squares = [square for square in self.squares if image[square].any()]
        batch = np.repeat(image[None], 1 + len(squares), axis=0)
        for copy, square in enumerate(squares, start=1):
            batch[copy][square] = 0.0
        probabilities = np.asarray(self.model.predict_proba(batch))
        digit = int(probabilities[0].argmax())
        falls = probabilities[0, digit] - probabilities[1:, digit]
        total, covered = np.zeros_like(image, dtype=np.float64), np.zeros_like(image, dtype=np.float64)
        for fall, square in zip(falls, squares):
            total[square] += fall
            covered[square] += 1
        values = np.divide(total, covered, out=np.zeros_like(total), where=covered > 0)
        return np.clip(values, 0.0, None) * (image > 0), digit


@dataclass(frozen=True)
class PixelImportance:
    """A tree ensemble's feature importances as a 28×28 map summing to 1, and the feature steps in front of it.

    The importances are global (the same for every drawing) and live in the space the ensemble reads: for the
    forest, deskewed pixels. `seen` runs the model's own feature steps, so the drawing laid under the map is
    exactly what the forest was given.
    """

    values: np.ndarray
    features: Pipeline | None

    @classmethod
    def of(cls, estimator: Any) -> PixelImportance | None:
        """The importances of an estimator (or a Pipeline ending in one) over the 784 pixels; None if it has none."""
        final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        importances = np.asarray(getattr(final, "feature_importances_", []), dtype=np.float64)
        if importances.size != IMAGE_SIDE * IMAGE_SIDE or importances.sum() <= 0:
            return None
        features = estimator[:-1] if isinstance(estimator, Pipeline) and len(estimator) > 1 else None
        return cls((importances / importances.sum()).reshape(IMAGE_SIDE, IMAGE_SIDE), features)

    def seen(self, image: np.ndarray) -> np.ndarray:
        """The (28, 28) drawing as the model's features see it (deskewed for the forest)."""
        flat = np.asarray(image, dtype=np.float32).reshape(1, -1)
        return (flat if self.features is None else self.features.transform(flat)).reshape(IMAGE_SIDE, IMAGE_SIDE)


@dataclass(frozen=True)
class PixelMap:
    """One model's reasons as a 28×28 map over the image that model saw."""

    model: str
    method: MapMethod
    values: np.ndarray  # (28, 28), >= 0
    seen: np.ndarray  # the drawing as this model saw it: as drawn for the CNN, deskewed for the forest
    digit: int | None  # the answer a saliency map explains; None for importances, which explain no one answer
    milliseconds: float


@dataclass(frozen=True)
class Explanation:
    """Everything the Draw page shows under "Why this prediction" for one drawing."""

    maps: tuple[PixelMap, ...]
    neighbours: Neighbours | None
    neighbours_ms: float | None


def _timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, (time.perf_counter() - started) * 1000


class Explainer:
    """The explanations one set of loaded models can give; built once per set, so the saliency compiles once."""

    def __init__(self, models: Mapping[str, LoadedModel], index: NeighbourIndex | None,
                 config: ExplainConfig = EXPLAIN) -> None:
        self.config = config
        self.index = index
        self.saliencies: dict[str, CnnSaliency] = {}
        self.importances: dict[str, PixelImportance] = {}
        self.occlusions: dict[str, Occlusion] = {}
        self.problems: dict[str, str] = {}
        for name, model in models.items():
            network = getattr(model.classifier, "network", None)
            if network is not None:
                try:
                    self.saliencies[name] = CnnSaliency(network, config)
                except ValueError as error:
                    self.problems[name] = str(error)
                continue
            importance = PixelImportance.of(getattr(model.classifier, "estimator", None))
            if importance is not None:
                self.importances[name] = importance
            else:  # an ONNX graph, or a model with nothing to read inside: explained by its answers alone
                self.occlusions[name] = Occlusion(model, config)

    def explain(self, image: np.ndarray) -> Explanation:
        """Saliency maps, importance maps and nearest training images for one (28, 28) float32 image in [0, 1]."""
        maps = []
        for name, saliency in self.saliencies.items():
            (values, digit), milliseconds = _timed(saliency, image)
            maps.append(PixelMap(name, "saliency", values, np.asarray(image), digit, milliseconds))
        for name, importance in self.importances.items():
            seen, milliseconds = _timed(importance.seen, image)
            maps.append(PixelMap(name, "importance", importance.values, seen, None, milliseconds))
        for name, occlusion in self.occlusions.items():
            (values, digit), milliseconds = _timed(occlusion, image)
            maps.append(PixelMap(name, "occlusion", values, np.asarray(image), digit, milliseconds))
        if self.index is None:
            return Explanation(tuple(maps), None, None)
        neighbours, milliseconds = _timed(self.index.nearest, image, self.config.neighbours_shown)
        return Explanation(tuple(maps), neighbours, milliseconds)


def hex_rgb(colour: str) -> np.ndarray:
    """'#E45756' -> array([228, 87, 86])."""
    digits = colour.lstrip("#")
    return np.array([int(digits[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def heatmap(values: np.ndarray, ink: np.ndarray, colour: str, config: ExplainConfig = EXPLAIN) -> np.ndarray:
    """A map as an RGB uint8 image `map_scale` times larger: black at zero, the model's colour at its peak, and the
    drawing outlined in white over it, so the map stays visible inside the strokes.

    Pixels rather than a chart: the map is redrawn on every stroke, and an image is far quicker to send and show.
    """
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, None)
    peak = values.max()
    level = (values / peak) ** config.heat_gamma if peak > 0 else values
    scale = config.map_scale
    rgb = (level[..., None] * hex_rgb(colour)).repeat(scale, axis=0).repeat(scale, axis=1)
    fine_ink = ndimage.zoom(np.asarray(ink, dtype=np.float64), scale, order=1, grid_mode=True, mode="grid-constant")
    inked = fine_ink >= config.outline_level
    rgb[inked & ~ndimage.binary_erosion(inked)] = config.outline_rgb
    return rgb.round().astype(np.uint8)
