"""A learner's own run and command rate live in the progress database, on SQLite and on PostgreSQL:
every app process (any host) serves one learner the same run and counts their commands together."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app, db
from tutor.guard import RunLimits
from tutor.progress import SqlStore
from tutor.runstore import SqlRunStore

ROOT = Path(__file__).resolve().parent.parent
LEARNER = "learner-one-" + "x" * 32
OTHER = "learner-two-" + "y" * 32
LOG = '[[3,"producer","run",["LPUSH","queue","world"]]]'
PAGE = "/lessons/redis-broker/step-through"


@pytest.fixture(params=[True, False], ids=["request-connection", "connection-per-call"])
def runs(request: pytest.FixtureRequest, engine: sqlalchemy.Engine) -> Iterator[SqlRunStore]:
    """The run store as a request holds it (on the progress store's one connection), and as scripts do."""
    progress = SqlStore(engine, keep=request.param)
    yield SqlRunStore(progress)
    progress.close()


def test_a_run_is_kept_per_learner_lesson_and_step_through(runs: SqlRunStore) -> None:
    assert runs.get(LEARNER, "redis-broker", "main") is None
    runs.put(LEARNER, "redis-broker", "main", LOG)
    assert runs.get(LEARNER, "redis-broker", "main") == LOG
    assert runs.get(OTHER, "redis-broker", "main") is None
    assert runs.get(LEARNER, "redis-broker", "other") is None
    assert runs.get(LEARNER, "celery", "main") is None


def test_putting_a_run_again_replaces_it_and_delete_forgets_only_that_run(runs: SqlRunStore) -> None:
    runs.put(LEARNER, "redis-broker", "main", LOG)
    runs.put(LEARNER, "redis-broker", "main", "[]")
    runs.put(OTHER, "redis-broker", "main", LOG)
    assert runs.get(LEARNER, "redis-broker", "main") == "[]"
    runs.delete(LEARNER, "redis-broker", "main")
    assert runs.get(LEARNER, "redis-broker", "main") is None
    assert runs.get(OTHER, "redis-broker", "main") == LOG
    runs.delete(LEARNER, "redis-broker", "main")  # deleting nothing is fine


def test_commands_are_counted_per_learner_per_minute(runs: SqlRunStore) -> None:
    assert [runs.count_command(LEARNER, now=600.0 + i) for i in range(3)] == [1, 2, 3]
    assert runs.count_command(OTHER, now=601.0) == 1
    assert runs.count_command(LEARNER, now=660.0) == 1  # a new minute starts again


def test_a_learners_minutes_older_than_the_last_one_are_forgotten(runs: SqlRunStore, engine: sqlalchemy.Engine) -> None:
    for minute in (0, 1, 2):
        runs.count_command(LEARNER, now=minute * 60.0)
    runs.count_command(OTHER, now=0.0)
    runs.count_command(LEARNER, now=180.0)  # minute 3: this learner's minutes before 2 go; nobody else's rows
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.select(db.command_rate.c.learner, db.command_rate.c.minute)).all()
    assert sorted(tuple(r) for r in rows) == [(LEARNER, 2), (LEARNER, 3), (OTHER, 0)]


def test_another_process_on_the_same_database_sees_the_same_run_and_count(engine: sqlalchemy.Engine) -> None:
    SqlRunStore(SqlStore(engine, keep=False)).put(LEARNER, "redis-broker", "main", LOG)
    SqlRunStore(SqlStore(engine, keep=False)).count_command(LEARNER, now=600.0)
    again = db.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        other = SqlRunStore(SqlStore(again, keep=False))
        assert other.get(LEARNER, "redis-broker", "main") == LOG
        assert other.count_command(LEARNER, now=601.0) == 2
    finally:
        again.dispose()


def test_commands_counted_at_once_by_several_processes_each_get_their_own_total(engine: sqlalchemy.Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    engines = [db.make_engine(url) for _ in range(4)]
    totals: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def count(on: sqlalchemy.Engine) -> None:
        try:
            runs = SqlRunStore(SqlStore(on, keep=False))
            barrier.wait(timeout=30)
            totals.extend(runs.count_command(LEARNER, now=600.0) for _ in range(10))
        except BaseException as error:  # reported below, with the thread's own error
            errors.append(error)

    threads = [threading.Thread(target=count, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for each in engines:
        each.dispose()
    assert errors == []
    assert sorted(totals) == list(range(1, 41))  # no count lost, none handed out twice


# The tables tutor/runstore.py created with sqlite3 before it moved to SQLAlchemy (verbatim).
BEFORE_SQLALCHEMY = """
CREATE TABLE IF NOT EXISTS own_runs (
  learner TEXT NOT NULL, lesson TEXT NOT NULL, walkthrough TEXT NOT NULL, log TEXT NOT NULL,
  updated REAL NOT NULL, PRIMARY KEY (learner, lesson, walkthrough));
CREATE TABLE IF NOT EXISTS command_rate (
  learner TEXT NOT NULL, minute INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (learner, minute));
"""


def test_a_file_with_the_consoles_own_tables_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "tutor.sqlite3"
    engine = db.make_engine(db.sqlite_url(path))
    try:
        db.upgrade(engine, "0001")  # progress as the store branch made it...
        raw = sqlite3.connect(path)
        try:
            raw.executescript(BEFORE_SQLALCHEMY)  # ...and the console's tables beside it, with rows
            with raw:
                raw.execute("INSERT INTO own_runs VALUES (?, ?, ?, ?, ?)", (LEARNER, "redis-broker", "main", LOG, 1.5))
                raw.execute("INSERT INTO command_rate VALUES (?, ?, ?)", (LEARNER, 10, 7))
        finally:
            raw.close()
        assert db.upgrade(engine) == db.head()
        runs = SqlRunStore(SqlStore(engine, keep=False))
        assert runs.get(LEARNER, "redis-broker", "main") == LOG
        assert runs.count_command(LEARNER, now=10 * 60 + 5) == 8
    finally:
        engine.dispose()


def test_no_module_but_the_database_one_opens_sqlite_itself() -> None:
    importing = [
        path.name
        for path in sorted((ROOT / "tutor").rglob("*.py"))
        if re.search(r"^\s*(import sqlite3|from sqlite3 import)", path.read_text(), re.M)
    ]
    assert importing == ["db.py"]  # its WAL pragma retry; runs and rates go through SQLAlchemy


# --- the site: two app processes on one database --------------------------------------------


def _app(database_url: str, limits: RunLimits | None = None) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(ROOT / "lessons"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "shared-secret",
            "REDIS_URL": None,
            "TUTOR_RUN_LIMITS": limits or RunLimits(),
        }
    )


def _send(client: FlaskClient, step: int, command: str) -> tuple[int, str]:
    html = client.get(f"{PAGE}?step={step}").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    data = {"csrf": match.group(1), "step": str(step), "actor": "producer", "command": command}
    response = client.post(f"{PAGE}/console", data=data, headers={"HX-Request": "true"})
    return response.status_code, response.get_data(as_text=True).replace("&#39;", "'")


def _row(client: FlaskClient, step: int) -> str:
    html = client.get(f"{PAGE}?step={step}").get_data(as_text=True).replace("&#39;", "'")
    start = html.index(f'id="row-{step}"')
    return html[start : html.index("</tr>", start)]


def _same_learner(first: FlaskClient, second: FlaskClient) -> None:
    cookie = first.get_cookie("session")
    assert cookie is not None
    second.set_cookie("session", cookie.value)


def test_two_app_processes_on_one_database_continue_one_learners_run(database_url: str) -> None:
    one, two = _app(database_url), _app(database_url)
    try:
        a, b = one.test_client(), two.test_client()
        assert _send(a, 3, "LPUSH queue world")[0] == 200
        _same_learner(a, b)
        assert "('queue', 'world')" in _row(b, 4)  # the run typed through one continues through the other
        assert _send(b, 4, "RPUSH queue more")[0] == 200
        assert "This is your run" in a.get(f"{PAGE}?step=4").get_data(as_text=True)
        assert "RPUSH queue more" in a.get(f"{PAGE}?step=4").get_data(as_text=True)
        assert _send(a, 4, "LLEN queue")[0] == 200
        assert "(integer) 1" in _send(b, 4, "LLEN queue")[1]  # world went to the consumer; more is left
    finally:
        for app in (one, two):
            app.extensions["tutor.db"].dispose()


def test_two_app_processes_on_one_database_count_one_learners_rate_together(database_url: str) -> None:
    limits = RunLimits(commands_per_minute=2)
    one, two = _app(database_url, limits), _app(database_url, limits)
    try:
        for _attempt in range(2):  # a minute that turns mid-test restarts the count: then once more, as a new learner
            minute = int(time.time() // 60)
            a, b = one.test_client(), two.test_client()
            assert _send(a, 1, "LLEN queue")[0] == 200
            _same_learner(a, b)
            assert _send(b, 1, "LLEN queue")[0] == 200
            status, html = _send(a, 1, "LLEN queue")
            if int(time.time() // 60) == minute:
                break
        assert status == 429 and "too many commands in a minute (at most 2)" in html
    finally:
        for app in (one, two):
            app.extensions["tutor.db"].dispose()


def test_a_console_command_uses_the_requests_one_connection(database_url: str) -> None:
    app = _app(database_url)
    try:
        client = app.test_client()
        client.get(f"{PAGE}?step=3")  # the learner exists
        events: list[str] = []
        pool = app.extensions["tutor.db"].pool
        sqlalchemy.event.listen(pool, "checkout", lambda *_: events.append("out"))
        sqlalchemy.event.listen(pool, "checkin", lambda *_: events.append("in"))
        # reads the run, counts the command, saves the run, and renders it: progress and run on one connection
        assert _send(client, 3, "LPUSH queue world")[0] == 200
        if app.extensions["tutor.db"].dialect.name == "postgresql":
            # the rate counter's transaction; the single statements go on the thread's own (tutor/threadconn.py)
            assert events == ["out", "in"]
        else:
            assert events == ["out", "in"] * 2  # the GET for the form's CSRF token, then the POST
    finally:
        app.extensions["tutor.db"].dispose()
