"""`FeedbackStore`: labelled drawings in a real database, safe with many sessions and processes writing at once.

SQLAlchemy Core, parameterised statements only. SQLite (the default, one file
in artifacts/) runs in WAL mode so readers never block the writer; each write
takes the write lock up front (`BEGIN IMMEDIATE`), waits up to a busy timeout
for it, and is retried if it still finds the database locked, so concurrent
writers queue instead of losing records. A record is one transaction: a writer
killed half-way leaves nothing behind. Any other SQLAlchemy URL works too, e.g.
`postgresql+psycopg://user@host/db`, so several app replicas share one store.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, delete, event, func, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from pipelines.config import FEEDBACK, IMAGE_SIDE, FeedbackSettings, feedback_url_from_env
from pipelines.feedback import records
from pipelines.feedback.schema import SchemaError, answers, drawings, ensure_schema

Split = Literal["all", "train", "held_out"]
WRITE_OPTION = "feedback_write"
RETRY_PAUSE_SECONDS = 0.05
T = TypeVar("T")


class FeedbackError(RuntimeError):
    """The feedback database cannot be opened or used; the message says why and what to do."""


def is_held_out(uid: str, fraction: float = FEEDBACK.held_out_fraction) -> bool:
    """Whether a drawing belongs to the fixed held-out part: decided by its random uid alone, so it never moves."""
    return int(uid, 16) % 1_000_000 < fraction * 1_000_000


def _sqlite_engine(url: str, settings: FeedbackSettings) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": settings.busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # the driver's own transaction handling off: BEGIN is ours
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(settings.busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: consistent after any crash, fast commits
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def _is_locked(error: OperationalError) -> bool:
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


class FeedbackStore:
    """Labelled drawings: record one, count them, read them back for training, evaluation and the dashboard."""

    def __init__(self, url: str | None = None, settings: FeedbackSettings = FEEDBACK) -> None:
        self.url = url or feedback_url_from_env()
        self.settings = settings
        try:
            backend = make_url(self.url).get_backend_name()
            if backend == "sqlite":
                self.engine = _sqlite_engine(self.url, settings)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
        except (ArgumentError, ImportError) as error:
            raise FeedbackError(f"{self.url!r} is not a database URL this store can use ({error}); "
                                "use sqlite:///path/feedback.db or postgresql+psycopg://user@host/db") from error
        try:
            self.schema_version = self._write(ensure_schema)
        except SchemaError as error:
            raise FeedbackError(str(error)) from error
        except OperationalError as error:
            raise FeedbackError(f"the feedback database {self.display_url} cannot be opened: {error.orig}") from error

    @property
    def display_url(self) -> str:
        """The URL without its password, fit to show."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction, retried while SQLite still reports the database locked."""
        for attempt in range(self.settings.write_attempts):
            try:
                with self.engine.connect() as connection:
                    connection.execution_options(**{WRITE_OPTION: True})
                    with connection.begin():
                        return work(connection)
            except OperationalError as error:
                if not _is_locked(error) or attempt == self.settings.write_attempts - 1:
                    raise
                time.sleep(RETRY_PAUSE_SECONDS * 2 ** attempt * (1 + random.random()))
        raise AssertionError("unreachable")

    def record(self, pixels: np.ndarray, label: int, predictions: Mapping[str, int], *,
               confidences: Mapping[str, float] | None = None,
               probabilities: Mapping[str, Sequence[float]] | None = None,
               run_ids: Mapping[str, str] | None = None, input_png: bytes | None = None,
               session_id: str | None = None, source: str | None = None, mode: str | None = None) -> int:
        """Store one labelled drawing and every model's answer to it, atomically; returns its id.

        Args:
            pixels: the (28, 28) float32 image in [0, 1] the models saw.
            label: the digit the person says it is, 0-9.
            predictions: each model's digit, e.g. {"svm": 7, "cnn": 1}.
            confidences, probabilities, run_ids: per model, optional (the dashboard sends them).
            input_png: a small picture of the input as drawn (`records.input_thumbnail`).
            session_id: a random id of the browser session; nothing else about the person is kept.
            source: "canvas" or "upload"; mode: "digit" or "number".
        """
        row = {
            "uid": uuid.uuid4().hex,
            "created_at": datetime.now(UTC).replace(tzinfo=None),
            "label": records.check_digit(label, "label"),
            "pixels": records.check_pixels(pixels).tobytes(),
            "input_png": records.check_png(input_png, self.settings),
            "session_id": records.check_session(session_id, self.settings),
            "source": records.check_choice(source, records.SOURCES, "source"),
            "mode": records.check_choice(mode, records.MODES, "mode"),
        }
        checked = records.check_answers(predictions, confidences, probabilities, run_ids)

        def insert(connection: Connection) -> int:
            drawing_id = int(connection.execute(drawings.insert().values(**row)).inserted_primary_key[0])
            if checked:
                connection.execute(answers.insert(), [
                    {"drawing_id": drawing_id, "model": model, "digit": answer.digit,
                     "confidence": answer.confidence, "run_id": answer.run_id,
                     "probabilities": None if answer.probabilities is None else answer.probabilities.tobytes()}
                    for model, answer in checked.items()])
            return drawing_id

        return self._write(insert)

    @staticmethod
    def _between(statement, since: datetime | None, until: datetime | None):  # type: ignore[no-untyped-def]
        if since is not None:
            statement = statement.where(drawings.c.created_at >= since)
        if until is not None:
            statement = statement.where(drawings.c.created_at < until)
        return statement

    def count(self, since: datetime | None = None, until: datetime | None = None) -> int:
        """How many labelled drawings, optionally only those stored in [since, until) (UTC)."""
        with self.engine.connect() as connection:
            return int(connection.execute(self._between(select(func.count()).select_from(drawings),
                                                        since, until)).scalar_one())

    def version(self) -> tuple[int, int]:
        """(count, newest id): changes with every record and every deletion, so caches can key on it."""
        with self.engine.connect() as connection:
            total, newest = connection.execute(select(func.count(), func.max(drawings.c.id))).one()
        return int(total), int(newest or 0)

    def dataset(self, split: Split = "all") -> tuple[np.ndarray, np.ndarray]:
        """The labelled drawings as (images (n, 28, 28) float32, labels (n,) int64), oldest first.

        `split`: "all", "train" (never the held-out part) or "held_out" (the fixed part kept for evaluation).
        """
        if split not in ("all", "train", "held_out"):
            raise ValueError(f"split must be 'all', 'train' or 'held_out'; got {split!r}")
        with self.engine.connect() as connection:
            rows = connection.execute(select(drawings.c.uid, drawings.c.label, drawings.c.pixels)
                                      .order_by(drawings.c.id)).all()
        if split != "all":
            wanted = split == "held_out"
            rows = [row for row in rows if is_held_out(row.uid, self.settings.held_out_fraction) == wanted]
        return _images(row.pixels for row in rows), np.array([row.label for row in rows], dtype=np.int64)

    def drawings_frame(self, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
        """One row per drawing (id, created_at, label, source, mode, session_id, held_out), oldest first; no pixels."""
        columns = [drawings.c.id, drawings.c.uid, drawings.c.created_at, drawings.c.label, drawings.c.source,
                   drawings.c.mode, drawings.c.session_id]
        with self.engine.connect() as connection:
            frame = pd.read_sql(self._between(select(*columns), since, until).order_by(drawings.c.id), connection)
        frame["held_out"] = [is_held_out(uid, self.settings.held_out_fraction) for uid in frame["uid"]]
        return frame.drop(columns="uid")

    def answers_frame(self, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
        """One row per (drawing, model): drawing_id, model, digit, confidence, run_id, probabilities (or None)."""
        columns = [answers.c.drawing_id, answers.c.model, answers.c.digit, answers.c.confidence, answers.c.run_id,
                   answers.c.probabilities]
        statement = self._between(select(*columns).join(drawings, drawings.c.id == answers.c.drawing_id),
                                  since, until).order_by(answers.c.drawing_id, answers.c.model)
        with self.engine.connect() as connection:
            return pd.read_sql(statement, connection)

    def images(self, ids: Iterable[int]) -> np.ndarray:
        """The 28×28 images of the given drawings, in the order given (unknown ids are left out)."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return _images([])
        with self.engine.connect() as connection:
            found = dict(connection.execute(select(drawings.c.id, drawings.c.pixels)
                                            .where(drawings.c.id.in_(wanted))).all())
        return _images(found[i] for i in wanted if i in found)

    def input_png(self, drawing_id: int) -> bytes | None:
        with self.engine.connect() as connection:
            return connection.execute(select(drawings.c.input_png)
                                      .where(drawings.c.id == int(drawing_id))).scalar_one_or_none()

    def delete(self, drawing_id: int) -> bool:
        """Remove one drawing and its answers (moderation); False when there was no such drawing."""
        def remove(connection: Connection) -> bool:
            connection.execute(delete(answers).where(answers.c.drawing_id == int(drawing_id)))
            return connection.execute(delete(drawings).where(drawings.c.id == int(drawing_id))).rowcount > 0

        return self._write(remove)

    def delete_all(self) -> int:
        """Remove every drawing; returns how many there were."""
        def remove(connection: Connection) -> int:
            connection.execute(delete(answers))
            return int(connection.execute(delete(drawings)).rowcount)

        return self._write(remove)


def _images(blobs: Iterable[bytes]) -> np.ndarray:
    """Stored pixel blobs back to one (n, 28, 28) float32 array."""
    joined = b"".join(blobs)
    return np.frombuffer(joined, dtype=np.float32).reshape(-1, IMAGE_SIDE, IMAGE_SIDE).copy()
