"""Convolutional network in Keras 3 on TensorFlow, trained on varied copies and with augmentation.

Like the classical models it learns from the training digits plus varied
copies of them (rotated, slanted, re-stroked and renormalised by the canvas
front end, `pipelines.data.augment`). On top, mild on-the-fly augmentation
(rotation, shift, zoom, stroke thickness) runs in the input pipeline, not in
the network, so the saved model is the bare classifier.
Prediction goes through one compiled function: `keras.Model.predict` costs
tens of milliseconds per call, far too much for a live canvas.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from pipelines.config import IMAGE_SIDE, N_CLASSES, ONNX, SEED, CnnParams
from pipelines.data.augment import with_varied_copies
from pipelines.models.base import DigitClassifier, OnnxGraph
from pipelines.progress import Progress

BATCH_NORM_MOMENTUM = 0.9
"""Lower than Keras' 0.99 so the running statistics settle within the few steps of a quick run."""


def layer_seeds(seed: int = SEED) -> Iterator[int]:
    """Seeds for the network's random layers, drawn from `seed` alone.

    Left unseeded, Keras draws them from Python's process-wide `random`, which other threads draw from too (a
    Dask worker's event loop does): the same fit then started from other weights there. These are the draws
    Keras makes after `keras.utils.set_random_seed(seed)`, so the network is the one it always was.
    """
    draws = random.Random(seed)
    while True:
        yield draws.randint(1, int(1e9))


def build_network(params: CnnParams) -> keras.Model:
    """Conv blocks (conv, batch norm, ReLU, pooling), then a dropout-regularised softmax over the 7×7 maps."""
    seeds = layer_seeds()
    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE, 1), name="image")
    features = inputs
    for block, filters in enumerate(params.filters):
        features = keras.layers.Conv2D(filters, 5 if block == 0 else 3, padding="same", use_bias=False,
                                       kernel_initializer=keras.initializers.GlorotUniform(next(seeds)))(features)
        features = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(features)
        features = keras.layers.ReLU()(features)
        if block < len(params.filters) - 1:
            features = keras.layers.MaxPooling2D()(features)
    features = keras.layers.Flatten()(features)
    features = keras.layers.Dropout(params.dropout, seed=next(seeds))(features)
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax", name="probabilities",
                                 kernel_initializer=keras.initializers.GlorotUniform(next(seeds)))(features)
    return keras.Model(inputs, outputs, name="mnist_cnn")


def build_augmenter(params: CnnParams) -> keras.Sequential:
    """Geometric variations a drawn digit shows: rotation, shift, zoom."""
    return keras.Sequential([
        keras.layers.RandomRotation(params.rotation_degrees / 360.0, fill_mode="constant", seed=SEED),
        keras.layers.RandomTranslation(params.shift_fraction, params.shift_fraction, fill_mode="constant", seed=SEED),
        keras.layers.RandomZoom(params.zoom_fraction, fill_mode="constant", seed=SEED),
    ], name="augmenter")


def vary_stroke_thickness(images: tf.Tensor, probability: float, seed: int = SEED) -> tf.Tensor:
    """Thicken (grey dilation) or thin (grey erosion) a random share of the batch, half each."""
    thicker = tf.nn.max_pool2d(images, ksize=2, strides=1, padding="SAME")
    thinner = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
    draw = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], seed=seed)
    return tf.where(draw < probability / 2, thicker, tf.where(draw < probability, thinner, images))


class CnnClassifier(DigitClassifier):
    """A small convnet; probabilities straight from its softmax."""

    name = "cnn"
    title = "Convolutional network"
    filename = "model.keras"

    def __init__(self, params: CnnParams, network: keras.Model | None = None) -> None:
        super().__init__(params)
        self.network = network
        self._forward = None

    def fit(self, images: np.ndarray, labels: np.ndarray, progress: Progress) -> None:
        params: CnnParams = self.params
        keras.utils.set_random_seed(SEED)
        train_x, val_x, train_y, val_y = train_test_split(
            images.astype(np.float32), labels, test_size=params.validation_fraction, stratify=labels,
            random_state=SEED,
        )
        train_x, train_y = with_varied_copies(train_x, train_y, params.variation, params.varied_copies, progress)
        train_x, val_x = train_x[..., None], val_x[..., None]
        augmenter = build_augmenter(params)

        def augment(batch: tf.Tensor, batch_labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            varied = vary_stroke_thickness(augmenter(batch, training=True), params.thickness_probability)
            return tf.clip_by_value(varied, 0.0, 1.0), batch_labels

        training = (tf.data.Dataset.from_tensor_slices((train_x, train_y))
                    .shuffle(len(train_x), seed=SEED, reshuffle_each_iteration=True)
                    .batch(params.batch_size)
                    .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
                    .prefetch(tf.data.AUTOTUNE))
        validation = tf.data.Dataset.from_tensor_slices((val_x, val_y)).batch(512)

        steps = math.ceil(len(train_x) / params.batch_size) * params.epochs
        warmup = max(1, steps // 10)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=params.peak_learning_rate / 10, decay_steps=steps - warmup,
            warmup_target=params.peak_learning_rate, warmup_steps=warmup,
        )
        self.network = build_network(params)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=params.weight_decay)
        self.network.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        progress.start(total=params.epochs, unit="epoch")
        self.network.fit(training, validation_data=validation, epochs=params.epochs, verbose=0, shuffle=False,
                         callbacks=[_ProgressCallback(progress)])
        self._forward = None

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        batch = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_SIDE, IMAGE_SIDE, 1)
        probabilities = self._compiled_forward()(tf.constant(batch)).numpy().astype(np.float64)
        return probabilities / probabilities.sum(axis=1, keepdims=True)  # float32 softmax rows drift from 1

    def _compiled_forward(self):  # noqa: ANN202 - a tf.function
        if self._forward is None:
            network = self.network
            self._forward = tf.function(
                lambda batch: network(batch, training=False),
                input_signature=[tf.TensorSpec([None, IMAGE_SIDE, IMAGE_SIDE, 1], tf.float32)],
            )
        return self._forward

    def save(self, directory: Path) -> None:
        self.network.save(Path(directory) / self.filename)

    def to_onnx(self) -> OnnxGraph:
        """The forward pass as an ONNX graph reading (n, 28, 28) images, so the dashboard needs no TensorFlow."""
        import tf2onnx  # only at training time

        network = self.network
        signature = (tf.TensorSpec([None, IMAGE_SIDE, IMAGE_SIDE], tf.float32, name="image"),)
        forward = tf.function(lambda batch: network(tf.expand_dims(batch, -1), training=False),
                              input_signature=signature)
        graph, _ = tf2onnx.convert.from_function(forward, input_signature=signature, opset=ONNX.opset)
        return OnnxGraph(graph)

    @classmethod
    def load(cls, directory: Path, params: CnnParams) -> CnnClassifier:
        """Read the network and trace its forward pass now, so the first drawing is not the one kept waiting."""
        classifier = cls(params, keras.models.load_model(Path(directory) / cls.filename, compile=False))
        classifier.predict_proba(np.zeros((1, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32))
        return classifier


class _ProgressCallback(keras.callbacks.Callback):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.progress.advance(loss=float(logs.get("loss", math.nan)),
                              val_accuracy=float(logs.get("val_accuracy", math.nan)))
