"""Shared fixtures: the bundled sample, the canonical IDX folder, and one quick training run."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipelines import config
from pipelines.data.sources import MnistData, load_sample
from pipelines.evaluation.drawn import StrokeStyle, ink_canvas
from pipelines.evaluation.photos import number_coverage
from pipelines.store.registry import MODEL_NAMES
from pipelines.training.train import train


@pytest.fixture(scope="session")
def sample() -> MnistData:
    return load_sample()


@pytest.fixture(scope="session")
def shared_mnist_dir() -> Path:
    if not (config.SHARED_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the canonical MNIST files are not at {config.SHARED_MNIST_DIR}")
    return config.SHARED_MNIST_DIR


@pytest.fixture(scope="session")
def trained_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All three models trained with the quick profile on the bundled sample, once per test session."""
    artifacts = tmp_path_factory.mktemp("artifacts")
    _, failures = train(list(MODEL_NAMES), "quick", "sample", artifacts, show_bar=False)
    assert not failures, failures
    return artifacts


@pytest.fixture
def artifacts_copy(trained_artifacts: Path, tmp_path: Path) -> Path:
    """A private copy of the trained artifacts, for tests that damage them."""
    copy = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, copy)
    return copy


NUMBER_CANVAS = (840, 280)
"""The Draw page's number canvas, width by height."""


UPRIGHT = StrokeStyle(height_fraction=1.0, rotation_degrees=0.0, slant_degrees=0.0, pen_width=1.0, position=(0.5, 0.5))


def nth_test_digit(sample: MnistData, label: int, nth: int = 0) -> np.ndarray:
    """The `nth` test digit (never trained on) with this label."""
    return sample.test_images[int(np.flatnonzero(sample.test_labels == label)[nth])]


def written_number(sample: MnistData, labels: list[int], gaps: list[float], height: float = 170.0,
                   pen: float = 16.0, nth: int = 0) -> tuple[np.ndarray, float, float]:
    """Test digits written upright on the number canvas `gaps` apart (negative: overlapping), and the height and
    pen they got."""
    digits = [nth_test_digit(sample, label, nth) for label in labels]
    coverage, height, pen = number_coverage(digits, [UPRIGHT] * len(labels), gaps, height, pen, NUMBER_CANVAS)
    return ink_canvas(coverage), height, pen


def drawn_digit(image: np.ndarray, canvas_side: int = 280, top: int = 60, left: int = 60, side: int = 160) -> np.ndarray:
    """An MNIST digit blown up and placed on a black RGBA canvas, as the drawing component returns it."""
    from PIL import Image

    ink = Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR)
    canvas = np.zeros((canvas_side, canvas_side, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    canvas[top : top + side, left : left + side, :3] = np.asarray(ink)[..., None]
    return canvas


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session; a missing PostgreSQL fails under CI and skips elsewhere."""
    from postgres_server import postgres_bin, postgres_server

    if postgres_bin() is None:
        message = "PostgreSQL is not installed (scripts/setup installs Debian's postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def feedback_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty feedback database: a fresh SQLite file, or a fresh database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.db'}"
    from sqlalchemy import create_engine

    server = request.getfixturevalue("postgres_url")
    name = f"feedback_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return f"{server}/{name}"


@pytest.fixture(autouse=True)
def private_feedback_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test records labelled drawings into its own SQLite file, never into artifacts/."""
    url = f"sqlite:///{tmp_path / 'private-feedback.db'}"
    monkeypatch.setenv(config.FEEDBACK_URL_ENV, url)
    return url


STUDY_SIZES = [200, 300]
STUDY_SEEDS = [0, 1]
SWEEP_GRID = ["C=1,10", "gamma=0.01,0.04"]


@pytest.fixture(scope="session")
def studied_artifacts(trained_artifacts: Path, sample: MnistData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained artifacts plus a tiny learning curve (SVM, forest) and a tiny SVM sweep, run locally."""
    from pipelines.studies.run import run_study

    artifacts = tmp_path_factory.mktemp("studied") / "artifacts"
    shutil.copytree(trained_artifacts, artifacts)
    run_study("learning-curve", ["svm", "rf"], sample, artifacts, workers=2, sizes=STUDY_SIZES, seeds=STUDY_SEEDS,
              show_bar=False)
    run_study("sweep", ["svm"], sample, artifacts, workers=2, sizes=[STUDY_SIZES[-1]], grid=SWEEP_GRID, show_bar=False)
    return artifacts
