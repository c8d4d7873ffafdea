"""The store's statements sent to PostgreSQL through libpq, as server-side prepared statements.

Why: under bench/load.py, py-spy showed psycopg's own Python code (a cursor and its adapters map per
statement, the query's conversion, the parameters' dumping, the prepare manager, the generator that
drives the protocol) at over half of a hot click's GIL time, and a click sends one statement.
`PGconn.exec_prepared` does the same protocol work in C and waits without the GIL: measured in one
process (2026-12-01, 4,000 step upserts in rounds), 19.7 us of CPU per statement against 57.3 us
through `cursor.execute`, and 73 against 114 us of wall time.

What it sends is what the cursor sent: the statement's text with its named parameters numbered
($1, $2, ...: `%(name)s` is the dialect's paramstyle), in the text format, and PostgreSQL's answer
comes back through psycopg's own loaders (`Transformer`), so a row is the same Python tuple as
`cursor.fetchall()` gives. Each statement is prepared once per connection, on its first use there,
with the parameters' types named as psycopg names them for the cursor (text is left for the server
to infer, as psycopg leaves it); a statement whose parameters are of other types than these is
sent by the caller's cursor instead (`execute` returns None). A connection that lost its prepared
statements (a DISCARD, a server-side pooler) has the statement prepared again, once.

A prepared statement's name is a digest of its text and parameter types, never a counter: whoever
prepared a name on a server session (another process, behind a pooler that hands one server
session to several clients), it stands for the same statement, so a name found there already
(duplicate_prepared_statement) is used as it is, and no statement can run in another's place. A
pooler in transaction mode without prepared-statement support (PgBouncer before 1.21, or with
max_prepared_statements 0) still cannot keep a statement between two transactions: there
TUTOR_PG_PREPARED=0 turns this module off (and psycopg's own preparing), tutor/db.py.

Errors are psycopg's: the server's error as `psycopg.errors.error_from_result` makes it, and a
connection that broke as psycopg's OperationalError, with the connection's status BAD (the test
SQLAlchemy's dialect makes for a disconnect).
"""

from __future__ import annotations

import hashlib
import re
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import Transformer

_PARAM = re.compile(r"%\((\w+)\)s|%%")
# Python type -> the OID prepared for it: as psycopg's dumpers name them for the text format, with int
# at its widest (psycopg picks int2/int4/int8 by value; a prepared statement fixes one type). str is
# "unknown" (0), as psycopg sends it, so the server infers the column's type.
_TYPES: dict[type, int] = {str: 0, int: 20, float: 701, bool: 16}
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_UNDEFINED_STATEMENT = b"26000"  # invalid_sql_statement_name: the server has no statement by that name
_DUPLICATE_STATEMENT = b"42P05"  # duplicate_prepared_statement: the server session has that name already


class _Numbered:
    """A statement's SQL with numbered parameters, the names in their order, and its prepared names by types."""

    __slots__ = ("_by_types", "names", "sql")

    def __init__(self, sql: bytes, names: tuple[str, ...]) -> None:
        self.sql, self.names = sql, names
        self._by_types: dict[tuple[int, ...], bytes] = {}

    def name(self, types: tuple[int, ...]) -> bytes:
        """The prepared statement's name for these parameter types: the same in every process and version."""
        found = self._by_types.get(types)
        if found is None:
            digest = hashlib.sha256(self.sql + b"\0" + repr(types).encode()).hexdigest()[:32]
            found = self._by_types[types] = b"tutor_" + digest.encode()  # 38 bytes: under NAMEDATALEN
        return found


class _Prepared:
    """What one connection has prepared, and its loader of answers (one thread uses it at a time)."""

    __slots__ = ("names", "transformer", "types")

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.names: set[bytes] = set()  # the names prepared on this connection
        self.types: dict[bytes, tuple[int, ...]] = {}  # a statement's SQL -> the types it last ran with
        self.transformer = Transformer(connection)


_NUMBERED: dict[str, _Numbered] = {}  # by SQL text: only the store's compiled statements, a fixed few
_NUMBERED_LOCK = threading.Lock()  # also guards the first entry of a connection in _CONNECTIONS
_CONNECTIONS: weakref.WeakKeyDictionary[Any, _Prepared] = weakref.WeakKeyDictionary()


def numbered(sql: str) -> _Numbered:
    """The statement with `%(name)s` numbered as `$k` (a name used twice keeps its number), `%%` as `%`."""
    found = _NUMBERED.get(sql)
    if found is not None:
        return found
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = _PARAM.sub(number, sql)
    with _NUMBERED_LOCK:
        found = _NUMBERED.get(sql)
        if found is None:
            found = _NUMBERED[sql] = _Numbered(text.encode(), tuple(names))
    return found


def execute(connection: Any, sql: str, params: Any) -> list[Any] | None:
    """Run the statement on `connection` (psycopg, autocommit, idle); its rows; None: send it by a cursor.

    None when a parameter is of a type not in `_TYPES` (its text form is not plainly repr()), the
    parameters are not named (`%(name)s`, the psycopg dialect's paramstyle), or the connection's
    encoding is not UTF-8. A None (NULL) takes the type its place last ran with on this
    connection, so a statement is not prepared again for it.
    """
    if not isinstance(params, Mapping):  # a dialect that sends parameters by position: not ours
        return None
    prepared = _CONNECTIONS.get(connection)
    if prepared is None:
        if connection.info.encoding != "utf-8":
            return None
        with _NUMBERED_LOCK:
            prepared = _CONNECTIONS.setdefault(connection, _Prepared(connection))
    statement = numbered(sql)
    before = prepared.types.get(statement.sql)
    values: list[bytes | None] = []
    types: list[int] = []
    for place, name in enumerate(statement.names):
        value = params[name]
        if value is None:
            values.append(None)
            types.append(before[place] if before is not None else 0)
            continue
        kind = _TYPES.get(type(value))
        if kind is None:
            return None
        types.append(kind)
        if kind == 0:
            values.append(value.encode())
        elif kind == 16:
            values.append(b"t" if value else b"f")
        else:
            values.append(repr(value).encode())  # int and float: repr() is exact, and PostgreSQL reads it
    pgconn = connection.pgconn
    kinds = tuple(types)
    label = statement.name(kinds)
    if label not in prepared.names:
        _prepare(pgconn, prepared, statement, label, kinds)
    if before != kinds:
        prepared.types[statement.sql] = kinds
    result = pgconn.exec_prepared(label, values)
    if result.status not in _OK and result.error_field(pq.DiagnosticField.SQLSTATE) == _UNDEFINED_STATEMENT:
        prepared.names.discard(label)  # the server forgot it (DISCARD ALL, a pooler): once more
        _prepare(pgconn, prepared, statement, label, kinds)
        result = pgconn.exec_prepared(label, values)
    return _rows(connection, prepared, result)


def _prepare(pgconn: Any, prepared: _Prepared, statement: _Numbered, label: bytes, kinds: tuple[int, ...]) -> None:
    """PREPARE on the server; a name the server session has already is the same statement (see the module)."""
    result = pgconn.prepare(label, statement.sql, kinds)
    if result.status not in _OK and result.error_field(pq.DiagnosticField.SQLSTATE) != _DUPLICATE_STATEMENT:
        raise _error(pgconn, result)
    prepared.names.add(label)


def _error(pgconn: Any, result: Any) -> psycopg.Error:
    """The server's error as psycopg raises it; a broken connection as its OperationalError, as its cursor does."""
    if pgconn.status == pq.ConnStatus.BAD:
        message = result.error_message.decode("utf-8", "replace").strip() or "the connection was lost"
        return psycopg.OperationalError(message)
    return errors.error_from_result(result, encoding="utf-8")  # `execute` uses UTF-8 connections only


def _rows(connection: Any, prepared: _Prepared, result: Any) -> list[Any]:
    if result.status == pq.ExecStatus.COMMAND_OK:
        return []
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise _error(connection.pgconn, result)
    transformer = prepared.transformer
    transformer.set_pgresult(result)
    try:
        return transformer.load_rows(0, result.ntuples, tuple)
    finally:
        transformer.set_pgresult(None)
