"""The trace engine: run a step-through's commands for real and record a snapshot after each step.

Blocking is the engine's own business. A blocking command (BRPOP, BLMOVE, XREAD BLOCK ...) is only
sent when a probe shows its keys have data, so it returns at once; otherwise the actor is marked
blocked, and after every later step the blocked actors are retried in the order they blocked
(first come, first served, as Redis does; fakeredis does not promise that order, so we do not
lean on it). Lesson time moves only by `wait:`, so a trace never depends on the wall clock or on
thread scheduling, and the engine never hangs.

Each run works in its own key namespace, so concurrent runs (many learners, one server) never
see each other's keys; the trace shows the names the author wrote.
"""

from __future__ import annotations

import copy
import secrets
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
from redis.exceptions import ResponseError

from tutor import messages
from tutor.backend import Backend
from tutor.commands import Blocking, CommandError, blocking_info, format_cli, reply_options, spec_for
from tutor.keystates import read_key_states, strip_namespace
from tutor.lease import Lease
from tutor.limits import LIMITS
from tutor.model import Step, StepThrough
from tutor.pysteps import PythonStepError, compile_step, describe_error, initial_value, run_step
from tutor.replies import error_record, py_repr, reply_record, to_json
from tutor.streamclock import StreamClock

TRACE_FORMAT = "tutor-trace/1"
NAMESPACE = "tutor:run:"


@dataclass
class _Waiting:
    """An actor blocked by a command, until data arrives or lesson time passes its timeout."""

    since: int
    argv: list[str]
    sent: list[str]
    blocking: Blocking
    deadline: float | None
    assign: str | None


@dataclass
class _Variable:
    value: Any = None
    waiting: bool = False


@dataclass
class _Run:
    walk: StepThrough
    backend: Backend
    prefix: str
    clients: dict[str, redis.Redis] = field(default_factory=dict)
    observer: redis.Redis | None = None
    touched: set[str] = field(default_factory=set)
    blocked: OrderedDict[str, _Waiting] = field(default_factory=OrderedDict)
    in_multi: set[str] = field(default_factory=set)
    queued: dict[str, list[list[str]]] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)  # keys the current step's commands named
    last_states: dict[str, Any] | None = None
    variables: dict[str, _Variable] = field(default_factory=dict)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: float = 0.0
    crashed: dict[str, int] = field(default_factory=dict)  # actor -> step its process was killed at
    lease: Lease | None = None  # only a learner's own run (or a caller that asks) leases its keys
    guard: StepGuard | None = None
    guarding: bool = False  # the current step is the learner's: check its command before it is sent
    streams: StreamClock = field(default_factory=StreamClock)  # consumer-group idle times on lesson time


class StepGuard(Protocol):
    """Limits on a learner's run (tutor/guard.py): raise to refuse; the run is then abandoned whole."""

    def before(self, observer: redis.Redis, sent: list[str]) -> None: ...
    def after(self, observer: redis.Redis, keys: set[str]) -> None: ...


def run(
    walk: StepThrough,
    backend: Backend,
    lesson_id: str,
    upto: int | None = None,
    extra: Sequence[Step] = (),
    inserts: Mapping[int, Sequence[Step]] | None = None,
    guard: StepGuard | None = None,
    key_ttl: float | None = None,
) -> dict[str, Any]:
    """Execute the first `upto` steps (all by default) in a fresh namespace and return the trace.

    `extra` steps (a learner's own command) run after them, in the same namespace, and are
    returned under "extra" so the lesson's own steps stay exactly as the author wrote them.
    `inserts` is a learner's own run: inserts[k] runs right after lesson step k (0: before step 1),
    so later lesson steps run on the state it made; its records come back, in the order they ran,
    under "yours" (each with "after": k). `guard` checks those steps' commands and every step's
    keys (it raises to refuse the run). The keys of a learner's own run (or of any run given a
    `key_ttl`) get a TTL (tutor/lease.py); the lesson's run alone costs no lease: cleanup deletes its keys.
    """
    count = len(walk.steps) if upto is None else max(0, min(upto, len(walk.steps)))
    state = _Run(walk, backend, f"{NAMESPACE}{secrets.token_hex(12)}:")
    state.lease = Lease(key_ttl) if inserts is not None or key_ttl is not None else None
    state.guard = guard
    mine = inserts or {}
    yours: list[dict[str, Any]] = []
    state.variables = {name: _Variable() for name in walk.variables}
    state.memory = {
        actor: {name: initial_value(v) for name, v in values.items()} for actor, values in walk.processes.items()
    }
    state.touched = {state.prefix + key for key in walk.watch}
    try:
        state.observer = backend.connection()
        state.clients = {actor: backend.connection() for actor in walk.actors}
        start = _snapshot(state, set())
        steps = []
        for number in range(0, count + 1):
            if number:
                steps.append(_step(state, number))
            for own in mine.get(number, ()):
                state.guarding = True
                yours.append({**_step(state, number, own), "after": number})
                state.guarding = False
        extras = [_step(state, count + i, step) for i, step in enumerate(extra, 1)]
    finally:
        _cleanup(state)
    return {
        "format": TRACE_FORMAT,
        "lesson": lesson_id,
        "walkthrough": walk.slug,
        "title": walk.title,
        "actors": list(walk.actors),
        "watch": list(walk.watch),
        "variables": list(walk.variables),
        "processes": {actor: list(values) for actor, values in walk.processes.items()},
        "step_count": len(walk.steps),
        "executed": count,
        "start": start,
        "steps": steps,
        **({"extra": extras} if extra else {}),
        **({"yours": yours} if inserts is not None else {}),
    }


def _cleanup(state: _Run) -> None:
    try:
        if state.observer is not None and state.touched:
            keys = sorted(state.touched)
            for i in range(0, len(keys), 256):
                state.observer.delete(*keys[i : i + 256])
    finally:
        for actor, client in state.clients.items():
            if actor in state.crashed:
                continue  # its connection is already closed
            if actor in state.in_multi:
                client.execute_command("DISCARD")
            client.execute_command("UNWATCH")
            state.backend.release(client)
        if state.observer is not None:
            state.backend.release(state.observer)


def _step(state: _Run, number: int, step: Step | None = None) -> dict[str, Any]:
    step = step or state.walk.steps[number - 1]
    state.written = set()
    events: list[dict[str, Any]] = []
    changed: set[str] = set()
    if step.wait:
        state.clock += step.wait
        _expire(state, events, changed)
    record: dict[str, Any] = {
        "step": number,
        "actor": step.actor,
        "action": step.action,
        "kind": step.kind,
        "note": step.note,
        "line": step.line,
        "stage": step.stage,
        "clock": state.clock,
        "command": None,
        "python": step.python,
        "status": "note",
        "reply": None,
    }
    if step.argv is not None:
        record["command"] = {"argv": list(step.argv), "cli": format_cli(step.argv)}
        _redis_step(state, number, list(step.argv), step.assign, record, changed)
    elif step.python is not None:
        _python_step(state, step.actor, step.python, step.assign, record, changed)
    elif step.crash is not None or step.restart is not None:
        _fault_step(state, number, step, record, changed)
    _wake(state, step.actor, events, changed)
    record["events"] = events
    assert state.observer is not None
    if state.lease is not None:
        state.lease.after(state.observer, state.written)
    if state.guard is not None:
        state.guard.after(state.observer, state.written)
    record.update(_snapshot(state, changed))
    return record


def _fault_step(state: _Run, number: int, step: Step, record: dict[str, Any], changed: set[str]) -> None:
    """Kill an actor's process (its connection closes, as a killed client's does) or start a new one.

    The blocked command of a crashed actor was never sent (the engine holds waiting clients), so
    dropping it is what Redis does when a blocked client disconnects: nothing is popped for it.
    Closing the real connection discards its MULTI queue and WATCHes on the server, as a kill does.
    """
    record["status"] = "note"
    if step.crash is not None:
        actor = step.crash
        if actor in state.crashed:
            _fail(record, messages.ACTOR_CRASHED.format(actor=actor, since=state.crashed[actor]), "engine")
            return
        waiting = state.blocked.pop(actor, None)
        if waiting is not None and waiting.assign:
            state.variables[waiting.assign] = _Variable(None)
            changed.add(waiting.assign)
        state.in_multi.discard(actor)
        state.queued.pop(actor, None)
        client = state.clients[actor]
        if client.connection is not None:
            client.connection.disconnect()  # the socket itself: a pool must not hand it out again
        client.close()
        state.crashed[actor] = number
        if actor in state.walk.processes:
            state.memory[actor] = {name: initial_value(v) for name, v in state.walk.processes[actor].items()}
        record["note"] = step.note or messages.CRASH_NOTE.format(actor=actor)
        return
    actor = step.restart or step.actor
    if actor not in state.crashed:
        _fail(record, messages.ACTOR_NOT_CRASHED.format(actor=actor), "engine")
        return
    del state.crashed[actor]
    state.clients[actor] = state.backend.connection()
    record["note"] = step.note or messages.RESTART_NOTE.format(actor=actor)


def _redis_step(
    state: _Run, number: int, argv: list[str], assign: str | None, record: dict[str, Any], changed: set[str]
) -> None:
    actor = record["actor"]
    if actor in state.crashed:
        _fail(record, messages.ACTOR_CRASHED.format(actor=actor, since=state.crashed[actor]), "engine")
        return
    if actor in state.blocked:
        since = state.blocked[actor].since
        _fail(record, messages.ACTOR_BLOCKED.format(actor=actor, since=since), "engine")
        return
    try:
        spec = spec_for(argv)
    except CommandError as error:
        _fail(record, str(error), "engine")
        return
    sent = _namespaced(state, argv)
    assert state.observer is not None
    if state.guard is not None and state.guarding:
        state.guard.before(state.observer, sent)
    if state.lease is not None and (
        actor not in state.in_multi or argv[0].upper() in ("EXEC", "MULTI", "WATCH", "DISCARD")
    ):
        for pending in state.queued.get(actor, []) if argv[0].upper() == "EXEC" else [sent]:
            state.lease.before(state.observer, pending)
    blocking = None if actor in state.in_multi else blocking_info(argv)
    if blocking is not None and blocking.timeout_seconds is not None:
        sent = _resolve_last_ids(state, sent, blocking)
        if not _has_data(state, sent, blocking):
            timeout = blocking.timeout_seconds
            deadline = None if timeout == 0 else state.clock + timeout
            state.blocked[actor] = _Waiting(number, argv, sent, blocking, deadline, assign)
            record["status"] = "blocked"
            if assign:
                state.variables[assign] = _Variable(None, waiting=True)
                changed.add(assign)
            return
    name = argv[0].upper()
    queueing = actor in state.in_multi and name not in ("EXEC", "DISCARD", "MULTI", "WATCH")
    reply = _send(state, actor, sent, spec.status_reply, queueing)
    record["status"] = "error" if reply["type"] == "error" else "ok"
    if reply["type"] == "error":
        record["error_source"] = reply.pop("_source", "redis")
    record["reply"] = reply
    if name == "MULTI" and reply["type"] != "error":
        state.in_multi.add(actor)
        state.queued[actor] = []
    elif queueing and reply["type"] != "error":
        state.queued[actor].append(sent)
    elif name in ("EXEC", "DISCARD"):
        state.in_multi.discard(actor)
        for queued in state.queued.pop(actor, []):
            state.written.update(queued[i] for i in spec_for(queued).keys(queued))
    if assign:
        state.variables[assign] = _Variable(reply.get("_value"))
        changed.add(assign)
    reply.pop("_value", None)


def _fail(record: dict[str, Any], message: str, source: str) -> None:
    record["status"] = "error"
    record["error_source"] = source
    record["reply"] = error_record(message)


def _namespaced(state: _Run, argv: list[str]) -> list[str]:
    spec = spec_for(argv)
    sent = list(argv)
    for index in spec.keys(sent):
        sent[index] = state.prefix + sent[index]
        state.touched.add(sent[index])
        state.written.add(sent[index])
    if spec.channels is not None:
        for index in spec.channels(sent):
            sent[index] = state.prefix + sent[index]
    return sent


def _strip(state: _Run, value: Any) -> Any:
    """Take the run's namespace back out of a reply, so the learner sees the author's key names."""
    return strip_namespace(state.prefix, value)


def _send(state: _Run, actor: str, sent: list[str], status: bool, queueing: bool = False) -> dict[str, Any]:
    """Send one command on the actor's own connection; errors are data, as in redis-cli.

    Inside MULTI the reply is only QUEUED, so redis-py's callback waits for EXEC, where each
    queued command's own callback is applied to its result.
    """
    client = state.clients[actor]
    connection = client.connection
    assert connection is not None
    try:
        raw = state.streams.exchange(
            connection, state.observer, sent, state.clock, state.queued.get(actor, []), queueing
        )
    except ResponseError as error:
        return error_record(str(_strip(state, error)))
    raw = _strip(state, raw)
    if queueing:
        value = raw
        status = True
    elif sent[0].upper() == "EXEC" and isinstance(raw, list):
        queued = state.queued.get(actor, [])
        value = [_parse(client, q, r) for q, r in zip(queued, raw, strict=False)] + raw[len(queued) :]
    else:
        value = _parse(client, sent, raw)
    if sent[0].upper() in _SET_REPLIES and isinstance(raw, list):
        raw = sorted(raw)  # a set has no order; sorted, the display never jitters between runs
    record = reply_record(value, raw, status)
    if len(record["py"]) > LIMITS.reply_chars:
        size = len(record["py"])
        too_large = error_record(messages.REPLY_TOO_LARGE.format(size=size, limit=LIMITS.reply_chars))
        too_large["_source"] = "engine"
        return too_large
    record["_value"] = value
    return record


_SET_REPLIES = {"SMEMBERS", "SUNION", "SINTER", "SDIFF"}


def _parse(client: redis.Redis, sent: Sequence[str], raw: Any) -> Any:
    """Apply redis-py's own reply callback, so the value is what the sample's Python code gets."""
    name = sent[0].upper()
    callback = client.response_callbacks.get(f"{name} {sent[1].upper()}" if len(sent) > 1 else name)
    callback = callback or client.response_callbacks.get(name)
    if callback is None or isinstance(raw, ResponseError):
        return raw
    try:  # on a copy: some callbacks (XAUTOCLAIM's) rewrite the reply in place, and raw is shown too
        return callback(copy.deepcopy(raw), **reply_options(sent))
    except Exception:  # a callback that needs options we cannot know: show the reply as sent
        return raw


def _resolve_last_ids(state: _Run, sent: list[str], blocking: Blocking) -> list[str]:
    """XREAD BLOCK ... $ means "entries after the last one now": pin it when the actor blocks."""
    if blocking.probe != "XREAD":
        return sent
    resolved = list(sent)
    count = len(blocking.keys)
    for key_index in blocking.keys:
        id_index = key_index + count
        if id_index < len(resolved) and resolved[id_index] == "$":
            assert state.observer is not None
            last = state.observer.xrevrange(resolved[key_index], "+", "-", count=1)
            resolved[id_index] = str(last[0][0]) if last else "0-0"
    return resolved


def _has_data(state: _Run, sent: list[str], blocking: Blocking) -> bool:
    """Would this blocking command return at once? (A wrong-type key answers at once with an error.)"""
    observer = state.observer
    assert observer is not None
    try:
        if blocking.probe == "XREAD":
            upper = [a.upper() for a in sent]
            at = upper.index("BLOCK")
            probe = sent[:at] + sent[at + 2 :]
            return bool(observer.execute_command(*probe))
        keys = [sent[i] for i in blocking.keys]
        pipe = observer.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command(blocking.probe, key)
        return any(int(n) > 0 for n in pipe.execute())
    except ResponseError:
        return True


def _wake(state: _Run, by: str, events: list[dict[str, Any]], changed: set[str]) -> None:
    """Serve blocked actors whose keys now have data, in the order they blocked, until none can."""
    progressed = True
    while progressed and state.blocked:
        progressed = False
        for actor in list(state.blocked):
            waiting = state.blocked[actor]
            # Only a command that named one of its keys can have given it data: skip the probe otherwise.
            if not any(waiting.sent[i] in state.written for i in waiting.blocking.keys):
                continue
            if not _has_data(state, waiting.sent, waiting.blocking):
                continue
            del state.blocked[actor]
            spec = spec_for(waiting.argv)
            state.written.update(waiting.sent[i] for i in spec.keys(waiting.sent))
            reply = _send(state, actor, waiting.sent, spec.status_reply)
            value = reply.pop("_value", None)
            events.append(
                {
                    "kind": "unblocked",
                    "actor": actor,
                    "by": by,
                    "since": waiting.since,
                    "command": {"argv": waiting.argv, "cli": format_cli(waiting.argv)},
                    "reply": reply,
                }
            )
            if waiting.assign:
                state.variables[waiting.assign] = _Variable(value)
                changed.add(waiting.assign)
            progressed = True


def _expire(state: _Run, events: list[dict[str, Any]], changed: set[str]) -> None:
    """Lesson time has moved: blocked commands whose timeout has passed get their nil reply."""
    for actor in list(state.blocked):
        waiting = state.blocked[actor]
        if waiting.deadline is None or waiting.deadline > state.clock:
            continue
        del state.blocked[actor]
        events.append(
            {
                "kind": "timeout",
                "actor": actor,
                "since": waiting.since,
                "command": {"argv": waiting.argv, "cli": format_cli(waiting.argv)},
                "reply": reply_record(None, None),
            }
        )
        if waiting.assign:
            state.variables[waiting.assign] = _Variable(None)
            changed.add(waiting.assign)


def _python_step(
    state: _Run, actor: str, source: str, assign: str | None, record: dict[str, Any], changed: set[str]
) -> None:
    if actor in state.crashed:
        _fail(record, messages.ACTOR_CRASHED.format(actor=actor, since=state.crashed[actor]), "engine")
        return
    if actor in state.blocked:
        since = state.blocked[actor].since
        _fail(record, messages.ACTOR_BLOCKED.format(actor=actor, since=since), "engine")
        return
    memory = state.memory.get(actor, {})
    try:
        statement = compile_step(source, set(memory))
        value = run_step(statement, memory)
    except PythonStepError as error:
        _fail(record, str(error), "engine")
        return
    except Exception as error:  # the learner is meant to see Python's own exception
        record["status"] = "error"
        record["error_source"] = "python"
        text = describe_error(error)
        record["reply"] = error_record(text, cli=f"Traceback (most recent call last): ... {text}")
        return
    record["status"] = "ok"
    record["reply"] = {"type": "python", "value": to_json(value), "py": py_repr(value), "cli": py_repr(value)}
    if assign:
        state.variables[assign] = _Variable(value)
        changed.add(assign)


def _snapshot(state: _Run, changed: set[str]) -> dict[str, Any]:
    """The complete state after a step: watched keys, variables, process memory, who is blocked."""
    return {
        "state": _key_states(state),
        "variables": {
            name: {
                "value": to_json(var.value),
                "py": "None (waiting)" if var.waiting else py_repr(var.value),
                "waiting": var.waiting,
                "changed": name in changed,
            }
            for name, var in state.variables.items()
        },
        "processes": {
            actor: {name: {"value": to_json(v), "py": py_repr(v)} for name, v in memory.items()}
            for actor, memory in state.memory.items()
        },
        "blocked": {
            actor: {
                "since": w.since,
                "command": format_cli(w.argv),
                "keys": [w.argv[i] for i in w.blocking.keys],
                "deadline": w.deadline,
            }
            for actor, w in state.blocked.items()
        },
    }


def _key_states(state: _Run) -> dict[str, Any]:
    """Read the watched keys, unless no command of this step named one (then nothing changed)."""
    watch = state.walk.watch
    if not watch:
        return {}
    if state.last_states is not None and not any(state.prefix + key in state.written for key in watch):
        return dict(state.last_states)
    state.last_states = _read_key_states(state)
    return dict(state.last_states)


def _read_key_states(state: _Run) -> dict[str, Any]:
    assert state.observer is not None
    return read_key_states(state.observer, state.prefix, state.walk.watch)
