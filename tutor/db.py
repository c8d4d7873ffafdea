"""The progress database: its tables, its engine, and its migrations.

SQLite (a file, the embedded default) or PostgreSQL (DATABASE_URL), through SQLAlchemy Core. The
schema is Alembic's (tutor/migrations, shipped in the package) and is brought to its newest
revision on startup or by `tutor db upgrade`. A learner's own run is kept here as a command log (Redis
only holds a run while it executes); progress never lives in Redis, so an eviction or a full Redis can
never lose an answer.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, Connection, CursorResult, Dialect, make_url
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from tutor.urls import mask

metadata = MetaData()

steps = Table(
    "steps",
    metadata,
    Column("learner", Text, primary_key=True),
    Column("lesson", Text, primary_key=True),
    Column("walkthrough", Text, primary_key=True),
    Column("current", Integer, nullable=False),
    Column("furthest", Integer, nullable=False),
    Column("updated", Float, nullable=False),
)

hints = Table(
    "hints",
    metadata,
    Column("learner", Text, primary_key=True),
    Column("lesson", Text, primary_key=True),
    Column("quiz", Text, primary_key=True),
    Column("question", Integer, primary_key=True, autoincrement=False),
    Column("at", Float, nullable=False),
)

answers = Table(
    "answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("learner", Text, nullable=False),
    Column("lesson", Text, nullable=False),
    Column("quiz", Text, nullable=False),
    Column("question", Integer, nullable=False),
    Column("choices", Text, nullable=False),  # JSON list of original choice indexes; [] for a skip
    Column("correct", Boolean, nullable=False),
    Column("hinted", Boolean, nullable=False),
    Column("at", Float, nullable=False),
    Index("answers_by_learner", "learner", "lesson"),
    Index("answers_by_lesson", "lesson"),
    sqlite_autoincrement=True,
)

# A learner's own run (tutor/runstore.py): its command log, replayed on every request by any process.
own_runs = Table(
    "own_runs",
    metadata,
    Column("learner", Text, primary_key=True),
    Column("lesson", Text, primary_key=True),
    Column("walkthrough", Text, primary_key=True),
    Column("log", Text, nullable=False),
    Column("updated", Float, nullable=False),
)

# Console commands per learner per minute: the rate limit every app process counts against.
command_rate = Table(
    "command_rate",
    metadata,
    Column("learner", Text, primary_key=True),
    Column("minute", Integer, primary_key=True, autoincrement=False),
    Column("count", Integer, nullable=False),
)

SUPPORTED = ("sqlite", "postgresql")
_LOCK_KEY = 0x7475746F72  # "tutor": the advisory lock that serialises migrations on PostgreSQL


class DatabaseURLError(ValueError):
    """A DATABASE_URL this site cannot use."""


def sqlite_url(path: str | Path) -> str:
    """The URL of a SQLite file (TUTOR_DATABASE)."""
    return URL.create("sqlite+pysqlite", database=str(Path(path))).render_as_string()


def normalise_url(url: str) -> URL:
    """The URL with its driver: postgres:// and postgresql:// mean psycopg 3, sqlite:// means pysqlite."""
    try:
        parsed = make_url(url)
    except Exception as error:  # SQLAlchemy raises ArgumentError; say it our way
        raise DatabaseURLError(f"DATABASE_URL is not a database URL: {mask(url)}") from error
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql") and driver in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in SUPPORTED:
        raise DatabaseURLError(f"DATABASE_URL must be a sqlite:// or postgresql:// URL, not {mask(url)}")
    return parsed


# The engine's execution option that says whether its statements may be server-side prepared.
PREPARED = "tutor_prepared"


def make_engine(url: str, prepared: bool | None = None) -> Engine:
    """A pooled engine; SQLite files get WAL (readers never wait) and synchronous=NORMAL (no fsync per click).

    `prepared=False` (PostgreSQL): no statement is prepared on the server, neither by the store
    (tutor/pgprepared.py) nor by psycopg (which prepares a query after its fifth run), for a pooler
    in transaction mode that gives each transaction whichever server session is free. None: as
    TUTOR_PG_PREPARED says (0 is off), for the commands that open the database without the app.
    """
    if prepared is None:
        prepared = os.environ.get("TUTOR_PG_PREPARED", "1") != "0"
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it is one more round trip per request. A pooled connection the server dropped
    # (a restart) is found by a request's first statement instead, which SqlStore sends again once.
    if prepared:
        return create_engine(parsed, pool_size=5, max_overflow=10)
    connect_args = {"prepare_threshold": None} if parsed.get_driver_name() == "psycopg" else {}
    engine = create_engine(parsed, pool_size=5, max_overflow=10, connect_args=connect_args)
    engine.update_execution_options(**{PREPARED: False})
    return engine


class Statement:
    """A Core statement compiled once per dialect to the driver's own SQL, then sent as it is.

    A click's statements are the same every time: SQLAlchemy would still walk each one to build its
    cache key on every execution, which cost more than the database took to run it. Built lazily,
    by `build(dialect name)` (an upsert's INSERT is the dialect's own).
    """

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self._build = build
        self._compiled: dict[tuple[str, str, str], tuple[str, tuple[str, ...] | None]] = {}

    def run(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        """Execute with named parameters (put in order for drivers that take them by position)."""
        return connection.exec_driver_sql(*self.for_driver(connection.dialect, params))

    def for_driver(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The driver's SQL text and its parameters: a dict, or a tuple for drivers that take them by position."""
        key = (dialect.name, dialect.driver, dialect.paramstyle)  # the SQL text is the driver's
        compiled = self._compiled.get(key)
        if compiled is None:
            done = self._build(dialect.name).compile(dialect=dialect)
            assert isinstance(done, SQLCompiler)
            order = tuple(done.positiontup or ()) if done.positional else None
            compiled = self._compiled[key] = (done.string, order)
        sql, order = compiled
        if order is None:
            return sql, dict(params)
        return sql, tuple(params[name] for name in order)


def autocommit_connection(engine: Engine) -> PoolProxiedConnection:
    """A pooled DBAPI connection, switched to the driver's autocommit; hand it back with `give_back`.

    For one statement at a time, sent straight on the driver's cursor: SQLAlchemy's Connection
    costs more per click than the database's work (its checkout, its isolation-level switch, which
    on SQLite sends a PRAGMA when the connection goes back, its execution context). Only the
    driver's own autocommit flag is toggled, so the pool gets the connection back as it lent it.
    """
    raw = engine.raw_connection()
    try:
        _autocommit(raw.dbapi_connection, True)
    except BaseException:
        raw.invalidate()
        raise
    return raw


def give_back(raw: PoolProxiedConnection) -> None:
    """Return an `autocommit_connection` to the pool, out of autocommit as every other borrower expects it."""
    if raw.is_valid:
        _out_of_autocommit(raw)
    raw.close()


def adopt(engine: Engine, raw: PoolProxiedConnection) -> Connection:
    """A SQLAlchemy Connection on an `autocommit_connection` (no second checkout), as `engine.connect()` lends one."""
    _out_of_autocommit(raw)
    return Connection(engine, raw)


def _out_of_autocommit(raw: PoolProxiedConnection) -> None:
    try:
        _autocommit(raw.dbapi_connection, False)
    except BaseException:
        raw.invalidate()  # a connection that cannot say where it is goes, rather than back to the pool
        raise


def _autocommit(dbapi_connection: Any, on: bool) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        # None: no implicit BEGIN; "" is Python's default, which SQLAlchemy's pysqlite dialect keeps.
        dbapi_connection.isolation_level = None if on else ""  # type: ignore[assignment] # typeshed omits ""
    else:  # psycopg: a local flag while the connection is idle, no round trip
        dbapi_connection.autocommit = on


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Set once per pooled connection: WAL is kept in the file, synchronous is per connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Turning a new file to WAL needs it alone for a moment, and SQLite answers "locked" at once
        # (no busy wait) when a sibling process is doing the same: retry until a deadline.
        deadline = time.monotonic() + 10
        while True:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    finally:
        cursor.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    return config


def head() -> str | None:
    """The newest schema revision this version of the site knows."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current(engine: Engine) -> str | None:
    """The schema revision the database is at (None: never migrated, as a file from before Alembic)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; safe when several processes start at once. Returns the new revision."""
    if revision == "head" and current(engine) == head():
        return head()
    with _migration_lock(engine), engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Held to the end of the migration's transaction: a sibling process waits, then finds it done.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On a SQLite file, an exclusive lock on a file beside it; PostgreSQL locks inside the database."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or os.name != "posix":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
