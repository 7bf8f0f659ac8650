"""The feedback database's tables, its schema version, and creating or migrating them on first use.

Creation is race-safe: several processes opening a fresh database at once
take the database's write lock (SQLite) or an advisory lock (PostgreSQL)
first, so exactly one creates the tables and the others find them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from pipelines.config import FEEDBACK_URL_ENV

SCHEMA_VERSION = 1
MODEL_NAME_CHARS = 32
RUN_ID_CHARS = 64
POSTGRES_LOCK_KEY = 0x6D6E6973  # any fixed number: the advisory lock that serialises schema creation

metadata = MetaData()

drawings = Table(
    "drawings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(32), nullable=False, unique=True),  # random; decides the held-out split
    Column("created_at", DateTime, nullable=False, index=True),  # UTC
    Column("label", SmallInteger, nullable=False),
    Column("pixels", LargeBinary, nullable=False),  # the 28×28 float32 the models saw
    Column("input_png", LargeBinary),  # the input as drawn, cropped and small
    Column("session_id", String(64)),  # random per browser session; nothing else about the person
    Column("source", String(16)),
    Column("mode", String(16)),
    CheckConstraint("label BETWEEN 0 AND 9", name="label_is_a_digit"),
    sqlite_autoincrement=True,  # ids are never reused, so (count, newest id) changes with every write
)

answers = Table(
    "answers", metadata,
    Column("drawing_id", Integer, ForeignKey("drawings.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(MODEL_NAME_CHARS), primary_key=True),
    Column("digit", SmallInteger, nullable=False),
    Column("confidence", Float),
    Column("probabilities", LargeBinary),  # ten float32, when known: the soft vote needs them
    Column("run_id", String(RUN_ID_CHARS)),
    CheckConstraint("digit BETWEEN 0 AND 9", name="answer_is_a_digit"),
)

schema_info = Table("feedback_schema", metadata, Column("version", Integer, nullable=False))

MIGRATIONS: dict[int, Callable[[Connection], None]] = {}
"""From version n to n + 1; the first schema needs none yet."""


class SchemaError(RuntimeError):
    """The database was written by another version of this code and cannot be used as it is."""


def ensure_schema(connection: Connection) -> int:
    """Create the tables on first use, or migrate them, inside the caller's write transaction; returns the version."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
    if not inspect(connection).has_table(schema_info.name):
        metadata.create_all(connection)
        connection.execute(schema_info.insert().values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION
    version = connection.execute(select(schema_info.c.version)).scalar_one()
    if version > SCHEMA_VERSION:
        raise SchemaError(f"the feedback database has schema version {version}, newer than this code's "
                          f"{SCHEMA_VERSION}: update the code, or point {FEEDBACK_URL_ENV} at another database")
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](connection)
        version += 1
        connection.execute(schema_info.update().values(version=version))
    return version
