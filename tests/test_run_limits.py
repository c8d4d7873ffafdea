"""Limits on a learner's run, each answered with a 4xx and its message in the console; and key TTLs.

Each test sets a small limit (TUTOR_RUN_LIMITS) so the limit is reached in a few commands; the
refused command is not saved, so the run goes on as it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from test_ownrun import LESSONS, console_output, send

from tutor import create_app, engine
from tutor.backend import Backend
from tutor.guard import LimitExceeded, RunGuard, RunLimits
from tutor.model import Step, StepThrough
from tutor.replies import py_repr

ROOT = Path(__file__).resolve().parent.parent


def make_app(tmp_path: Path, url: str | None = None, **limits: int) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(LESSONS),
            "TUTOR_DATABASE": str(tmp_path / "tutor.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": url,
            "TUTOR_RUN_LIMITS": RunLimits(**limits),
        }
    )


def saved_lines(client: FlaskClient) -> int:
    html = client.get("/lessons/redis-broker/step-through?step=2").get_data(as_text=True)
    return html.count('class="console-line"')


def test_setrange_far_past_the_value_limit_is_refused_before_it_is_sent(app: Flask) -> None:
    client = app.test_client()
    status, html = send(client, 1, "SETRANGE queue 536870911 x")
    assert status == 413
    assert console_output(html) == (
        "(error) a value may hold at most 65536 bytes; this command would make one of 536870912 bytes"
    )
    assert saved_lines(client) == 0


def test_setrange_is_refused_before_redis_sees_it(real_redis: str) -> None:
    walk = StepThrough(slug="t", title="t", path=(), actors=("a",), steps=(), watch=("k",))
    mine = {0: [Step(actor="a", action="x", path=(), argv=("SETRANGE", "k", "536870911", "x"))]}
    server = redis.Redis.from_url(real_redis, decode_responses=True)
    before = int(server.info("commandstats").get("cmdstat_setrange", {}).get("calls", 0))
    backend = Backend(real_redis)
    with pytest.raises(LimitExceeded):
        engine.run(walk, backend, "t", inserts=mine, guard=RunGuard(RunLimits(), real_redis=True))
    backend.close()
    assert int(server.info("commandstats").get("cmdstat_setrange", {}).get("calls", 0)) == before
    assert server.info("memory")["used_memory"] < 50 * 1024 * 1024
    assert server.keys("*") == []  # the refused run left nothing behind


def test_append_growth_past_the_value_limit_is_refused(tmp_path: Path) -> None:
    client = make_app(tmp_path, value_bytes=1000).test_client()
    assert send(client, 1, "SET s " + "x" * 400)[0] == 200
    assert send(client, 1, "APPEND s " + "y" * 400)[0] == 200
    status, html = send(client, 1, "APPEND s " + "z" * 400)
    assert status == 413 and "this command would make one of 1200 bytes" in console_output(html)
    assert saved_lines(client) == 2


def test_elements_per_key_are_capped(tmp_path: Path) -> None:
    client = make_app(tmp_path, elements_per_key=5).test_client()
    assert send(client, 1, "RPUSH q 1 2 3 4")[0] == 200
    status, html = send(client, 1, "RPUSH q 5 6")
    assert status == 413 and "a key may hold at most 5 elements; 'q' would hold 6" in console_output(html)


@pytest.mark.parametrize("backend_kind", ["fakeredis", "redis"])
def test_memory_per_run_is_capped(tmp_path: Path, backend_kind: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("real_redis") if backend_kind == "redis" else None
    app = make_app(tmp_path, url, memory_bytes=3000)
    client = app.test_client()
    statuses = [send(client, 1, f"SET k{i} " + "v" * 400)[0] for i in range(12)]
    assert statuses[0] == 200
    assert 413 in statuses
    refused = statuses.index(413)
    _, html = send(client, 1, "SET another " + "v" * 400)
    assert "your run may use at most 3000 bytes of Redis memory" in console_output(html)
    assert saved_lines(client) == refused
    app.extensions["tutor.backend"].close()


def test_commands_per_run_are_capped(tmp_path: Path) -> None:
    client = make_app(tmp_path, commands_per_run=3).test_client()
    assert [send(client, 1, "PING")[0] for _ in range(3)] == [200, 200, 200]
    status, html = send(client, 1, "PING")
    assert status == 429 and "your run has 3 commands" in console_output(html)


def test_commands_per_minute_per_learner_are_capped_in_the_store(tmp_path: Path) -> None:
    app = make_app(tmp_path, commands_per_minute=3)
    client = app.test_client()
    assert [send(client, 1, "PING")[0] for _ in range(3)] == [200, 200, 200]
    status, html = send(client, 1, "PING")
    assert status == 429 and "too many commands in a minute (at most 3)" in console_output(html)
    # The count lives in the database: a second app on the same file (another process) sees it.
    other = make_app(tmp_path, commands_per_minute=3)
    client2 = other.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    client2.set_cookie("session", cookie.value)
    assert send(client2, 1, "PING")[0] == 429


def test_a_request_body_over_the_limit_is_a_413_in_place(tmp_path: Path) -> None:
    client = make_app(tmp_path, body_bytes=300).test_client()
    status, html = send(client, 1, "PING", padding="p" * 400)
    assert status == 413 and "the form is too large: at most 300 bytes" in console_output(html)


# --- TTLs -------------------------------------------------------------------------------------


def _walk(*lines: str) -> StepThrough:
    steps = tuple(Step(actor="a", action=line, path=(), argv=tuple(line.split())) for line in lines)
    return StepThrough(slug="t", title="t", path=(), actors=("a",), steps=steps, watch=("k", "q"))


class _Spy:
    """A guard that records the TTL of every run key after each step, while the run is alive."""

    def __init__(self) -> None:
        self.ttls: list[dict[str, int]] = []

    def before(self, observer: redis.Redis, sent: list[str]) -> None:
        return None

    def after(self, observer: redis.Redis, keys: set[str]) -> None:
        self.ttls.append({key: int(observer.pttl(key)) for key in observer.keys(engine.NAMESPACE + "*")})


def test_every_run_key_has_a_ttl_while_the_run_lives(real_redis: str) -> None:
    spy = _Spy()
    backend = Backend(real_redis)
    engine.run(_walk("RPUSH q a", "SET k v", "RENAME k k2", "PERSIST q"), backend, "t", guard=spy, key_ttl=30)
    backend.close()
    for ttls in spy.ttls:
        assert ttls and all(0 < ttl <= 30_000 for ttl in ttls.values()), ttls


def test_the_lease_is_invisible_to_expire_and_persist_on_both_backends(real_redis: str) -> None:
    lines = (
        *("SET k v", "PERSIST k", "EXPIRE k 100 NX", "PERSIST k", "PERSIST k", "RPUSH q a", "EXPIRE q 100 XX"),
        *("SET k v EX 100", "PERSIST k", "GETEX k EX 200", "PEXPIRE k 100000 NX", "PERSIST k", "PSETEX k 90000 w"),
        *("PERSIST k", "RENAME q k", "PERSIST k"),
    )
    plain = redis.Redis.from_url(real_redis, decode_responses=True)
    expected = [py_repr(plain.execute_command(*line.split())) for line in lines]
    plain.flushall()
    assert expected[:7] == ["True", "False", "True", "True", "False", "1", "False"]  # what a plain Redis answers
    for url in (None, real_redis):
        backend = Backend(url)
        trace = engine.run(_walk(*lines), backend, "t")
        backend.close()
        replies = [step["reply"]["py"] for step in trace["steps"]]
        assert replies == expected


_KILLED_MID_RUN = """
import os, signal, sys
from tutor import engine
from tutor.backend import Backend
from tutor.model import Step, StepThrough
from tutor.replies import py_repr

class Killer:
    calls = 0
    def before(self, observer, sent):
        pass
    def after(self, observer, keys):
        Killer.calls += 1
        if Killer.calls == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # killed mid-run: no finally, no cleanup

lines = ("RPUSH q a", "SET k v", "HSET h f v", "PING")
steps = tuple(Step(actor="a", action=line, path=(), argv=tuple(line.split())) for line in lines)
walk = StepThrough(slug="t", title="t", path=(), actors=("a",), steps=steps, watch=("q", "k", "h"))
engine.run(walk, Backend(sys.argv[1]), "t", guard=Killer(), key_ttl=float(sys.argv[2]))
"""


@pytest.mark.parametrize("ttl", [30])
def test_a_process_killed_mid_run_leaves_keys_that_expire(real_redis: str, tmp_path: Path, ttl: int) -> None:
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(_KILLED_MID_RUN))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(script), real_redis, str(ttl)], env=env, timeout=60)
    assert result.returncode == -signal.SIGKILL
    server = redis.Redis.from_url(real_redis, decode_responses=True)
    left = server.keys(engine.NAMESPACE + "*")
    assert len(left) == 3  # the run never cleaned up...
    assert all(0 < server.pttl(key) <= ttl * 1000 for key in left)  # ...but Redis will


def test_a_killed_runs_keys_are_gone_once_their_short_ttl_passes(real_redis: str, tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(_KILLED_MID_RUN))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, str(script), real_redis, "1"], env=env, timeout=60)
    server = redis.Redis.from_url(real_redis, decode_responses=True)
    assert server.keys(engine.NAMESPACE + "*")
    deadline = time.monotonic() + 10
    while server.keys(engine.NAMESPACE + "*"):
        assert time.monotonic() < deadline, "the killed run's keys did not expire"
        time.sleep(0.05)  # polling Redis's own expiry with a deadline


def test_the_sites_runs_use_the_configured_ttl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(tmp_path)
    app.config["TUTOR_RUN_KEY_TTL"] = 42
    seen: list[Any] = []
    real_run = engine.run

    def spying_run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(kwargs.get("key_ttl"))
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine, "run", spying_run)
    client = app.test_client()
    assert send(client, 1, "LPUSH queue x")[0] == 200
    assert client.get("/lessons/redis-broker/step-through?step=2").status_code == 200
    assert seen and set(seen) == {42}
