"""The embedded backend's connections hand commands to fakeredis as fields; what comes back is what the
protocol bytes would have given: replies, errors, pipelines, transactions, a killed connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import fakeredis
import pytest
import redis
from fakeredis._clients._sync import FakeRedisConnection
from fakeredis._socket import FakeSocket
from hypothesis import given, settings
from hypothesis import strategies as st

from tutor import fakecompat
from tutor.backend import Backend
from tutor.fakedirect import DirectConnection


def fake(server: fakeredis.FakeServer, kind: type[FakeRedisConnection] = DirectConnection) -> redis.Redis:
    return fakeredis.FakeRedis(
        server=server, decode_responses=True, single_connection_client=True, connection_class=kind
    )


@pytest.fixture
def pair() -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """A direct client and a client through the protocol, each on a server of its own (same key names)."""
    fakecompat.install()
    direct, protocol = fake(fakeredis.FakeServer()), fake(fakeredis.FakeServer(), FakeRedisConnection)
    yield direct, protocol
    direct.close()
    protocol.close()


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """A reply, or the kind and text of the error raised instead."""
    try:
        return "reply", call()
    except Exception as error:  # noqa: BLE001 - the error is the outcome compared
        return type(error).__name__, str(error)


SCRIPTS: list[list[tuple[Any, ...]]] = [
    [("SET", "k", "v"), ("GET", "k"), ("APPEND", "k", "é€"), ("STRLEN", "k"), ("GETRANGE", "k", 0, -1)],
    [("RPUSH", "k", 1, 2.5, b"three"), ("LRANGE", "k", 0, -1), ("LPOP", "k", 2), ("TYPE", "k")],
    [("SET", "k", "x"), ("LPUSH", "k", "a"), ("INCR", "k"), ("INCRBYFLOAT", "k", "nope")],
    [("GET",), ("SET", "k"), ("NOSUCHCOMMAND", "a"), ("SET", "k", "v", "PX", -1)],
    [("HSET", "k", "f", "1", "g", "2"), ("HGETALL", "k"), ("HINCRBY", "k", "f", 5), ("HMGET", "k", "f", "h")],
    [("ZADD", "k", 1.5, "a", 2, "b"), ("ZRANGE", "k", 0, -1, "WITHSCORES"), ("ZSCORE", "k", "a")],
    [("XADD", "k", "1-1", "f", "v"), ("XRANGE", "k", "-", "+"), ("XADD", "k", "1-1", "f", "v")],
    [("SET k", "words"), ("GET", "k"), (b"APPEND k", b" more"), ("GET", "k")],  # redis-py splits a name's words
    [("CLIENT SETNAME", "someone"), ("CLIENT GETNAME",), ("CONFIG GET", "maxmemory-policy")],
    [("SET", "k", "v", "EX", 100), ("TTL", "k"), ("EXPIRE", "k", "soon"), ("PERSIST", "k"), ("TTL", "k")],
    [("BLPOP", "k", 0.01), ("RPUSH", "k", "j"), ("BLMOVE", "k", "k:to", "LEFT", "RIGHT", 0.01)],
    [("RPUSH", "k", "a"), ("LMPOP", 1, "k", "LEFT"), ("EXISTS", "k"), ("TYPE", "k")],
    [("XREAD", "COUNT", 1, "STREAMS", "k", "0-0"), ("SET", "k", "s"), ("XREAD", "STREAMS", "k", "0-0")],
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: str(script[0][0]))
def test_each_command_answers_as_through_the_protocol(
    pair: tuple[redis.Redis, redis.Redis], script: list[tuple[Any, ...]]
) -> None:
    direct, protocol = pair
    got = [[outcome(lambda: client.execute_command(*command)) for command in script] for client in pair]  # noqa: B023
    assert got[0] == got[1]


def test_pipelines_and_transactions_answer_as_through_the_protocol(pair: tuple[redis.Redis, redis.Redis]) -> None:
    direct, protocol = pair
    got = []
    for client in (direct, protocol):
        key = "q"
        plain = client.pipeline(transaction=False)
        plain.rpush(key, "a", "b").set(key, "x").lrange(key, 0, -1).incr(key).type(key)
        transaction = client.pipeline(transaction=True)
        transaction.rpush(key, "c").incr(key).lpop(key)
        watched = client.pipeline(transaction=True)
        watched.watch(key)
        watched.multi()
        watched.rpush(key, "d")
        client.rpush(key, "spoiler")  # WATCH sees this: EXEC aborts
        aborted = outcome(watched.execute)
        queued_error = client.pipeline(transaction=True)
        queued_error.execute_command("SET", key)  # wrong arity while queued: EXECABORT
        got.append(
            [
                outcome(lambda: plain.execute(raise_on_error=False)),  # noqa: B023
                outcome(lambda: transaction.execute(raise_on_error=False)),  # noqa: B023
                aborted,
                outcome(queued_error.execute),
                outcome(lambda: client.lrange(key, 0, -1)),  # noqa: B023
            ]
        )
    direct_got, protocol_got = got
    assert repr(direct_got) == repr(protocol_got)  # exceptions inside replies compare by their text
    assert direct_got[2] == ("WatchError", "Watched variable changed.")
    assert direct_got[3][0] == "ResponseError" and "wrong number of arguments" in direct_got[3][1]


def test_pubsub_on_a_direct_connection_hears_a_publish() -> None:
    server = fakeredis.FakeServer()
    listener = fakeredis.FakeRedis(server=server, decode_responses=True, connection_class=DirectConnection).pubsub()
    listener.subscribe("news")
    assert listener.get_message(timeout=1)["type"] == "subscribe"
    assert fake(server, FakeRedisConnection).publish("news", "hello") == 1
    message = listener.get_message(timeout=1)
    assert message is not None and message["data"] == "hello"
    listener.close()


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.text(max_size=20), st.binary(max_size=20), st.integers(), st.floats(allow_nan=False)),
        min_size=1,
        max_size=6,
    )
)
def test_any_argument_is_stored_as_through_the_protocol(values: list[Any]) -> None:
    fakecompat.install()
    server = fakeredis.FakeServer()
    stored = []
    for kind in (DirectConnection, FakeRedisConnection):
        client = fakeredis.FakeRedis(server=server, single_connection_client=True, connection_class=kind)
        key = f"{kind.__name__}:list"
        client.rpush(key, *values)
        stored.append(client.lrange(key, 0, -1))
        client.close()
    assert stored[0] == stored[1]
    assert len(stored[0]) == len(values)


def test_an_argument_redis_py_refuses_is_refused_the_same(pair: tuple[redis.Redis, redis.Redis]) -> None:
    refused = [outcome(lambda: client.execute_command("SET", "k", {"not": "a value"})) for client in pair]  # noqa: B023
    assert refused[0] == refused[1]
    assert refused[0][0] == "DataError"


def test_a_killed_connection_says_so() -> None:
    got = []
    for kind in (DirectConnection, FakeRedisConnection):
        server = fakeredis.FakeServer()
        victim = fake(server, kind)
        victim_id = victim.client_id()
        got.append(outcome(lambda: fake(server).execute_command("CLIENT KILL", "ID", victim_id)))  # noqa: B023
        got.append(outcome(victim.ping))  # noqa: B023
    assert got[:2] == got[2:]
    assert got[1][0] == "ConnectionError"


def test_the_backends_connections_go_around_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes written to a fake socket fail here: every command of an engine run still gets its reply."""

    def no_bytes(self: Any, data: Any) -> None:
        raise AssertionError(f"protocol bytes written: {data!r}")

    backend = Backend()
    client = backend.connection()
    shared = backend.shared()
    monkeypatch.setattr(FakeSocket, "sendall", no_bytes)
    assert isinstance(client.connection, DirectConnection)
    client.rpush("jobs", "a", "b")
    pipe = client.pipeline(transaction=True)
    pipe.lpop("jobs").llen("jobs")
    assert pipe.execute() == ["a", 1]
    assert shared.lrange("jobs", 0, -1) == ["b"]
    backend.release(client)
    backend.close()
