"""Where a learner's own run and their command rate live: the progress database, never process memory.

Kept apart from tutor/progress.py on purpose (one small interface, one table each), so a move of
progress to another database can absorb it without touching the console. It uses the same file
(TUTOR_DATABASE), one connection per call, as the progress store does.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app


class RunStore(Protocol):
    """A run's command log by (learner, lesson, step-through), and a per-learner command counter."""

    def get(self, learner: str, lesson: str, walk: str) -> str | None: ...
    def put(self, learner: str, lesson: str, walk: str, log: str) -> None: ...
    def delete(self, learner: str, lesson: str, walk: str) -> None: ...
    def count_command(self, learner: str, now: float | None = None) -> int: ...


def init_app(app: Flask) -> None:
    """The run store on the app's database file."""
    app.extensions["tutor.runs"] = SqliteRunStore(app.config["TUTOR_DATABASE"])


def store() -> RunStore:
    """The app's run store."""
    return current_app.extensions["tutor.runs"]  # type: ignore[no-any-return]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS own_runs (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, walkthrough TEXT NOT NULL, log TEXT NOT NULL,
  updated REAL NOT NULL, PRIMARY KEY (learner, lesson, walkthrough));
CREATE TABLE IF NOT EXISTS command_rate (
  learner TEXT NOT NULL, minute INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (learner, minute));
"""


class SqliteRunStore:
    """Runs and rates in the SQLite file; each call opens its own connection (threads share none)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    def get(self, learner: str, lesson: str, walk: str) -> str | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT log FROM own_runs WHERE learner = ? AND lesson = ? AND walkthrough = ?", (learner, lesson, walk)
            ).fetchone()
        return str(row[0]) if row else None

    def put(self, learner: str, lesson: str, walk: str, log: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO own_runs VALUES (?, ?, ?, ?, ?) ON CONFLICT (learner, lesson, walkthrough) "
                "DO UPDATE SET log = excluded.log, updated = excluded.updated",
                (learner, lesson, walk, log, time.time()),
            )

    def delete(self, learner: str, lesson: str, walk: str) -> None:
        with self._connect() as db:
            db.execute(
                "DELETE FROM own_runs WHERE learner = ? AND lesson = ? AND walkthrough = ?", (learner, lesson, walk)
            )

    def count_command(self, learner: str, now: float | None = None) -> int:
        """Count one command in the learner's current minute; the total so far in that minute."""
        minute = int((time.time() if now is None else now) // 60)
        with self._connect() as db:
            db.execute("DELETE FROM command_rate WHERE minute < ?", (minute - 1,))
            db.execute(
                "INSERT INTO command_rate VALUES (?, ?, 1) "
                "ON CONFLICT (learner, minute) DO UPDATE SET count = count + 1",
                (learner, minute),
            )
            row = db.execute(
                "SELECT count FROM command_rate WHERE learner = ? AND minute = ?", (learner, minute)
            ).fetchone()
        return int(row[0])
