"""Every constant of the load test, one dataclass per concern: the load, the simulated browser, the measurement."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines import config


@dataclass(frozen=True)
class LoadSettings:
    """How many sessions draw how often for how long, and when an unanswered drawing counts as lost."""

    sessions: int = 20  # the classroom
    interval_seconds: float = 2.0  # each session draws a digit this often, from its own random phase
    duration_seconds: float = 60.0
    answer_timeout_seconds: float = 30.0  # no answer by then: the drawing is lost
    pool_size: int = 40  # distinct drawings, so a session repeats none for 80 s at the default interval
    data: str = "sample"  # where the MNIST test digits come from; the bundled sample needs no network
    seed: int = config.SEED

    def __post_init__(self) -> None:
        if self.sessions < 1:
            raise ValueError(f"--sessions must be at least 1, not {self.sessions}")
        if self.interval_seconds <= 0 or self.duration_seconds <= 0 or self.answer_timeout_seconds <= 0:
            raise ValueError("--interval, --duration and --timeout must be positive numbers of seconds")
        if self.pool_size < 1:
            raise ValueError(f"--pool must be at least 1, not {self.pool_size}")

    @property
    def drawings_per_session(self) -> int:
        """At most this many: the sends that fall inside the duration, whatever a session's phase."""
        return int(self.duration_seconds // self.interval_seconds) + 1


@dataclass(frozen=True)
class BrowserSettings:
    """What a simulated browser tab says about itself and how long it waits before giving up."""

    connect_timeout_seconds: float = 30.0
    page_load_timeout_seconds: float = 180.0  # a fresh server imports TensorFlow and loads three models first
    close_timeout_seconds: float = 5.0
    timezone: str = "UTC"
    locale: str = "en-US"
    color_scheme: str = "light"
    canvas_debounce_seconds: float = 0.2  # the canvas component sends a stroke 200 ms after the mouse is lifted
    coordinate_decimals: int = 2  # pointer positions in the canvas's JSON, as fractional CSS pixels


@dataclass(frozen=True)
class MeasureSettings:
    """How the server and the load generator are watched, and the targets the issue set."""

    sample_seconds: float = 0.5  # CPU and memory of the server's process tree
    progress_seconds: float = 1.0  # one line of progress in the terminal
    target_p50_seconds: float = 0.8
    target_p95_seconds: float = 2.0
    percentiles: tuple[int, ...] = (50, 90, 95)


LOAD = LoadSettings()
BROWSER = BrowserSettings()
MEASURE = MeasureSettings()
