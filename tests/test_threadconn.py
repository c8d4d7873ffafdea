"""The thread's own PostgreSQL connection for the store's single statements (tutor/threadconn.py)."""

from __future__ import annotations

import gc
import os
import threading
from typing import Any

import pytest
import sqlalchemy

from tutor import db, threadconn
from tutor.progress import SqlStore

pytestmark = pytest.mark.postgres
LEARNER = "learner-" + "t" * 36


# conftest's `engine` (migrated, disposed after), on PostgreSQL alone
on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _backend(connection: Any) -> int:
    return int(connection.execute("SELECT pg_backend_pid()").fetchone()[0])


def test_sqlite_keeps_its_pool(tmp_path: Any) -> None:
    engine = db.make_engine(db.sqlite_url(tmp_path / "p.sqlite3"))
    assert threadconn.for_engine(engine) is None
    engine.dispose()


@on_postgres
def test_each_thread_keeps_one_connection_in_autocommit_outside_the_pool(engine: sqlalchemy.Engine) -> None:
    connections = threadconn.for_engine(engine)
    assert connections is not None and threadconn.for_engine(engine) is connections
    first, made = connections.get(engine)
    again, made_again = connections.get(engine)
    assert made and not made_again and again is first and first.autocommit
    assert engine.pool.checkedout() == 0
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(connections.get(engine)[0]))
    thread.start()
    thread.join()
    assert other[0] is not first and _backend(other[0]) != _backend(first)


@on_postgres
def test_stores_in_one_thread_send_on_its_connection_and_what_they_write_is_committed(
    engine: sqlalchemy.Engine,
) -> None:
    sent: list[int] = []
    sqlalchemy.event.listen(engine, "before_cursor_execute", lambda _c, cursor, *_: sent.append(id(cursor.connection)))
    for step in (1, 2, 3):
        store = SqlStore(engine)
        store.record_step(LEARNER, "redis-broker", "main", step)
        store.close()
    other = sqlalchemy.create_engine(engine.url, poolclass=sqlalchemy.NullPool)  # another session sees it
    with other.connect() as connection:
        row = connection.execute(sqlalchemy.select(db.steps.c.current, db.steps.c.furthest)).one()
    other.dispose()
    assert tuple(row) == (3, 3)
    assert len(sent) == 3 and len(set(sent)) == 1


@on_postgres
def test_disposing_the_engine_closes_them_and_the_next_statement_makes_a_new_one(engine: sqlalchemy.Engine) -> None:
    connections = threadconn.for_engine(engine)
    assert connections is not None
    first, _ = connections.get(engine)
    engine.dispose()
    assert first.closed
    SqlStore(engine, keep=False).record_step(LEARNER, "redis-broker", "main", 4)
    second, made = connections.get(engine)
    assert second is not first and not made and not second.closed


@on_postgres
def test_a_connection_forgotten_is_closed_and_replaced(engine: sqlalchemy.Engine) -> None:
    connections = threadconn.for_engine(engine)
    assert connections is not None
    first, _ = connections.get(engine)
    connections.forget(first)
    assert first.closed
    second, made = connections.get(engine)
    assert made and second is not first


def test_an_engine_collected_closes_its_connections(postgres_url: str) -> None:
    engine = db.make_engine(postgres_url)
    connections = threadconn.for_engine(engine)
    assert connections is not None
    connection, _ = connections.get(engine)
    del engine, connections
    gc.collect()
    assert connection.closed  # closed, not left to the garbage collector (which warns, and errors here)


@on_postgres
def test_a_forked_child_makes_its_own_and_leaves_the_parents_open(engine: sqlalchemy.Engine) -> None:
    """As gunicorn's workers after a --preload: the child never sends on, closes or drops the parent's connection."""
    connections = threadconn.for_engine(engine)
    assert connections is not None
    parent, _ = connections.get(engine)
    parent_backend = _backend(parent)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's test machinery
        status = 1
        try:
            child, made = connections.get(engine)
            gc.collect()  # a dropped reference to the parent's connection would end the parent's session here
            connections.close_all()  # as at the worker's exit: only what the child made
            ok = made and child is not parent and child.closed and not parent.closed
            os.write(write, b"ok" if ok else b"bad")
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    answer = os.read(read, 16)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert answer == b"ok" and status == 0
    assert _backend(parent) == parent_backend  # the parent's session is alive and still its own
    assert connections.get(engine)[0] is parent


@pytest.mark.parametrize("left", ["in a transaction", "closed"])
@on_postgres
def test_a_connection_left_anywhere_but_idle_is_replaced_not_reused(engine: sqlalchemy.Engine, left: str) -> None:
    """A request interrupted mid-statement or in a transaction must not hand its state to the thread's next one."""
    connections = threadconn.for_engine(engine)
    assert connections is not None
    first, _ = connections.get(engine)
    if left == "closed":
        first.close()
    else:
        first.autocommit = False
        first.execute("SELECT 1")  # a transaction opened and left open
    second, made = connections.get(engine)
    assert made and second is not first and first.closed
    SqlStore(engine, keep=False).record_step(LEARNER, "redis-broker", "main", 2)
    assert SqlStore(engine, keep=False).steps(LEARNER, "redis-broker")["main"].current == 2
