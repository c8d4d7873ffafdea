"""A learner's own command ("Try it yourself"): runs in their own run, answers bad input with a 4xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app

ROOT = Path(__file__).resolve().parent.parent
TRY = "/lessons/redis-broker/step-through/try"
PAGE = "/lessons/redis-broker/step-through?step=1"


def token(client: FlaskClient) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(PAGE).get_data(as_text=True))
    assert match
    return match.group(1)


def run(client: FlaskClient, command: str, actor: str = "producer", step: str = "1", **extra: str) -> tuple[int, str]:
    data = {"csrf": token(client), "step": step, "actor": actor, "command": command, **extra}
    response = client.post(TRY, data=data, headers={"HX-Request": "true"})
    return response.status_code, response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def test_a_command_runs_after_step_k_and_shows_both_reply_forms(client: FlaskClient) -> None:
    status, html = run(client, "LRANGE queue 0 -1")
    assert status == 200
    assert "Python (redis-py) sees <code>['hello']</code>" in html
    assert '1) "hello"' in html


def test_a_push_wakes_the_blocked_consumer_in_the_learners_own_run(client: FlaskClient) -> None:
    status, html = run(client, "LPUSH queue mine", step="4")
    assert status == 200
    assert "consumer (blocked since step 4) unblocked, receives <code>('queue', 'mine')</code>" in html


def test_a_command_redis_rejects_is_shown_as_redis_cli_shows_it(client: FlaskClient) -> None:
    status, html = run(client, "INCR queue")
    assert status == 200
    assert "(error) WRONGTYPE" in html


def test_a_blocking_command_on_an_empty_list_is_shown_blocked_and_returns(client: FlaskClient) -> None:
    status, html = run(client, "BLPOP empty 0", actor="producer")
    assert status == 200 and "Blocks waiting" in html


@pytest.mark.parametrize(
    ("command", "fields", "message"),
    [
        ("FLUSHALL", {}, "'FLUSHALL' is not available in lessons"),
        ("KEYS *", {}, "'KEYS' is not available in lessons"),
        ("LPUHS q x", {}, "unknown Redis command 'LPUHS' (did you mean LPUSH?)"),
        ('GET "unclosed', {}, "unbalanced quotes"),
        ("BRPOP q 0x1", {}, "needs its timeout as a plain number"),
        ("", {}, "type a Redis command"),
        ("GET " + "x" * 600, {}, "the command is too long"),
        ("GET x", {"actor": "mallory"}, "choose one of this lesson's actors"),
        ("GET x", {"step": "99"}, "step must be a whole number between 0 and 5"),
        ("GET x", {"step": "²"}, "step must be a whole number between 0 and 5"),
        ("GET x", {"csrf": "forged"}, "did not come from this site"),
    ],
)
def test_bad_input_is_a_400_with_a_message(
    client: FlaskClient, command: str, fields: dict[str, str], message: str
) -> None:
    data = {"csrf": token(client), "step": "1", "actor": "producer", "command": command, **fields}
    for headers in ({"HX-Request": "true"}, {}):
        response = client.post(TRY, data=data, headers=headers)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True).replace("&#39;", "'")


@pytest.fixture
def redis_app(real_redis: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(ROOT / "lessons"),
            "TUTOR_DATABASE": str(tmp_path / "unused.sqlite3"),
            "SECRET_KEY": "s",
            "REDIS_URL": real_redis,
        }
    )
    yield app
    app.extensions["tutor.backend"].close()


@pytest.mark.real_redis
def test_a_learner_cannot_reach_the_apps_own_keys(redis_app: Flask, real_redis: str) -> None:
    client = redis_app.test_client()
    client.get(PAGE)  # progress goes to the SQL store; Redis holds only runs, and keys outside them
    server = redis.Redis.from_url(real_redis, decode_responses=True)
    try:
        server.set("tutor:app:outside-every-run", "kept")
        before = {key: server.type(key) for key in server.keys("*")}
        assert before == {"tutor:app:outside-every-run": "string"}
        some_key = sorted(before)[0]
        for command in (f"DEL {some_key}", f"SET {some_key} owned", f"RENAME {some_key} stolen"):
            status, _ = run(client, command)
            assert status == 200
        status, html = run(client, f"TYPE {some_key}")
        assert status == 200 and '<pre class="cli">none</pre>' in html  # the learner sees only their own run
        after = {key: server.type(key) for key in server.keys("*")}
        assert after == before  # untouched, and no run keys left behind
    finally:
        server.close()


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("XREAD STREAMS queue 0-0", "(error) WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("XREAD STREAMS block 0", "(nil)"),  # a stream named block: no BLOCK option, so it never waits
    ],
)
def test_a_stream_read_the_backend_once_crashed_on_is_answered_as_redis_answers(
    client: FlaskClient, command: str, shown: str
) -> None:
    status, html = run(client, command)
    assert status == 200
    assert shown in html
