"""The Celery lesson shows what a real Celery worker sends to Redis, in the real order.

One capture per module: a real redis-server (the session's `redis_server_url` from conftest), a
MONITOR connection recording every command, a real Celery worker (solo pool, subprocess) running
the lesson's own sample code, and a client process that calls the view (`long_task.delay()`),
waits with `AsyncResult.get(timeout=...)`, then polls the result view once the worker is idle again.

The tests then check that every Redis command of the lesson's step-through appears in the capture
in the same order, for the same keys, sent by the same side (worker or web process), and that the
payloads (the task message, the unacked record, the result) have the real structure and values,
ids and timestamps aside. They also check the claims the step texts make about MULTI/EXEC and the
result subscription.

Nothing waits by sleeping to win a race: every wait polls a condition with a deadline, and the
worker, the client and the MONITOR connection are always stopped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from captures import flushall as _flushall
from captures import masked, normal, wait_for
from captures import stop as _stop
from redis_monitor import Command, Monitor

from tutor.loader import load_file
from tutor.model import StepThrough

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "lessons" / "celery.yaml"
TIMEOUT = 30.0  # seconds; no single wait may take longer
TASK_SECONDS = 0.2

# The lesson's actors, and the side of the real system each one stands for.
SIDES = {"worker": "worker", "flask_view": "web"}

pytestmark = pytest.mark.real_redis


def _missing(what: str) -> None:
    """Fail in CI (CI=true), skip elsewhere: the same rule as conftest's need()."""
    message = f"{what}; the Celery fidelity test needs it (.ci/run installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


# --- MONITOR --------------------------------------------------------------------------------------


# --- the capture ----------------------------------------------------------------------------------

CLIENT_SCRIPT = """\
import json
import sys
import time

import redis
from celery.result import AsyncResult

import app as sample

web = sample.app.test_client()
task_id = web.post("/process").get_json()["task_id"]
print(json.dumps({"event": "sent", "task_id": task_id}), flush=True)
# The view has returned, and with it the AsyncResult delay() gave it: is anyone still subscribed?
channel = f"celery-task-meta-{task_id}"
with redis.Redis.from_url(sample.celery_app.conf.result_backend, socket_timeout=5) as probe:
    deadline = time.monotonic() + 5
    while (listeners := probe.pubsub_numsub(channel)[0][1]) and time.monotonic() < deadline:
        time.sleep(0.01)
print(json.dumps({"event": "listeners", "count": listeners}), flush=True)
value = AsyncResult(task_id).get(timeout=TIMEOUT)
print(json.dumps({"event": "result", "value": value}), flush=True)
if sys.stdin.readline().strip() == "poll":
    print(json.dumps({"event": "polled", "body": web.get(f"/result/{task_id}").get_json()}), flush=True)
sample.celery_app.close()
"""


@dataclass
class Capture:
    """What one real run produced."""

    commands: list[Command]
    task_id: str
    value: Any
    polled: dict[str, Any]
    worker_log: str
    walk: StepThrough
    listeners_after_the_view: int
    roles: dict[str, str] = field(default_factory=dict)


def _sample_app(walk: StepThrough, url: str) -> str:
    """The lesson's own sample code, pointed at the test server, with a short task."""
    assert walk.sample is not None, "the Celery step-through needs its sample code"
    code = walk.sample.code
    for old, new, count in (
        ('"redis://localhost:6379/0"', repr(url), 2),
        ("time.sleep(10)", f"time.sleep({TASK_SECONDS})", 1),
    ):
        assert code.count(old) == count, f"the lesson's sample code changed: expected {count} x {old}"
        code = code.replace(old, new)
    return code


def _lines_of(process: subprocess.Popen[str], seen: list[str]) -> queue.Queue[str | None]:
    """The process's output lines, read by a thread so reads can have a deadline; all kept in `seen`."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, name="client-stdout", daemon=True).start()
    return lines


def _next_event(lines: queue.Queue[str | None], event: str, log: Callable[[], str]) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the client printed no '{event}' within {TIMEOUT:.0f} s\n{log()}") from None
        if line is None:
            raise AssertionError(f"the client exited before '{event}'\n{log()}")
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            if data.get("event") == event:
                return data


@pytest.fixture(scope="module")
def capture(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    """Run one task through a real worker and record every command the server saw."""
    if importlib.util.find_spec("celery") is None:
        _missing('celery is not installed (pip install "celery[redis]")')
    loaded = load_file(LESSON)
    assert loaded.lesson is not None, "\n".join(map(str, loaded.problems))
    walk = loaded.lesson.step_through()
    assert walk is not None

    parts = urlparse(redis_server_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    workdir = tmp_path_factory.mktemp("celery-fidelity")
    (workdir / "app.py").write_text(_sample_app(walk, redis_server_url), encoding="utf-8")
    (workdir / "client.py").write_text(CLIENT_SCRIPT.replace("TIMEOUT", repr(TIMEOUT)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_CONFIG_MODULE"):
        env.pop(name, None)  # the sample's own configuration, nothing from the environment
    log_path = workdir / "worker.log"

    client_output: list[str] = []

    def worker_log() -> str:
        worker_text = log_path.read_text(errors="replace") if log_path.exists() else ""
        return f"--- worker log ---\n{worker_text}--- client output ---\n{''.join(client_output)}"

    _flushall(host, port)
    monitor = worker = client = None
    try:
        monitor = Monitor(host, port)
        wait_for(lambda: monitor is not None and monitor.started, "MONITOR to start", TIMEOUT)
        with log_path.open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "app.celery_app", "worker", "--pool=solo",
                 "--concurrency=1", "-Q", "celery", "--loglevel=INFO", "--hostname=fidelity@%h"],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

        def worker_waits() -> bool:
            assert worker is not None and monitor is not None
            if worker.poll() is not None:
                raise AssertionError(f"the Celery worker exited with {worker.returncode}\n{worker_log()}")
            return any(c.argv[:2] == ("BRPOP", "celery") for c in monitor.commands())

        wait_for(worker_waits, "the worker's first BRPOP on 'celery'", TIMEOUT)

        client = subprocess.Popen(
            [sys.executable, str(workdir / "client.py")],
            cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        lines = _lines_of(client, client_output)
        sent = _next_event(lines, "sent", worker_log)
        listeners = _next_event(lines, "listeners", worker_log)
        result = _next_event(lines, "result", worker_log)

        def worker_idle_again() -> bool:
            assert monitor is not None
            acked = False
            for command in monitor.commands():
                acked = acked or command.argv[:2] == ("HDEL", "unacked")
                if acked and command.argv[:2] == ("BRPOP", "celery"):
                    return True
            return False

        # The lesson's last step is a later request: send it once the worker has acknowledged
        # and is back in BRPOP, so the order does not depend on who is faster.
        wait_for(worker_idle_again, "the worker's ack (HDEL unacked) and its next BRPOP", TIMEOUT)
        assert client.stdin is not None
        client.stdin.write("poll\n")
        client.stdin.flush()
        polled = _next_event(lines, "polled", worker_log)
        client.stdin.close()
        client.wait(timeout=TIMEOUT)
        assert client.returncode == 0, f"the client exited with {client.returncode}"

        commands = monitor.commands()
        yield Capture(
            commands=commands,
            task_id=sent["task_id"],
            value=result["value"],
            polled=polled["body"],
            worker_log=worker_log(),
            walk=walk,
            listeners_after_the_view=listeners["count"],
            roles=_roles(commands),
        )
    finally:
        _stop(client, grace=5)
        _stop(worker)
        if monitor is not None:
            monitor.stop()


def _roles(commands: list[Command]) -> dict[str, str]:
    """Which side each connection belongs to, from what it does.

    "worker": the connections that wait on the queue, keep the unacked records or store results.
    "web": any other connection that first appears after the worker began waiting on 'celery'
    (the view sending, the result reader, the result subscriber: the client process starts only
    then). "other": the worker's remaining start-up connections (remote control, events), and
    "lua", a script's pseudo-client.
    """
    worker: set[str] = set()
    for command in commands:
        if (
            command.argv[:2] == ("BRPOP", "celery")
            or (command.name in ("ZADD", "HSET", "ZREM", "HDEL") and command.key in ("unacked", "unacked_index"))
            or (command.name == "SETEX" and (command.key or "").startswith("celery-task-meta-"))
        ):
            worker.add(command.client)
    waiting = next(c.index for c in commands if c.argv[:2] == ("BRPOP", "celery"))
    first: dict[str, int] = {}
    for command in commands:
        first.setdefault(command.client, command.index)
    roles = {}
    for client, index in first.items():
        if client in worker:
            roles[client] = "worker"
        elif client != "lua" and index > waiting:
            roles[client] = "web"
        else:
            roles[client] = "other"
    return roles


# --- comparing the lesson with the capture --------------------------------------------------------


def _ids(message_json: str) -> dict[str, str]:
    """The task id and delivery tag of a task message, to be replaced by placeholders."""
    message = json.loads(message_json)
    return {message["headers"]["id"]: "<task-id>", message["properties"]["delivery_tag"]: "<delivery-tag>"}


def _as_json(text: str) -> Any:
    if text[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _argument_problem(name: str, position: int, ours: str, real: str) -> str | None:
    """Why one argument of the lesson differs from the real one, or None when they agree."""
    if name == "ZADD" and position == 2:  # the score: the time the worker received the message
        try:
            float(ours), float(real)
        except ValueError:
            return f"ZADD score should be a time, got {ours!r} (lesson) and {real!r} (real)"
        return None
    ours_json, real_json = _as_json(ours), _as_json(real)
    if ours_json is not None or real_json is not None:
        if masked(ours_json) != masked(real_json):
            return (
                f"argument {position} differs (ids, origin, reply_to and date_done aside):\n"
                f"  lesson: {json.dumps(masked(ours_json), sort_keys=True)}\n"
                f"  real:   {json.dumps(masked(real_json), sort_keys=True)}"
            )
        return None
    return None if ours == real else f"argument {position}: lesson {ours!r}, real {real!r}"


@dataclass(frozen=True)
class Match:
    step: int  # 1-based step number in the lesson
    actor: str
    argv: tuple[str, ...]  # the lesson's, ids replaced by placeholders
    command: Command  # the real one, ids replaced by placeholders


def _lesson_commands(walk: StepThrough) -> list[tuple[int, str, tuple[str, ...]]]:
    return [(n, s.actor, s.argv) for n, s in enumerate(walk.steps, 1) if s.argv is not None]


def _lpush(commands: list[Command] | list[tuple[int, str, tuple[str, ...]]]) -> str:
    for item in commands:
        argv = item.argv if isinstance(item, Command) else item[2]
        if argv[:2] == ("LPUSH", "celery"):
            return argv[2]
    raise AssertionError("no LPUSH celery <message> found")


def _match(capture: Capture) -> list[Match]:
    """Find the lesson's commands, in order, in the capture: same name, same key, same side."""
    ours = _lesson_commands(capture.walk)
    our_ids = _ids(_lpush(ours))
    real_ids = _ids(_lpush(capture.commands))
    assert real_ids.keys() >= {capture.task_id}, "the captured message is not the client's task"
    real = [Command(c.index, c.stamp, c.client, tuple(normal(a, real_ids) for a in c.argv)) for c in capture.commands]
    matches: list[Match] = []
    at = 0
    for step, actor, argv in ours:
        argv = tuple(normal(a, our_ids) for a in argv)
        side = SIDES[actor]
        found = next(
            (
                c
                for c in real[at:]
                if c.name == argv[0].upper() and c.key == argv[1] and capture.roles[c.client] == side
            ),
            None,
        )
        if found is None:
            raise AssertionError(
                f"step {step} ({actor}: {argv[0]} {argv[1]!r}) does not appear in the capture after "
                f"step {matches[-1].step if matches else 0}'s command.\n{_describe(capture, real, at)}"
            )
        matches.append(Match(step, actor, argv, found))
        at = found.index + 1
    return matches


def _describe(capture: Capture, real: list[Command], start: int) -> str:
    rows = [f"  {c.index:4} {capture.roles[c.client]:6} {' '.join(a[:60] for a in c.argv)!r}" for c in real[start:]]
    return "the capture from there on:\n" + "\n".join(rows[:200])


def _transaction(commands: list[Command], command: Command) -> list[Command] | None:
    """The commands of the MULTI/EXEC block `command` was sent in, or None outside a transaction."""
    mine = [c for c in commands if c.client == command.client]
    at = mine.index(command)
    start = next((i for i in range(at - 1, -1, -1) if mine[i].name in ("MULTI", "EXEC")), None)
    if start is None or mine[start].name != "MULTI":
        return None
    end = next((i for i in range(at + 1, len(mine)) if mine[i].name == "EXEC"), None)
    return None if end is None else mine[start + 1 : end]


# --- the tests ------------------------------------------------------------------------------------


def test_the_sample_app_ran_the_task(capture: Capture) -> None:
    assert capture.value == "done", capture.worker_log
    assert capture.polled == {"ready": True, "value": "done"}


def test_lesson_commands_appear_in_the_real_order(capture: Capture) -> None:
    """Every command of the step-through, in the lesson's order, by the same side, same key."""
    matches = _match(capture)
    assert [m.step for m in matches] == [n for n, _, _ in _lesson_commands(capture.walk)]


def test_lesson_arguments_match_the_real_ones(capture: Capture) -> None:
    """BRPOP's key list and timeout, binding members, TTL exactly; JSON payloads by structure and
    by value, ids, origin host, reply_to and date_done aside."""
    problems = []
    for match in _match(capture):
        real = match.command.argv
        if len(real) != len(match.argv):
            problems.append(f"step {match.step}: lesson {len(match.argv)} arguments, real {len(real)}: {real!r}")
            continue
        for position in range(2, len(real)):
            problem = _argument_problem(real[0].upper(), position, match.argv[position], real[position])
            if problem:
                problems.append(f"step {match.step} ({real[0]} {real[1]}): {problem}")
    assert not problems, "\n".join(problems)


def test_result_keys_are_named_after_the_task(capture: Capture) -> None:
    """SETEX, PUBLISH and GET use celery-task-meta-<the id delay() returned>."""
    keys = {
        c.key
        for c in capture.commands
        if c.name in ("SETEX", "PUBLISH", "GET") and (c.key or "").startswith("celery-task-meta-")
    }
    assert keys == {f"celery-task-meta-{capture.task_id}"}


def test_transactions_are_as_the_steps_say(capture: Capture) -> None:
    """The step texts say which commands share one MULTI/EXEC; check each claim."""
    by_step = {m.step: m for m in _match(capture)}
    commands = capture.commands
    real_ids = _ids(_lpush(commands))
    originals = {c.index: c for c in commands}

    def block(step: int) -> list[tuple[str, ...]]:
        command = originals[by_step[step].command.index]
        found = _transaction(commands, command)
        assert found is not None, f"step {step} ({command.argv[0]}) was not sent inside MULTI/EXEC"
        return [tuple(normal(a, real_ids) for a in c.argv[:2]) for c in found]

    named = {m.argv[:2]: m.step for m in by_step.values()}
    pairs = [
        (("ZADD", "unacked_index"), ("HSET", "unacked")),
        (("SETEX", "celery-task-meta-<task-id>"), ("PUBLISH", "celery-task-meta-<task-id>")),
        (("ZREM", "unacked_index"), ("HDEL", "unacked")),
    ]
    for first, second in pairs:
        assert second in block(named[first]), f"{first} and {second} are not in one MULTI/EXEC"
    for step, match in by_step.items():
        if match.argv[:2] == ("SADD", "_kombu.binding.celery"):
            assert ("SADD", "_kombu.binding_permanent.celery") in block(step), f"step {step}"
        if match.argv[:2] == ("LLEN", "celery"):
            queues = {argv[1] for argv in block(step) if argv[0] == "LLEN"}
            assert queues == {"celery", "celery\x06\x163", "celery\x06\x166", "celery\x06\x169"}


def test_the_result_subscription_comes_before_the_message(capture: Capture) -> None:
    """Step 3 says delay()'s AsyncResult subscribes to celery-task-meta-<id> before the LPUSH."""
    channel = f"celery-task-meta-{capture.task_id}"
    subscribe = next(c.index for c in capture.commands if c.argv[:2] == ("SUBSCRIBE", channel))
    lpush = next(c.index for c in capture.commands if c.argv[:2] == ("LPUSH", "celery"))
    assert subscribe < lpush


def test_nobody_listens_once_the_view_has_returned(capture: Capture) -> None:
    """Step 11 (PUBLISH replies 0): the view's AsyncResult unsubscribes when it is collected."""
    assert capture.listeners_after_the_view == 0
    channel = f"celery-task-meta-{capture.task_id}"
    sequence = [c.name for c in capture.commands if c.key == channel and c.name in ("SUBSCRIBE", "UNSUBSCRIBE")]
    assert sequence[:2] == ["SUBSCRIBE", "UNSUBSCRIBE"]
