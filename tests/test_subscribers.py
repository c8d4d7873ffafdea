"""Subscriber actors: what a subscribed connection receives is read from the real connection.

Every test runs on the embedded fakeredis and on a real redis-server 7.0 (mark real_redis), and the
two traces must say the same: PUBLISH's reply, who received which message, and what is pending.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tutor import engine, messages
from tutor.backend import Backend
from tutor.loader import load_text
from tutor.model import StepThrough
from tutor.render import event_text, lanes
from tutor.subscribers import DeliveryError, collect


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.real_redis)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "fakeredis":
        yield Backend()
        return
    url = request.getfixturevalue("real_redis")
    made = Backend(url)
    yield made
    made.close()


def walk_from_yaml(body: str) -> StepThrough:
    text = "title: Test lesson\nstep_through:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ")
    loaded = load_text(text + "\n", "lessons/test.yaml", default_id="test")
    assert loaded.lesson is not None, [str(p) for p in loaded.problems]
    return loaded.lesson.step_throughs[0]


def step(trace: dict[str, Any], number: int) -> dict[str, Any]:
    record = trace["steps"][number - 1]
    assert record["step"] == number
    return record


def run(body: str, backend: Backend) -> dict[str, Any]:
    return engine.run(walk_from_yaml(body), backend, "test")


def received(record: dict[str, Any]) -> dict[str, list[str]]:
    """{actor: [data, ...]} of a step's received events."""
    return {e["actor"]: [m["data"] for m in e["reply"]["value"]] for e in record["events"] if e["kind"] == "received"}


NEWS = """
actors: [app, alice, bob]
steps:
  - {actor: app, action: Publish before anyone listens, redis: PUBLISH news m0}
  - {actor: alice, action: Alice subscribes, redis: SUBSCRIBE news}
  - {actor: app, action: Publish to one listener, redis: PUBLISH news m1}
  - {actor: bob, action: Bob subscribes late, redis: SUBSCRIBE news}
  - {actor: app, action: Publish to both, redis: PUBLISH news m2}
"""


def test_a_message_published_while_nobody_listens_reaches_nobody(backend: Backend) -> None:
    trace = run(NEWS, backend)
    assert step(trace, 1)["reply"]["value"] == 0
    assert step(trace, 1)["events"] == []


def test_publish_returns_the_number_of_receivers_and_each_receives_it(backend: Backend) -> None:
    trace = run(NEWS, backend)
    assert step(trace, 3)["reply"]["value"] == 1
    assert received(step(trace, 3)) == {"alice": ["m1"]}
    assert step(trace, 5)["reply"]["value"] == 2
    assert received(step(trace, 5)) == {"alice": ["m2"], "bob": ["m2"]}
    event = step(trace, 5)["events"][0]
    assert (event["kind"], event["by"], event["since"]) == ("received", "app", 2)


def test_a_subscriber_that_joined_late_never_gets_earlier_messages(backend: Backend) -> None:
    subscribed = step(run(NEWS, backend), 5)["subscribed"]
    assert [m["data"] for m in subscribed["alice"]["pending"]] == ["m1", "m2"]
    assert [m["data"] for m in subscribed["bob"]["pending"]] == ["m2"]
    assert subscribed["bob"] == {
        "since": 4,
        "channels": ["news"],
        "patterns": [],
        "pending": [{"type": "message", "pattern": None, "channel": "news", "data": "m2"}],
    }


def test_subscribe_replies_with_one_confirmation_per_channel(backend: Backend) -> None:
    trace = run(
        """
        actors: [alice]
        steps: [{actor: alice, action: Listen to two, redis: SUBSCRIBE news sport}]
        """,
        backend,
    )
    assert step(trace, 1)["reply"]["value"] == [["subscribe", "news", 1], ["subscribe", "sport", 2]]


def test_a_pattern_and_a_channel_subscription_each_count_and_each_deliver(backend: Backend) -> None:
    trace = run(
        """
        actors: [app, alice]
        steps:
          - {actor: alice, action: Channel, redis: SUBSCRIBE news}
          - {actor: alice, action: Pattern, redis: PSUBSCRIBE "n*"}
          - {actor: app, action: Publish, redis: PUBLISH news hi}
        """,
        backend,
    )
    assert step(trace, 3)["reply"]["value"] == 2
    [event] = step(trace, 3)["events"]
    assert event["reply"]["value"] == [
        {"type": "message", "pattern": None, "channel": "news", "data": "hi"},
        {"type": "pmessage", "pattern": "n*", "channel": "news", "data": "hi"},
    ]


def test_after_unsubscribing_a_channel_its_messages_stop(backend: Backend) -> None:
    trace = run(
        """
        actors: [app, alice]
        steps:
          - {actor: alice, action: Listen, redis: SUBSCRIBE news sport}
          - {actor: alice, action: Leave news, redis: UNSUBSCRIBE news}
          - {actor: app, action: Publish news, redis: PUBLISH news a}
          - {actor: app, action: Publish sport, redis: PUBLISH sport b}
        """,
        backend,
    )
    assert step(trace, 2)["reply"]["value"] == [["unsubscribe", "news", 1]]
    assert step(trace, 3)["reply"]["value"] == 0
    assert received(step(trace, 4)) == {"alice": ["b"]}
    assert step(trace, 4)["subscribed"]["alice"]["channels"] == ["sport"]


def test_publish_inside_exec_delivers_every_queued_message(backend: Backend) -> None:
    trace = run(
        """
        actors: [app, alice]
        steps:
          - {actor: alice, action: Listen, redis: SUBSCRIBE news}
          - {actor: app, action: Begin, redis: MULTI}
          - {actor: app, action: One, redis: PUBLISH news a}
          - {actor: app, action: Two, redis: PUBLISH news b}
          - {actor: app, action: Run, redis: EXEC}
        """,
        backend,
    )
    assert step(trace, 3)["events"] == []
    assert step(trace, 5)["reply"]["value"] == [1, 1]
    assert received(step(trace, 5)) == {"alice": ["a", "b"]}


def test_a_subscribed_actor_cannot_send_other_commands(backend: Backend) -> None:
    trace = run(
        """
        actors: [alice]
        steps:
          - {actor: alice, action: Listen, redis: SUBSCRIBE news}
          - {actor: alice, action: Try a list, redis: LLEN backlog}
          - {actor: alice, action: Leave, redis: UNSUBSCRIBE news}
          - {actor: alice, action: Now it can, redis: LLEN backlog}
        """,
        backend,
    )
    assert step(trace, 2)["status"] == "error"
    assert step(trace, 2)["error_source"] == "engine"
    assert step(trace, 2)["reply"]["value"] == messages.ACTOR_SUBSCRIBED.format(actor="alice", since=1)
    assert step(trace, 4)["reply"]["value"] == 0


def test_channels_are_namespaced_so_two_runs_never_hear_each_other(backend: Backend) -> None:
    body = """
        actors: [app, alice]
        steps:
          - {actor: alice, action: Listen, redis: PSUBSCRIBE "*"}
          - {actor: app, action: Publish, redis: PUBLISH news hi}
        """
    first, second = run(body, backend), run(body, backend)
    assert step(first, 2)["reply"]["value"] == 1
    assert step(second, 2)["reply"]["value"] == 1
    assert received(step(second, 2)) == {"alice": ["hi"]}


def test_a_run_leaves_no_subscription_behind(backend: Backend) -> None:
    run(NEWS, backend)
    if backend.url is None:
        assert backend.shared().publish("news", "x") == 0
        return
    observer = redis.Redis.from_url(backend.url, decode_responses=True)
    try:
        assert observer.pubsub_channels() == []
        assert observer.pubsub_numpat() == 0
    finally:
        observer.close()


def test_fewer_messages_than_publish_counted_is_an_error_not_a_hang(backend: Backend) -> None:
    client = backend.connection()
    try:
        assert client.connection is not None
        with pytest.raises(DeliveryError, match="0 of 1 messages arrived"):
            collect({"alice": client.connection}, 1, deadline=0.05)
    finally:
        backend.release(client)


def test_the_step_page_shows_who_received_which_message(client: FlaskClient) -> None:
    html = client.get("/lessons/pubsub/step-through?step=3").get_data(as_text=True)
    assert '<div class="event received">' in html
    assert "dashboard (subscribed since step 2) receives" in html
    assert "&#39;data&#39;: &#39;o2&#39;" in html
    assert "1 message received so far: o2" in html  # the subscriber's messages, in the actors panel


def test_the_sequence_diagram_shows_redis_pushing_the_message() -> None:
    trace = run(NEWS, Backend())
    arrows = [a.text for row in lanes(trace, 5) for a in row.arrows if a.kind == "wake"]
    assert all(text.startswith("pushes [{'type': 'message'") for text in arrows)  # cut at 80 characters
    assert [text.split("'data': ")[1][:4] for text in arrows] == ["'m1'", "'m2'", "'m2'"]


def test_tutor_trace_text_names_the_receiver() -> None:
    event = {"kind": "received", "actor": "alice", "since": 2, "reply": {"py": "[{'data': 'm1'}]"}}
    assert event_text(event) == "alice (subscribed since step 2) received [{'data': 'm1'}]"


def test_a_crashed_subscriber_is_no_longer_counted_and_a_restarted_one_must_subscribe_again(
    backend: Backend,
) -> None:
    trace = run(
        """
        actors: [app, alice]
        steps:
          - {actor: alice, action: Listen, redis: SUBSCRIBE news}
          - {actor: app, action: Killed, crash: alice}
          - {actor: app, action: Publish to nobody, redis: PUBLISH news lost}
          - {actor: app, action: Started again, restart: alice}
          - {actor: app, action: Still nobody, redis: PUBLISH news lost-too}
          - {actor: alice, action: Listen again, redis: SUBSCRIBE news}
          - {actor: app, action: Publish, redis: PUBLISH news kept}
        """,
        backend,
    )
    assert [step(trace, n)["reply"]["value"] for n in (3, 5, 7)] == [0, 0, 1]
    assert "alice" not in step(trace, 3)["subscribed"]
    assert step(trace, 7)["subscribed"]["alice"]["pending"] == [
        {"type": "message", "pattern": None, "channel": "news", "data": "kept"}
    ]
