"""Run a step-through on a real redis-server the way real clients would, to judge the engine by.

The engine never lets a command block: it probes the keys and sends the command once it could be
answered. This runner does the opposite, so it can tell whether that emulation is faithful. Every
actor has its own connection, driven by its own thread, so a blocking command really blocks inside
Redis. Nothing here predicts who will be served: the runner looks.

- After sending a step's command it waits (polling with a deadline) until either the reply arrives
  or `CLIENT LIST` shows the actor's connection with flag `b`: the command blocked.
- After the step, it asks `CLIENT LIST` which of the blocked connections lost their `b` flag, and
  waits for those threads to receive their replies. Redis 7.0 serves blocked clients inside the
  command that made their keys ready, before that command's own reply is written, so by the time the
  step's reply is read the set is final; the runner still polls until two reads agree.
- `crash:` kills the actor's real connection with CLIENT KILL (a blocked call ends with the
  connection error a killed client gets, and Redis pops nothing for it); `restart:` opens a new one.
- `wait:` is real time, scaled by SCALE: a lesson second lasts SCALE real seconds. Blocking timeouts
  (seconds for BLPOP and friends, milliseconds for XREAD/XREADGROUP BLOCK) and the min-idle times
  of XCLAIM, XAUTOCLAIM and XPENDING IDLE are scaled by the same factor before they are sent, so
  lesson time and Redis's clock agree. After a wait the runner gives Redis a grace period to time
  out the clients whose lesson deadline has passed (Redis checks timeouts about every 100 ms).

- A subscriber is what a Flask app would use: redis-py's own `PubSub` object, on its own connection.
  After a step whose PUBLISH replied N (or whose EXEC ran PUBLISH commands), the runner reads the
  subscribers with `get_message()` until N messages have come (with a deadline).

Keys are the author's own names: the runner works on a database the caller has flushed. Replies go
through redis-py's own reply callbacks, as the sample's Python code would see them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.exceptions import ResponseError

from tutor import messages
from tutor.commands import CommandError, reply_options, spec_for
from tutor.model import Step, StepThrough
from tutor.pysteps import PythonStepError, compile_step, describe_error, initial_value, run_step
from tutor.replies import error_record, py_repr, reply_record, to_json

SCALE = 0.25  # real seconds per lesson second
SETTLE_SECONDS = 5.0  # the longest a reply or a blocked flag may take to show up
TIMEOUT_GRACE_SECONDS = 1.0  # how late Redis may be in timing out a client (it checks every ~100 ms)
POLL_SECONDS = 0.002

_SECONDS_LAST = {"BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX", "BRPOPLPUSH", "BLMOVE"}
_SECONDS_FIRST = {"BLMPOP", "BZMPOP"}
_SET_REPLIES = {"SMEMBERS", "SUNION", "SINTER", "SDIFF"}


class ReferenceError(RuntimeError):
    """Redis did not answer or block within the deadline: the run cannot judge anything."""


@dataclass
class _Actor:
    name: str
    client: redis.Redis
    client_id: int
    worker: ThreadPoolExecutor
    in_multi: bool = False
    queued: list[list[str]] = field(default_factory=list)
    # While blocked: the command in flight, when and how it blocked.
    pending: Future[Any] | None = None
    argv: list[str] = field(default_factory=list)
    since: int = 0
    deadline: float | None = None  # lesson clock
    real_deadline: float | None = None  # time.monotonic() by which Redis must have timed it out
    assign: str | None = None
    pubsub: redis.client.PubSub | None = None  # once it subscribes
    subscribed_at: int = 0
    channels: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)


_SUBSCRIBING = {"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"}


def _push(message: dict[str, Any]) -> list[Any]:
    """A PubSub message dict back as the push Redis sent."""
    if message["type"] == "pmessage":
        return ["pmessage", message["pattern"], message["channel"], message["data"]]
    return [message["type"], message["channel"], message["data"]]


@dataclass
class _Variable:
    value: Any = None
    waiting: bool = False


def scaled(argv: Sequence[str], scale: float = SCALE) -> list[str]:
    """The command as sent to Redis: every timeout and min-idle time in real (scaled) time."""
    out = list(argv)
    name = out[0].upper()
    upper = [a.upper() for a in out]
    if name in _SECONDS_LAST and len(out) > 1:
        out[-1] = _scale_seconds(out[-1], scale)
    elif name in _SECONDS_FIRST and len(out) > 1:
        out[1] = _scale_seconds(out[1], scale)
    elif name in ("XREAD", "XREADGROUP") and "BLOCK" in upper:
        at = upper.index("BLOCK") + 1
        if at < len(out):
            out[at] = _scale_millis(out[at], scale)
    elif name in ("XCLAIM", "XAUTOCLAIM") and len(out) > 4:
        out[4] = _scale_millis(out[4], scale)
    elif name == "XPENDING" and "IDLE" in upper:
        at = upper.index("IDLE") + 1
        if at < len(out):
            out[at] = _scale_millis(out[at], scale)
    return out


def _scale_seconds(text: str, scale: float) -> str:
    try:
        seconds = float(text)
    except ValueError:
        return text  # Redis says what is wrong with it
    return text if seconds <= 0 else f"{seconds * scale:.6f}"


def _scale_millis(text: str, scale: float) -> str:
    try:
        millis = int(text)
    except ValueError:
        return text
    return text if millis <= 0 else str(max(1, round(millis * scale)))


def timeout_seconds(argv: Sequence[str]) -> float | None:
    """The lesson seconds a blocking command waits at most; None when it waits forever (or is not one)."""
    name = argv[0].upper()
    upper = [a.upper() for a in argv]
    text: str | None = None
    factor = 1.0
    if name in _SECONDS_LAST:
        text = argv[-1]
    elif name in _SECONDS_FIRST and len(argv) > 1:
        text = argv[1]
    elif name in ("XREAD", "XREADGROUP") and "BLOCK" in upper[:-1]:
        text, factor = argv[upper.index("BLOCK") + 1], 0.001
    try:
        seconds = float(text) * factor if text is not None else 0.0
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def in_lesson_time(argv: Sequence[str], raw: Any, to_lesson: Callable[[int], int]) -> Any:
    """The reply with every idle time Redis measured (ms, on its clock) turned into lesson milliseconds.

    XPENDING's extended form and XINFO CONSUMERS carry them; XINFO STREAM FULL's absolute
    timestamps are left alone.
    """
    name = argv[0].upper()
    sub = argv[1].upper() if len(argv) > 1 else ""
    if name == "XPENDING" and len(argv) > 3 and isinstance(raw, list):
        return [[*e[:2], _idle(e[2], to_lesson), *e[3:]] if isinstance(e, list) and len(e) == 4 else e for e in raw]
    if name == "XINFO" and sub == "CONSUMERS" and isinstance(raw, list):
        return [
            [_idle(v, to_lesson) if i and c[i - 1] in ("idle", "inactive") else v for i, v in enumerate(c)]
            if isinstance(c, list)
            else {k: _idle(v, to_lesson) if k in ("idle", "inactive") else v for k, v in c.items()}
            if isinstance(c, dict)  # RESP3 replies a map per consumer
            else c
            for c in raw
        ]
    return raw


def _idle(value: Any, to_lesson: Callable[[int], int]) -> Any:
    return to_lesson(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else value


def parse(client: redis.Redis, argv: Sequence[str], raw: Any) -> Any:
    """What redis-py hands Python code for this raw reply: its own callback for the command."""
    if isinstance(raw, ResponseError):
        return raw
    name = argv[0].upper()
    callbacks = client.response_callbacks
    callback = callbacks.get(f"{name} {argv[1].upper()}") if len(argv) > 1 else None
    callback = callback or callbacks.get(name)
    if callback is None:
        return raw
    # The options redis-py's own methods pass (withscores, parse_detail, parse_justid): a fact about redis-py.
    options = reply_options(argv)
    try:
        return callback(raw, **options)
    except Exception:  # a callback that needs options only the redis-py method knows: the raw reply
        return raw


def record(argv: Sequence[str], raw: Any, value: Any) -> dict[str, Any]:
    """The reply as the trace format shows it (type, value, py, cli)."""
    if isinstance(raw, ResponseError):
        return error_record(str(raw))
    try:
        status = spec_for(argv).status_reply
    except CommandError:
        status = False
    if argv[0].upper() in _SET_REPLIES and isinstance(raw, list):
        raw = sorted(raw)
    return reply_record(value, raw, status)


def read_state(observer: redis.Redis, watch: Sequence[str]) -> dict[str, Any]:
    """Each watched key's type and value, straight from the server."""
    readers: dict[str, Callable[[str], Any]] = {
        "string": observer.get,
        "list": lambda key: observer.lrange(key, 0, -1),
        "hash": observer.hgetall,
        "set": observer.smembers,
        "zset": lambda key: observer.zrange(key, 0, -1, withscores=True),
        "stream": observer.xrange,
    }
    out: dict[str, Any] = {}
    for key in watch:
        kind = str(observer.type(key))
        if kind == "none":
            out[key] = {"type": "none", "value": None, "py": "(none)"}
        else:
            value = readers[kind](key)
            out[key] = {"type": kind, "value": to_json(value), "py": py_repr(value)}
    return out


def _round_trip(client: redis.Redis, argv: list[str]) -> Any:
    """Send one command on the actor's own connection and wait, in this thread, for its reply."""
    connection = client.connection
    assert connection is not None
    connection.send_command(*argv)
    try:
        return connection.read_response()
    except ResponseError as error:
        return error


class _Blocked:
    """The outcome of a command that Redis parked: the actor's connection shows flag b."""


BLOCKED = _Blocked()


class ReferenceRun:
    """One execution of a step-through on real Redis; `run()` gives one comparable record per step."""

    def __init__(self, walk: StepThrough, url: str, scale: float = SCALE) -> None:
        self.walk = walk
        self.url = url
        self.scale = scale
        self.clock = 0.0
        # (start, end, lesson clock) of every command step, on the wall clock Redis measures idle times by.
        self.windows: list[tuple[float, float, float]] = []
        self.actors: dict[str, _Actor] = {}
        self.blocked: list[str] = []  # in the order they blocked
        self.crashed: dict[str, int] = {}  # actor -> the step its connection was killed at
        self.variables = {name: _Variable() for name in walk.variables}
        self.memory = {
            actor: {name: initial_value(v) for name, v in values.items()} for actor, values in walk.processes.items()
        }
        self.observer = redis.Redis.from_url(url, decode_responses=True, socket_timeout=SETTLE_SECONDS)
        self._last_exec: list[list[str]] = []  # the commands the last EXEC ran

    def run(self) -> list[dict[str, Any]]:
        """Execute every step and return what real Redis did at each one."""
        try:
            for name in self.walk.actors:
                self.actors[name] = self._connect(name)
            return [self._step(number, step) for number, step in enumerate(self.walk.steps, 1)]
        finally:
            self._close()

    def _connect(self, name: str) -> _Actor:
        """A new connection (and the thread that drives it) for an actor: its process starting."""
        client = redis.Redis.from_url(url=self.url, decode_responses=True, single_connection_client=True)
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"reference-{name}")
        return _Actor(name, client, int(client.client_id()), worker)

    # --- one step -------------------------------------------------------------------------------------

    def _step(self, number: int, step: Step) -> dict[str, Any]:
        events: dict[str, dict[str, Any]] = {}
        changed: set[str] = set()
        if step.wait:
            self.clock += step.wait
            self._let_time_pass(time.monotonic() + step.wait * self.scale)
            due = [a for a in self.blocked if (d := self.actors[a].deadline) is not None and d <= self.clock]
            self._settle("timeout", events, changed, due)
        status, reply = "note", None
        if step.argv is not None:
            status, reply = self._redis_step(number, step, changed)
        elif step.python is not None:
            status, reply = self._python_step(step, changed)
        elif step.crash is not None or step.restart is not None:
            status, reply = self._fault_step(number, step, changed)
        self._settle("unblocked", events, changed, [])
        if status == "ok" and reply is not None and step.argv is not None:
            self._deliver(step.argv, reply, events)
        return {
            "status": status,
            "reply": reply,
            "events": events,
            "state": read_state(self.observer, self.walk.watch),
            "blocked": [(name, self.actors[name].since) for name in self.blocked],
            "variables": {
                name: {
                    "value": to_json(var.value),
                    "py": "None (waiting)" if var.waiting else py_repr(var.value),
                    "waiting": var.waiting,
                    "changed": name in changed,
                }
                for name, var in self.variables.items()
            },
            "processes": {
                actor: {name: {"value": to_json(v), "py": py_repr(v)} for name, v in memory.items()}
                for actor, memory in self.memory.items()
            },
            "subscribed": {
                a.name: {
                    "since": a.subscribed_at,
                    "channels": list(a.channels),
                    "patterns": list(a.patterns),
                    "pending": list(a.received),
                }
                for a in self.actors.values()
                if a.pubsub is not None
            },
        }

    def _redis_step(self, number: int, step: Step, changed: set[str]) -> tuple[str, dict[str, Any] | None]:
        actor = self.actors[step.actor]
        if actor.name in self.crashed:
            since = self.crashed[actor.name]
            return "error", error_record(messages.ACTOR_CRASHED.format(actor=actor.name, since=since))
        if actor.name in self.blocked:
            # A real client is stuck inside its blocking call: it cannot send anything.
            return "error", error_record(messages.ACTOR_BLOCKED.format(actor=actor.name, since=actor.since))
        assert step.argv is not None
        argv = list(step.argv)
        name = argv[0].upper()
        if name in _SUBSCRIBING:
            return self._subscribe(number, actor, argv)
        if actor.channels or actor.patterns:
            since = actor.subscribed_at
            return "error", error_record(messages.ACTOR_SUBSCRIBED.format(actor=actor.name, since=since))
        started = time.time()
        future = actor.worker.submit(_round_trip, actor.client, scaled(argv, self.scale))
        outcome = self._await(actor, future, argv)
        self.windows.append((started, time.time(), self.clock))
        if outcome is BLOCKED:
            timeout = timeout_seconds(argv)
            actor.pending, actor.argv, actor.since, actor.assign = future, argv, number, step.assign
            actor.deadline = None if timeout is None else self.clock + timeout
            actor.real_deadline = None if timeout is None else time.monotonic() + timeout * self.scale
            self.blocked.append(actor.name)
            if step.assign:
                self.variables[step.assign] = _Variable(None, waiting=True)
                changed.add(step.assign)
            return "blocked", None
        raw = outcome
        if name == "EXEC" and isinstance(raw, list):
            queued = actor.queued
            raw = [in_lesson_time(q, r, self._lesson_idle) for q, r in zip(queued, raw, strict=False)] + raw[
                len(queued) :
            ]
        else:
            raw = in_lesson_time(argv, raw, self._lesson_idle)
        if actor.in_multi and name not in ("EXEC", "DISCARD") and raw == "QUEUED":
            actor.queued.append(argv)
            value: Any = raw
            reply = reply_record(raw, raw, status=True)
        else:
            if name == "EXEC" and isinstance(raw, list):
                queued = actor.queued
                value = [parse(actor.client, q, r) for q, r in zip(queued, raw, strict=False)] + raw[len(queued) :]
            else:
                value = parse(actor.client, argv, raw)
            reply = record(argv, raw, value)
            if name == "MULTI" and raw == "OK":
                actor.in_multi, actor.queued = True, []
            elif name in ("EXEC", "DISCARD"):
                self._last_exec = actor.queued
                actor.in_multi, actor.queued = False, []
        if step.assign:
            self.variables[step.assign] = _Variable(None if isinstance(raw, ResponseError) else value)
            changed.add(step.assign)
        return ("error" if reply["type"] == "error" else "ok"), reply

    def _subscribe(self, number: int, actor: _Actor, argv: list[str]) -> tuple[str, dict[str, Any]]:
        """(UN|P)SUBSCRIBE through redis-py's PubSub; its confirmations are the reply, one per name."""
        if actor.pubsub is None:
            actor.pubsub = actor.client.pubsub()
        if not (actor.channels or actor.patterns):
            actor.subscribed_at = number
        method = getattr(actor.pubsub, argv[0].lower())
        method(*argv[1:])
        raw: list[list[Any]] = []
        for _ in argv[1:]:
            message = actor.pubsub.get_message(timeout=SETTLE_SECONDS)
            if message is None:
                raise ReferenceError(f"{actor.name}: no confirmation of {argv} in {SETTLE_SECONDS} s")
            raw.append(_push(message))
            kind, name = message["type"], message["channel"]
            names = actor.patterns if kind.startswith("p") else actor.channels
            if kind.endswith("unsubscribe"):
                names.remove(name)
            elif name not in names:
                names.append(name)
        return "ok", reply_record(raw, raw)

    def _deliver(self, argv: Sequence[str], reply: dict[str, Any], events: dict[str, dict[str, Any]]) -> None:
        """After a PUBLISH that reached N clients, read the subscribers until N messages have come."""
        name = argv[0].upper()
        if name == "PUBLISH":
            expected = int(reply["value"])
        elif name == "EXEC" and isinstance(reply["value"], list):
            queued = self._last_exec
            expected = sum(r for q, r in zip(queued, reply["value"], strict=False) if q[0].upper() == "PUBLISH")
        else:
            return
        listeners = [a for a in self.actors.values() if a.pubsub is not None and (a.channels or a.patterns)]
        got: dict[str, list[dict[str, Any]]] = {a.name: [] for a in listeners}
        deadline = time.monotonic() + SETTLE_SECONDS
        count = 0
        while count < expected:
            if time.monotonic() > deadline:
                raise ReferenceError(f"{count} of {expected} published messages arrived in {SETTLE_SECONDS} s")
            for actor in listeners:
                assert actor.pubsub is not None
                message = actor.pubsub.get_message(timeout=POLL_SECONDS)
                if message is not None:
                    got[actor.name].append(message)
                    count += 1
        for actor in listeners:
            if got[actor.name]:
                actor.received.extend(got[actor.name])
                raw = [_push(m) for m in got[actor.name]]
                events[actor.name] = {"kind": "received", "reply": reply_record(got[actor.name], raw)}

    def _lesson_idle(self, idle_ms: int) -> int:
        """An idle time Redis measured, as lesson time: when did the entry's last event happen?

        It happened idle_ms before now, inside one of the steps already run; the lesson idle time is
        the lesson clock now minus that step's. Steps with waits between them are far apart in real
        time, so the runner's own milliseconds of work never move an entry to the wrong side of a wait.
        """
        at = self.windows[-1][1] - idle_ms / 1000
        start, end, clock = min(self.windows, key=lambda w: max(w[0] - at, at - w[1], 0.0))
        return round((self.clock - clock) * 1000)

    def _python_step(self, step: Step, changed: set[str]) -> tuple[str, dict[str, Any]]:
        assert step.python is not None
        if step.actor in self.crashed:
            since = self.crashed[step.actor]
            return "error", error_record(messages.ACTOR_CRASHED.format(actor=step.actor, since=since))
        if step.actor in self.blocked:
            since = self.actors[step.actor].since
            return "error", error_record(messages.ACTOR_BLOCKED.format(actor=step.actor, since=since))
        memory = self.memory.get(step.actor, {})
        try:
            value = run_step(compile_step(step.python, set(memory)), memory)
        except PythonStepError as error:
            return "error", error_record(str(error))
        except Exception as error:  # the learner is meant to see Python's own exception
            text = describe_error(error)
            return "error", error_record(text, cli=f"Traceback (most recent call last): ... {text}")
        if step.assign:
            self.variables[step.assign] = _Variable(value)
            changed.add(step.assign)
        return "ok", {"type": "python", "value": to_json(value), "py": py_repr(value), "cli": py_repr(value)}

    def _fault_step(self, number: int, step: Step, changed: set[str]) -> tuple[str, dict[str, Any] | None]:
        """Kill the actor's real connection (CLIENT KILL, as tests/test_crash.py does), or connect it anew."""
        if step.crash is not None:
            name = step.crash
            if name in self.crashed:
                return "error", error_record(messages.ACTOR_CRASHED.format(actor=name, since=self.crashed[name]))
            actor = self.actors[name]
            killed = self.observer.client_kill_filter(_id=actor.client_id)
            if killed != 1:
                raise ReferenceError(f"CLIENT KILL ID {actor.client_id} ({name}) killed {killed} clients")
            if name in self.blocked:
                try:  # the blocked call ends as a killed client's does: with a connection error, no reply
                    reply = self._pending(name).result(timeout=SETTLE_SECONDS)
                except redis.ConnectionError:
                    pass
                else:
                    raise ReferenceError(f"{name} was killed while blocked, yet received {reply!r}")
                self.blocked.remove(name)
                if actor.assign:
                    self.variables[actor.assign] = _Variable(None)
                    changed.add(actor.assign)
                actor.pending = None
            actor.worker.shutdown(wait=True)
            actor.client.close()
            if actor.pubsub is not None:
                actor.pubsub.close()  # its socket closes, as a killed process's does: its subscriptions go
            actor.pubsub, actor.channels, actor.patterns, actor.received = None, [], [], []
            self.crashed[name] = number
            if name in self.walk.processes:
                self.memory[name] = {key: initial_value(v) for key, v in self.walk.processes[name].items()}
            return "note", None
        name = step.restart or step.actor
        if name not in self.crashed:
            return "error", error_record(messages.ACTOR_NOT_CRASHED.format(actor=name))
        del self.crashed[name]
        self.actors[name] = self._connect(name)
        return "note", None

    # --- watching the connections --------------------------------------------------------------------

    def _flags(self) -> dict[str, str]:
        """Each actor's CLIENT LIST flags ('b' while Redis holds its command blocked)."""
        by_id = {actor.client_id: actor.name for actor in self.actors.values()}
        rows = self.observer.client_list(client_id=list(by_id))
        return {by_id[int(row["id"])]: row["flags"] for row in rows if int(row["id"]) in by_id}

    def _await(self, actor: _Actor, future: Future[Any], argv: list[str]) -> Any:
        """The command's reply, or BLOCKED once Redis shows the connection blocked."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                pass
            if "b" in self._flags().get(actor.name, ""):
                return BLOCKED
            if time.monotonic() > deadline:
                raise ReferenceError(f"{actor.name}: {argv} neither replied nor blocked in {SETTLE_SECONDS} s")

    def _let_time_pass(self, until: float) -> None:
        """Lesson time is real time: wait until `until`, watching the blocked clients meanwhile."""
        while (remaining := until - time.monotonic()) > 0:
            pending = [f for name in self.blocked if (f := self.actors[name].pending) is not None and not f.done()]
            if pending:  # a client Redis times out meanwhile is recorded by the settle that follows
                wait_for_futures(pending, timeout=remaining, return_when="FIRST_COMPLETED")
            else:
                time.sleep(remaining)  # nothing to watch: this is the lesson's `wait:` itself

    def _settle(self, kind: str, events: dict[str, dict[str, Any]], changed: set[str], due: list[str]) -> None:
        """Record every blocked actor Redis has answered: poll until the answered set is stable.

        `due` are the actors whose lesson deadline has passed: the runner gives Redis until their
        real deadline plus a grace period to time them out; any it does not stay blocked, and the
        comparison with the engine says so.
        """
        if not self.blocked:
            return
        late = [self.actors[a].real_deadline or 0.0 for a in due]
        deadline = max([time.monotonic() + SETTLE_SECONDS, *(t + TIMEOUT_GRACE_SECONDS for t in late)])
        previous: list[str] | None = None
        while True:
            flags = self._flags()
            answered = [name for name in self.blocked if "b" not in flags.get(name, "") or self._pending(name).done()]
            replies_in = all(self._pending(name).done() for name in answered)
            if answered == previous and replies_in and all(name in answered for name in due):
                break
            if time.monotonic() > deadline:
                if not replies_in:
                    raise ReferenceError(f"clients {answered} were unblocked but got no reply in time")
                break
            previous = answered
            waiting = [self._pending(name) for name in answered if not self._pending(name).done()]
            if waiting:
                wait_for_futures(waiting, timeout=POLL_SECONDS)
            elif any(name not in answered for name in due):
                wait_for_futures([self._pending(name) for name in due], timeout=POLL_SECONDS * 5)
        for name in answered:
            actor = self.actors[name]
            raw = self._pending(name).result()
            value = parse(actor.client, actor.argv, raw)
            events[name] = {"kind": kind, "reply": record(actor.argv, raw, value)}
            if actor.assign:
                self.variables[actor.assign] = _Variable(None if isinstance(raw, ResponseError) else value)
                changed.add(actor.assign)
            actor.pending = None
            self.blocked.remove(name)

    def _pending(self, name: str) -> Future[Any]:
        pending = self.actors[name].pending
        assert pending is not None, f"{name} is blocked without a command in flight"
        return pending

    # --- the end --------------------------------------------------------------------------------------

    def _close(self) -> None:
        """Unblock whoever still waits (as CLIENT UNBLOCK does: a timeout reply), then hang up."""
        try:
            for name in list(self.blocked):
                actor = self.actors[name]
                self.observer.client_unblock(actor.client_id)
                if actor.pending is not None:
                    try:
                        actor.pending.result(timeout=SETTLE_SECONDS)
                    except TimeoutError:
                        actor.client.connection.disconnect()  # type: ignore[union-attr]
        finally:
            for actor in self.actors.values():
                actor.worker.shutdown(wait=True)
                if actor.pubsub is not None:
                    actor.pubsub.close()
                actor.client.close()
            self.observer.close()


def reference_run(walk: StepThrough, url: str, scale: float = SCALE) -> list[dict[str, Any]]:
    """What real Redis, with real blocked clients, does at every step of the step-through."""
    return ReferenceRun(walk, url, scale).run()
