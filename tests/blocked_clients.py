"""Run a scenario on a real redis-server with truly blocked clients, and the same one through the engine.

The judge for the engine's blocking model: each actor has its own connection; a blocking command is
sent from a thread and the next step waits until `CLIENT LIST` shows that client with flag `b` (or
its reply came at once), polling with a deadline. What each actor received, who is still blocked and
the keys' final states are then compared with the engine's trace of the same steps.
"""

from __future__ import annotations

import textwrap
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.exceptions import ResponseError

from tutor import engine
from tutor.backend import Backend
from tutor.commands import blocking_info, parse_cli
from tutor.keystates import read_key_states
from tutor.loader import load_text
from tutor.replies import py_repr

DEADLINE_SECONDS = 5.0
WAIT = "wait"  # a pseudo-command: ("a", "wait 0.2") lets that much time pass (lesson time in the engine)


@dataclass
class Outcome:
    """What each actor received (Python reprs, in order), who still waits, and the keys at the end."""

    replies: dict[str, list[str]]
    blocked: set[str]
    states: dict[str, str] = field(default_factory=dict)


def _actors(steps: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(actor for actor, _ in steps))


def run_engine(steps: list[tuple[str, str]], watch: list[str], backend: Backend) -> tuple[Outcome, dict[str, Any]]:
    """The scenario as a lesson, run by the engine: replies as the trace records them."""
    lines = [f"title: Scenario\nstep_through:\n  actors: {_actors(steps)}\n"]
    if watch:
        lines.append(f"  watch: {watch}\n")
    lines.append("  steps:\n")
    pending_wait = 0.0
    for actor, line in steps:
        if line.startswith(WAIT):
            pending_wait += float(line.split()[1])
            continue
        wait = f", wait: {pending_wait}" if pending_wait else ""
        pending_wait = 0.0
        quoted = line.replace("'", "''")
        lines.append(f"    - {{actor: {actor}, action: step, redis: '{quoted}'{wait}}}\n")
    if pending_wait:
        lines.append(f"    - {{actor: {steps[0][0]}, action: later, note: time passes, wait: {pending_wait}}}\n")
    loaded = load_text(textwrap.dedent("".join(lines)), "lessons/scenario.yaml", "scenario")
    assert loaded.lesson is not None, [str(p) for p in loaded.problems]
    trace = engine.run(loaded.lesson.step_throughs[0], backend, "scenario")
    replies: dict[str, list[str]] = {actor: [] for actor in _actors(steps)}
    for record in trace["steps"]:
        for event in record["events"]:
            replies[event["actor"]].append(event["reply"]["py"])
        if record["kind"] == "redis" and record["status"] in ("ok", "error"):
            replies[record["actor"]].append(record["reply"]["py"])
    last = trace["steps"][-1]
    states = {key: value["py"] for key, value in last["state"].items()}
    return Outcome(replies, set(last["blocked"]), states), trace


def run_real(steps: list[tuple[str, str]], watch: list[str], url: str) -> Outcome:
    """The scenario on a real Redis, one connection per actor, blocking commands really blocking."""
    admin = redis.Redis.from_url(url, decode_responses=True)
    clients: dict[str, redis.Redis] = {}
    replies: dict[str, list[str]] = {actor: [] for actor in _actors(steps)}
    threads: dict[str, threading.Thread] = {}
    in_multi: set[str] = set()
    lock = threading.Lock()

    queued: dict[str, list[list[str]]] = {}

    def call(actor: str, argv: list[str]) -> None:
        client = clients[actor]
        connection = client.connection
        assert connection is not None
        try:
            connection.send_command(*argv)
            raw = connection.read_response()
            if actor in queued and argv[0].upper() not in ("EXEC", "DISCARD"):
                value = raw  # QUEUED: its callback applies at EXEC, as redis-py's pipeline does
                queued[actor].append(argv)
            elif argv[0].upper() == "EXEC" and isinstance(raw, list):
                value = [_as_redis_py(client, q, r) for q, r in zip(queued[actor], raw, strict=True)]
            else:
                value = _as_redis_py(client, argv, raw)
            text = py_repr(value)
        except ResponseError as error:
            text = str(error)
        with lock:
            replies[actor].append(text)

    try:
        for actor in _actors(steps):
            clients[actor] = redis.Redis.from_url(
                url, decode_responses=True, single_connection_client=True, socket_timeout=None
            )
            clients[actor].client_setname(actor)
        for actor, line in steps:
            if line.startswith(WAIT):
                time.sleep(float(line.split()[1]))  # the server's timeouts follow real time
                _settle(admin, threads)
                continue
            argv = parse_cli(line)
            name = argv[0].upper()
            assert actor not in threads, f"{actor} is blocked and cannot send {line!r}"
            if blocking_info(argv) is not None and actor not in in_multi:
                thread = threading.Thread(target=call, args=(actor, argv), daemon=True)
                threads[actor] = thread
                thread.start()
                _until_blocked_or_done(admin, actor, thread)
            else:
                call(actor, argv)
                if name == "MULTI":
                    in_multi.add(actor)
                    queued[actor] = []
                elif name in ("EXEC", "DISCARD"):
                    in_multi.discard(actor)
                    queued.pop(actor, None)
            _settle(admin, threads)
        blocked = set(threads)
        states = {}
        if watch:
            states = {key: value["py"] for key, value in read_key_states(admin, "", watch).items()}
        return Outcome({a: list(r) for a, r in replies.items()}, blocked, states)
    finally:
        for actor in list(threads):
            admin.client_unblock(_client_id(admin, actor))  # the scenario is over: let it go
        for thread in threads.values():
            thread.join(DEADLINE_SECONDS)
        for client in clients.values():
            client.close()
        admin.close()


def _as_redis_py(client: redis.Redis, argv: list[str], raw: Any) -> Any:
    """What redis-py's method for the command returns: its callback (XGROUP CREATE has its own)."""
    if isinstance(raw, ResponseError):
        return raw
    name = argv[0].upper()
    callbacks = client.response_callbacks
    callback = callbacks.get(f"{name} {argv[1].upper()}") if len(argv) > 1 else None
    callback = callback or callbacks.get(name)
    options = {"withscores": True} if any(a.upper() == "WITHSCORES" for a in argv) else {}
    return callback(raw, **options) if callback else raw


def _client_id(admin: redis.Redis, name: str) -> int:
    for info in admin.client_list():
        if info.get("name") == name:
            return int(info["id"])
    return -1


def _flags(admin: redis.Redis, name: str) -> str | None:
    for info in admin.client_list():
        if info.get("name") == name:
            return str(info.get("flags", ""))
    return None


def _until_blocked_or_done(admin: redis.Redis, actor: str, thread: threading.Thread) -> None:
    """Poll, with a deadline, until the actor's client is blocked (flag b) or its reply has come."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while thread.is_alive():
        if "b" in (_flags(admin, actor) or ""):
            return
        assert time.monotonic() < deadline, f"{actor} neither blocked nor answered"
        time.sleep(0.005)  # polling for readiness with a deadline


def _settle(admin: redis.Redis, threads: dict[str, threading.Thread]) -> None:
    """Collect the clients Redis has served or timed out: their flag b is gone, so their reply is on its way."""
    for actor, thread in list(threads.items()):
        if "b" not in (_flags(admin, actor) or ""):
            thread.join(DEADLINE_SECONDS)
            assert not thread.is_alive(), f"{actor} was unblocked but its reply never came"
            del threads[actor]
