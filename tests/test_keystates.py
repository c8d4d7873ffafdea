"""Reading watched keys with a guess of their types (the types read last time) gives exactly what
reading them without one gives, on the embedded backend and on a real Redis, whether the guess is
right, wrong, or missing; a right guess costs one round trip instead of two."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tutor.backend import Backend
from tutor.keystates import read_key_states

WATCH = ["s", "l", "h", "set", "z", "x", "gone"]
TYPES = ["string", "list", "hash", "set", "zset", "stream", "none"]


@pytest.fixture(params=["embedded", "redis"])
def observer(request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    backend = Backend(request.getfixturevalue("real_redis") if request.param == "redis" else None)
    client = backend.connection()
    client.set("p:s", "v")
    client.rpush("p:l", "a", "b")
    client.hset("p:h", mapping={"f": "1"})
    client.sadd("p:set", "m")
    client.zadd("p:z", {"m": 2.5})
    client.xadd("p:x", {"f": "v"}, id="1-1")
    try:
        yield client
    finally:
        client.delete(*[f"p:{key}" for key in WATCH])
        backend.release(client)
        backend.close()


class Counting:
    """The observer, counting the pipelines it hands out (each is one round trip)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.pipelines = 0

    def pipeline(self, transaction: bool = True) -> Any:
        self.pipelines += 1
        return self.client.pipeline(transaction=transaction)


def test_every_guess_reads_what_no_guess_reads(observer: redis.Redis) -> None:
    plain = read_key_states(observer, "p:", WATCH)
    assert [plain[key]["type"] for key in WATCH] == TYPES
    assert plain["z"]["py"] == "[('m', 2.5)]"
    right = dict(zip(WATCH, TYPES, strict=True))
    shifted = dict(zip(WATCH, TYPES[1:] + TYPES[:1], strict=True))  # every guess wrong
    for guess in (right, shifted, {}, {"s": "list", "gone": "hash"}):
        assert read_key_states(observer, "p:", WATCH, guess) == plain


def test_a_right_guess_costs_one_round_trip_and_a_wrong_one_two(observer: redis.Redis) -> None:
    right = dict(zip(WATCH, TYPES, strict=True))
    counting = Counting(observer)
    read_key_states(counting, "p:", WATCH, right)  # type: ignore[arg-type]
    assert counting.pipelines == 1
    read_key_states(counting, "p:", WATCH, {**right, "l": "string"})  # type: ignore[arg-type]
    assert counting.pipelines == 3


def test_an_empty_string_and_an_emptied_stream_are_keys_not_missing(observer: redis.Redis) -> None:
    observer.set("p:s", "")
    observer.xdel("p:x", "1-1")  # the stream stays, with no entries
    guess = dict(zip(WATCH, TYPES, strict=True))
    read = read_key_states(observer, "p:", WATCH, guess)
    assert (read["s"]["type"], read["s"]["py"]) == ("string", "''")
    assert (read["x"]["type"], read["x"]["value"]) == ("stream", [])
    assert read == read_key_states(observer, "p:", WATCH)
