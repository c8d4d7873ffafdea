"""The engine's blocked clients get what truly blocked clients get from Redis 7.0.

Each scenario runs three ways: on the real redis-server with one connection per actor and every
blocking command really blocked (tests/blocked_clients.py), and through the engine on fakeredis and
on the same real server. All three must agree: every reply each actor received, who is still
blocked, and the watched keys at the end. Most scenarios come from Redis's own tests
(tests/unit/type/list.tcl, zset.tcl, stream.tcl, stream-cgroups.tcl); the first ones are the
repros of issue 8, whose expected answers are also written out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from blocked_clients import Outcome, run_engine, run_real

from tutor.backend import Backend

pytestmark = pytest.mark.real_redis

Steps = list[tuple[str, str]]

# name: (steps, watched keys)
SCENARIOS: dict[str, tuple[Steps, list[str]]] = {
    # fault 1: a waiter whose key becomes another type stays blocked (list.tcl "LPUSH + DEL + SET ...")
    "issue8-1 BLPOP stays blocked across SET, DEL, LPUSH": (
        [("rd", "BLPOP k 0"), ("p", "SET k foo"), ("p", "DEL k"), ("p", "LPUSH k x")],
        ["k"],
    ),
    "issue8-1 BLPOP stays blocked across ZADD": (
        [("rd", "BLPOP k 0"), ("p", "ZADD k 1 a"), ("p", "DEL k"), ("p", "LPUSH k x")],
        ["k"],
    ),
    "issue8-1 BZPOPMIN stays blocked across LPUSH": (
        [("rd", "BZPOPMIN z 0"), ("p", "LPUSH z a"), ("p", "DEL z"), ("p", "ZADD z 1 m")],
        ["z"],
    ),
    "list.tcl BLPOP, LPUSH + DEL + SET should not awake blocked client": (
        [
            ("rd", "BLPOP list 0"),
            ("r", "MULTI"),
            ("r", "LPUSH list a"),
            ("r", "DEL list"),
            ("r", "SET list foo"),
            ("r", "EXEC"),
            ("r", "DEL list"),
            ("r", "LPUSH list b"),
        ],
        ["list"],
    ),
    "list.tcl BLPOP, LPUSH + DEL should not awake blocked client": (
        [
            ("rd", "BLPOP list 0"),
            ("r", "MULTI"),
            ("r", "LPUSH list a"),
            ("r", "DEL list"),
            ("r", "EXEC"),
            ("r", "LPUSH list b"),
        ],
        ["list"],
    ),
    # fault 2: several keys made ready in one transaction: served in the order they were written
    "issue8-2 BLPOP k1 k2 served from k2 written first": (
        [("a", "BLPOP k1 k2 0"), ("p", "MULTI"), ("p", "RPUSH k2 x"), ("p", "RPUSH k1 y"), ("p", "EXEC")],
        ["k1", "k2"],
    ),
    "issue8-2 BZPOPMIN z1 z2 served from z2 written first": (
        [("a", "BZPOPMIN z1 z2 0"), ("p", "MULTI"), ("p", "ZADD z2 1 x"), ("p", "ZADD z1 1 y"), ("p", "EXEC")],
        ["z1", "z2"],
    ),
    "issue8-2 BLMPOP served from k2 written first": (
        [
            ("a", "BLMPOP 0 2 k1 k2 LEFT COUNT 5"),
            ("p", "MULTI"),
            ("p", "RPUSH k2 x"),
            ("p", "RPUSH k1 y"),
            ("p", "EXEC"),
        ],
        ["k1", "k2"],
    ),
    "issue8-2 XREAD on two streams replies with the one served": (
        [
            ("a", "XREAD BLOCK 0 STREAMS s1 s2 $ $"),
            ("p", "MULTI"),
            ("p", "XADD s2 1-0 f v"),
            ("p", "XADD s1 1-0 f w"),
            ("p", "EXEC"),
        ],
        ["s1", "s2"],
    ),
    "zset.tcl BZMPOP with multiple blocked clients": (
        [
            ("rd1", "BZMPOP 0 2 myzset myzset2 MIN COUNT 1"),
            ("rd2", "BZMPOP 0 2 myzset myzset2 MAX COUNT 10"),
            ("rd3", "BZMPOP 0 2 myzset myzset2 MIN COUNT 10"),
            ("rd4", "BZMPOP 0 2 myzset myzset2 MAX COUNT 1"),
            ("r", "MULTI"),
            ("r", "ZADD myzset 1 a 2 b 3 c 4 d 5 e"),
            ("r", "ZADD myzset2 1 a 2 b 3 c 4 d 5 e"),
            ("r", "EXEC"),
        ],
        ["myzset", "myzset2"],
    ),
    "list.tcl MULTI/EXEC is isolated from the point of view of BLPOP": (
        [
            ("rd", "BLPOP blist 0"),
            ("r", "MULTI"),
            ("r", "LPUSH blist a"),
            ("r", "LPUSH blist b"),
            ("r", "LPUSH blist c"),
            ("r", "EXEC"),
        ],
        ["blist"],
    ),
    # fault 3: first come, first served after a cascade
    "issue8-3 a cascade serves the first waiter of the destination": (
        [("x", "BLPOP t 0"), ("a", "BLMOVE s t RIGHT LEFT 0"), ("y", "BLPOP t 0"), ("p", "RPUSH s e1")],
        ["s", "t"],
    ),
    "list.tcl Linked LMOVEs": (
        [
            ("rd1", "BLMOVE list1 list2 RIGHT LEFT 0"),
            ("rd2", "BLMOVE list2 list3 LEFT RIGHT 0"),
            ("r", "RPUSH list1 foo"),
        ],
        ["list1", "list2", "list3"],
    ),
    "list.tcl Circular BRPOPLPUSH": (
        [("rd1", "BRPOPLPUSH list1 list2 0"), ("rd2", "BRPOPLPUSH list2 list1 0"), ("r", "RPUSH list1 foo")],
        ["list1", "list2"],
    ),
    "list.tcl Self-referential BRPOPLPUSH": (
        [("rd", "BRPOPLPUSH blist blist 0"), ("r", "RPUSH blist foo")],
        ["blist"],
    ),
    "list.tcl BRPOPLPUSH with a client BLPOPing the target list": (
        [("rd", "BRPOPLPUSH blist target 0"), ("rd2", "BLPOP target 0"), ("r", "RPUSH blist foo")],
        ["blist", "target"],
    ),
    "list.tcl BRPOPLPUSH with wrong destination type": (
        [("r", "SET target nolist"), ("rd", "BRPOPLPUSH blist target 0"), ("r", "RPUSH blist foo")],
        ["blist", "target"],
    ),
    "list.tcl BRPOPLPUSH with multiple blocked clients": (
        [
            ("r", "SET target1 nolist"),
            ("rd1", "BRPOPLPUSH blist target1 0"),
            ("rd2", "BRPOPLPUSH blist target2 0"),
            ("r", "LPUSH blist foo"),
        ],
        ["blist", "target1", "target2"],
    ),
    "list.tcl BLPOP when new key is moved into place": (
        [("rd", "BLPOP foo 0"), ("r", "LPUSH bar hello"), ("r", "RENAME bar foo")],
        ["foo", "bar"],
    ),
    "list.tcl BLPOP when result key is created by SORT..STORE": (
        [
            ("r", "LPUSH notfoo hello hola aguacate konichiwa zanzibar"),
            ("rd", "BLPOP foo 0"),
            ("r", "SORT notfoo ALPHA STORE foo"),
        ],
        ["foo"],
    ),
    "a waiter on two keys stays on the other when one becomes a string": (
        [("rd", "BLPOP a b 0"), ("r", "SET a x"), ("r", "RPUSH b y")],
        ["a", "b"],
    ),
    # fault 4: timed-out replies go through redis-py's conversion
    "issue8-4 XREAD BLOCK that times out gives []": (
        [("c", "XREAD BLOCK 100 STREAMS s $"), ("c", "wait 0.6")],
        ["s"],
    ),
    "BLPOP that times out gives None": (
        [("c", "BLPOP k 0.1"), ("c", "wait 0.6")],
        ["k"],
    ),
    "XREADGROUP BLOCK that times out gives []": (
        [
            ("r", "XGROUP CREATE s g $ MKSTREAM"),
            ("c", "XREADGROUP GROUP g alice BLOCK 100 STREAMS s >"),
            ("c", "wait 0.6"),
        ],
        ["s"],
    ),
    "BZPOPMIN that times out gives None": (
        [("c", "BZPOPMIN z 0.1"), ("c", "wait 0.6")],
        ["z"],
    ),
    # stream waiters
    "stream.tcl XREAD: XADD + DEL should not awake client": (
        [
            ("rd", "XREAD BLOCK 0 STREAMS s1 $"),
            ("r", "MULTI"),
            ("r", "XADD s1 1-0 old abcd1234"),
            ("r", "DEL s1"),
            ("r", "EXEC"),
            ("r", "XADD s1 2-0 new abcd1234"),
        ],
        ["s1"],
    ),
    "stream.tcl XREAD + multiple XADD inside transaction": (
        [
            ("rd", "XREAD BLOCK 0 STREAMS s2 $"),
            ("r", "MULTI"),
            ("r", "XADD s2 1-0 field one"),
            ("r", "XADD s2 2-0 field two"),
            ("r", "XADD s2 3-0 field three"),
            ("r", "EXEC"),
        ],
        ["s2"],
    ),
    "stream.tcl XREAD with same stream name multiple times should work": (
        [("r", "XADD s2 1-0 old abcd1234"), ("rd", "XREAD BLOCK 0 STREAMS s2 s2 s2 $ $ $"), ("r", "XADD s2 2-0 new x")],
        ["s2"],
    ),
    "stream.tcl Blocking XREAD waiting old data": (
        [("r", "XADD s2 1-0 old abcd1234"), ("rd", "XREAD BLOCK 0 STREAMS s1 s2 s3 $ 0-0 $")],
        ["s2"],
    ),
    # XREADGROUP BLOCK
    "XREADGROUP BLOCK is served by a new entry": (
        [
            ("r", "XADD s 1-0 f v"),
            ("r", "XGROUP CREATE s g $"),
            ("c1", "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            ("r", "XADD s 2-0 f w"),
            ("r", "XACK s g 2-0"),
        ],
        ["s"],
    ),
    "XREADGROUP BLOCK with an explicit ID returns the history at once": (
        [
            ("r", "XADD s 1-0 f v"),
            ("r", "XGROUP CREATE s g 0"),
            ("c1", "XREADGROUP GROUP g alice STREAMS s >"),
            ("c1", "XREADGROUP GROUP g alice BLOCK 0 STREAMS s 0"),
            ("c2", "XREADGROUP GROUP g bob BLOCK 0 STREAMS s 0"),
        ],
        ["s"],
    ),
    "XREADGROUP two consumers: one entry serves the first only": (
        [
            ("r", "XGROUP CREATE s g $ MKSTREAM"),
            ("c1", "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            ("c2", "XREADGROUP GROUP g bob BLOCK 0 STREAMS s >"),
            ("r", "XADD s 1-0 job 1"),
            ("r", "XADD s 2-0 job 2"),
        ],
        ["s"],
    ),
    "stream-cgroups.tcl XGROUP DESTROY should unblock XREADGROUP with -NOGROUP": (
        [
            ("r", "XGROUP CREATE s g $ MKSTREAM"),
            ("c1", "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            ("r", "XGROUP DESTROY s g"),
        ],
        ["s"],
    ),
    "stream-cgroups.tcl Blocking XREADGROUP: key deleted": (
        [
            ("r", "XADD s 666 f v"),
            ("r", "XGROUP CREATE s g $"),
            ("c1", "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            ("r", "DEL s"),
        ],
        ["s"],
    ),
    "stream-cgroups.tcl Blocking XREADGROUP: key type changed with SET": (
        [
            ("r", "XADD s 666 f v"),
            ("r", "XGROUP CREATE s g $"),
            ("c1", "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >"),
            ("r", "SET s hello"),
        ],
        ["s"],
    ),
    "XREADGROUP BLOCK on a missing group is refused at once": (
        [("r", "XADD s 1-0 f v"), ("c1", "XREADGROUP GROUP nope alice BLOCK 0 STREAMS s >")],
        ["s"],
    ),
    # the embedded default's own differences
    "LMPOP that empties a list deletes it": (
        [("r", "RPUSH l a"), ("r", "LMPOP 1 l LEFT"), ("r", "EXISTS l"), ("r", "TYPE l")],
        ["l"],
    ),
    "BLMPOP that empties a list deletes it": (
        [("c", "BLMPOP 0 1 l LEFT"), ("r", "RPUSH l a"), ("r", "EXISTS l"), ("r", "TYPE l")],
        ["l"],
    ),
    "XREAD on a list is WRONGTYPE": (
        [("r", "RPUSH q x"), ("r", "XREAD STREAMS q 0-0"), ("r", "XREAD COUNT 1 STREAMS q $")],
        ["q"],
    ),
    "XREADGROUP on a list is WRONGTYPE": (
        [("r", "RPUSH q x"), ("r", "XREADGROUP GROUP g c STREAMS q >")],
        ["q"],
    ),
    "empty XREAD and XREADGROUP answer nil": (
        [
            ("r", "XADD s 1-0 f v"),
            ("r", "XGROUP CREATE s g $"),
            ("r", "XREADGROUP GROUP g c STREAMS s >"),
            ("r", "XREAD STREAMS s 1-0"),
        ],
        ["s"],
    ),
    "XREAD naming a stream called block does not block": (
        [("r", "XREAD STREAMS block 0")],
        [],
    ),
}

# What Redis 7.0 gives in the repros, written out (the three-way comparison checks the rest).
EXPECTED = {
    "issue8-1 BLPOP stays blocked across SET, DEL, LPUSH": ("rd", ["('k', 'x')"], {"k": "(none)"}),
    "issue8-2 BLPOP k1 k2 served from k2 written first": ("a", ["('k2', 'x')"], {"k1": "['y']", "k2": "(none)"}),
    "issue8-2 XREAD on two streams replies with the one served": (
        "a",
        ["[['s2', [('1-0', {'f': 'v'})]]]"],
        {},
    ),
    "issue8-3 a cascade serves the first waiter of the destination": ("x", ["('t', 'e1')"], {"t": "(none)"}),
    "issue8-4 XREAD BLOCK that times out gives []": ("c", ["[]"], {}),
    "LMPOP that empties a list deletes it": ("r", ["1", "['l', ['a']]", "0", "'none'"], {"l": "(none)"}),
    "XREAD on a list is WRONGTYPE": (
        "r",
        ["1"] + ["WRONGTYPE Operation against a key holding the wrong kind of value"] * 2,
        {},
    ),
}


@pytest.fixture
def real_backend(real_redis: str) -> Iterator[Backend]:
    backend = Backend(real_redis)
    yield backend
    backend.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_engine_gives_what_truly_blocked_clients_get(name: str, real_redis: str, real_backend: Backend) -> None:
    steps, watch = SCENARIOS[name]
    real = run_real(steps, watch, real_redis)
    embedded, embedded_trace = run_engine(steps, watch, Backend())
    on_redis, redis_trace = run_engine(steps, watch, real_backend)
    assert embedded == real, f"{name}: fakeredis engine {embedded} != real blocked clients {real}"
    assert on_redis == real, f"{name}: engine on Redis {on_redis} != real blocked clients {real}"
    assert embedded_trace == redis_trace, f"{name}: the traces differ between fakeredis and Redis"
    if name in EXPECTED:
        actor, replies, states = EXPECTED[name]
        assert real.replies[actor] == replies
        assert all(real.states[key] == value for key, value in states.items())


def test_still_blocked_clients_are_reported_the_same(real_redis: str) -> None:
    steps: Steps = [("rd", "BLPOP k 0"), ("p", "SET k foo")]
    real = run_real(steps, ["k"], real_redis)
    embedded, _ = run_engine(steps, ["k"], Backend())
    assert real == embedded == Outcome({"rd": [], "p": ["True"]}, {"rd"}, {"k": "'foo'"})
