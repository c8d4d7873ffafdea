"""Where a learner's progress lives: steps reached, answers, hints, in SQL. Never in process memory.

One store per request (flaskr's get_db): `store()` opens it on first use, on one pooled connection,
and the app context's teardown closes it. The connection runs in autocommit: a statement is one
round trip, with no BEGIN and COMMIT around it. Only what needs several statements at once
(`transaction()`: a reset, the command counter, accounts) opens a transaction.

A click reads the learner's steps, answers, hints and own runs in one lesson, in one query, kept for
the rest of that request only (its own writes are applied to it, so it never shows less than the
database holds for this request); the next request reads again. A click costs at most two
statements: that read, and the step upsert. On PostgreSQL a write that the request follows with
that read sends both as one statement (the write as a CTE): a full page's step upsert
(`record_step(read=True)`) and a quiz attempt (`record_attempt`). A learner id made in this request
is read from nothing (`mark_new`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import (
    Connection,
    Engine,
    Float,
    Integer,
    Text,
    bindparam,
    case,
    cast,
    delete,
    exists,
    insert,
    literal_column,
    null,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

from tutor import db, pgprepared, threadconn
from tutor.records import Answer, ProgressStore, StepProgress, export

__all__ = ["Answer", "ProgressStore", "SqlStore", "StepProgress", "export", "init_app", "store"]

_T = TypeVar("_T")


def init_app(app: Flask) -> None:
    """Open the database, bring its schema up to date, and close each request's store at teardown."""
    engine = db.make_engine(app.config["DATABASE_URL"], prepared=app.config.get("TUTOR_PG_PREPARED", True))
    if app.config.get("TUTOR_DB_UPGRADE", True):
        db.upgrade(engine)
    app.extensions["tutor.db"] = engine
    # For scripts and tests outside a request: a store that checks a connection out per call.
    app.extensions["tutor.progress"] = SqlStore(engine, keep=False)
    app.teardown_appcontext(_close)


# The WSGI environ key under which tutor/clickpath.py hands Flask a step it recorded and what it read
# with it (learner, lesson, walkthrough, step, _Kept), when it leaves a click to Flask after writing.
# Only server-side code sets environ keys without the HTTP_ prefix: a client cannot.
HANDED_OVER = "tutor.progress.handed_over"


def store() -> SqlStore:
    """This request's progress store, opened on first use (with what the click path recorded and read, if any)."""
    if "progress" not in g:
        opened = g.progress = SqlStore(current_app.extensions["tutor.db"], keep=True)
        handed = request.environ.get(HANDED_OVER) if has_request_context() else None
        if handed is not None:
            opened.take_over(*handed)
    return g.progress  # type: ignore[no-any-return]


def _close(_error: BaseException | None = None) -> None:
    opened = g.pop("progress", None)
    if opened is not None:
        opened.close()


@dataclass
class _Kept:
    """Everything one learner has in one lesson, as one request read it (and then wrote it)."""

    steps: dict[str, StepProgress] = field(default_factory=dict)
    hints: set[tuple[str, int]] = field(default_factory=set)
    answers: list[Answer] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)


class SqlStore:
    """Progress in the SQL database: SQLite or PostgreSQL, the same statements on both.

    `keep`: hold one connection (and what was read) until `close()`, as a request does; else one
    connection per call and nothing kept, as scripts and tests outside a request use it.
    """

    def __init__(self, engine: Engine, keep: bool = True) -> None:
        self.engine = engine
        self._keep = keep
        self._connection: Connection | None = None
        self._raw: PoolProxiedConnection | None = None  # the driver's connection, for compiled statements
        self._threads = threadconn.for_engine(engine)  # PostgreSQL: the thread's own driver connection instead
        self._prepare = engine.get_execution_options().get(db.PREPARED, True)  # off: every statement by a cursor
        self._thread_used = False  # whether this store has sent a statement on the thread's connection
        self._kept: dict[tuple[str, str], _Kept] = {}
        self._new: str | None = None  # a learner id made in this request (`mark_new`)
        self._recorded: tuple[str, str, str, int] | None = None  # a step written already (`take_over`)

    def mark_new(self, learner: str) -> None:
        """This request made the learner's id (256 random bits): nothing is stored under it, so nothing is read.

        Their reads are answered from what this request wrote, as a read after those writes would
        be; until `close()` or a transaction (whose writes are not followed here).
        """
        if self._keep:
            self._new = learner

    def read_of(self, learner: str, lesson: str) -> _Kept | None:
        """What this store read of the learner in the lesson, as its own writes left it; None if it read nothing."""
        return self._kept.get((learner, lesson))

    def take_over(self, learner: str, lesson: str, walkthrough: str, step: int, kept: _Kept) -> None:
        """Start from what another store wrote and read for this request: the step is recorded, `kept` is current.

        tutor/clickpath.py records a prediction click's step and reads the learner's lesson with it,
        then leaves the click to Flask when a question is held there: the view's store takes both
        over, so the step is not written twice nor the lesson read again.
        """
        if self._keep:
            self._kept[(learner, lesson)] = kept
            self._recorded = (learner, lesson, walkthrough, step)

    def _kept_for(self, learner: str, lesson: str) -> _Kept | None:
        """What this request knows of the learner in the lesson: what it read, or an empty start for a new learner."""
        key = (learner, lesson)
        kept = self._kept.get(key)
        if kept is None and learner == self._new:
            kept = self._kept[key] = _Kept()
        return kept

    def close(self) -> None:
        """Give the connection back to the pool, and forget what was read."""
        self._kept.clear()
        self._new = None
        self._recorded = None
        self._give_back_raw()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _give_back_raw(self) -> None:
        self._thread_used = False
        raw, self._raw = self._raw, None
        if raw is not None:
            db.give_back(raw)

    def _open(self) -> Connection:
        if self._connection is None:
            raw, self._raw = self._raw, None  # one pooled connection per store: the one already held, if any
            self._connection = self.engine.connect() if raw is None else db.adopt(self.engine, raw)
            self._connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A connection in autocommit for one statement: the kept one, or one checked out for this call."""
        if not self._keep:
            with self.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                with connection.begin():  # SQLAlchemy's bookkeeping only: the driver sends no BEGIN
                    yield connection
            return
        connection = self._open()
        with connection.begin():
            yield connection

    def _once(self, work: Callable[[Connection], _T]) -> _T:
        """One statement in autocommit, sent again once if the connection turned out dead.

        Without pool pre-ping, a pooled connection the server dropped meanwhile (a restart) fails on
        the first statement sent over it, before the server could run anything: that one is sent
        again, once, on a new connection. A connection lost later fails the request, as it should.
        """
        fresh = self._connection is None
        try:
            with self._tx() as connection:
                return work(connection)
        except DBAPIError as error:
            if not (error.connection_invalidated and fresh):
                raise
            self.close()
        with self._tx() as connection:
            return work(connection)

    def _run(self, statement: db.Statement, params: Mapping[str, Any]) -> list[Any]:
        """One compiled statement; its rows (RETURNING's, for a write).

        Sent on the driver's own cursor (`_driver`: the thread's own connection on PostgreSQL,
        db.autocommit_connection elsewhere), unless this store already holds
        a SQLAlchemy connection (a request that also ran a Core query or a transaction): then on
        that one, as `_once` sends everything else.
        """
        if self._connection is not None:

            def work(connection: Connection) -> list[Any]:
                result = statement.run(connection, params)
                return list(result.all()) if result.returns_rows else []

            return self._once(work)
        fresh = not self._thread_used if self._threads is not None else self._raw is None
        try:
            try:
                return self._send(statement, params)
            except DBAPIError as error:
                if not (error.connection_invalidated and fresh):
                    raise
            return self._send(statement, params)  # once more, on a new connection (see `_once`)
        finally:
            if not self._keep:  # outside a request: one connection per call
                self._give_back_raw()

    def _send(self, statement: db.Statement, params: Mapping[str, Any]) -> list[Any]:
        """The statement on the driver's connection; a driver error comes out as SQLAlchemy's, as `_once` expects.

        On the thread's own PostgreSQL connection it goes through libpq as a prepared statement
        (`pgprepared`: the same text, parameters and rows, for a third of the cursor's CPU);
        elsewhere, and for parameters `pgprepared` does not send, on the driver's cursor.
        A connection the server dropped is let go (`_lost`), so a retry does not use it again.
        Listeners of `before_cursor_execute` on the engine still see the statement (with no
        SQLAlchemy connection: the first argument is None; a cursor of the connection it goes on).
        """
        driver = self._driver()
        dialect = self.engine.dialect
        sql, args = statement.for_driver(dialect, params)
        cursor = None
        try:
            if self.engine.dispatch.before_cursor_execute:
                cursor = driver.cursor()
                self.engine.dispatch.before_cursor_execute(None, cursor, sql, args, None, False)
            if self._threads is not None and self._prepare:
                rows = pgprepared.execute(driver, sql, args)
                if rows is not None:
                    return rows
            cursor = cursor or driver.cursor()
            cursor.execute(sql, args)
            return list(cursor.fetchall()) if cursor.description else []
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, driver, cursor)
            if lost:
                self._lost(driver, error)
            raise DBAPIError.instance(
                sql, args, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
            ) from error
        finally:
            if cursor is not None:
                with contextlib.suppress(dialect.loaded_dbapi.Error):  # a dropped connection's cursor is gone too
                    cursor.close()

    def _driver(self) -> Any:
        """The driver's connection in autocommit: the thread's own (PostgreSQL), else one drawn from the pool."""
        if self._threads is not None:
            self._thread_used = True
            return self._threads.get(self.engine)[0]
        if self._raw is None:
            self._raw = db.autocommit_connection(self.engine)
        assert self._raw.dbapi_connection is not None
        return self._raw.dbapi_connection

    def _lost(self, driver: Any, error: Exception) -> None:
        """A connection the server dropped: forgotten, so a retry draws a new one."""
        if self._threads is not None:
            self._threads.forget(driver)
            return
        raw, self._raw = self._raw, None
        assert raw is not None
        self.engine.pool._invalidate(raw, error)  # noqa: SLF001 - SQLAlchemy's own reaction to a disconnect

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        self._kept.clear()  # the caller writes what it likes: read again afterwards
        self._new = None
        if not self._keep:
            with self.engine.begin() as connection:
                yield connection
            return
        connection = self._open()
        connection.execution_options(isolation_level=connection.default_isolation_level)
        try:
            with connection.begin():
                yield connection
        finally:
            if connection.invalidated:
                self.close()
            else:
                connection.execution_options(isolation_level="AUTOCOMMIT")

    def transaction(self) -> AbstractContextManager[Connection]:
        """One real transaction on this store's connection, for several statements that belong together."""
        return self._transaction()

    def _lesson(self, learner: str, lesson: str) -> _Kept:
        """The learner's steps, hints, answers and runs in a lesson: one query, kept for this request."""
        kept = self._kept_for(learner, lesson)
        if kept is not None:
            return kept
        kept, _ = _kept_from(self._run(_EVERYTHING, {"learner": learner, "lesson": lesson}), learner, lesson)
        if self._keep:
            self._kept[(learner, lesson)] = kept
        return kept

    def record_step(self, learner: str, lesson: str, walkthrough: str, step: int, read: bool = False) -> None:
        """Remember the step shown and the furthest reached, in one upsert (the database keeps the maximum).

        `read`: the caller will read the learner's progress in the lesson. On PostgreSQL it is then
        read in the same statement (the upsert as a CTE, its row in place of the old one), unless
        this request has read it already; elsewhere it is read when asked for, as without `read`.
        """
        if self._recorded == (learner, lesson, walkthrough, step):
            return  # written by the click path in this request, and read with it (`take_over`)
        params = {"learner": learner, "lesson": lesson, "walkthrough": walkthrough, "step": step, "now": time.time()}
        if read and self._keep and self.engine.dialect.name == "postgresql" and self._kept_for(learner, lesson) is None:
            self._kept[(learner, lesson)], _ = _kept_from(self._run(_STEP_AND_EVERYTHING, params), learner, lesson)
            return
        kept = self._kept_for(learner, lesson)
        if kept is None:  # nothing of the learner is kept to bring up to date: no RETURNING to send and parse
            self._run(_STEP_UPSERT_QUIET, params)
            return
        rows = self._run(_STEP_UPSERT, params)
        if rows:
            current, furthest, updated = rows[0]
            kept.steps[walkthrough] = StepProgress(current, furthest, updated)

    def steps(self, learner: str, lesson: str) -> dict[str, StepProgress]:
        """Every step-through of the lesson the learner opened, by slug."""
        return dict(self._lesson(learner, lesson).steps)

    def record_hint(self, learner: str, lesson: str, quiz: str, question: int) -> None:
        """Remember that a hint was shown (the first time counts)."""
        params = {"learner": learner, "lesson": lesson, "quiz": quiz, "question": question, "at": time.time()}
        self._run(_HINT_INSERT, params)
        kept = self._kept_for(learner, lesson)
        if kept is not None:
            kept.hints.add((quiz, question))

    def hints(self, learner: str, lesson: str) -> set[tuple[str, int]]:
        """The (quiz, question) pairs whose hint the learner has seen."""
        return set(self._lesson(learner, lesson).hints)

    def record_answer(self, answer: Answer) -> None:
        """Keep one attempt (or a skipped prediction)."""
        params = {
            "learner": answer.learner,
            "lesson": answer.lesson,
            "quiz": answer.quiz,
            "question": answer.question,
            "choices": json.dumps(list(answer.choices)),
            "correct": answer.correct,
            "hinted": answer.hinted,
            "at": answer.at,
        }
        self._run(_ANSWER_INSERT, params)
        kept = self._kept_for(answer.learner, answer.lesson)
        if kept is not None:
            kept.answers.append(answer)
            kept.answers.sort(key=lambda a: a.at)  # stable: the database's order (at, id)

    def record_attempt(
        self, learner: str, lesson: str, quiz: str, question: int, choices: tuple[int, ...], correct: bool
    ) -> Answer:
        """Keep one attempt, noting whether the learner had seen the question's hint before it; the Answer kept.

        The hint flag is decided by the store in the same statement (a hint row for the question).
        When this request has not read the learner's progress in the lesson yet, it is read with the
        insert: on PostgreSQL in the same statement (the insert as a CTE, its row added to the read),
        on SQLite in a read right after it (SQLite has no INSERT in a CTE).
        """
        at = time.time()
        params = {
            "learner": learner,
            "lesson": lesson,
            "quiz": quiz,
            "question": question,
            "choices": json.dumps(list(choices)),
            "correct": correct,
            "at": at,
        }
        kept = self._kept_for(learner, lesson)
        if kept is None and self._keep and self.engine.dialect.name == "postgresql":
            kept, new = _kept_from(self._run(_ATTEMPT_AND_EVERYTHING, params), learner, lesson)
            self._kept[(learner, lesson)] = kept
            assert new is not None
            return new
        rows = self._run(_ATTEMPT_INSERT, params)
        answer = Answer(learner, lesson, quiz, question, choices, correct, bool(rows[0][0]), at)
        if kept is None:
            self._lesson(learner, lesson)  # read after the insert: it holds the new answer
        else:
            kept.answers.append(answer)
            kept.answers.sort(key=lambda a: a.at)  # stable: the database's order (at, id)
        return answer

    def answers(self, learner: str, lesson: str) -> list[Answer]:
        """A learner's answers in one lesson, oldest first (read on every click of a walk with predictions)."""
        return list(self._lesson(learner, lesson).answers)

    def own_run(self, learner: str, lesson: str, walkthrough: str) -> str | None:
        """The command log of the learner's own run of a step-through (tutor/runstore.py), if any."""
        return self._lesson(learner, lesson).runs.get(walkthrough)

    def put_run(self, learner: str, lesson: str, walkthrough: str, log: str) -> None:
        """Keep (or replace) the command log of the learner's own run."""
        params = {"learner": learner, "lesson": lesson, "walkthrough": walkthrough, "log": log, "now": time.time()}
        self._run(_RUN_UPSERT, params)
        kept = self._kept_for(learner, lesson)
        if kept is not None:
            kept.runs[walkthrough] = log

    def delete_run(self, learner: str, lesson: str, walkthrough: str) -> None:
        """Forget the learner's own run of a step-through."""
        self._run(_RUN_DELETE, {"learner": learner, "lesson": lesson, "walkthrough": walkthrough})
        kept = self._kept_for(learner, lesson)
        if kept is not None:
            kept.runs.pop(walkthrough, None)

    def _answers(self, *where: Any) -> list[Answer]:
        t = db.answers.c
        query = (
            select(t.learner, t.lesson, t.quiz, t.question, t.choices, t.correct, t.hinted, t.at)
            .where(*where)
            .order_by(t.at, t.id)
        )
        rows = self._once(lambda connection: connection.execute(query).all())
        return [_answer(tuple(row)) for row in rows]

    def all_answers(self, lesson: str | None = None) -> list[Answer]:
        """Every learner's answers (in one lesson, or all), oldest first."""
        return self._answers(db.answers.c.lesson == lesson) if lesson else self._answers()

    def reset(self, learner: str, lesson: str) -> None:
        """Forget a learner's steps, hints and answers in one lesson, in one transaction."""
        with self._transaction() as connection:
            for table in (db.steps, db.hints, db.answers):
                connection.execute(delete(table).where(table.c.learner == learner, table.c.lesson == lesson))

    def lessons_of(self, learner: str) -> list[str]:
        """Every lesson the learner left a trace in, sorted."""
        query = union(
            *(select(table.c.lesson).where(table.c.learner == learner) for table in (db.steps, db.answers, db.hints))
        )
        return sorted(self._once(lambda connection: [row[0] for row in connection.execute(query)]))

    def execute(self, query: Any) -> list[tuple[Any, ...]]:
        """Run a read-only query (the results report's aggregates)."""
        return self._once(lambda connection: [tuple(row) for row in connection.execute(query)])


def _answer(row: tuple[Any, ...]) -> Answer:
    learner, lesson, quiz, question, choices, correct, hinted, at = row
    return Answer(learner, lesson, quiz, question, _choices(choices), bool(correct), bool(hinted), at)


@functools.lru_cache(maxsize=1024)
def _choices(stored: str) -> tuple[int, ...]:
    """An answer's choices from their stored JSON ("[0, 2]"): a handful of texts, each decoded once.

    A page and a quiz answer read every attempt of the learner in the lesson; with 100 attempts
    (py-spy on a worker under a load of quiz answers only), json.loads was a third of the time spent
    turning those rows into answers. Within the noise at 20 attempts (bench/request_kinds.py).
    """
    return tuple(json.loads(stored))


# --- the statements of a click and of a quiz form, each compiled once per dialect ------------------

_LEARNER, _LESSON = bindparam("learner", type_=Text), bindparam("lesson", type_=Text)


def _kept_from(rows: list[Any], learner: str, lesson: str) -> tuple[_Kept, Answer | None]:
    """What `_EVERYTHING` (or `_ATTEMPT_AND_EVERYTHING`) returned, and the answer just inserted (kind 4), if any."""
    kept = _Kept()
    new = None
    for kind, name, number, a, b, at, body, _id in rows:
        if kind == 0:
            kept.steps[name] = StepProgress(a, b, at)
        elif kind == 1:
            kept.hints.add((name, number))
        elif kind in (2, 4):
            kept.answers.append(Answer(learner, lesson, name, number, _choices(body), bool(a), bool(b), at))
            new = kept.answers[-1] if kind == 4 else new
        else:
            kept.runs[name] = body
    if new is not None:
        kept.answers.sort(key=lambda answer: answer.at)  # stable: the database's order (at, id)
    return kept, new


def _everything(_dialect: str) -> Any:
    """One learner's rows of four tables in one lesson, as one result: kind, name, number, a, b, at, body, id.

    kind 0 steps (a, b: current, furthest), 1 hints, 2 answers (a, b: correct, hinted; body: choices),
    3 own runs (body: the log). Answers come in the order they were given.
    """
    return union_all(*_everything_parts()).order_by(literal_column("1"), literal_column("6"), literal_column("8"))


def _everything_parts(but_the_walk: bool = False) -> list[Any]:
    """The four SELECTs of `_everything` (`but_the_walk`: without the step row of the bound walkthrough)."""
    s, h, a, r = db.steps.c, db.hints.c, db.answers.c, db.own_runs.c
    no_int, no_float, no_text = cast(null(), Integer), cast(null(), Float), cast(null(), Text)
    kind = _kind
    return [
        select(kind(0), s.walkthrough, no_int, s.current, s.furthest, s.updated, no_text, no_int).where(
            s.learner == _LEARNER,
            s.lesson == _LESSON,
            *([s.walkthrough != bindparam("walkthrough", type_=Text)] if but_the_walk else []),
        ),
        select(kind(1), h.quiz, h.question, no_int, no_int, no_float, no_text, no_int).where(
            h.learner == _LEARNER, h.lesson == _LESSON
        ),
        select(
            kind(2), a.quiz, a.question, cast(a.correct, Integer), cast(a.hinted, Integer), a.at, a.choices, a.id
        ).where(a.learner == _LEARNER, a.lesson == _LESSON),
        select(kind(3), r.walkthrough, no_int, no_int, no_int, r.updated, r.log, no_int).where(
            r.learner == _LEARNER, r.lesson == _LESSON
        ),
    ]


def _kind(number: int) -> Any:
    return literal_column(str(number), Integer).label("kind")


def _upsert_insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _step_upsert(dialect: str) -> Any:
    """The step reached, RETURNING what is now kept (for a request that read the learner's progress already)."""
    return _step_upsert_quiet(dialect).returning(db.steps.c.current, db.steps.c.furthest, db.steps.c.updated)


def _step_upsert_quiet(dialect: str) -> Any:
    """The step reached: `furthest` keeps the maximum in the same statement.

    Without RETURNING: a hot click reads nothing back, and parsing a returned row cost it about
    15 us of the 90 us of CPU a click took (measured in one process over 4,000 clicks on PostgreSQL).
    """
    t = db.steps
    statement = _upsert_insert(dialect)(t).values(
        learner=_LEARNER,
        lesson=_LESSON,
        walkthrough=bindparam("walkthrough", type_=Text),
        current=bindparam("step", type_=Integer),
        furthest=bindparam("step", type_=Integer),
        updated=bindparam("now", type_=Float),
    )
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["learner", "lesson", "walkthrough"],
        set_={
            "current": new.current,
            "furthest": case((new.furthest > t.c.furthest, new.furthest), else_=t.c.furthest),
            "updated": new.updated,
        },
    )


def _hint_insert(dialect: str) -> Any:
    statement = _upsert_insert(dialect)(db.hints).values(
        learner=_LEARNER,
        lesson=_LESSON,
        quiz=bindparam("quiz", type_=Text),
        question=bindparam("question", type_=Integer),
        at=bindparam("at", type_=Float),
    )
    return statement.on_conflict_do_nothing()


def _answer_insert(_dialect: str) -> Any:
    names = ("quiz", "question", "choices", "correct", "hinted", "at")
    columns = {name: bindparam(name, type_=db.answers.c[name].type) for name in names}
    return insert(db.answers).values(learner=_LEARNER, lesson=_LESSON, **columns)


def _attempt_insert(_dialect: str) -> Any:
    """One attempt, its hint flag from the hints table in the same statement; RETURNING it (and its id, `at`)."""
    a, h = db.answers, db.hints.c
    quiz, question = bindparam("quiz", type_=Text), bindparam("question", type_=Integer)
    hinted = exists().where(h.learner == _LEARNER, h.lesson == _LESSON, h.quiz == quiz, h.question == question)
    values = select(
        _LEARNER,
        _LESSON,
        quiz,
        question,
        bindparam("choices", type_=Text),
        bindparam("correct", type_=a.c.correct.type),
        hinted,
        bindparam("at", type_=Float),
    )
    names = ["learner", "lesson", "quiz", "question", "choices", "correct", "hinted", "at"]
    return (
        insert(a)
        .from_select(names, values)
        .returning(a.c.hinted, a.c.quiz, a.c.question, a.c.correct, a.c.at, a.c.choices, a.c.id)
    )


def _attempt_and_everything(_dialect: str) -> Any:
    """PostgreSQL: the attempt's insert as a CTE, and `_everything` with the inserted row as kind 4.

    The CTE's insert is not seen by the SELECTs of the same statement (one snapshot), so its row
    comes from RETURNING only: no answer is read twice.
    """
    new = _attempt_insert("postgresql").cte("new")
    row = select(
        _kind(4),
        new.c.quiz,
        new.c.question,
        cast(new.c.correct, Integer),
        cast(new.c.hinted, Integer),
        new.c.at,
        new.c.choices,
        new.c.id,
    )
    return union_all(*_everything_parts(), row).order_by(literal_column("1"), literal_column("6"), literal_column("8"))


def _step_and_everything(_dialect: str) -> Any:
    """PostgreSQL: the step upsert as a CTE, and `_everything` with the upserted row in place of the walk's old one.

    The SELECTs of the statement see the steps as they were before it (one snapshot), so the walk's
    row comes from RETURNING only.
    """
    up = _step_upsert("postgresql").cte("up")
    no_int, no_text = cast(null(), Integer), cast(null(), Text)
    row = select(
        _kind(0),
        bindparam("walkthrough", type_=Text),
        no_int,
        up.c.current,
        up.c.furthest,
        up.c.updated,
        no_text,
        no_int,
    )
    return union_all(*_everything_parts(but_the_walk=True), row).order_by(
        literal_column("1"), literal_column("6"), literal_column("8")
    )


def _run_upsert(dialect: str) -> Any:
    statement = _upsert_insert(dialect)(db.own_runs).values(
        learner=_LEARNER,
        lesson=_LESSON,
        walkthrough=bindparam("walkthrough", type_=Text),
        log=bindparam("log", type_=Text),
        updated=bindparam("now", type_=Float),
    )
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["learner", "lesson", "walkthrough"], set_={"log": new.log, "updated": new.updated}
    )


def _run_delete(_dialect: str) -> Any:
    t = db.own_runs.c
    return delete(db.own_runs).where(
        t.learner == _LEARNER, t.lesson == _LESSON, t.walkthrough == bindparam("walkthrough", type_=Text)
    )


_EVERYTHING = db.Statement(_everything)
_STEP_UPSERT = db.Statement(_step_upsert)
_STEP_UPSERT_QUIET = db.Statement(_step_upsert_quiet)
_HINT_INSERT = db.Statement(_hint_insert)
_ANSWER_INSERT = db.Statement(_answer_insert)
_ATTEMPT_INSERT = db.Statement(_attempt_insert)
_ATTEMPT_AND_EVERYTHING = db.Statement(_attempt_and_everything)
_STEP_AND_EVERYTHING = db.Statement(_step_and_everything)
_RUN_UPSERT = db.Statement(_run_upsert)
_RUN_DELETE = db.Statement(_run_delete)
