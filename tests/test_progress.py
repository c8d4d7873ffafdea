"""The progress store keeps learners' progress the same way on SQLite and on PostgreSQL, its schema
is Alembic's (a file from before Alembic upgrades without loss), and a request uses one connection."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from flask import Flask

from tutor import create_app, db
from tutor.progress import SqlStore
from tutor.records import Answer, ProgressStore, StepProgress, export

ROOT = Path(__file__).resolve().parent.parent
LEARNER = "learner-one-" + "x" * 32
OTHER = "learner-two-" + "y" * 32


@pytest.fixture(params=[True, False], ids=["one-connection", "connection-per-call"])
def store(request: pytest.FixtureRequest, engine: sqlalchemy.Engine) -> Iterator[ProgressStore]:
    """The store as a request holds it (one connection), and as scripts use it (one per call)."""
    opened = SqlStore(engine, keep=request.param)
    yield opened
    opened.close()


def answer(question: int, choices: tuple[int, ...], correct: bool, at: float, **kw: object) -> Answer:
    fields: dict[str, object] = {
        "learner": LEARNER,
        "lesson": "redis-broker",
        "quiz": "step-through:main",
        "question": question,
        "choices": choices,
        "correct": correct,
        "hinted": False,
        "at": at,
    }
    fields.update(kw)
    return Answer(**fields)  # type: ignore[arg-type]


def test_a_new_learner_has_nothing(store: ProgressStore) -> None:
    assert store.steps(LEARNER, "redis-broker") == {}
    assert store.answers(LEARNER, "redis-broker") == []
    assert store.hints(LEARNER, "redis-broker") == set()
    assert store.lessons_of(LEARNER) == []
    assert export(store, LEARNER) == {"learner": LEARNER, "lessons": {}}


def test_record_step_keeps_the_current_step_and_the_furthest_reached(store: ProgressStore) -> None:
    store.record_step(LEARNER, "redis-broker", "main", 3)
    store.record_step(LEARNER, "redis-broker", "main", 5)
    store.record_step(LEARNER, "redis-broker", "main", 1)
    saved = store.steps(LEARNER, "redis-broker")
    assert set(saved) == {"main"}
    assert isinstance(saved["main"], StepProgress)
    assert (saved["main"].current, saved["main"].furthest) == (1, 5)
    assert saved["main"].updated > 0


def test_steps_are_kept_per_step_through_and_per_learner(store: ProgressStore) -> None:
    store.record_step(LEARNER, "redis-broker", "main", 2)
    store.record_step(LEARNER, "redis-broker", "two-workers", 4)
    store.record_step(OTHER, "redis-broker", "main", 5)
    mine = store.steps(LEARNER, "redis-broker")
    assert {k: (v.current, v.furthest) for k, v in mine.items()} == {"main": (2, 2), "two-workers": (4, 4)}
    assert {k: (v.current, v.furthest) for k, v in store.steps(OTHER, "redis-broker").items()} == {"main": (5, 5)}


def test_answers_come_back_in_the_order_given(store: ProgressStore) -> None:
    given = [
        answer(2, (0,), False, 100.0),
        answer(2, (1,), True, 101.0, hinted=True),
        answer(1, (0, 2), True, 102.0),
        answer(3, (), False, 103.0, quiz="performance"),
    ]
    for item in given:
        store.record_answer(item)
    assert store.answers(LEARNER, "redis-broker") == given
    assert store.all_answers("redis-broker") == given
    assert store.all_answers() == given
    assert store.answers(OTHER, "redis-broker") == []


def test_all_answers_covers_every_learner_and_lesson(store: ProgressStore) -> None:
    mine = answer(1, (0,), True, 10.0)
    theirs = answer(1, (1,), False, 11.0, learner=OTHER)
    elsewhere = answer(1, (2,), True, 12.0, lesson="celery")
    for item in (mine, theirs, elsewhere):
        store.record_answer(item)
    assert store.all_answers("redis-broker") == [mine, theirs]
    assert store.all_answers() == [mine, theirs, elsewhere]


def test_hints_are_a_set_of_quiz_and_question(store: ProgressStore) -> None:
    store.record_hint(LEARNER, "redis-broker", "step-through:main", 1)
    store.record_hint(LEARNER, "redis-broker", "step-through:main", 1)
    store.record_hint(LEARNER, "redis-broker", "performance", 2)
    assert store.hints(LEARNER, "redis-broker") == {("step-through:main", 1), ("performance", 2)}
    assert store.hints(OTHER, "redis-broker") == set()
    assert store.hints(LEARNER, "celery") == set()


def test_reset_forgets_one_lesson_only(store: ProgressStore) -> None:
    for lesson in ("redis-broker", "celery"):
        store.record_step(LEARNER, lesson, "main", 2)
        store.record_hint(LEARNER, lesson, "step-through:main", 1)
        store.record_answer(answer(1, (0,), True, 1.0, lesson=lesson))
    store.record_step(OTHER, "redis-broker", "main", 4)
    store.reset(LEARNER, "redis-broker")
    assert store.steps(LEARNER, "redis-broker") == {}
    assert store.hints(LEARNER, "redis-broker") == set()
    assert store.answers(LEARNER, "redis-broker") == []
    assert store.lessons_of(LEARNER) == ["celery"]
    assert store.steps(LEARNER, "celery")["main"].current == 2
    assert store.hints(LEARNER, "celery") == {("step-through:main", 1)}
    assert len(store.answers(LEARNER, "celery")) == 1
    assert store.steps(OTHER, "redis-broker")["main"].current == 4


def test_lessons_of_lists_every_lesson_touched_sorted(store: ProgressStore) -> None:
    store.record_answer(answer(1, (0,), True, 1.0, lesson="redis-broker"))
    store.record_hint(LEARNER, "celery", "performance", 1)
    store.record_step(LEARNER, "async-flask", "main", 1)
    store.record_step(OTHER, "zzz", "main", 1)
    assert store.lessons_of(LEARNER) == ["async-flask", "celery", "redis-broker"]


def test_export_holds_everything_kept_about_a_learner(store: ProgressStore) -> None:
    store.record_step(LEARNER, "redis-broker", "main", 4)
    store.record_step(LEARNER, "redis-broker", "main", 2)
    store.record_hint(LEARNER, "redis-broker", "step-through:main", 1)
    store.record_answer(answer(1, (0,), False, 50.0))
    store.record_answer(answer(1, (1,), True, 51.0, hinted=True))
    store.record_step(OTHER, "redis-broker", "main", 5)
    data = export(store, LEARNER)
    assert data["learner"] == LEARNER
    assert list(data["lessons"]) == ["redis-broker"]
    lesson = data["lessons"]["redis-broker"]
    step = lesson["steps"]["main"]
    assert (step["current"], step["furthest"]) == (2, 4)
    assert set(step) == {"current", "furthest", "updated"}
    assert lesson["hints"] == [["step-through:main", 1]]
    assert lesson["answers"] == [
        {
            "quiz": "step-through:main",
            "question": 1,
            "choices": (0,),
            "correct": False,
            "hinted": False,
            "at": 50.0,
        },
        {
            "quiz": "step-through:main",
            "question": 1,
            "choices": (1,),
            "correct": True,
            "hinted": True,
            "at": 51.0,
        },
    ]


def test_a_new_store_object_on_the_same_database_sees_the_same_progress(engine: sqlalchemy.Engine) -> None:
    SqlStore(engine, keep=False).record_step(LEARNER, "redis-broker", "main", 3)
    again = db.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert SqlStore(again, keep=False).steps(LEARNER, "redis-broker")["main"].furthest == 3
    finally:
        again.dispose()


def test_a_new_database_is_at_the_newest_revision(engine: sqlalchemy.Engine) -> None:
    assert db.head() is not None
    assert db.current(engine) == db.head()
    assert db.upgrade(engine) == db.head()  # a second upgrade is a no-op


def test_processes_starting_at_once_migrate_an_empty_database_once(database_url: str) -> None:
    engines = [db.make_engine(database_url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def start(engine: sqlalchemy.Engine) -> None:
        try:
            barrier.wait(timeout=30)
            db.upgrade(engine)
        except BaseException as error:  # reported below, with the thread's own error
            errors.append(error)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert all(db.current(engine) == db.head() for engine in engines)
        SqlStore(engines[0], keep=False).record_step(LEARNER, "redis-broker", "main", 1)
        assert SqlStore(engines[1], keep=False).steps(LEARNER, "redis-broker")["main"].current == 1
    finally:
        for engine in engines:
            engine.dispose()


# The schema tutor/progress.py created before Alembic (verbatim): files like this exist on servers.
BEFORE_ALEMBIC = """
CREATE TABLE IF NOT EXISTS steps (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, walkthrough TEXT NOT NULL,
  current INTEGER NOT NULL, furthest INTEGER NOT NULL, updated REAL NOT NULL,
  PRIMARY KEY (learner, lesson, walkthrough));
CREATE TABLE IF NOT EXISTS hints (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, quiz TEXT NOT NULL, question INTEGER NOT NULL,
  at REAL NOT NULL, PRIMARY KEY (learner, lesson, quiz, question));
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, learner TEXT NOT NULL, lesson TEXT NOT NULL,
  quiz TEXT NOT NULL, question INTEGER NOT NULL, choices TEXT NOT NULL, correct INTEGER NOT NULL,
  hinted INTEGER NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS answers_by_learner ON answers (learner, lesson);
CREATE INDEX IF NOT EXISTS answers_by_lesson ON answers (lesson);
"""


def _old_file(path: Path) -> None:
    """A progress file as the SQLite store of before wrote it: its schema, its WAL mode, its rows."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(BEFORE_ALEMBIC)
        with connection:
            connection.executemany(
                "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)",
                [(LEARNER, "redis-broker", "main", 2, 5, 100.5), (OTHER, "celery", "two-workers", 1, 1, 101.25)],
            )
            connection.executemany(
                "INSERT INTO hints VALUES (?, ?, ?, ?, ?)",
                [(LEARNER, "redis-broker", "step-through:main", 1, 102.0), (OTHER, "celery", "performance", 2, 103.0)],
            )
            connection.executemany(
                "INSERT INTO answers (learner, lesson, quiz, question, choices, correct, hinted, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (LEARNER, "redis-broker", "step-through:main", 1, json.dumps([0]), 0, 0, 104.0),
                    (LEARNER, "redis-broker", "step-through:main", 1, json.dumps([1]), 1, 1, 105.0),
                    (LEARNER, "redis-broker", "step-through:main", 3, json.dumps([]), 0, 0, 106.0),
                    (OTHER, "celery", "performance", 2, json.dumps([0, 2]), 1, 0, 107.0),
                ],
            )
    finally:
        connection.close()


def test_a_progress_file_from_before_alembic_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "tutor.sqlite3"
    _old_file(path)
    engine = db.make_engine(db.sqlite_url(path))
    try:
        assert db.current(engine) is None  # never migrated
        assert db.upgrade(engine) == db.head()
        assert db.current(engine) == db.head()
        store = SqlStore(engine, keep=False)
        assert store.steps(LEARNER, "redis-broker") == {"main": StepProgress(2, 5, 100.5)}
        assert store.steps(OTHER, "celery") == {"two-workers": StepProgress(1, 1, 101.25)}
        assert store.hints(LEARNER, "redis-broker") == {("step-through:main", 1)}
        assert store.hints(OTHER, "celery") == {("performance", 2)}
        assert store.all_answers() == [
            Answer(LEARNER, "redis-broker", "step-through:main", 1, (0,), False, False, 104.0),
            Answer(LEARNER, "redis-broker", "step-through:main", 1, (1,), True, True, 105.0),
            Answer(LEARNER, "redis-broker", "step-through:main", 3, (), False, False, 106.0),
            Answer(OTHER, "celery", "performance", 2, (0, 2), True, False, 107.0),
        ]
        assert store.lessons_of(LEARNER) == ["redis-broker"]
        # and the upgraded file takes new progress the way a new one does
        store.record_step(LEARNER, "redis-broker", "main", 7)
        store.record_answer(Answer(LEARNER, "redis-broker", "performance", 1, (1,), True, False, 108.0))
        assert store.steps(LEARNER, "redis-broker")["main"].furthest == 7
        assert len(store.answers(LEARNER, "redis-broker")) == 4
    finally:
        engine.dispose()


def test_the_site_upgrades_an_old_progress_file_on_startup(tmp_path: Path) -> None:
    path = tmp_path / "tutor.sqlite3"
    _old_file(path)
    app = create_app({"TESTING": True, "TUTOR_DATABASE": str(path), "SECRET_KEY": "s", "REDIS_URL": None})
    assert db.current(app.extensions["tutor.db"]) == db.head()
    assert app.extensions["tutor.progress"].steps(LEARNER, "redis-broker")["main"].furthest == 5


def test_tutor_db_upgrade_migrates_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tutor.cli import main

    path = tmp_path / "tutor.sqlite3"
    _old_file(path)
    url = db.sqlite_url(path)
    assert main(["db", "current", "--database-url", url]) == 0
    assert f"revision none (newest: {db.head()})" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert f"revision none -> {db.head()}" in capsys.readouterr().out
    assert main(["db", "current", "--database-url", url]) == 0
    assert f"revision {db.head()} (newest" in capsys.readouterr().out


def test_a_sqlite_database_writes_ahead_and_syncs_normally(tmp_path: Path) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path / "p.sqlite3"))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: no fsync per commit
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "redis://127.0.0.1:6379/0"])
def test_an_unsupported_database_url_is_refused_with_a_sentence(url: str) -> None:
    with pytest.raises(db.DatabaseURLError, match="DATABASE_URL"):
        db.make_engine(url)


def test_postgres_urls_use_psycopg_3() -> None:
    for given in ("postgres://u:p@h/d", "postgresql://u:p@h/d", "postgresql+psycopg2://u:p@h/d"):
        assert db.normalise_url(given).drivername == "postgresql+psycopg"


def _checkouts(app: Flask) -> list[str]:
    events: list[str] = []
    pool = app.extensions["tutor.db"].pool
    sqlalchemy.event.listen(pool, "checkout", lambda *_: events.append("out"))
    sqlalchemy.event.listen(pool, "checkin", lambda *_: events.append("in"))
    return events


def test_a_request_uses_one_connection_and_gives_it_back(database_url: str) -> None:
    """SQLite: one pooled connection per request. PostgreSQL: the thread's own, drawn once (tutor/threadconn.py)."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "s", "REDIS_URL": None})
    client = app.test_client()
    events = _checkouts(app)
    drivers: list[int] = []
    sqlalchemy.event.listen(
        app.extensions["tutor.db"],
        "before_cursor_execute",
        lambda _c, cursor, *_: drivers.append(id(cursor.connection)),
    )
    # a step click: reads the saved step and predictions, runs, writes the step reached
    assert client.get("/lessons/redis-broker/step-through?step=2").status_code == 200
    assert client.get("/lessons/redis-broker/step-through").status_code == 200
    assert client.get("/").status_code == 200  # the catalog reads every topic's progress
    assert client.get("/lessons/redis-broker/step-through?step=3", headers={"HX-Request": "true"}).status_code == 200
    if app.extensions["tutor.db"].dialect.name == "postgresql":
        assert events == ["out"]  # made once for this thread and detached from the pool
        assert len(drivers) >= 4 and len(set(drivers)) == 1  # every statement on that one connection
    else:
        assert events == ["out", "in"] * 4
    assert app.extensions["tutor.db"].pool.checkedout() == 0
    app.extensions["tutor.db"].dispose()


def test_progress_records_and_quiz_rules_import_no_framework_and_no_driver() -> None:
    heavy = "('flask', 'sqlalchemy', 'sqlite3', 'psycopg', 'redis', 'fakeredis')"
    code = f"import sys, tutor.quiz, tutor.records; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_templates_get_no_helper_that_reads_progress(app: Flask) -> None:
    callables: dict[str, Any] = {k: v for k, v in app.jinja_env.globals.items() if callable(v)}
    own = {name: fn for name, fn in callables.items() if getattr(fn, "__module__", "").startswith("tutor.")}
    # csrf_token derives a token from the session and the secret key; cached_fragment, kept_question and
    # kept_section keep rendered pieces (tutor/stepcache.py: a question's state comes in the view the
    # template was given); nothing else of ours is callable there.
    assert set(own) == {"csrf_token", "cached_fragment", "kept_question", "kept_section"}


def _statements(app: Flask) -> list[tuple[str, bool]]:
    """Every statement the app sends from now on, and whether the driver's connection was in autocommit.

    Asked of the driver itself (sqlite3: no implicit BEGIN; psycopg: its autocommit flag), since a
    click's statements go straight to the driver's cursor (SqlStore._send).
    """
    sent: list[tuple[str, bool]] = []

    def autocommit(driver_connection: Any) -> bool:
        if isinstance(driver_connection, sqlite3.Connection):
            return driver_connection.isolation_level is None
        return bool(driver_connection.autocommit)

    def record(_connection: sqlalchemy.Connection | None, cursor: Any, statement: str, *_: Any) -> None:
        sent.append((statement.split()[0], autocommit(cursor.connection)))

    sqlalchemy.event.listen(app.extensions["tutor.db"], "before_cursor_execute", record)
    return sent


def _click_app(database_url: str) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "s", "REDIS_URL": None})


def test_a_step_click_is_one_read_and_one_upsert_each_in_autocommit(database_url: str) -> None:
    app = _click_app(database_url)
    client = app.test_client()
    walk = "/lessons/redis-broker/step-through"
    assert client.get(f"{walk}?step=1").status_code == 200
    sent = _statements(app)
    # step 4 of redis-broker holds a prediction (asked before step 5): the click reads answers, the
    # own run and the furthest step, and writes the step reached
    assert client.get(f"{walk}?step=4", headers={"HX-Request": "true"}).status_code == 200
    assert sent == [("SELECT", True), ("INSERT", True)]
    steps = SqlStore(app.extensions["tutor.db"], keep=False).steps(client_learner(client), "redis-broker")
    assert (steps["main"].current, steps["main"].furthest) == (4, 4)
    app.extensions["tutor.db"].dispose()


def client_learner(client: Any) -> str:
    with client.session_transaction() as session:
        return str(session["learner"])


def test_answering_a_quiz_question_is_one_statement_on_postgresql_and_an_insert_and_a_read_on_sqlite(
    database_url: str,
) -> None:
    app = _click_app(database_url)
    client = app.test_client()
    page = client.get("/lessons/redis-broker/step-through?step=1").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]*)"', page)
    assert token is not None
    lesson = app.extensions["tutor.catalog"].get("redis-broker")
    question = lesson.step_throughs[0].quiz[0]
    right = next(i for i, choice in enumerate(question.choices) if choice.correct)
    form = {"csrf": html.unescape(token.group(1)), "quiz": "step-through:main", "question": "1", "place": "mode"}
    sent = _statements(app)
    response = client.post(
        "/lessons/redis-broker/quiz/answer", data={**form, "choice": str(right)}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "is-right" in response.get_data(as_text=True)
    # PostgreSQL: the insert as a CTE of the read of everything; SQLite has no INSERT in a CTE
    postgres = app.extensions["tutor.db"].dialect.name == "postgresql"
    assert sent == ([("WITH", True)] if postgres else [("INSERT", True), ("SELECT", True)])
    answers = SqlStore(app.extensions["tutor.db"], keep=False).answers(client_learner(client), "redis-broker")
    assert [(a.question, a.choices, a.correct) for a in answers] == [(1, (right,), True)]
    app.extensions["tutor.db"].dispose()


@pytest.mark.postgres
def test_pooled_connections_the_server_dropped_are_replaced_without_an_error(postgres_url: str) -> None:
    app = _click_app(postgres_url)
    client = app.test_client()
    walk = "/lessons/redis-broker/step-through"
    assert client.get(f"{walk}?step=1").status_code == 200
    admin = sqlalchemy.create_engine(db.normalise_url(postgres_url), poolclass=sqlalchemy.NullPool)

    def drop_the_pools_connections() -> int:
        with admin.connect() as connection:
            return int(
                connection.execute(
                    sqlalchemy.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )

    assert drop_the_pools_connections() >= 1  # the pool's idle connection is gone: a restart looks the same
    assert client.get(f"{walk}?step=2", headers={"HX-Request": "true"}).status_code == 200  # first: the upsert
    assert drop_the_pools_connections() >= 1
    download = client.get("/progress.json")  # first: the query of every lesson the learner touched
    assert (
        download.status_code == 200 and download.get_json()["lessons"]["redis-broker"]["steps"]["main"]["furthest"] == 2
    )
    app.extensions["tutor.db"].dispose()


def test_a_new_learners_first_page_reads_nothing_and_equals_the_page_rendered_after_reading(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id made in this request has nothing stored under it: the page's one statement is the step upsert."""
    from tutor import learner

    app = _click_app(database_url)
    made = "a-new-learner-" + "x" * 30
    monkeypatch.setattr(learner.secrets, "token_urlsafe", lambda _size: made)
    walk = "/lessons/redis-broker/step-through"
    sent = _statements(app)
    first = app.test_client().get(f"{walk}?step=5")  # past every prediction: the whole quiz section, unlocked
    assert first.status_code == 200 and "quiz-section" in first.get_data(as_text=True)
    assert sent == [("INSERT", True)]
    steps = SqlStore(app.extensions["tutor.db"], keep=False).steps(made, "redis-broker")
    assert (steps["main"].current, steps["main"].furthest) == (5, 5)
    with app.extensions["tutor.db"].begin() as connection:
        connection.execute(sqlalchemy.delete(db.steps).where(db.steps.c.learner == made))
    monkeypatch.setattr(SqlStore, "mark_new", lambda self, learner: None)  # as before: read what is stored
    sent.clear()
    again = app.test_client().get(f"{walk}?step=5")
    assert sent == [("SELECT", True), ("INSERT", True)]  # the learner's progress in the lesson, read
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    app.extensions["tutor.db"].dispose()


def test_an_attempt_is_kept_with_its_hint_flag_and_read_back_as_a_later_read_sees_the_lesson(
    engine: sqlalchemy.Engine,
) -> None:
    """record_attempt reads the learner's progress with the insert: what it keeps equals a read afterwards."""
    before = SqlStore(engine, keep=True)
    before.record_step(LEARNER, "redis-broker", "main", 3)
    before.record_hint(LEARNER, "redis-broker", "step-through:main", 2)
    first = before.record_attempt(LEARNER, "redis-broker", "step-through:main", 1, (0,), False)
    before.close()
    assert not first.hinted
    store = SqlStore(engine, keep=True)  # a new request: nothing read yet
    second = store.record_attempt(LEARNER, "redis-broker", "step-through:main", 2, (1,), True)
    assert second.hinted  # the hint row was there before the attempt
    store.record_hint(LEARNER, "redis-broker", "step-through:main", 1)  # after: it does not touch the attempts
    third = store.record_attempt(LEARNER, "redis-broker", "step-through:main", 1, (1,), True)  # read already
    assert third.hinted
    kept = (store.steps(LEARNER, "redis-broker"), store.hints(LEARNER, "redis-broker"))
    kept_answers = store.answers(LEARNER, "redis-broker")
    store.close()
    read = SqlStore(engine, keep=False)
    assert kept == (read.steps(LEARNER, "redis-broker"), read.hints(LEARNER, "redis-broker"))
    assert kept_answers == read.answers(LEARNER, "redis-broker") == [first, second, third]
    assert [(a.question, a.correct, a.hinted) for a in kept_answers] == [
        (1, False, False),
        (2, True, True),
        (1, True, True),
    ]


def test_a_full_page_is_one_statement_on_postgresql_and_an_upsert_and_a_read_on_sqlite(database_url: str) -> None:
    app = _click_app(database_url)
    client = app.test_client()
    walk = "/lessons/redis-broker/step-through"
    assert client.get(f"{walk}?step=1").status_code == 200  # the learner exists
    sent = _statements(app)
    page = client.get(f"{walk}?step=2")  # no prediction at 2 or 3: only the quiz section reads
    assert page.status_code == 200 and "quiz-section" in page.get_data(as_text=True)
    postgres = app.extensions["tutor.db"].dialect.name == "postgresql"  # the upsert as a CTE of the read
    assert sent == ([("WITH", True)] if postgres else [("INSERT", True), ("SELECT", True)])
    steps = SqlStore(app.extensions["tutor.db"], keep=False).steps(client_learner(client), "redis-broker")
    assert (steps["main"].current, steps["main"].furthest) == (2, 2)
    app.extensions["tutor.db"].dispose()


@pytest.mark.parametrize("read", [False, True], ids=["upsert-then-read", "read-with-the-upsert"])
def test_a_step_recorded_with_the_read_is_kept_as_a_later_read_sees_the_lesson(
    engine: sqlalchemy.Engine, read: bool
) -> None:
    before = SqlStore(engine, keep=True)
    before.record_step(LEARNER, "redis-broker", "main", 4)
    before.record_step(LEARNER, "redis-broker", "other", 2)
    before.record_hint(LEARNER, "redis-broker", "step-through:main", 2)
    before.record_attempt(LEARNER, "redis-broker", "step-through:main", 1, (0,), False)
    before.close()
    store = SqlStore(engine, keep=True)
    store.record_step(LEARNER, "redis-broker", "main", 3, read=read)  # back one step: the furthest stays 4
    kept = (store.steps(LEARNER, "redis-broker"), store.hints(LEARNER, "redis-broker"))
    kept_answers = store.answers(LEARNER, "redis-broker")
    store.close()
    read_afterwards = SqlStore(engine, keep=False)
    assert kept == (read_afterwards.steps(LEARNER, "redis-broker"), read_afterwards.hints(LEARNER, "redis-broker"))
    assert kept_answers == read_afterwards.answers(LEARNER, "redis-broker")
    assert list(kept[0]) == ["other", "main"]  # in the order of the database's read: the one just written last
    assert (kept[0]["main"].current, kept[0]["main"].furthest) == (3, 4)


def test_a_step_upsert_asks_for_the_row_back_only_when_the_store_keeps_what_it_read(engine: sqlalchemy.Engine) -> None:
    """Nothing read yet (a hot click, a script): no RETURNING to parse; read already: the kept step follows."""
    sent: list[str] = []

    def record(_connection: sqlalchemy.Connection | None, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sqlalchemy.event.listen(engine, "before_cursor_execute", record)
    SqlStore(engine, keep=False).record_step(LEARNER, "redis-broker", "main", 5)
    store = SqlStore(engine, keep=True)
    assert store.steps(LEARNER, "redis-broker")["main"].furthest == 5  # read: kept for this request
    store.record_step(LEARNER, "redis-broker", "main", 2)
    kept = store.steps(LEARNER, "redis-broker")["main"]
    store.close()
    upserts = [statement for statement in sent if statement.startswith("INSERT")]
    assert ["RETURNING" in statement for statement in upserts] == [False, True]
    assert (kept.current, kept.furthest) == (2, 5)
    assert kept == SqlStore(engine, keep=False).steps(LEARNER, "redis-broker")["main"]
    sqlalchemy.event.remove(engine, "before_cursor_execute", record)
