"""The trace engine: run a step-through's commands for real and record a snapshot after each step.

Blocking is the engine's own business, following Redis 7.0's rules (tutor/blocking.py). A blocking
command (BRPOP, BLMOVE, XREAD BLOCK ...) is sent at once when Redis would answer it at once;
otherwise the actor is held as a waiter, and after each command (a MULTI/EXEC counts as one) the
keys that command made ready are handled as Redis handles them: in the order they were signalled,
each key's waiters in the order they blocked, each waiter sent its command rewritten to the ready
key, so the reply is Redis's own. Lesson time moves only by `wait:`, so a trace never depends on
the wall clock or on thread scheduling, and the engine never leaves a connection blocked.

Each run works in its own key namespace, so concurrent runs (many learners, one server) never
see each other's keys; the trace shows the names the author wrote.
"""

from __future__ import annotations

import copy
import secrets
import traceback
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
from redis.exceptions import ResponseError

from tutor import messages
from tutor.backend import Backend
from tutor.blocking import (
    NOGROUP_DESTROYED,
    UNBLOCKED_DELETED,
    ReadyKeys,
    Waiter,
    parse_id,
    signals,
)
from tutor.commands import (
    LIST,
    STREAM,
    ZSET,
    Blocking,
    CommandError,
    blocking_info,
    format_cli,
    reply_options,
    spec_for,
)
from tutor.keystates import read_key_states, strip_namespace
from tutor.lease import Lease
from tutor.limits import LIMITS
from tutor.model import Step, StepThrough
from tutor.pysteps import PythonStepError, compile_step, describe_error, initial_value, run_step
from tutor.replies import error_record, py_repr, reply_record, to_json
from tutor.streamclock import StreamClock
from tutor.subscribers import Delivery, Subscriber, apply_confirmations, collect, is_subscribing, leave
from tutor.subscribers import exchange as subscription_exchange
from tutor.trace import (
    TRACE_FORMAT,
    BlockedActor,
    Command,
    Event,
    KeyState,
    ProcessValue,
    Received,
    Reply,
    Snapshot,
    StepRecord,
    SubscribedActor,
    TimedOut,
    Trace,
    Unblocked,
    VariableState,
)
from tutor.trace import to_json as trace_json

__all__ = ["NAMESPACE", "TRACE_FORMAT", "run"]

NAMESPACE = "tutor:run:"


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
    blocked: OrderedDict[str, Waiter] = field(default_factory=OrderedDict)
    in_multi: set[str] = field(default_factory=set)
    queued: dict[str, list[list[str]]] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)  # keys the current step's commands named
    last_states: dict[str, KeyState] | None = None
    variables: dict[str, _Variable] = field(default_factory=dict)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: float = 0.0
    streams: StreamClock = field(default_factory=StreamClock)  # consumer-group idle times on lesson time
    subscribers: dict[str, Subscriber] = field(default_factory=dict)  # actors whose connection subscribed
    deliveries: list[Delivery] = field(default_factory=list)  # messages received during the current step
    number: int = 0  # the step being run
    crashed: dict[str, int] = field(default_factory=dict)  # actor -> step its process was killed at
    lease: Lease | None = None  # only a learner's own run (or a caller that asks) leases its keys
    guard: StepGuard | None = None
    guarding: bool = False  # the current step is the learner's: check its command before it is sent


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
    The result is the JSON-shaped dict of docs/trace-format.md (tutor.trace.to_json).
    """
    count = len(walk.steps) if upto is None else max(0, min(upto, len(walk.steps)))
    state = _Run(walk, backend, f"{NAMESPACE}{secrets.token_hex(12)}:")
    state.variables = {name: _Variable() for name in walk.variables}
    state.memory = {
        actor: {name: initial_value(v) for name, v in values.items()} for actor, values in walk.processes.items()
    }
    state.touched = {state.prefix + key for key in walk.watch}
    state.lease = Lease(key_ttl) if inserts is not None or key_ttl is not None else None
    state.guard = guard
    mine = inserts or {}
    yours: list[StepRecord] = []
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
                record = _step(state, number, own)
                record.after = number
                yours.append(record)
                state.guarding = False
        extras = [_step(state, count + i, step) for i, step in enumerate(extra, 1)]
    finally:
        _cleanup(state)
    trace = Trace(
        lesson=lesson_id,
        walkthrough=walk.slug,
        title=walk.title,
        actors=list(walk.actors),
        watch=list(walk.watch),
        variables=list(walk.variables),
        processes={actor: list(values) for actor, values in walk.processes.items()},
        step_count=len(walk.steps),
        executed=count,
        start=start,
        steps=steps,
        extra=extras if extra else None,
        yours=yours if inserts is not None else None,
    )
    return trace_json(trace)


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
            subscriber = state.subscribers.get(actor)
            if subscriber is not None and client.connection is not None:
                leave(client.connection, subscriber, state.prefix)
            if actor in state.in_multi:
                client.execute_command("DISCARD")
            client.execute_command("UNWATCH")
            state.backend.release(client)
        if state.observer is not None:
            state.backend.release(state.observer)


def _step(state: _Run, number: int, step: Step | None = None) -> StepRecord:
    step = step or state.walk.steps[number - 1]
    state.written = set()
    state.number = number
    events: list[Event] = []
    changed: set[str] = set()
    if step.wait:
        state.clock += step.wait
        _expire(state, events, changed)
    record = StepRecord(
        step=number,
        actor=step.actor,
        action=step.action,
        kind=step.kind,
        note=step.note,
        line=step.line,
        stage=step.stage,
        clock=state.clock,
        command=None,
        python=step.python,
    )
    if step.argv is not None:
        record.command = Command(list(step.argv), format_cli(step.argv))
        try:
            _redis_step(state, number, list(step.argv), step.assign, record, changed, events)
        except redis.exceptions.ConnectionError:
            raise  # the server is gone: the site says so (503), `tutor check` too
        except Exception as error:  # a backend failing on the engine's own reads (a probe, a state)
            if not _from_backend(error):
                raise  # a refusal (the run's guard) or a fault of our own: not the learner's step
            error_text = f"{type(error).__name__}: {error}"
            _fail(record, messages.BACKEND_FAILED.format(backend=state.backend.name, error=error_text), "engine")
    elif step.python is not None:
        _python_step(state, step.actor, step.python, step.assign, record, changed)
    elif step.crash is not None or step.restart is not None:
        _fault_step(state, number, step, record, changed)
    for delivery in state.deliveries:
        subscriber = state.subscribers[delivery.actor]
        subscriber.pending.extend(delivery.messages)
        reply = Reply.of(reply_record(delivery.messages, delivery.raw))
        events.append(Received(delivery.actor, step.actor, subscriber.since, reply))
    state.deliveries = []
    record.events = events
    assert state.observer is not None
    if state.lease is not None:
        state.lease.after(state.observer, state.written)
    if state.guard is not None:
        state.guard.after(state.observer, state.written)
    record.snapshot = _snapshot(state, changed)
    return record


def _from_backend(error: BaseException) -> bool:
    """Was it raised inside redis-py or fakeredis (rather than by our own code)?"""
    frames = traceback.walk_tb(error.__traceback__)
    return any(str(frame.f_globals.get("__name__", "")).startswith(("redis.", "fakeredis")) for frame, _ in frames)


def _fault_step(state: _Run, number: int, step: Step, record: StepRecord, changed: set[str]) -> None:
    """Kill an actor's process (its connection closes, as a killed client's does) or start a new one.

    The blocked command of a crashed actor was never sent (the engine holds waiting clients), so
    dropping it is what Redis does when a blocked client disconnects: nothing is popped for it.
    Closing the real connection discards its MULTI queue and WATCHes on the server, as a kill does.
    """
    record.status = "note"
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
        state.subscribers.pop(actor, None)  # Redis drops a closed connection's subscriptions
        if actor in state.walk.processes:
            state.memory[actor] = {name: initial_value(v) for name, v in state.walk.processes[actor].items()}
        record.note = step.note or messages.CRASH_NOTE.format(actor=actor)
        return
    actor = step.restart or step.actor
    if actor not in state.crashed:
        _fail(record, messages.ACTOR_NOT_CRASHED.format(actor=actor), "engine")
        return
    del state.crashed[actor]
    state.clients[actor] = state.backend.connection()
    record.note = step.note or messages.RESTART_NOTE.format(actor=actor)


def _redis_step(
    state: _Run,
    number: int,
    argv: list[str],
    assign: str | None,
    record: StepRecord,
    changed: set[str],
    events: list[Event],
) -> None:
    actor = record.actor
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
    subscriber = state.subscribers.get(actor)
    if subscriber is not None and subscriber.active and not is_subscribing(argv):
        _fail(record, messages.ACTOR_SUBSCRIBED.format(actor=actor, since=subscriber.since), "engine")
        return
    if is_subscribing(argv) and actor in state.in_multi:
        _fail(record, messages.SUBSCRIBE_IN_MULTI.format(name=argv[0].upper()), "engine")
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
        sent = _pin_last_ids(state, sent, blocking)
        if _would_block(state, sent, blocking):
            timeout = blocking.timeout_seconds
            deadline = None if timeout == 0 else state.clock + timeout
            state.blocked[actor] = Waiter(actor, number, argv, sent, blocking, deadline, assign)
            record.status = "blocked"
            if assign:
                state.variables[assign] = _Variable(None, waiting=True)
                changed.add(assign)
            return
    name = argv[0].upper()
    queueing = actor in state.in_multi and name not in ("EXEC", "DISCARD", "MULTI", "WATCH")
    ran = [sent] if name != "EXEC" else list(state.queued.get(actor, []))
    before = {} if queueing else _types_before(state, ran)
    reply = _send(state, actor, sent, spec.status_reply, queueing)
    raw = reply.pop("_raw", None)
    record.status = "error" if reply["type"] == "error" else "ok"
    if reply["type"] == "error":
        record.error_source = reply.pop("_source", "redis")
    value = reply.pop("_value", None)
    record.reply = Reply.of(reply)
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
        state.variables[assign] = _Variable(value)
        changed.add(assign)
    if before:
        results = raw if name == "EXEC" else [raw]
        ready = ReadyKeys()
        waited = _waited(state)
        if isinstance(results, list):
            for command, result in zip(ran, results, strict=False):
                for key, kind in signals(command, result, before, waited):
                    ready.signal(key, kind, state.blocked.values())
        _serve(state, ready, actor, events, changed)


def _fail(record: StepRecord, message: str, source: str) -> None:
    record.status = "error"
    record.error_source = source
    record.reply = Reply.of(error_record(message))


def _waited(state: _Run) -> set[str]:
    """Every key somebody waits on."""
    return {key for waiter in state.blocked.values() for key in waiter.keys}


def _types_before(state: _Run, commands: Iterable[list[str]]) -> dict[str, str]:
    """The type of every key these commands name, read before they run, if they name a waited key.

    Empty when none does: then nothing they do can wake anybody. RENAME's source is read too, since
    the destination takes its type.
    """
    waited = _waited(state)
    if not waited:
        return {}
    named: list[str] = []
    for command in commands:
        try:
            positions = spec_for(command).keys(command)
        except CommandError:
            continue
        named.extend(command[i] for i in positions)
    if waited.isdisjoint(named):
        return {}
    keys = list(dict.fromkeys(named))
    return dict(zip(keys, _types(state, keys), strict=True))


def _types(state: _Run, keys: list[str]) -> list[str]:
    if not keys:
        return []
    assert state.observer is not None
    pipe = state.observer.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
    return [str(t) for t in pipe.execute()]


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

    Every command reaches Redis here, a woken blocked command too. Inside MULTI the reply is only
    QUEUED, so redis-py's callback waits for EXEC, where each queued command's own callback is
    applied to its result. The record carries "_value" (redis-py's value) and "_raw" (the reply as
    received, for the blocking model) for the caller to take out.
    """
    client = state.clients[actor]
    connection = client.connection
    assert connection is not None
    try:
        if is_subscribing(sent):
            raw = subscription_exchange(connection, sent)
        else:
            raw = state.streams.exchange(
                connection, state.observer, sent, state.clock, state.queued.get(actor, []), queueing
            )
    except ResponseError as error:
        stripped = _strip(state, error)
        return {**error_record(str(stripped)), "_raw": stripped}
    except redis.exceptions.ConnectionError:
        raise  # the server is gone: the site says so (503), not this step
    except Exception as error:  # a backend's own failure must reach the learner as a step error
        if not _from_backend(error):
            raise
        return _backend_failure(state, actor, error)
    raw = _strip(state, raw)
    if not queueing:
        _deliveries(state, actor, sent, raw)
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
        too_large["_raw"] = raw
        return too_large
    record["_value"] = value
    record["_raw"] = raw
    return record


def _deliveries(state: _Run, actor: str, sent: list[str], raw: Any) -> None:
    """Follow a (UN|P)SUBSCRIBE's confirmations; after a PUBLISH, read what Redis sent the subscribers."""
    if is_subscribing(sent):
        subscriber = state.subscribers.get(actor)
        if subscriber is None or not subscriber.active:
            pending = subscriber.pending if subscriber is not None else []
            subscriber = state.subscribers[actor] = Subscriber(state.number, pending=pending)
        apply_confirmations(subscriber, raw)
        return
    name = sent[0].upper()
    if name == "PUBLISH":
        published = raw if isinstance(raw, int) else 0
    elif name == "EXEC" and isinstance(raw, list):
        queued = state.queued.get(actor, [])
        replies = zip(queued, raw, strict=False)
        published = sum(r for q, r in replies if q[0].upper() == "PUBLISH" and isinstance(r, int))
    else:
        return
    if not published:
        return
    listening = {a: state.clients[a].connection for a, s in state.subscribers.items() if s.active}
    connections = {a: c for a, c in listening.items() if c is not None}
    for delivery in collect(connections, published):
        delivery.raw = _strip(state, delivery.raw)
        delivery.messages = _strip(state, delivery.messages)
        state.deliveries.append(delivery)


def _backend_failure(state: _Run, actor: str, error: Exception) -> dict[str, Any]:
    """A timeout, or an exception inside the backend: the connection is dropped, so is its MULTI."""
    if isinstance(error, redis.exceptions.TimeoutError):
        message = messages.BACKEND_TIMEOUT.format(seconds=LIMITS.command_timeout_seconds)
    else:
        message = messages.BACKEND_FAILED.format(backend=state.backend.name, error=f"{type(error).__name__}: {error}")
    state.in_multi.discard(actor)
    state.queued.pop(actor, None)
    connection = state.clients[actor].connection
    if connection is not None:
        connection.disconnect()
    return {**error_record(message), "_source": "engine", "_raw": ResponseError(message)}


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


def _pin_last_ids(state: _Run, sent: list[str], blocking: Blocking) -> list[str]:
    """XREAD BLOCK ... $ means "after the stream's last ID now" (0-0 if there is no stream): pin it when sent."""
    if blocking.kind != STREAM or blocking.group is not None:
        return sent
    pinned = list(sent)
    count = len(blocking.keys)
    for key_index in blocking.keys:
        id_index = key_index + count
        if id_index < len(pinned) and pinned[id_index] == "$":
            last = _last_generated_id(state, pinned[key_index])
            if last is not None:
                pinned[id_index] = last
    return pinned


def _last_generated_id(state: _Run, key: str) -> str | None:
    """The stream's last ID (s->last_id, which outlives a deleted last entry); 0-0 when there is no key."""
    assert state.observer is not None
    kind = state.observer.type(key)
    if kind == "none":
        return "0-0"
    if kind != STREAM:
        return None  # the command will be refused with WRONGTYPE: leave its arguments alone
    return str(state.observer.xinfo_stream(key)["last-generated-id"])


def _group_last_id(state: _Run, key: str, group: str) -> str | None:
    """The consumer group's last delivered ID, or None when the stream or the group does not exist."""
    assert state.observer is not None
    try:
        groups = state.observer.xinfo_groups(key)
    except ResponseError:
        return None
    for info in groups:
        if str(info["name"]) == group:
            return str(info["last-delivered-id"])
    return None


_NON_BLOCKING = {"BLMPOP": "LMPOP", "BZMPOP": "ZMPOP", "BLMOVE": "LMOVE", "BRPOPLPUSH": "RPOPLPUSH"}


def _would_block(state: _Run, sent: list[str], blocking: Blocking) -> bool:
    """Would Redis block this command now, rather than answer it (with data or an error)?"""
    observer = state.observer
    assert observer is not None
    keys = [sent[i] for i in blocking.keys]
    if not keys:
        return False  # no key: Redis refuses the arguments at once
    try:
        if blocking.kind in (LIST, ZSET):
            if observer.exists(*keys):
                return False  # data, or a key of the wrong type: an answer at once
            name = sent[0].upper()
            if name in _NON_BLOCKING:
                # Every key is missing, so the non-blocking form changes nothing: it only says whether
                # Redis accepts the other arguments (LEFT/RIGHT, COUNT ...) or refuses them at once.
                args = sent[2:] if name in ("BLMPOP", "BZMPOP") else sent[1:-1]
                observer.execute_command(_NON_BLOCKING[name], *args)
            return True
        if any(kind not in ("none", STREAM) for kind in _types(state, keys)):
            return False  # WRONGTYPE at once
        if blocking.group is None:
            upper = [a.upper() for a in sent]
            at = upper.index("BLOCK")
            return not observer.execute_command(*sent[:at], *sent[at + 2 :])
        return _readgroup_would_block(state, sent, blocking, keys)
    except ResponseError:
        return False  # Redis refuses it at once


def _readgroup_would_block(state: _Run, sent: list[str], blocking: Blocking, keys: list[str]) -> bool:
    """XREADGROUP blocks only for `>` on existing groups with nothing new (src/t_stream.c xreadCommand)."""
    assert state.observer is not None and blocking.group is not None
    ids = [sent[i + len(keys)] for i in blocking.keys if i + len(keys) < len(sent)]
    if len(ids) != len(keys) or any(i != ">" for i in ids) or sent[1].upper() != "GROUP":
        return False  # history is served at once; bad arguments are refused at once
    for key in keys:
        group_last = _group_last_id(state, key, blocking.group[0])
        if group_last is None:
            return False  # NOGROUP at once
        newest = state.observer.xrevrange(key, "+", "-", count=1)
        if newest and _after(str(newest[0][0]), group_last):
            return False
    return True


def _after(first: str, second: str) -> bool:
    a, b = parse_id(first), parse_id(second)
    return a is not None and b is not None and a > b


def _serve(state: _Run, ready: ReadyKeys, by: str, events: list[Event], changed: set[str]) -> None:
    """handleClientsBlockedOnKeys(): serve the ready keys in order, cascades after, until none is left."""
    assert state.observer is not None
    while ready.pending:
        for key in ready.take():
            ready.handled(key)
            kind = state.observer.type(key)
            waiters = [w for w in state.blocked.values() if key in w.keys]
            if kind in (LIST, ZSET):
                for waiter in waiters:
                    if waiter.blocking.kind == kind:
                        _serve_one(state, waiter, key, ready, by, events, changed)
                        if not state.observer.exists(key):
                            break  # emptied, so deleted: the others keep waiting
            elif kind == STREAM:
                last = _last_generated_id(state, key) or "0-0"
                for waiter in waiters:
                    if waiter.blocking.kind != STREAM:
                        continue
                    if waiter.blocking.group is None:
                        after = waiter.stream_id(key)
                    else:
                        group_last = _group_last_id(state, key, waiter.blocking.group[0])
                        if group_last is None:
                            _answer_error(state, waiter, NOGROUP_DESTROYED, by, events, changed)
                            continue
                        after = group_last
                    if _after(last, after):
                        _serve_one(state, waiter, key, ready, by, events, changed)
            if kind != STREAM:
                for waiter in waiters:
                    if waiter.blocking.group is not None and waiter.actor in state.blocked:
                        _answer_error(state, waiter, UNBLOCKED_DELETED, by, events, changed)


def _serve_one(
    state: _Run, waiter: Waiter, key: str, ready: ReadyKeys, by: str, events: list[Event], changed: set[str]
) -> None:
    """Send the waiter's command, rewritten to the ready key, on its own connection: Redis answers it."""
    argv = waiter.served_argv(key)
    spec = spec_for(argv)
    before = _types_before(state, [argv])
    waited = _waited(state)
    del state.blocked[waiter.actor]
    state.written.update(argv[i] for i in spec.keys(argv))
    reply = _send(state, waiter.actor, argv, spec.status_reply)
    raw = reply.pop("_raw", None)
    value = reply.pop("_value", None)
    reply.pop("_source", None)
    _unblocked(state, waiter, Reply.of(reply), value, by, events, changed)
    for signalled, kind in signals(argv, raw, before, waited):
        ready.signal(signalled, kind, [*state.blocked.values(), waiter])  # still blocked while it pushes


def _answer_error(state: _Run, waiter: Waiter, message: str, by: str, events: list[Event], changed: set[str]) -> None:
    """Redis answers an XREADGROUP waiter with an error of its own (no command runs)."""
    del state.blocked[waiter.actor]
    _unblocked(state, waiter, Reply.of(error_record(message)), None, by, events, changed)


def _unblocked(
    state: _Run, waiter: Waiter, reply: Reply, value: Any, by: str, events: list[Event], changed: set[str]
) -> None:
    command = Command(list(waiter.argv), format_cli(waiter.argv))
    events.append(Unblocked(waiter.actor, by, waiter.since, command, reply))
    if waiter.assign:
        state.variables[waiter.assign] = _Variable(value)
        changed.add(waiter.assign)


def _expire(state: _Run, events: list[Event], changed: set[str]) -> None:
    """Lesson time has moved: blocked commands whose timeout has passed get their timeout reply.

    The reply goes through redis-py's own callback for the command, as a real client's does (a
    timed-out XREAD is [] under redis-py 8). Redis times out the earliest deadline first.
    """
    due = [w for w in state.blocked.values() if w.deadline is not None and w.deadline <= state.clock]
    for waiter in sorted(due, key=lambda w: w.deadline or 0.0):
        del state.blocked[waiter.actor]
        value = _parse(state.clients[waiter.actor], waiter.sent, None)
        command = Command(list(waiter.argv), format_cli(waiter.argv))
        events.append(TimedOut(waiter.actor, waiter.since, command, Reply.of(reply_record(value, None))))
        if waiter.assign:
            state.variables[waiter.assign] = _Variable(value)
            changed.add(waiter.assign)


def _python_step(
    state: _Run, actor: str, source: str, assign: str | None, record: StepRecord, changed: set[str]
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
        record.status = "error"
        record.error_source = "python"
        text = describe_error(error)
        record.reply = Reply.of(error_record(text, cli=f"Traceback (most recent call last): ... {text}"))
        return
    record.status = "ok"
    record.reply = Reply("python", to_json(value), py_repr(value), py_repr(value))
    if assign:
        state.variables[assign] = _Variable(value)
        changed.add(assign)


def _snapshot(state: _Run, changed: set[str]) -> Snapshot:
    """The complete state after a step: watched keys, variables, process memory, who is blocked or subscribed."""
    return Snapshot(
        state=_key_states(state),
        variables={
            name: VariableState(
                to_json(var.value),
                "None (waiting)" if var.waiting else py_repr(var.value),
                var.waiting,
                name in changed,
            )
            for name, var in state.variables.items()
        },
        processes={
            actor: {name: ProcessValue(to_json(v), py_repr(v)) for name, v in memory.items()}
            for actor, memory in state.memory.items()
        },
        blocked={
            actor: BlockedActor(w.since, format_cli(w.argv), [w.argv[i] for i in w.blocking.keys], w.deadline)
            for actor, w in state.blocked.items()
        },
        subscribed={
            actor: SubscribedActor(s.since, list(s.channels), list(s.patterns), list(s.pending))
            for actor, s in state.subscribers.items()
        },
        crashed=dict(state.crashed),
    )


def _key_states(state: _Run) -> dict[str, KeyState]:
    """Read the watched keys this step's commands named; the others are as the last step left them.

    A command reaches only the keys it names (every one is namespaced, so it must be named), so a
    watched key that no command of the step named cannot have changed: reading it again costs a
    round trip per key and finds the same value.
    """
    watch = state.walk.watch
    if not watch:
        return {}
    last = state.last_states
    named = list(watch) if last is None else [key for key in watch if state.prefix + key in state.written]
    if last is not None and not named:
        return dict(last)
    assert state.observer is not None
    guess = {key: known.type for key, known in (last or {}).items()}
    read = read_key_states(state.observer, state.prefix, named, guess)
    fresh = {key: KeyState(s["type"], s["value"], s["py"]) for key, s in read.items()}
    state.last_states = {key: fresh[key] if key in fresh else (last or {})[key] for key in watch}
    return dict(state.last_states)
