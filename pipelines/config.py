"""One place for paths, data-source settings and every model's hyperparameters.

Paths are resolved from this package's location, never from the current
directory, so the CLI, the tests and the dashboard agree wherever they run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"
SAMPLE_PATH = PROJECT_ROOT / "data" / "mnist-sample.npz"
BENCHMARKS_PATH = PROJECT_ROOT / "BENCHMARKS.md"
SHARED_MNIST_DIR = PROJECT_ROOT.parent / "shared" / "mnist"

DATA_SOURCE_ENV = "MNIST_SOURCE"
"""Environment variable naming the data source (`openml`, `idx:DIR` or `sample`)."""

OPENML_NAME = "mnist_784"
OPENML_VERSION = 1
OPENML_TEST_ROWS = 10_000
"""OpenML's mnist_784 lists the 60,000 training images first, then the 10,000 test images."""

IMAGE_SIDE = 28
N_CLASSES = 10
SEED = 42


@dataclass(frozen=True)
class DrawingVariation:
    """How drawn digits differ from MNIST after the canvas front end: rotation, slant and stroke width.

    The front end undoes size and position but not these, so every model
    learns from the training digits plus copies varied over these ranges
    (`pipelines.data.augment`).
    """

    rotation_degrees: float = 25.0  # uniform in ±this
    shear_degrees: float = 15.0  # horizontal slant, uniform in ±this
    thickness_steps: tuple[int, ...] = (-1, 0, 0, 1, 2)  # <0 thinner, >0 thicker by that many pixels; uniform pick


@dataclass(frozen=True)
class HogParams:
    """Histograms of oriented gradients of the deskewed digit (`skimage.feature.hog`): which way the strokes run
    in each small cell, less tied than pixels to where exactly the ink is and how wide the pen was."""

    orientations: int = 9
    cell_pixels: int = 4  # 28×28 -> 7×7 cells
    block_cells: int = 2  # normalised over 2×2 cells: 6×6 blocks × 4 cells × 9 orientations = 1,296 features


@dataclass(frozen=True)
class SvmParams:
    """Deskew, project on principal components, RBF SVC, then calibrate on cross-validated scores."""

    features: str = "pixels"  # what the model reads: "pixels" (deskewed) or "hog" (deskewed, then `hog`)
    hog: HogParams = field(default_factory=HogParams)
    pca_components: int = 50
    C: float = 10.0
    gamma: float = 0.04
    calibration_folds: int = 2
    kernel_cache_mb: int = 2_000  # libsvm's kernel row cache: 20 % faster than its 200 MB default on 60,000 digits
    varied_copies: int = 1  # of each training digit, drawn from `variation`
    variation: DrawingVariation = field(default_factory=DrawingVariation)


@dataclass(frozen=True)
class ForestParams:
    """A forest on deskewed pixels or their gradient histograms; leaf size bounds the artifact (and its load time)."""

    features: str = "pixels"  # what the model reads: "pixels" (deskewed) or "hog" (deskewed, then `hog`)
    hog: HogParams = field(default_factory=HogParams)
    n_estimators: int = 100
    min_samples_leaf: int = 1
    max_features: str = "sqrt"
    max_samples: float | None = None  # share of the digits each tree draws (with replacement); None: as many as all
    varied_copies: int = 1  # of each training digit, drawn from `variation`
    variation: DrawingVariation = field(default_factory=DrawingVariation)


@dataclass(frozen=True)
class CnnParams:
    """A small VGG-style convnet trained with augmentation and a one-cycle schedule."""

    epochs: int = 10  # over the digits and their varied copies: as many steps as 20 epochs over the digits alone
    batch_size: int = 128
    peak_learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.05
    filters: tuple[int, int, int] = (32, 64, 128)
    dropout: float = 0.25
    varied_copies: int = 1  # of each training digit, drawn from `variation`
    variation: DrawingVariation = field(default_factory=DrawingVariation)
    rotation_degrees: float = 10.0  # the on-the-fly augmentation, on top of the varied copies
    shift_fraction: float = 0.08
    zoom_fraction: float = 0.1
    thickness_probability: float = 0.25


@dataclass(frozen=True)
class PieceCounterParams:
    """The classifier that tells one written digit from several touching ones (`pipelines.reading.pieces`)."""

    pieces: int = 70_000  # made up from the training digits: half single digits, half two or three touching
    max_iter: int = 150  # boosting rounds
    max_leaf_nodes: int = 63
    learning_rate: float = 0.3
    held_out_share: float = 0.1  # of the training digits, kept for pieces it is checked on and never learns from
    varied_copies: int = 1  # of each training digit it learns from, drawn from `variation`
    variation: DrawingVariation = field(default_factory=DrawingVariation)
    # the cut scorer it carries (`pipelines.reading.cuts`): how well a cut parts two touching digits
    touching_pieces: int = 1_200  # made up, each cut every way the segmentation tries (about 70 cuts a piece)
    scorer_max_iter: int = 200
    scorer_max_leaf_nodes: int = 31
    scorer_learning_rate: float = 0.1


SERVING_ENV = "MNIST_SERVING"
"""`onnx` (the default): serve a run through ONNX Runtime when it has a checked ONNX graph; `native`: always the
library the model was trained with (TensorFlow for the CNN)."""
SERVING_FORMATS = ("onnx", "native")


@dataclass(frozen=True)
class OnnxSettings:
    """Serving through ONNX Runtime: the graphs exported at training time, and how closely they must agree with the
    models they came from on the whole test set before they may be served."""

    filename: str = "model.onnx"
    opset: int = 18
    min_same_label: float = 0.999  # share of test images on which the graph gives the original's digit
    max_probability_gap: float = 1e-4  # largest difference in any class probability on any test image
    threads_per_call: int = 1  # one core per answer, so that many people drawing at once share both cores


ONNX = OnnxSettings()


def serving_from_env() -> str:
    """How models are served: MNIST_SERVING if set (onnx or native), else onnx."""
    value = os.environ.get(SERVING_ENV, "").strip().lower() or SERVING_FORMATS[0]
    if value not in SERVING_FORMATS:
        raise ValueError(f"{SERVING_ENV}={value!r}: choose one of {', '.join(SERVING_FORMATS)}")
    return value


@dataclass(frozen=True)
class Profile:
    """A named set of hyperparameters for every model, plus how much data to train on."""

    name: str
    train_limit: int | None
    svm: SvmParams = field(default_factory=SvmParams)
    rf: ForestParams = field(default_factory=ForestParams)
    cnn: CnnParams = field(default_factory=CnnParams)
    pieces: PieceCounterParams = field(default_factory=PieceCounterParams)

    def params_for(self, model_name: str) -> object:
        """The hyperparameters of one registered model in this profile."""
        try:
            return getattr(self, model_name)
        except AttributeError:
            raise ValueError(f"profile {self.name!r} has no hyperparameters for model {model_name!r}") from None


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        train_limit=10_000,
        svm=SvmParams(pca_components=40),
        rf=ForestParams(n_estimators=60),
        cnn=CnnParams(epochs=3),
        pieces=PieceCounterParams(pieces=6_000, max_iter=100, max_leaf_nodes=31, touching_pieces=150,
                                  scorer_max_iter=50),
    ),
    # the full forest reads gradient histograms: 2-3 points more on the out-of-style set and 1 on the drawn digits
    # than on pixels, MNIST kept (BENCHMARKS.md, "The full forest on HOG features"); each tree grown on half the
    # digits halves its training for 0.1 point on MNIST; the quick profile keeps pixels, whose importance map
    # explains it on the Draw page, and trains in seconds
    "full": Profile(name="full", train_limit=None, rf=ForestParams(features="hog", max_samples=0.5)),
}
DEFAULT_PROFILE = "quick"


def configure_logging(level: int = logging.INFO) -> None:
    """Plain, timestamped logs for the command-line entry points."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def data_source_from_env() -> str | None:
    """The data source named in the environment, or None when the user named none."""
    value = os.environ.get(DATA_SOURCE_ENV, "").strip()
    return value or None


FEEDBACK_URL_ENV = "MNIST_FEEDBACK_URL"
"""Environment variable naming the feedback database (any SQLAlchemy URL); default: a SQLite file in artifacts/."""


@dataclass(frozen=True)
class FeedbackSettings:
    """The store of digits people drew and labelled on the Draw page (`pipelines.feedback`)."""

    database_file: str = "feedback.db"  # inside the artifacts folder, when no URL is named
    busy_timeout_ms: int = 10_000  # how long a SQLite writer waits for another one before "database is locked"
    write_attempts: int = 5  # a write still locked after the busy timeout is retried this many times in all
    held_out_fraction: float = 0.2  # of the drawings, chosen by a hash of each one's id, never trained on
    min_held_out: int = 30  # held-out drawings before the leaderboard shows a "people's drawings" column
    confidence_level: float = 0.95  # of the accuracy intervals (Wilson score)
    thumbnail_px: int = 96  # longest side of the stored picture of the input as drawn
    max_png_bytes: int = 64 * 1024
    max_session_chars: int = 64
    wrong_gallery_size: int = 48  # drawings a model got wrong, shown per model on the "Your drawings" page


FEEDBACK = FeedbackSettings()


def feedback_url_from_env(artifacts_dir: Path | None = None) -> str:
    """The feedback database named by MNIST_FEEDBACK_URL, else the SQLite file in the artifacts folder."""
    value = os.environ.get(FEEDBACK_URL_ENV, "").strip()
    if value:
        return value
    return f"sqlite:///{(artifacts_dir or ARTIFACTS_DIR) / FEEDBACK.database_file}"
