"""Where a learner's progress lives: steps reached, answers, hints, in SQL. Never in process memory.

One store per request (flaskr's get_db): `store()` opens it on first use, on one pooled connection,
and the app context's teardown closes it. Each call is one short transaction, so a click's write is
one statement and one commit, and no read keeps a snapshot open across the request.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, bindparam, case, delete, insert, select, union
from sqlalchemy.dialects import postgresql, sqlite

from tutor import db
from tutor.records import Answer, ProgressStore, StepProgress, export

__all__ = ["Answer", "ProgressStore", "SqlStore", "StepProgress", "export", "init_app", "store"]


def init_app(app: Flask) -> None:
    """Open the database, bring its schema up to date, and close each request's store at teardown."""
    engine = db.make_engine(app.config["DATABASE_URL"])
    if app.config.get("TUTOR_DB_UPGRADE", True):
        db.upgrade(engine)
    app.extensions["tutor.db"] = engine
    # For scripts and tests outside a request: a store that checks a connection out per call.
    app.extensions["tutor.progress"] = SqlStore(engine, keep=False)
    app.teardown_appcontext(_close)


def store() -> SqlStore:
    """This request's progress store, opened on first use."""
    if "progress" not in g:
        g.progress = SqlStore(current_app.extensions["tutor.db"], keep=True)
    return g.progress  # type: ignore[no-any-return]


def _close(_error: BaseException | None = None) -> None:
    opened = g.pop("progress", None)
    if opened is not None:
        opened.close()


class SqlStore:
    """Progress in the SQL database: SQLite or PostgreSQL, the same statements on both."""

    def __init__(self, engine: Engine, keep: bool = True) -> None:
        self.engine = engine
        self._keep = keep
        self._connection: Connection | None = None

    def close(self) -> None:
        """Give the connection back to the pool."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction: on the kept connection (a request's), or on one checked out for this call."""
        if not self._keep:
            with self.engine.begin() as connection:
                yield connection
            return
        if self._connection is None:
            self._connection = self.engine.connect()
        with self._connection.begin():
            yield self._connection

    def transaction(self) -> AbstractContextManager[Connection]:
        """One transaction on this store's connection, for modules with tables of their own (accounts)."""
        return self._tx()

    def _insert(self, connection: Connection) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL have it)."""
        return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert

    def record_step(self, learner: str, lesson: str, walkthrough: str, step: int) -> None:
        """Remember the step shown and the furthest reached, in one upsert."""
        with self._tx() as connection:
            connection.execute(
                _step_upsert(connection.dialect.name),
                {
                    "learner": learner,
                    "lesson": lesson,
                    "walkthrough": walkthrough,
                    "current": step,
                    "furthest": step,
                    "updated": time.time(),
                },
            )

    def steps(self, learner: str, lesson: str) -> dict[str, StepProgress]:
        """Every step-through of the lesson the learner opened, by slug."""
        t = db.steps.c
        query = select(t.walkthrough, t.current, t.furthest, t.updated).where(t.learner == learner, t.lesson == lesson)
        with self._tx() as connection:
            rows = connection.execute(query).all()
        return {w: StepProgress(c, f, u) for w, c, f, u in rows}

    def record_hint(self, learner: str, lesson: str, quiz: str, question: int) -> None:
        """Remember that a hint was shown (the first time counts)."""
        with self._tx() as connection:
            statement = self._insert(connection)(db.hints).values(
                learner=learner, lesson=lesson, quiz=quiz, question=question, at=time.time()
            )
            connection.execute(statement.on_conflict_do_nothing())

    def hints(self, learner: str, lesson: str) -> set[tuple[str, int]]:
        """The (quiz, question) pairs whose hint the learner has seen."""
        t = db.hints.c
        with self._tx() as connection:
            rows = connection.execute(select(t.quiz, t.question).where(t.learner == learner, t.lesson == lesson))
            return {(q, n) for q, n in rows}

    def record_answer(self, answer: Answer) -> None:
        """Keep one attempt (or a skipped prediction)."""
        with self._tx() as connection:
            connection.execute(
                insert(db.answers).values(
                    learner=answer.learner,
                    lesson=answer.lesson,
                    quiz=answer.quiz,
                    question=answer.question,
                    choices=json.dumps(list(answer.choices)),
                    correct=answer.correct,
                    hinted=answer.hinted,
                    at=answer.at,
                )
            )

    def _answers(self, *where: Any) -> list[Answer]:
        t = db.answers.c
        query = (
            select(t.learner, t.lesson, t.quiz, t.question, t.choices, t.correct, t.hinted, t.at)
            .where(*where)
            .order_by(t.at, t.id)
        )
        with self._tx() as connection:
            rows = connection.execute(query).all()
        return [_answer(tuple(row)) for row in rows]

    def answers(self, learner: str, lesson: str) -> list[Answer]:
        """A learner's answers in one lesson, oldest first (read on every click of a walk with predictions)."""
        with self._tx() as connection:
            rows = connection.execute(_learner_answers(), {"learner": learner, "lesson": lesson}).all()
        return [_answer(tuple(row)) for row in rows]

    def all_answers(self, lesson: str | None = None) -> list[Answer]:
        """Every learner's answers (in one lesson, or all), oldest first."""
        return self._answers(db.answers.c.lesson == lesson) if lesson else self._answers()

    def reset(self, learner: str, lesson: str) -> None:
        """Forget a learner's steps, hints and answers in one lesson, in one transaction."""
        with self._tx() as connection:
            for table in (db.steps, db.hints, db.answers):
                connection.execute(delete(table).where(table.c.learner == learner, table.c.lesson == lesson))

    def lessons_of(self, learner: str) -> list[str]:
        """Every lesson the learner left a trace in, sorted."""
        query = union(
            *(select(table.c.lesson).where(table.c.learner == learner) for table in (db.steps, db.answers, db.hints))
        )
        with self._tx() as connection:
            return sorted(row[0] for row in connection.execute(query))

    def execute(self, query: Any) -> list[tuple[Any, ...]]:
        """Run a read-only query (the results report's aggregates) in a transaction of its own."""
        with self._tx() as connection:
            return [tuple(row) for row in connection.execute(query)]


def _answer(row: tuple[Any, ...]) -> Answer:
    learner, lesson, quiz, question, choices, correct, hinted, at = row
    return Answer(learner, lesson, quiz, question, tuple(json.loads(choices)), bool(correct), bool(hinted), at)


@functools.cache
def _step_upsert(dialect: str) -> Any:
    """The step upsert of a click, built once per dialect: building it cost more than running it."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(db.steps)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["learner", "lesson", "walkthrough"],
        set_={
            "current": new.current,
            "furthest": case((new.furthest > db.steps.c.furthest, new.furthest), else_=db.steps.c.furthest),
            "updated": new.updated,
        },
    )


@functools.cache
def _learner_answers() -> Any:
    """A learner's answers in one lesson, the query built once (as the step upsert)."""
    t = db.answers.c
    return (
        select(t.learner, t.lesson, t.quiz, t.question, t.choices, t.correct, t.hinted, t.at)
        .where(t.learner == bindparam("learner"), t.lesson == bindparam("lesson"))
        .order_by(t.at, t.id)
    )
