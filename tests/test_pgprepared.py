"""The store's statements through libpq as prepared statements (tutor/pgprepared.py), on a real PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import psycopg
import pytest
import sqlalchemy

from tutor import create_app, db, pgprepared, threadconn
from tutor.progress import Answer, SqlStore

pytestmark = pytest.mark.postgres
on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # conftest's `engine`


def _thread_connection(engine: sqlalchemy.Engine) -> Any:
    connections = threadconn.for_engine(engine)
    assert connections is not None
    return connections.get(engine)[0]


def _prepared(connection: Any) -> dict[str, str]:
    """The server's prepared statements of this session: name -> parameter types."""
    rows = connection.execute("SELECT name, parameter_types::text FROM pg_prepared_statements").fetchall()
    return {name: types for name, types in rows}


def _session(engine: sqlalchemy.Engine, who: str) -> list[Any]:
    """Every kind of store statement a learner's requests send, and what each gave back."""
    seen: list[Any] = []
    store = SqlStore(engine)  # as a request: reads kept, writes update them
    store.record_step(who, "redis-broker", "main", 3, read=True)  # the upsert as a CTE of the read
    store.record_step(who, "redis-broker", "main", 5)  # with RETURNING: the read is kept
    store.record_step(who, "redis-broker", "main", 2)  # furthest stays 5
    seen.append(store.steps(who, "redis-broker"))
    store.record_hint(who, "redis-broker", "quiz", 1)
    store.record_answer(Answer(who, "redis-broker", "quiz", 2, (0, 3), False, False, 1_764_000_000.123456))
    seen.append(store.record_attempt(who, "redis-broker", "quiz", 1, (2,), True))
    store.put_run(who, "redis-broker", "main", "LPUSH q 'é ünïcode'\n")
    seen.append(store.own_run(who, "redis-broker", "main"))
    store.close()
    fresh = SqlStore(engine)  # a new request: the attempt and everything read in one statement
    seen.append(fresh.record_attempt(who, "redis-broker", "quiz", 3, (1, 0), False))
    seen += [fresh.answers(who, "redis-broker"), fresh.hints(who, "redis-broker"), fresh.steps(who, "redis-broker")]
    fresh.delete_run(who, "redis-broker", "main")
    fresh.close()
    quiet = SqlStore(engine, keep=False)  # as a script and the click path: nothing kept, no RETURNING
    quiet.record_step(who, "redis-broker", "other", 7)
    seen += [quiet.steps(who, "redis-broker"), quiet.own_run(who, "redis-broker", "main"), quiet.lessons_of(who)]
    return seen


def _without_learner(value: Any, who: str) -> Any:
    """What a session gave back, with the learner's id and the clock's times taken out."""
    text = repr(value).replace(who, "<who>")
    return re.sub(r"(at|updated)=[0-9.e+]+", r"\1=<time>", text)


@on_postgres
def test_the_store_answers_the_same_through_prepared_statements_as_through_the_cursor(
    engine: sqlalchemy.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = _thread_connection(engine)
    prepared_way = _session(engine, "learner-" + "p" * 36)
    names = _prepared(connection)
    ours = {name: types for name, types in names.items() if name.startswith("tutor_")}
    assert len(ours) >= 8, names  # every kind of statement above went through libpq, prepared once each
    assert not [name for name in names if name.startswith("_pg3_")]  # and none through psycopg's cursor

    monkeypatch.setattr(pgprepared, "execute", lambda *_: None)  # every statement by the cursor instead
    cursor_way = _session(engine, "learner-" + "c" * 36)
    assert _without_learner(prepared_way, "learner-" + "p" * 36) == _without_learner(cursor_way, "learner-" + "c" * 36)
    # the times the store wrote come back exactly (float8 in and out as text)
    assert prepared_way[1].at == SqlStore(engine, keep=False).answers("learner-" + "p" * 36, "redis-broker")[1].at


def test_named_parameters_are_numbered_once_each_and_percent_signs_kept() -> None:
    numbered = pgprepared.numbered("SELECT %(a)s, %(b)s, %(a)s, 'x%%y' WHERE c LIKE %(b)s")
    assert numbered.sql == b"SELECT $1, $2, $1, 'x%y' WHERE c LIKE $2"
    assert numbered.names == ("a", "b")
    assert pgprepared.numbered("SELECT %(a)s, %(b)s, %(a)s, 'x%%y' WHERE c LIKE %(b)s") is numbered


def test_a_prepared_name_is_a_digest_of_the_text_and_types_the_same_in_every_process() -> None:
    """Two processes that first ran the store's statements in other orders name each the same.

    Behind a pooler that hands one server session to several clients, a name another process
    prepared there must stand for the same statement (a counter would name the first statement
    each process ran `tutor_0`, whichever it was, and run one in place of another).
    """
    first, second = "SELECT %(a)s + 1", "SELECT %(b)s || 'x'"
    script = (
        "import sys; from tutor import pgprepared\n"
        "for sql in sys.argv[1:]: print(pgprepared.numbered(sql).name((20,)).decode())"
    )
    one = subprocess.run([sys.executable, "-c", script, first, second], capture_output=True, text=True, check=True)
    other = subprocess.run([sys.executable, "-c", script, second, first], capture_output=True, text=True, check=True)
    assert one.stdout.split() == list(reversed(other.stdout.split()))
    statement = pgprepared.numbered(first)
    assert statement.name((20,)).decode() == one.stdout.split()[0]
    assert statement.name((20,)) != statement.name((701,))  # other types, another statement on the server
    assert statement.name((20,)) != pgprepared.numbered(second).name((20,))
    assert len(statement.name((20,))) < 64  # PostgreSQL's NAMEDATALEN


@on_postgres
def test_types_and_null(engine: sqlalchemy.Engine) -> None:
    connection = _thread_connection(engine)
    sql = "SELECT %(n)s + 1, %(f)s * 2, %(t)s || '!', %(b)s AND true"
    rows = pgprepared.execute(connection, sql, {"n": 2**40, "f": 0.1, "t": "ü", "b": True})
    assert rows == [(2**40 + 1, 0.2, "ü!", True)]
    statement = pgprepared.numbered(sql)
    name = statement.name((20, 701, 0, 16)).decode()
    assert _prepared(connection) == {name: '{bigint,"double precision",text,boolean}'}
    # a NULL takes its place's type: not prepared again
    assert pgprepared.execute(connection, sql, {"n": None, "f": None, "t": None, "b": None}) == [(None,) * 4]
    assert _prepared(connection) == {name: '{bigint,"double precision",text,boolean}'}
    # another type in a place: prepared with it, under its own name
    assert pgprepared.execute(connection, sql, {"n": 1.5, "f": 1.0, "t": "a", "b": False}) == [(2.5, 2.0, "a!", False)]
    other = statement.name((701, 701, 0, 16)).decode()
    assert _prepared(connection) == {
        name: '{bigint,"double precision",text,boolean}',
        other: '{"double precision","double precision",text,boolean}',
    }
    assert pgprepared.execute(connection, sql, {"n": 3, "f": None, "t": None, "b": None}) == [(4, None, None, None)]
    assert len(_prepared(connection)) == 2  # both kept: back to the first, nothing prepared again
    # a type whose text form is not repr()'s: the caller's cursor sends it
    assert pgprepared.execute(connection, "SELECT %(x)s", {"x": b"bytes"}) is None
    assert pgprepared.execute(connection, "SELECT %s", ("by position",)) is None


@on_postgres
def test_a_statement_the_server_forgot_is_prepared_again(engine: sqlalchemy.Engine) -> None:
    connection = _thread_connection(engine)
    SqlStore(engine, keep=False).record_step("learner-" + "f" * 36, "redis-broker", "main", 1)
    assert any(name.startswith("tutor_") for name in _prepared(connection))
    connection.execute("DEALLOCATE ALL")  # as DISCARD ALL or a pooler's reset would
    assert _prepared(connection) == {}
    SqlStore(engine, keep=False).record_step("learner-" + "f" * 36, "redis-broker", "main", 4)
    assert SqlStore(engine, keep=False).steps("learner-" + "f" * 36, "redis-broker")["main"].furthest == 4
    assert any(name.startswith("tutor_") for name in _prepared(connection))


@on_postgres
def test_a_name_the_server_session_has_already_is_used_as_it_is(engine: sqlalchemy.Engine) -> None:
    """As behind a pooler: the server session this connection gets was used by another client first."""
    connection = _thread_connection(engine)
    who = "learner-" + "s" * 36
    SqlStore(engine, keep=False).record_step(who, "redis-broker", "main", 1)
    on_server = _prepared(connection)
    pgprepared._CONNECTIONS[connection].names.clear()  # this client has prepared nothing on it yet
    SqlStore(engine, keep=False).record_step(who, "redis-broker", "main", 3)  # PREPARE: duplicate_prepared_statement
    assert _prepared(connection) == on_server
    assert SqlStore(engine, keep=False).steps(who, "redis-broker")["main"].furthest == 3


@on_postgres
def test_with_prepared_statements_off_nothing_is_prepared_on_the_server(engine: sqlalchemy.Engine) -> None:
    """TUTOR_PG_PREPARED=0, for a pooler in transaction mode: neither the store nor psycopg prepares."""
    plain = db.make_engine(engine.url.render_as_string(hide_password=False), prepared=False)
    try:
        connection = _thread_connection(plain)
        for number in range(7):  # psycopg prepares a query on its fifth run, unless told not to
            _session(plain, f"learner-{number:0>36}")
        assert _prepared(connection) == {}
        assert SqlStore(plain, keep=False).steps("learner-" + "0" * 36, "redis-broker")["main"].furthest == 5
    finally:
        plain.dispose()


@on_postgres
def test_the_setting_reaches_the_engine(engine: sqlalchemy.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("TUTOR_PG_PREPARED", "0")
    for made in (
        db.make_engine(url),
        create_app({"DATABASE_URL": url, "TUTOR_DB_UPGRADE": False}).extensions["tutor.db"],
    ):
        assert made.get_execution_options()[db.PREPARED] is False
        made.dispose()
    monkeypatch.delenv("TUTOR_PG_PREPARED")
    made = db.make_engine(url)
    assert db.PREPARED not in made.get_execution_options()
    made.dispose()


@on_postgres
def test_a_server_error_is_psycopgs_and_leaves_the_connection_usable(engine: sqlalchemy.Engine) -> None:
    connection = _thread_connection(engine)
    with pytest.raises(psycopg.errors.DivisionByZero):
        pgprepared.execute(connection, "SELECT 1 / %(n)s", {"n": 0})
    with pytest.raises(psycopg.errors.UndefinedTable):  # an error at PREPARE
        pgprepared.execute(connection, "SELECT * FROM no_such_table WHERE a = %(n)s", {"n": 0})
    assert connection.info.transaction_status.name == "IDLE"
    assert pgprepared.execute(connection, "SELECT 1 / %(n)s", {"n": 1}) == [(1,)]


@on_postgres
def test_a_dropped_connection_is_a_disconnect_and_the_store_sends_again(engine: sqlalchemy.Engine) -> None:
    connection = _thread_connection(engine)
    pid = connection.info.backend_pid
    other = sqlalchemy.create_engine(engine.url, poolclass=sqlalchemy.NullPool)
    with other.connect() as admin:
        admin.execute(sqlalchemy.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    with pytest.raises(psycopg.OperationalError):
        pgprepared.execute(connection, "SELECT %(n)s", {"n": 1})
    assert engine.dialect.is_disconnect(psycopg.OperationalError("gone"), connection, None)  # SQLAlchemy's verdict
    # the store, on the same thread's dropped connection, forgets it and sends once more on a new one
    connections = threadconn.for_engine(engine)
    assert connections is not None
    connections.get(engine)  # still the dead one: the store finds out by its statement
    SqlStore(engine, keep=False).record_step("learner-" + "d" * 36, "redis-broker", "main", 2)
    assert SqlStore(engine, keep=False).steps("learner-" + "d" * 36, "redis-broker")["main"].current == 2
    assert _thread_connection(engine).info.backend_pid != pid
