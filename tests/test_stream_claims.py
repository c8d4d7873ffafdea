"""Consumer-group claims and idle times follow lesson time: same trace on every run and both backends.

The fixture tests/fixtures/dead-consumer.yaml is issue 8's "done when" without XREADGROUP BLOCK (the
BLOCK variant is in tests/test_stream_claims_block.py): Alice's job is claimed by Bob with XAUTOCLAIM
after `wait:` has moved lesson time a minute past her delivery.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from tutor import engine
from tutor.backend import Backend
from tutor.checker import check_paths
from tutor.loader import load_file, load_text
from tutor.model import StepThrough
from tutor.replies import to_json

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEAD_CONSUMER = FIXTURES / "dead-consumer.yaml"


@pytest.fixture
def real_backend(real_redis: str) -> Iterator[Backend]:
    backend = Backend(real_redis)
    yield backend
    backend.close()


def walk_of(path: Path) -> StepThrough:
    loaded = load_file(path)
    assert loaded.lesson is not None, loaded.problems
    return loaded.lesson.step_throughs[0]


def walk_from(text: str) -> StepThrough:
    loaded = load_text(textwrap.dedent(text), "lessons/claims.yaml", "claims")
    assert loaded.lesson is not None, loaded.problems
    return loaded.lesson.step_throughs[0]


def replies(trace: dict[str, Any]) -> list[Any]:
    return [step["reply"] for step in trace["steps"]]


def assert_same_traces(traces: list[dict[str, Any]]) -> None:
    """Every trace equals the first, step by step (a mismatch names the step and both replies)."""
    first = traces[0]
    for other in traces[1:]:
        for ours, theirs in zip(first["steps"], other["steps"], strict=True):
            assert ours == theirs, f"step {ours['step']} differs: {ours['reply']} != {theirs['reply']}"
        assert first == other


def test_dead_consumer_fixture_checks_clean_on_fakeredis() -> None:
    assert check_paths([DEAD_CONSUMER], Backend()) == []


@pytest.mark.real_redis
def test_dead_consumer_fixture_checks_clean_on_real_redis(real_backend: Backend) -> None:
    assert check_paths([DEAD_CONSUMER], real_backend) == []
    assert real_backend.shared().keys("*") == []


@pytest.mark.real_redis
def test_dead_consumer_traces_are_identical_run_after_run_on_both_backends(real_backend: Backend) -> None:
    walk = walk_of(DEAD_CONSUMER)
    traces = [engine.run(walk, backend, "dead-consumer") for backend in (Backend(), Backend())]
    traces += [engine.run(walk, real_backend, "dead-consumer") for _ in range(2)]
    assert_same_traces(traces)
    steps = traces[0]["steps"]
    assert steps[7]["reply"]["value"][0]["time_since_delivered"] == 30000
    assert steps[8]["reply"]["value"] == ["0-0", [], []]
    assert [c["idle"] for c in steps[9]["reply"]["value"]] == [60000, 60000]
    assert steps[10]["reply"]["value"] == ["0-0", [["1-0", {"task": "resize"}]], []]
    assert steps[11]["reply"]["value"][0]["consumer"] == "bob"


def test_a_claim_needs_the_lesson_minute_not_a_wall_clock_minute() -> None:
    # No real minute passes in this test: only `wait:` moves the clock that XAUTOCLAIM compares with.
    walk = walk_of(DEAD_CONSUMER)
    trace = engine.run(walk, Backend(), "dead-consumer")
    assert trace["steps"][10]["clock"] == 60.0
    assert trace["steps"][10]["variables"]["claimed"]["value"] == ["0-0", [["1-0", {"task": "resize"}]], []]


CLAIMS = """\
title: Claims
step_through:
  actors: [app, alice, bob]
  watch: [s]
  variables: [got]
  steps:
    - {actor: app, action: group, redis: XGROUP CREATE s g 0 MKSTREAM}
    - {actor: app, action: add, redis: XADD s 1-0 f a}
    - {actor: app, action: add, redis: XADD s 2-0 f b}
    - {actor: alice, action: read, redis: XREADGROUP GROUP g alice STREAMS s >}
    - {actor: bob, action: too early, wait: 5, redis: XCLAIM s g bob 10000 1-0}
    - {actor: bob, action: with IDLE, redis: XCLAIM s g bob 0 2-0 IDLE 8000 JUSTID, assign: got}
    - {actor: app, action: idle filter, redis: XPENDING s g IDLE 6000 - + 10}
    - {actor: alice, action: history, wait: 3, redis: XREADGROUP GROUP g alice STREAMS s 0}
    - {actor: app, action: after history, redis: XPENDING s g - + 10}
    - {actor: app, action: summary, redis: XPENDING s g}
    - {actor: app, action: consumers, redis: XINFO CONSUMERS s g}
    - {actor: app, action: stream, redis: XINFO STREAM s}
    - {actor: app, action: claim nothing, redis: XAUTOCLAIM s g carol 60000 0-0}
    - {actor: app, action: no carol, redis: XINFO GROUPS s}
    - {actor: app, action: in a transaction, redis: MULTI}
    - {actor: app, action: queued, redis: XCLAIM s g dave 0 1-0 JUSTID}
    - {actor: app, action: queued, redis: XPENDING s g - + 10}
    - {actor: app, action: run, wait: 2, redis: EXEC}
    - {actor: app, action: rename, redis: RENAME s s2}
    - {actor: app, action: after rename, wait: 1, redis: XPENDING s2 g - + 10}
    - {actor: app, action: nothing new, redis: XREADGROUP GROUP g zed STREAMS s2 >}
    - {actor: app, action: no zed, redis: XINFO CONSUMERS s2 g}
"""


@pytest.mark.real_redis
def test_claims_idle_filters_and_history_reads_agree_on_both_backends(real_backend: Backend) -> None:
    walk = walk_from(CLAIMS)
    traces = [engine.run(walk, Backend(), "claims"), engine.run(walk, real_backend, "claims")]
    traces.append(engine.run(walk, real_backend, "claims"))
    assert_same_traces(traces)
    value = [step["reply"]["value"] if step["reply"] else None for step in traces[0]["steps"]]
    assert value[4] == []  # 5 s of lesson time is less than the 10 s asked for
    assert value[5] == ["2-0"]
    # 2-0 was given an idle time of 8 s, 1-0 has waited 5 s: only 2-0 passes IDLE 6000
    assert [(p["message_id"], p["time_since_delivered"]) for p in value[6]] == [("2-0", 8000)]
    # reading her own history redelivers 1-0 to Alice (idle 0 again); 2-0 is Bob's, 11 s idle
    assert [(p["message_id"], p["consumer"], p["time_since_delivered"]) for p in value[8]] == [
        ("1-0", "alice", 0),
        ("2-0", "bob", 11000),
    ]
    assert value[9]["consumers"] == [{"name": "alice", "pending": 1}, {"name": "bob", "pending": 1}]
    assert traces[0]["steps"][9]["reply"]["cli"].endswith('2) "1"')  # Redis sends the count as a string
    assert value[10] == [{"name": "alice", "pending": 1, "idle": 0}, {"name": "bob", "pending": 1, "idle": 3000}]
    assert list(value[11])[:3] == ["length", "radix-tree-keys", "radix-tree-nodes"]
    assert value[12] == ["0-0", [], []]
    assert value[13][0]["consumers"] == 2  # a claim that claims nothing makes no consumer in Redis 7.0
    # the renamed stream keeps its entries' times: 1 s and 14 s after their deliveries
    assert [p["time_since_delivered"] for p in value[19]] == [1000, 14000]
    # nothing new: Redis answers nil (fakeredis an empty map), which redis-py's xreadgroup() turns into []
    assert (value[20], traces[0]["steps"][20]["reply"]["cli"]) == ([], "(nil)")
    # ... and no consumer 'zed' (Redis 7.0 makes a consumer only when it serves it)
    assert [(c["name"], c["idle"]) for c in value[21]] == [("alice", 3000), ("bob", 6000), ("dave", 1000)]
    assert value[17] == [
        ["1-0"],
        [
            {"message_id": "1-0", "consumer": "dave", "time_since_delivered": 0, "times_delivered": 2},
            {"message_id": "2-0", "consumer": "bob", "time_since_delivered": 13000, "times_delivered": 1},
        ],
    ]


METHODS = """\
title: Methods
step_through:
  actors: [app]
  steps:
    - {actor: app, action: a, redis: XGROUP CREATE s g 0 MKSTREAM}
    - {actor: app, action: a, redis: XADD s 1-0 f a}
    - {actor: app, action: a, redis: XADD s 2-0 f b}
    - {actor: app, action: a, redis: XREADGROUP GROUP g alice STREAMS s >}
    - {actor: app, action: a, redis: XCLAIM s g bob 0 1-0 JUSTID}
    - {actor: app, action: a, redis: XCLAIM s g bob 0 2-0}
    - {actor: app, action: a, redis: XAUTOCLAIM s g carol 0 0-0 JUSTID}
    - {actor: app, action: a, redis: XAUTOCLAIM s g dave 0 0-0 COUNT 1}
    - {actor: app, action: a, redis: XPENDING s g}
    - {actor: app, action: a, redis: XINFO STREAM s}
    - {actor: app, action: a, redis: XINFO GROUPS s}
    - {actor: app, action: a, redis: RPUSH n 3 1 2}
    - {actor: app, action: a, redis: SORT n DESC}
    - {actor: app, action: a, redis: HINCRBYFLOAT h f 2.5}
    - {actor: app, action: a, redis: PSETEX t 60000 v}
    - {actor: app, action: a, redis: GETEX t EX 100}
"""


def test_a_python_learner_gets_what_redis_py_methods_return() -> None:
    trace = engine.run(walk_from(METHODS), Backend(), "methods")
    r = fakeredis.FakeRedis(decode_responses=True)  # the same commands as redis-py methods
    r.xgroup_create("s", "g", "0", mkstream=True)
    r.xadd("s", {"f": "a"}, id="1-0")
    r.xadd("s", {"f": "b"}, id="2-0")
    r.xreadgroup("g", "alice", {"s": ">"})
    expected = [
        r.xclaim("s", "g", "bob", 0, ["1-0"], justid=True),
        r.xclaim("s", "g", "bob", 0, ["2-0"]),
        r.xautoclaim("s", "g", "carol", 0, "0-0", justid=True),
        r.xautoclaim("s", "g", "dave", 0, "0-0", count=1),
        r.xpending("s", "g"),
        r.xinfo_stream("s"),
        r.xinfo_groups("s"),
        r.rpush("n", 3, 1, 2),
        r.sort("n", desc=True),
        r.hincrbyfloat("h", "f", 2.5),
        r.psetex("t", 60000, "v"),
        r.getex("t", ex=100),
    ]
    got = [step["reply"]["value"] for step in trace["steps"][4:]]
    assert got[:5] == [to_json(e) for e in expected[:5]]
    assert got[5]["length"] == expected[5]["length"] == 2  # fakeredis's own xinfo_stream has extra fields
    assert got[5]["first-entry"] == to_json(expected[5]["first-entry"])
    assert got[6:] == [to_json(e) for e in expected[6:]]
