"""The trace engine on the embedded fakeredis: replies, blocking, lesson time, state, isolation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tutor import engine
from tutor.backend import Backend
from tutor.loader import load_file, load_text
from tutor.model import StepThrough

ROOT = Path(__file__).resolve().parent.parent


def walk_from_yaml(body: str) -> StepThrough:
    """A step-through from the YAML of its body (actors:, steps: ...), under a minimal lesson."""
    text = "title: Test lesson\nstep_through:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ")
    loaded = load_text(text + "\n", "lessons/test.yaml", default_id="test")
    assert loaded.lesson is not None, [str(p) for p in loaded.problems]
    return loaded.lesson.step_throughs[0]


def run(body: str, backend: Backend | None = None) -> dict[str, Any]:
    return engine.run(walk_from_yaml(body), backend or Backend(), "test")


def step(trace: dict[str, Any], number: int) -> dict[str, Any]:
    record = trace["steps"][number - 1]
    assert record["step"] == number
    return record


@pytest.fixture
def backend() -> Backend:
    return Backend()


# --- replies -------------------------------------------------------------------------------------------


def test_lpush_then_brpop_replies_as_redis_py_gives_them(backend: Backend) -> None:
    trace = run(
        """
        actors: [producer, consumer]
        watch: [queue]
        variables: [msg]
        steps:
          - {actor: producer, action: push, redis: LPUSH queue hello}
          - {actor: consumer, action: pop, redis: BRPOP queue 0, assign: msg}
        """,
        backend,
    )
    push, pop = step(trace, 1), step(trace, 2)
    assert push["status"] == "ok"
    assert push["reply"] == {"type": "integer", "value": 1, "py": "1", "cli": "(integer) 1"}
    assert push["state"]["queue"] == {"type": "list", "value": ["hello"], "py": "['hello']"}
    assert pop["status"] == "ok"
    assert pop["reply"]["py"] == "('queue', 'hello')"
    assert pop["reply"]["value"] == ["queue", "hello"]
    assert pop["reply"]["cli"] == '1) "queue"\n2) "hello"'
    assert pop["variables"]["msg"] == {
        "value": ["queue", "hello"],
        "py": "('queue', 'hello')",
        "waiting": False,
        "changed": True,
    }
    assert pop["state"]["queue"]["py"] == "(none)"


def test_the_trace_describes_the_run(backend: Backend) -> None:
    trace = run(
        """
        actors: [a]
        watch: [k]
        variables: [v]
        steps:
          - {actor: a, action: set, redis: SET k v}
          - {actor: a, action: get, redis: GET k, assign: v}
        """,
        backend,
    )
    assert trace["format"] == "tutor-trace/1"
    assert (trace["lesson"], trace["walkthrough"]) == ("test", "main")
    assert (trace["step_count"], trace["executed"]) == (2, 2)
    assert trace["start"]["state"]["k"]["py"] == "(none)"
    assert trace["start"]["variables"]["v"]["py"] == "None"
    assert step(trace, 1)["reply"]["cli"] == "OK"
    assert step(trace, 1)["command"] == {"argv": ["SET", "k", "v"], "cli": "SET k v"}


def test_upto_runs_only_the_first_steps(backend: Backend) -> None:
    walk = walk_from_yaml(
        """
        actors: [a]
        watch: [q]
        steps:
          - {actor: a, action: one, redis: RPUSH q 1}
          - {actor: a, action: two, redis: RPUSH q 2}
          - {actor: a, action: three, redis: RPUSH q 3}
        """
    )
    trace = engine.run(walk, backend, "test", upto=2)
    assert (trace["step_count"], trace["executed"]) == (3, 2)
    assert [s["reply"]["py"] for s in trace["steps"]] == ["1", "2"]
    assert engine.run(walk, backend, "test", upto=0)["steps"] == []


def test_a_redis_error_is_shown_as_data(backend: Backend) -> None:
    trace = run(
        """
        actors: [a]
        steps:
          - {actor: a, action: set, redis: SET k v}
          - {actor: a, action: push, redis: LPUSH k x}
          - {actor: a, action: after, redis: GET k}
        """,
        backend,
    )
    error = step(trace, 2)
    assert error["status"] == "error"
    assert error["error_source"] == "redis"
    assert error["reply"]["value"].startswith("WRONGTYPE")
    assert error["reply"]["cli"].startswith("(error) WRONGTYPE")
    assert step(trace, 3)["reply"]["py"] == "'v'"


# --- blocking -----------------------------------------------------------------------------------------


BLOCK_THEN_PUSH = """
actors: [producer, consumer]
watch: [queue]
variables: [msg]
steps:
  - {actor: consumer, action: wait, redis: BRPOP queue 0, assign: msg}
  - {actor: producer, action: push, redis: LPUSH queue world}
"""


def test_brpop_on_an_empty_list_blocks_the_actor(backend: Backend) -> None:
    blocked = step(run(BLOCK_THEN_PUSH, backend), 1)
    assert blocked["status"] == "blocked"
    assert blocked["reply"] is None
    assert blocked["events"] == []
    assert blocked["blocked"] == {
        "consumer": {"since": 1, "command": "BRPOP queue 0", "keys": ["queue"], "deadline": None}
    }
    assert blocked["variables"]["msg"] == {"value": None, "py": "None (waiting)", "waiting": True, "changed": True}


def test_a_later_push_unblocks_the_waiting_actor_and_assigns_its_variable(backend: Backend) -> None:
    push = step(run(BLOCK_THEN_PUSH, backend), 2)
    assert push["status"] == "ok"
    assert push["reply"]["py"] == "1"  # LPUSH replies with the length right after the push
    assert push["events"] == [
        {
            "kind": "unblocked",
            "actor": "consumer",
            "by": "producer",
            "since": 1,
            "command": {"argv": ["BRPOP", "queue", "0"], "cli": "BRPOP queue 0"},
            "reply": {
                "type": "array",
                "value": ["queue", "world"],
                "py": "('queue', 'world')",
                "cli": '1) "queue"\n2) "world"',
            },
        }
    ]
    assert push["blocked"] == {}
    assert push["variables"]["msg"] == {
        "value": ["queue", "world"],
        "py": "('queue', 'world')",
        "waiting": False,
        "changed": True,
    }
    assert push["state"]["queue"]["py"] == "(none)"  # handed straight to the consumer


FIFO = """
actors: [A, B, producer]
variables: [a, b]
steps:
  - {actor: %s, action: wait, redis: BRPOP q 0, assign: %s}
  - {actor: %s, action: wait, redis: BRPOP q 0, assign: %s}
  - {actor: producer, action: push two, redis: LPUSH q m1 m2}
"""


def test_blocked_actors_are_served_first_come_first_served(backend: Backend) -> None:
    trace = run(FIFO % ("A", "a", "B", "b"), backend)
    push = step(trace, 3)
    assert [(e["actor"], e["reply"]["py"]) for e in push["events"]] == [
        ("A", "('q', 'm1')"),
        ("B", "('q', 'm2')"),
    ]
    assert push["variables"]["a"]["py"] == "('q', 'm1')"
    assert push["variables"]["b"]["py"] == "('q', 'm2')"


def test_reversing_the_block_order_reverses_who_gets_what(backend: Backend) -> None:
    trace = run(FIFO % ("B", "b", "A", "a"), backend)
    push = step(trace, 3)
    assert [(e["actor"], e["reply"]["py"]) for e in push["events"]] == [
        ("B", "('q', 'm1')"),
        ("A", "('q', 'm2')"),
    ]
    assert push["variables"]["a"]["py"] == "('q', 'm2')"
    assert push["variables"]["b"]["py"] == "('q', 'm1')"


def test_one_push_wakes_only_one_of_two_waiting_consumers(backend: Backend) -> None:
    trace = run(
        """
        actors: [A, B, producer]
        steps:
          - {actor: A, action: wait, redis: BRPOP q 0}
          - {actor: B, action: wait, redis: BRPOP q 0}
          - {actor: producer, action: push one, redis: LPUSH q only}
        """,
        backend,
    )
    push = step(trace, 3)
    assert [e["actor"] for e in push["events"]] == ["A"]
    assert list(push["blocked"]) == ["B"]


TIMEOUT = """
actors: [consumer, other]
variables: [msg]
steps:
  - {actor: consumer, action: wait 2 s, redis: BRPOP q 2, assign: msg}
  - {actor: other, action: one second later, note: tick, wait: 1}
  - {actor: other, action: another second, note: tock, wait: 1}
"""


def test_a_blocked_command_is_still_waiting_before_its_timeout(backend: Backend) -> None:
    trace = run(TIMEOUT, backend)
    assert step(trace, 1)["blocked"]["consumer"]["deadline"] == 2.0
    first = step(trace, 2)
    assert first["clock"] == 1.0
    assert first["events"] == []
    assert list(first["blocked"]) == ["consumer"]
    assert first["variables"]["msg"]["py"] == "None (waiting)"


def test_a_blocked_command_times_out_when_lesson_time_reaches_its_timeout(backend: Backend) -> None:
    later = step(run(TIMEOUT, backend), 3)
    assert later["clock"] == 2.0
    assert later["events"] == [
        {
            "kind": "timeout",
            "actor": "consumer",
            "since": 1,
            "command": {"argv": ["BRPOP", "q", "2"], "cli": "BRPOP q 2"},
            "reply": {"type": "nil", "value": None, "py": "None", "cli": "(nil)"},
        }
    ]
    assert later["blocked"] == {}
    assert later["variables"]["msg"] == {"value": None, "py": "None", "waiting": False, "changed": True}


def test_a_timed_out_actor_may_send_its_next_command(backend: Backend) -> None:
    trace = run(
        """
        actors: [consumer]
        steps:
          - {actor: consumer, action: wait 1 s, redis: BRPOP q 1}
          - {actor: consumer, action: next, redis: LLEN q, wait: 1}
        """,
        backend,
    )
    assert [e["kind"] for e in step(trace, 2)["events"]] == ["timeout"]
    assert step(trace, 2)["status"] == "ok"
    assert step(trace, 2)["reply"]["py"] == "0"


def test_timeout_zero_waits_forever(backend: Backend) -> None:
    trace = run(
        """
        actors: [consumer, other]
        variables: [msg]
        steps:
          - {actor: consumer, action: wait forever, redis: BRPOP q 0, assign: msg}
          - {actor: other, action: a long time later, note: still nothing, wait: 1000000}
        """,
        backend,
    )
    later = step(trace, 2)
    assert later["clock"] == 1000000.0
    assert later["events"] == []
    assert later["blocked"]["consumer"]["deadline"] is None
    assert later["variables"]["msg"]["waiting"] is True


def test_a_blocked_actor_cannot_send_another_command(backend: Backend) -> None:
    trace = run(
        """
        actors: [consumer]
        steps:
          - {actor: consumer, action: wait, redis: BRPOP q 0}
          - {actor: consumer, action: try again, redis: LLEN q}
        """,
        backend,
    )
    refused = step(trace, 2)
    assert refused["status"] == "error"
    assert refused["error_source"] == "engine"
    assert refused["reply"]["value"].startswith("actor 'consumer' is still blocked by its command at step 1")
    assert list(refused["blocked"]) == ["consumer"]


def test_a_blocked_actor_cannot_run_python_either(backend: Backend) -> None:
    trace = run(
        """
        actors: [worker]
        processes: {worker: {seen: []}}
        steps:
          - {actor: worker, action: wait, redis: BRPOP q 0}
          - {actor: worker, action: meanwhile, python: "seen.append('x')"}
        """,
        backend,
    )
    refused = step(trace, 2)
    assert (refused["status"], refused["error_source"]) == ("error", "engine")
    assert refused["reply"]["value"].startswith("actor 'worker' is still blocked by its command at step 1")
    assert refused["processes"]["worker"]["seen"]["py"] == "[]"


def test_blmove_cascade_wakes_an_actor_waiting_on_the_destination(backend: Backend) -> None:
    trace = run(
        """
        actors: [second, first, producer]
        watch: [a, b, c]
        variables: [x, y]
        steps:
          - {actor: second, action: wait on b, redis: BLMOVE b c RIGHT LEFT 0, assign: y}
          - {actor: first, action: wait on a, redis: BLMOVE a b RIGHT LEFT 0, assign: x}
          - {actor: producer, action: push, redis: RPUSH a job}
        """,
        backend,
    )
    push = step(trace, 3)
    assert [(e["actor"], e["reply"]["py"]) for e in push["events"]] == [("first", "'job'"), ("second", "'job'")]
    assert push["blocked"] == {}
    assert [push["state"][k]["py"] for k in ("a", "b", "c")] == ["(none)", "(none)", "['job']"]
    assert push["variables"]["x"]["py"] == push["variables"]["y"]["py"] == "'job'"


XREAD_DOLLAR = """
actors: [reader, writer]
watch: [s]
variables: [got]
steps:
  - {actor: writer, action: old entry, redis: XADD s 1-0 f old}
  - {actor: reader, action: wait for new entries, redis: XREAD BLOCK 0 STREAMS s $, assign: got}
  - {actor: writer, action: new entry, redis: XADD s 2-0 f new}
"""


def test_xread_block_dollar_waits_for_entries_after_the_last_one(backend: Backend) -> None:
    trace = run(XREAD_DOLLAR, backend)
    assert step(trace, 2)["status"] == "blocked"
    assert step(trace, 2)["blocked"]["reader"]["keys"] == ["s"]
    add = step(trace, 3)
    assert add["reply"]["py"] == "'2-0'"
    [event] = add["events"]
    assert (event["kind"], event["actor"], event["since"]) == ("unblocked", "reader", 2)
    [[_stream, entries]] = event["reply"]["value"]
    assert entries == [["2-0", {"f": "new"}]]  # only the new entry, not 1-0
    assert add["variables"]["got"]["waiting"] is False
    assert add["state"]["s"]["py"] == "[('1-0', {'f': 'old'}), ('2-0', {'f': 'new'})]"


def test_xread_reply_names_the_stream_as_the_author_wrote_it(backend: Backend) -> None:
    trace = run(XREAD_DOLLAR, backend)
    [event] = step(trace, 3)["events"]
    assert event["reply"]["value"] == [["s", [["2-0", {"f": "new"}]]]]
    assert event["reply"]["py"] == "[['s', [('2-0', {'f': 'new'})]]]"
    assert engine.NAMESPACE not in json.dumps(trace)


def test_every_consumer_blocking_forever_still_returns(backend: Backend) -> None:
    walk = walk_from_yaml(
        """
        actors: [c1, c2, c3, c4, c5, c6]
        steps:
          - {actor: c1, action: wait, redis: BRPOP q 0}
          - {actor: c2, action: wait, redis: BLPOP q other 0}
          - {actor: c3, action: wait, redis: BLMOVE q dst LEFT RIGHT 0}
          - {actor: c4, action: wait, redis: BLMPOP 0 1 q LEFT}
          - {actor: c5, action: wait, redis: BZPOPMIN z 0}
          - {actor: c6, action: wait, redis: XREAD BLOCK 0 STREAMS s $}
          - {actor: c1, action: much later, note: nobody ever pushes, wait: 100000}
        """
    )
    result: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: result.append(engine.run(walk, backend, "test")), daemon=True)
    worker.start()
    worker.join(timeout=30)  # a deadline for a hang, not a sleep: a sound engine returns in milliseconds
    assert not worker.is_alive(), "engine.run() hung on blocking commands"
    [trace] = result
    assert [s["status"] for s in trace["steps"][:6]] == ["blocked"] * 6
    assert list(trace["steps"][-1]["blocked"]) == ["c1", "c2", "c3", "c4", "c5", "c6"]


# --- Redis 7.0's blocking rules (issue 8; tests/test_blocking_redis70.py checks them on real clients) -----


def events_of(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["kind"], e["actor"], e["reply"]["py"]) for e in record["events"]]


def test_a_waiter_stays_blocked_while_its_key_holds_another_type(backend: Backend) -> None:
    trace = run(
        """
        actors: [rd, p]
        watch: [k]
        steps:
          - {actor: rd, action: wait, redis: BLPOP k 0}
          - {actor: p, action: a string, redis: SET k foo}
          - {actor: p, action: a sorted set, redis: DEL k}
          - {actor: p, action: a sorted set, redis: ZADD k 1 a}
          - {actor: p, action: gone, redis: DEL k}
          - {actor: p, action: a list, redis: LPUSH k x}
        """,
        backend,
    )
    for number in (2, 3, 4, 5):
        assert step(trace, number)["status"] == "ok" and step(trace, number)["events"] == []
        assert list(step(trace, number)["blocked"]) == ["rd"]
    assert events_of(step(trace, 6)) == [("unblocked", "rd", "('k', 'x')")]
    assert step(trace, 6)["state"]["k"]["py"] == "(none)"


def test_a_transaction_that_pushes_then_deletes_does_not_wake_the_waiter(backend: Backend) -> None:
    trace = run(
        """
        actors: [rd, r]
        watch: [list]
        steps:
          - {actor: rd, action: wait, redis: BLPOP list 0}
          - {actor: r, action: begin, redis: MULTI}
          - {actor: r, action: push, redis: LPUSH list a}
          - {actor: r, action: delete, redis: DEL list}
          - {actor: r, action: string, redis: SET list foo}
          - {actor: r, action: commit, redis: EXEC}
        """,
        backend,
    )
    assert step(trace, 6)["events"] == [] and list(step(trace, 6)["blocked"]) == ["rd"]
    assert step(trace, 6)["state"]["list"]["py"] == "'foo'"


def test_keys_made_ready_in_one_transaction_are_served_in_the_order_they_were_written(backend: Backend) -> None:
    trace = run(
        """
        actors: [a, b, c, p]
        watch: [k1, k2]
        steps:
          - {actor: a, action: wait on both, redis: BLPOP k1 k2 0}
          - {actor: b, action: wait on both, redis: BLMPOP 0 2 k1 k2 LEFT COUNT 5}
          - {actor: c, action: wait on k1, redis: BRPOP k1 0}
          - {actor: p, action: begin, redis: MULTI}
          - {actor: p, action: k2 first, redis: RPUSH k2 x}
          - {actor: p, action: then k1, redis: RPUSH k1 y}
          - {actor: p, action: commit, redis: EXEC}
        """,
        backend,
    )
    assert events_of(step(trace, 7)) == [
        ("unblocked", "a", "('k2', 'x')"),  # k2 was written first: a pops from k2, not k1 listed first
        ("unblocked", "b", "['k1', ['y']]"),  # k2 is empty now; k1 serves b (blocked before c)
    ]
    assert list(step(trace, 7)["blocked"]) == ["c"]


def test_xread_on_two_streams_replies_with_only_the_stream_that_served_it(backend: Backend) -> None:
    trace = run(
        """
        actors: [a, p]
        steps:
          - {actor: a, action: wait, redis: XREAD BLOCK 0 STREAMS s1 s2 $ $}
          - {actor: p, action: begin, redis: MULTI}
          - {actor: p, action: s2, redis: XADD s2 1-0 f v}
          - {actor: p, action: s1, redis: XADD s1 1-0 f w}
          - {actor: p, action: commit, redis: EXEC}
        """,
        backend,
    )
    assert events_of(step(trace, 5)) == [("unblocked", "a", "[['s2', [('1-0', {'f': 'v'})]]]")]


def test_after_a_cascade_the_destination_serves_its_first_waiter(backend: Backend) -> None:
    trace = run(
        """
        actors: [x, a, y, p]
        watch: [s, t]
        steps:
          - {actor: x, action: wait on t, redis: BLPOP t 0}
          - {actor: a, action: move s to t, redis: BLMOVE s t RIGHT LEFT 0}
          - {actor: y, action: wait on t, redis: BLPOP t 0}
          - {actor: p, action: push, redis: RPUSH s e1}
        """,
        backend,
    )
    assert events_of(step(trace, 4)) == [("unblocked", "a", "'e1'"), ("unblocked", "x", "('t', 'e1')")]
    assert list(step(trace, 4)["blocked"]) == ["y"]


def test_a_timed_out_xread_gets_what_redis_py_returns(backend: Backend) -> None:
    trace = run(
        """
        actors: [c]
        variables: [got]
        steps:
          - {actor: c, action: wait, redis: XREAD BLOCK 1000 STREAMS s $, assign: got}
          - {actor: c, action: later, note: time passes, wait: 1}
        """,
        backend,
    )
    [event] = step(trace, 2)["events"]
    assert event["kind"] == "timeout"
    assert event["reply"] == {"type": "nil", "value": [], "py": "[]", "cli": "(nil)"}
    assert step(trace, 2)["variables"]["got"]["py"] == "[]"


XREADGROUP_BLOCK = """
actors: [r, alice, bob]
watch: [s]
steps:
  - {actor: r, action: group, redis: XGROUP CREATE s g $ MKSTREAM}
  - {actor: alice, action: wait, redis: XREADGROUP GROUP g alice BLOCK 0 STREAMS s >}
  - {actor: bob, action: wait, redis: XREADGROUP GROUP g bob COUNT 1 BLOCK 0 STREAMS s >}
  - {actor: r, action: one job, redis: XADD s 1-0 job 1}
  - {actor: r, action: another, redis: XADD s 2-0 job 2}
  - {actor: alice, action: history, redis: XREADGROUP GROUP g alice BLOCK 0 STREAMS s 0}
"""


def test_xreadgroup_block_waits_for_new_entries_and_shares_them_out(backend: Backend) -> None:
    trace = run(XREADGROUP_BLOCK, backend)
    assert [step(trace, n)["status"] for n in (2, 3)] == ["blocked", "blocked"]
    assert events_of(step(trace, 4)) == [("unblocked", "alice", "[['s', [('1-0', {'job': '1'})]]]")]
    assert events_of(step(trace, 5)) == [("unblocked", "bob", "[['s', [('2-0', {'job': '2'})]]]")]
    history = step(trace, 6)
    assert (history["status"], history["reply"]["py"]) == ("ok", "[['s', [('1-0', {'job': '1'})]]]")


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("XGROUP DESTROY s g", "NOGROUP the consumer group this client was blocked on no longer exists"),
        ("DEL s", "UNBLOCKED the stream key no longer exists"),
        ("SET s x", "UNBLOCKED the stream key no longer exists"),
    ],
)
def test_a_blocked_xreadgroup_is_answered_with_an_error_when_its_group_or_stream_goes(
    backend: Backend, command: str, reply: str
) -> None:
    trace = run(
        f"""
        actors: [r, alice]
        steps:
          - {{actor: r, action: group, redis: XGROUP CREATE s g $ MKSTREAM}}
          - {{actor: alice, action: wait, redis: XREADGROUP GROUP g alice BLOCK 0 STREAMS s >}}
          - {{actor: r, action: remove, redis: {command}}}
        """,
        backend,
    )
    assert events_of(step(trace, 3)) == [("unblocked", "alice", reply)]


# --- the embedded fakeredis answers as Redis 7.0 ----------------------------------------------------------


def test_lmpop_and_blmpop_delete_the_list_they_empty(backend: Backend) -> None:
    trace = run(
        """
        actors: [r, c]
        watch: [l]
        steps:
          - {actor: r, action: push, redis: RPUSH l a}
          - {actor: r, action: pop all, redis: LMPOP 1 l LEFT COUNT 5}
          - {actor: r, action: is it gone, redis: TYPE l}
          - {actor: c, action: wait, redis: BLMPOP 0 1 l LEFT}
          - {actor: r, action: push, redis: RPUSH l b}
          - {actor: r, action: is it gone, redis: EXISTS l}
        """,
        backend,
    )
    assert step(trace, 2)["state"]["l"]["py"] == "(none)"
    assert step(trace, 3)["reply"]["py"] == "'none'"
    assert events_of(step(trace, 5)) == [("unblocked", "c", "['l', ['b']]")]
    assert step(trace, 5)["state"]["l"]["py"] == "(none)"
    assert step(trace, 6)["reply"]["py"] == "0"


@pytest.mark.parametrize("command", ["XREAD STREAMS q 0-0", "XREAD STREAMS q $", "XREADGROUP GROUP g c STREAMS q >"])
def test_a_stream_read_of_a_list_is_wrongtype(backend: Backend, command: str) -> None:
    trace = run(
        f"""
        actors: [r]
        steps:
          - {{actor: r, action: push, redis: RPUSH q x}}
          - {{actor: r, action: read, redis: "{command}"}}
        """,
        backend,
    )
    read = step(trace, 2)
    assert (read["status"], read["error_source"]) == ("error", "redis")
    assert read["reply"]["py"] == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_a_stream_read_that_finds_nothing_is_nil(backend: Backend) -> None:
    trace = run(
        """
        actors: [r]
        steps:
          - {actor: r, action: add, redis: XADD s 1-0 f v}
          - {actor: r, action: group, redis: XGROUP CREATE s g $}
          - {actor: r, action: read new, redis: XREADGROUP GROUP g c STREAMS s >}
          - {actor: r, action: read after, redis: XREAD STREAMS s 1-0}
        """,
        backend,
    )
    assert step(trace, 3)["reply"]["cli"] == step(trace, 4)["reply"]["cli"] == "(nil)"
    assert step(trace, 3)["reply"]["type"] == "nil"


def test_an_exception_inside_the_backend_is_a_step_error_and_the_actor_goes_on(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakeredis.commands_mixins.string_mixin import StringCommandsMixin

    def broken(self: Any, key: Any) -> Any:
        raise RuntimeError("internal failure")

    monkeypatch.setattr(StringCommandsMixin, "strlen", broken)
    trace = run(
        """
        actors: [r]
        steps:
          - {actor: r, action: breaks, redis: STRLEN k}
          - {actor: r, action: goes on, redis: SET k v}
        """,
        backend,
    )
    broke = step(trace, 1)
    assert (broke["status"], broke["error_source"]) == ("error", "engine")
    assert broke["reply"]["value"].startswith("the fakeredis server failed on this command (RuntimeError: internal")
    assert (step(trace, 2)["status"], step(trace, 2)["reply"]["py"]) == ("ok", "True")


def test_a_backend_failure_in_the_engines_own_probe_is_a_step_error(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakeredis.commands_mixins.generic_mixin import GenericCommandsMixin

    def broken(self: Any, *keys: Any) -> Any:
        raise RuntimeError("probe failure")

    monkeypatch.setattr(GenericCommandsMixin, "exists", broken)
    trace = run(
        """
        actors: [c]
        steps:
          - {actor: c, action: wait, redis: BLPOP q 0}
        """,
        backend,
    )
    failed = step(trace, 1)
    assert (failed["status"], failed["error_source"]) == ("error", "engine")
    assert "RuntimeError: probe failure" in failed["reply"]["value"]


# --- watched keys -------------------------------------------------------------------------------------


def test_watched_keys_show_every_type_and_missing_keys(backend: Backend) -> None:
    trace = run(
        """
        actors: [a]
        watch: [text, list, hash, set, zset, stream, missing]
        steps:
          - {actor: a, action: string, redis: SET text hello}
          - {actor: a, action: list, redis: RPUSH list x y}
          - {actor: a, action: hash, redis: HSET hash f1 v1 f2 v2}
          - {actor: a, action: set, redis: SADD set b a c}
          - {actor: a, action: zset, redis: ZADD zset 2 two 1 one}
          - {actor: a, action: stream, redis: XADD stream 1-1 f v}
          - {actor: a, action: a key never written, redis: GET missing}
        """,
        backend,
    )
    state = step(trace, 6)["state"]
    assert state == {
        "text": {"type": "string", "value": "hello", "py": "'hello'"},
        "list": {"type": "list", "value": ["x", "y"], "py": "['x', 'y']"},
        "hash": {"type": "hash", "value": {"f1": "v1", "f2": "v2"}, "py": "{'f1': 'v1', 'f2': 'v2'}"},
        "set": {"type": "set", "value": ["a", "b", "c"], "py": "{'a', 'b', 'c'}"},
        "zset": {"type": "zset", "value": [["one", 1.0], ["two", 2.0]], "py": "[('one', 1.0), ('two', 2.0)]"},
        "stream": {"type": "stream", "value": [["1-1", {"f": "v"}]], "py": "[('1-1', {'f': 'v'})]"},
        "missing": {"type": "none", "value": None, "py": "(none)"},
    }
    assert trace["start"]["state"]["text"]["py"] == "(none)"


# --- python steps -------------------------------------------------------------------------------------


PYTHON = """
actors: [worker1, worker2]
processes:
  worker1: {messages: [], pending: "deque(['a', 'b'])"}
  worker2: {messages: []}
variables: [got]
steps:
  - {actor: worker1, action: keep a message, python: "messages.append('hi')"}
  - {actor: worker2, action: look in its own list, python: "len(messages)", assign: got}
  - {actor: worker1, action: take it, python: "messages.pop(0)", assign: got}
  - {actor: worker1, action: take another, python: "messages.pop(0)"}
  - {actor: worker1, action: next pending, python: "pending.popleft()", assign: got}
"""


def test_python_steps_run_on_each_actors_own_memory(backend: Backend) -> None:
    trace = run(PYTHON, backend)
    first = step(trace, 1)
    assert first["status"] == "ok"
    assert first["kind"] == "python"
    assert first["processes"]["worker1"]["messages"] == {"value": ["hi"], "py": "['hi']"}
    assert first["processes"]["worker2"]["messages"] == {"value": [], "py": "[]"}
    assert step(trace, 2)["reply"]["py"] == "0"  # worker 2 cannot see worker 1's list
    assert step(trace, 3)["reply"]["py"] == "'hi'"
    assert step(trace, 3)["variables"]["got"]["py"] == "'hi'"


def test_a_python_exception_is_shown_as_python_prints_it(backend: Backend) -> None:
    error = step(run(PYTHON, backend), 4)
    assert error["status"] == "error"
    assert error["error_source"] == "python"
    assert error["reply"]["value"] == "IndexError: pop from empty list"
    assert error["reply"]["cli"].endswith("IndexError: pop from empty list")


def test_deque_popleft_in_a_python_step(backend: Backend) -> None:
    last = step(run(PYTHON, backend), 5)
    assert last["reply"]["py"] == "'a'"
    assert last["processes"]["worker1"]["pending"]["py"] == "deque(['b'])"
    assert trace_start_pending(run(PYTHON, backend)) == "deque(['a', 'b'])"


def trace_start_pending(trace: dict[str, Any]) -> str:
    return str(trace["start"]["processes"]["worker1"]["pending"]["py"])


def test_a_forbidden_python_operation_is_a_loader_problem() -> None:
    text = textwrap.dedent(
        """\
        title: T
        step_through:
          actors: [w]
          processes: {w: {messages: []}}
          steps:
            - actor: w
              action: escape
              python: "__import__('os').system('true')"
        """
    )
    loaded = load_text(text, "lessons/py.yaml", "py")
    assert loaded.lesson is None
    [problem] = loaded.problems
    assert (problem.file, problem.line, problem.col) == ("lessons/py.yaml", 8, 7)
    assert problem.path == "step_through.steps[0].python (step 1)"
    assert problem.message.startswith("only simple operations on declared lists, deques and dicts are allowed")
    assert problem.message.endswith("; got a call to __import__('os').system()")


@pytest.mark.parametrize(
    "source", ["open('/etc/passwd')", "messages.__class__", "messages.sort()", "[x for x in messages]"]
)
def test_python_outside_the_allowlist_is_refused(source: str) -> None:
    text = (
        "title: T\nstep_through:\n  actors: [w]\n  processes: {w: {messages: []}}\n  steps:\n"
        f"    - actor: w\n      action: x\n      python: {json.dumps(source)}\n"
    )
    loaded = load_text(text, "lessons/py.yaml", "py")
    assert loaded.lesson is None
    [problem] = loaded.problems
    assert problem.path == "step_through.steps[0].python (step 1)"
    assert "only simple operations" in problem.message


@pytest.mark.parametrize("source", ["m.append(m)", "m[0] = m", "m.append([m])", "m.append(m.pop())"])
def test_a_python_value_that_is_not_a_literal_is_refused_so_no_container_holds_itself(source: str) -> None:
    # m.append(m) once passed the loader and made replies.to_json recurse until RecursionError.
    text = (
        "title: T\nstep_through:\n  actors: [w]\n  processes: {w: {m: [1]}}\n  steps:\n"
        f"    - actor: w\n      action: nest\n      python: {json.dumps(source)}\n"
    )
    loaded = load_text(text, "lessons/py.yaml", "py")
    assert loaded.lesson is None
    [problem] = loaded.problems
    assert (problem.line, problem.path) == (8, "step_through.steps[0].python (step 1)")
    assert problem.message.startswith("only simple operations")
    assert "as a value (use a literal)" in problem.message


def test_python_literals_as_values_still_work(backend: Backend) -> None:
    trace = run(
        """
        actors: [w]
        processes: {w: {m: [], d: {}}}
        steps:
          - {actor: w, action: nested literal, python: "m.append({'id': 1, 'tags': ['a', -2]})"}
          - {actor: w, action: store, python: "d['k'] = [1, 2]"}
        """,
        backend,
    )
    assert step(trace, 2)["processes"]["w"] == {
        "m": {"value": [{"id": 1, "tags": ["a", -2]}], "py": "[{'id': 1, 'tags': ['a', -2]}]"},
        "d": {"value": {"k": [1, 2]}, "py": "{'k': [1, 2]}"},
    }


# --- determinism and isolation ------------------------------------------------------------------------


def broker_walk() -> StepThrough:
    loaded = load_file(ROOT / "lessons" / "redis-broker.yaml")
    assert loaded.lesson is not None
    return loaded.lesson.step_throughs[0]


def test_the_same_lesson_run_twice_gives_identical_json_traces(backend: Backend) -> None:
    walk = broker_walk()
    first = engine.run(walk, backend, "redis-broker")
    second = engine.run(walk, Backend(), "redis-broker")
    assert first == second
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert json.loads(json.dumps(first)) == first  # plain JSON: no tuples, sets or objects inside


def test_the_trace_never_shows_the_run_namespace(backend: Backend) -> None:
    trace = run(
        """
        actors: [a, b]
        watch: [q, dst, k]
        variables: [v]
        steps:
          - {actor: b, action: wait, redis: BLMOVE q dst LEFT RIGHT 0, assign: v}
          - {actor: a, action: push, redis: RPUSH q x}
          - {actor: a, action: pop, redis: BRPOP missing dst 0, assign: v}
          - {actor: a, action: rename, redis: RENAME nope k}
          - {actor: a, action: wrong type, redis: SET k v}
          - {actor: a, action: wrong type, redis: LPUSH k v}
          - {actor: a, action: lmpop, redis: LMPOP 1 nothing LEFT}
        """,
        backend,
    )
    assert step(trace, 3)["reply"]["py"] == "('dst', 'x')"
    assert engine.NAMESPACE not in json.dumps(trace)
    assert engine.NAMESPACE not in json.dumps(engine.run(broker_walk(), backend, "redis-broker"))


def test_a_run_leaves_no_keys_on_the_server(backend: Backend) -> None:
    run(BLOCK_THEN_PUSH, backend)
    run(XREAD_DOLLAR, backend)
    engine.run(broker_walk(), backend, "redis-broker")
    assert backend.shared().keys("*") == []


def test_concurrent_runs_on_one_server_never_see_each_others_keys(backend: Backend) -> None:
    walk = broker_walk()
    reference = engine.run(walk, Backend(), "redis-broker")
    with ThreadPoolExecutor(max_workers=8) as pool:
        traces = list(pool.map(lambda _: engine.run(walk, backend, "redis-broker"), range(32)))
    assert len(traces) == 32
    for trace in traces:
        assert trace == reference
    assert backend.shared().keys("*") == []


SET_REPLY = """\
import json
from tutor import engine
from tutor.backend import Backend
from tutor.loader import load_text
TEXT = (
    "title: Sets\\nstep_through:\\n  actors: [a]\\n  steps:\\n"
    "    - {actor: a, action: add, redis: SADD s a b c d e f g h}\\n"
    "    - {actor: a, action: members, redis: SMEMBERS s}\\n"
)
walk = load_text(TEXT, "lessons/sets.yaml", "sets").lesson.step_throughs[0]
print(json.dumps(engine.run(walk, Backend(), "sets"), sort_keys=True))
"""


def test_a_set_reply_is_the_same_in_every_process() -> None:
    outputs = set()
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", SET_REPLY], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_a_run_that_ends_inside_multi_leaves_no_transaction_on_reused_connections() -> None:
    backend = Backend()
    unfinished = """\
actors: [a]
steps:
  - {actor: a, action: open a transaction, redis: MULTI}
  - {actor: a, action: queue a write, redis: SET k v}
"""
    first = run(unfinished, backend)
    assert step(first, 2)["reply"]["py"] == "'QUEUED'"
    for _ in range(3):  # the same pooled connections serve the next runs
        again = run("actors: [a]\nsteps:\n  - {actor: a, action: plain write, redis: SET k v, expect: true}\n", backend)
        assert step(again, 1)["reply"]["value"] is True
    assert backend.shared().keys("*") == []


def test_a_step_that_names_no_watched_key_keeps_the_previous_state() -> None:
    trace = run(
        """\
actors: [p]
watch: [q]
steps:
  - {actor: p, action: push, redis: LPUSH q a}
  - {actor: p, action: read another key, redis: GET other}
  - {actor: p, action: push again, redis: LPUSH q b}
"""
    )
    assert [s["state"]["q"]["py"] for s in trace["steps"]] == ["['a']", "['a']", "['b', 'a']"]


def test_a_transaction_signals_keys_as_redis_does_when_it_creates_them_with_a_waited_type() -> None:
    from tutor.blocking import signals

    types = {"k1": "none", "k2": "none", "s": "stream"}
    waited = {"k1", "k2", "s"}
    queued: list[tuple[list[str], object]] = [
        (["SET", "k1", "x"], True),  # a string: nobody blocks for one
        (["RPUSH", "k2", "a"], 1),  # created: k2 first
        (["DEL", "k1"], 1),
        (["RPUSH", "k1", "b"], 1),  # created: k1 second
        (["RPUSH", "k1", "c"], 2),  # already there: no second signal
        (["XADD", "s", "NOMKSTREAM", "5-0", "f", "v"], "5-0"),  # XADD always signals
        (["DEL", "s"], 1),  # a deleted stream signals (for XREADGROUP)
    ]
    got = [signal for argv, result in queued for signal in signals(argv, result, types, waited)]
    assert got == [("k2", "list"), ("k1", "list"), ("s", "stream"), ("s", "stream")]
    assert types == {"k1": "list", "k2": "list", "s": "none"}
