"""One PostgreSQL driver connection per thread, in autocommit for good, for the store's single statements.

Why: a request's statements go straight to the driver's cursor (`progress.SqlStore._send`). Drawing
that connection from SQLAlchemy's pool for every request and handing it back (the checkout, the
driver's autocommit flag set and reset, the pool's reset on return) was about a fifth of a hot
click's CPU: 0.079 to 0.086 ms for the whole click against 0.062 to 0.071 ms with this (one process,
rounds of 4,000 clicks on PostgreSQL). A thread serves one request at a time, so the connection it
keeps is never shared; a gunicorn worker of T threads holds T of them beside its pool (README,
Deploying).

SQLite keeps the pool (`for_engine` gives None): drawing one of its connections costs no round trip.

Each connection is made by the engine's pool and detached from it (`PoolProxiedConnection.detach`),
so the pool's connect hooks ran on it and the pool no longer counts it. A connection found dead is
closed and forgotten (`forget`): the thread's next statement makes a new one. So is one found,
before a statement, anywhere but idle (closed, or left mid-statement or in a transaction by an
interrupted request): it is never reused as it is, as the pool would reset it. The connections a
process made are closed when the engine is disposed or garbage collected. One made before a fork is
never used nor closed by the child: closing it there would end the parent's session.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event

_ENGINES: weakref.WeakKeyDictionary[Engine, ThreadConnections] = weakref.WeakKeyDictionary()
_ENGINES_LOCK = threading.Lock()


def for_engine(engine: Engine) -> ThreadConnections | None:
    """The engine's per-thread connections, made on first use; None for a database that keeps its pool."""
    if engine.dialect.name != "postgresql":
        return None
    found = _ENGINES.get(engine)
    if found is None:
        with _ENGINES_LOCK:
            found = _ENGINES.get(engine)
            if found is None:
                found = _ENGINES[engine] = ThreadConnections()
                event.listen(engine, "engine_disposed", found.close_all)
    return found


class ThreadConnections:
    """The connections of one engine, one per thread. Holds no reference to the engine (a weak key's value)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        # (process id, driver connection) of every one made; a parent's stay here in a forked child,
        # never closed there and kept from the garbage collector, whose finalizer would close them
        self._made: list[tuple[int, Any]] = []
        weakref.finalize(self, _close, self._made, self._lock)

    def get(self, engine: Engine) -> tuple[Any, bool]:
        """This thread's driver connection, and whether it was made just now (a kept one may have died idle)."""
        local = self._local
        kept: Any = getattr(local, "connection", None)
        if kept is not None and local.pid == os.getpid():
            if kept.info.transaction_status.name == "IDLE":  # psycopg's pq.TransactionStatus, not imported here
                return kept, False
            self.forget(kept)  # closed, or left mid-statement or in a transaction: never reused as it is
        fairy = engine.raw_connection()
        try:
            connection: Any = fairy.dbapi_connection
            fairy.detach()
            connection.autocommit = True  # psycopg: a local flag while the connection is idle
        except BaseException:
            fairy.invalidate()
            raise
        local.connection, local.pid = connection, os.getpid()
        with self._lock:
            self._made.append((os.getpid(), connection))
        return connection, True

    def forget(self, connection: Any) -> None:
        """Close a connection found dead, so this thread's next statement makes a new one."""
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None
        with self._lock:
            self._made[:] = [(pid, made) for pid, made in self._made if made is not connection]
        with contextlib.suppress(Exception):
            connection.close()

    def close_all(self, _engine: Engine | None = None) -> None:
        """Close every connection this process made (the engine is disposed: no request runs on it)."""
        _close(self._made, self._lock)


def _close(made: list[tuple[int, Any]], lock: threading.Lock) -> None:
    with lock:
        mine = [connection for pid, connection in made if pid == os.getpid()]
        made[:] = [(pid, connection) for pid, connection in made if pid != os.getpid()]
    for connection in mine:
        with contextlib.suppress(Exception):
            connection.close()
