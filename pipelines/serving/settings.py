"""Every constant the dashboard uses, in one object, and where its artifacts live.

The artifacts folder comes from `config.ARTIFACTS_DIR` unless the
`MNIST_ARTIFACTS` environment variable names another one, which is how the
tests point a real app at a freshly trained temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipelines import config

ARTIFACTS_ENV = "MNIST_ARTIFACTS"
"""Environment variable overriding the artifacts folder the dashboard reads (and trains into)."""

JOBS_FOLDER = ".jobs"
"""Training jobs started from the app keep their log and progress here, inside the artifacts folder."""


@dataclass(frozen=True)
class DashboardSettings:
    """Sizes, limits and defaults of the dashboard's views."""

    artifacts_dir: Path
    canvas_side: int = 280
    number_canvas_width: int = 840  # the Number mode's canvas is as tall as the digit canvas and three times wider
    box_colour: str = "#F59E0B"  # the boxes drawn around each digit found in a number
    box_width: int = 3
    stroke_width: int = 18
    stroke_range: tuple[int, int] = (6, 40)
    max_upload_bytes: int = 5 * 1024 * 1024  # the same limit as server.maxUploadSize in .streamlit/config.toml
    max_upload_pixels: int = 40_000_000
    upload_types: tuple[str, ...] = ("png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff")
    gallery_size: int = 32
    gallery_columns: int = 8
    thumbnail_px: int = 84
    samples_per_digit: int = 10
    confused_pairs: int = 5
    log_tail_lines: int = 40
    job_poll_seconds: float = 1.5
    quick_profile: str = config.DEFAULT_PROFILE
    chart_height: int = 320
    probability_chart_height: int = 110
    # the first page is still being drawn when its script ends; loading the forest at once took the 2 cores from
    # the browser and put the leaderboard on screen up to 3 s later (BENCHMARKS.md, "A fresh start")
    model_loading_delay_seconds: float = 2.0
    sure_above: float = 0.6  # below this soft-vote confidence, or when the models disagree, the app says "not sure"
    seed: int = config.SEED

    @property
    def jobs_dir(self) -> Path:
        return self.artifacts_dir / JOBS_FOLDER


def artifacts_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """The artifacts folder named by MNIST_ARTIFACTS, else the project's default one."""
    value = (os.environ if environ is None else environ).get(ARTIFACTS_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else config.ARTIFACTS_DIR


def load_settings(environ: Mapping[str, str] | None = None) -> DashboardSettings:
    """The dashboard's settings for this process."""
    return DashboardSettings(artifacts_dir=artifacts_dir_from_env(environ))
