"""Where a learner's own run and their command rate live: the progress database, never process memory.

Kept apart from tutor/progress.py (one small interface, two tables of its own) so the console does
not depend on how progress is stored. It is the same database (SQLite or PostgreSQL through
DATABASE_URL) and, in a request, the same connection as the progress store: every app process, on
any host, sees one run and one rate count per learner.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite

from tutor import db, progress


def clock() -> float:
    """The wall clock the per-minute command count is kept by (tests pin it, so a minute never turns mid-test)."""
    return time.time()


class RunStore(Protocol):
    """A run's command log by (learner, lesson, step-through), and a per-learner command counter."""

    def get(self, learner: str, lesson: str, walk: str) -> str | None: ...
    def put(self, learner: str, lesson: str, walk: str, log: str) -> None: ...
    def delete(self, learner: str, lesson: str, walk: str) -> None: ...
    def count_command(self, learner: str, now: float | None = None) -> int: ...


def init_app(app: Flask) -> None:
    """A run store for scripts and tests outside a request (one connection per call), on the progress database."""
    app.extensions["tutor.runs"] = SqlRunStore(app.extensions["tutor.progress"])


def store() -> RunStore:
    """The run store on this request's progress connection."""
    return SqlRunStore(progress.store())


def _insert(connection: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL have it)."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


class SqlRunStore:
    """Runs and rates in the progress database, each call one short transaction on the progress store's connection."""

    def __init__(self, on: progress.SqlStore) -> None:
        self._store = on

    def get(self, learner: str, lesson: str, walk: str) -> str | None:
        return self._store.own_run(learner, lesson, walk)  # read with the click's other progress, in one query

    def put(self, learner: str, lesson: str, walk: str, log: str) -> None:
        self._store.put_run(learner, lesson, walk, log)

    def delete(self, learner: str, lesson: str, walk: str) -> None:
        self._store.delete_run(learner, lesson, walk)

    def count_command(self, learner: str, now: float | None = None) -> int:
        """Count one command in the learner's current minute; the total so far in that minute.

        One upsert that returns the new count: two processes counting at once each get their own
        total (the database serialises the row), never the same one. Only this learner's rows are
        touched (their minutes before the last one are dropped): learners never wait on each other.
        """
        minute = int((clock() if now is None else now) // 60)
        rate = db.command_rate
        with self._store.transaction() as connection:
            connection.execute(delete(rate).where(rate.c.learner == learner, rate.c.minute < minute - 1))
            statement = _insert(connection)(rate).values(learner=learner, minute=minute, count=1)
            statement = statement.on_conflict_do_update(
                index_elements=["learner", "minute"], set_={"count": rate.c.count + 1}
            ).returning(rate.c.count)
            return int(connection.execute(statement).scalar_one())
