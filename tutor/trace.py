"""The trace as typed data (`tutor-trace/1`), and its one serialisation to JSON.

The engine builds these dataclasses; `to_json` is the only place that turns them into the dict every
page, the API and `tutor trace --json` read. The fields, their order and their meaning are those of
docs/trace-format.md, which tests/test_engine.py checks against the API's output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TRACE_FORMAT = "tutor-trace/1"


@dataclass(frozen=True)
class Reply:
    """One reply three ways: redis-py's value as JSON, its Python repr, and redis-cli's text."""

    type: str
    value: Any
    py: str
    cli: str

    @classmethod
    def of(cls, record: dict[str, Any]) -> Reply:
        """From the plain record tutor.replies makes."""
        return cls(record["type"], record["value"], record["py"], record["cli"])


@dataclass(frozen=True)
class Command:
    """A command as sent (the author's key names) and as a redis-cli line."""

    argv: list[str]
    cli: str


@dataclass(frozen=True)
class KeyState:
    """A watched key's type and value after a step."""

    type: str
    value: Any
    py: str


@dataclass(frozen=True)
class VariableState:
    """A tracked variable after a step."""

    value: Any
    py: str
    waiting: bool
    changed: bool


@dataclass(frozen=True)
class ProcessValue:
    """One value in an actor's process memory."""

    value: Any
    py: str


@dataclass(frozen=True)
class BlockedActor:
    """An actor waiting on a blocking command."""

    since: int
    command: str
    keys: list[str]
    deadline: float | None


@dataclass(frozen=True)
class SubscribedActor:
    """An actor whose connection subscribed: what it listens to, and the messages it has received."""

    since: int
    channels: list[str]
    patterns: list[str]
    pending: list[dict[str, Any]]


@dataclass(frozen=True)
class Snapshot:
    """The complete state at one point: watched keys, variables, process values, blocked, subscribed, crashed actors."""

    state: dict[str, KeyState]
    variables: dict[str, VariableState]
    processes: dict[str, dict[str, ProcessValue]]
    blocked: dict[str, BlockedActor]
    subscribed: dict[str, SubscribedActor] = field(default_factory=dict)
    crashed: dict[str, int] = field(default_factory=dict)  # actor -> the step its process was killed at


@dataclass(frozen=True)
class Unblocked:
    """A blocked actor was served during a step."""

    actor: str
    by: str
    since: int
    command: Command
    reply: Reply


@dataclass(frozen=True)
class TimedOut:
    """Lesson time passed a blocked command's deadline."""

    actor: str
    since: int
    command: Command
    reply: Reply


@dataclass(frozen=True)
class Received:
    """A subscribed actor's connection received the messages a PUBLISH sent it during a step."""

    actor: str
    by: str
    since: int
    reply: Reply


Event = Unblocked | TimedOut | Received


@dataclass
class StepRecord:
    """What one step ran, what came back, what happened to others, and the state after it."""

    step: int
    actor: str
    action: str
    kind: str
    note: str | None
    line: int | None
    stage: int | None
    clock: float
    command: Command | None
    python: str | None
    status: str = "note"
    reply: Reply | None = None
    error_source: str | None = None
    events: list[Event] = field(default_factory=list)
    snapshot: Snapshot | None = None
    after: int | None = None  # a learner's own step: the lesson step it ran after


@dataclass(frozen=True)
class Trace:
    """A whole executed step-through."""

    lesson: str
    walkthrough: str
    title: str
    actors: list[str]
    watch: list[str]
    variables: list[str]
    processes: dict[str, list[str]]
    step_count: int
    executed: int
    start: Snapshot
    steps: list[StepRecord]
    extra: list[StepRecord] | None = None
    yours: list[StepRecord] | None = None


def to_json(trace: Trace) -> dict[str, Any]:
    """The trace as the JSON-shaped dict of docs/trace-format.md: the one place this is decided."""
    out: dict[str, Any] = {
        "format": TRACE_FORMAT,
        "lesson": trace.lesson,
        "walkthrough": trace.walkthrough,
        "title": trace.title,
        "actors": list(trace.actors),
        "watch": list(trace.watch),
        "variables": list(trace.variables),
        "processes": {actor: list(names) for actor, names in trace.processes.items()},
        "step_count": trace.step_count,
        "executed": trace.executed,
        "start": _snapshot(trace.start),
        "steps": [_step(s) for s in trace.steps],
    }
    if trace.extra is not None:
        out["extra"] = [_step(s) for s in trace.extra]
    if trace.yours is not None:
        out["yours"] = [_step(s) for s in trace.yours]
    return out


def _reply(reply: Reply | None) -> dict[str, Any] | None:
    if reply is None:
        return None
    return {"type": reply.type, "value": reply.value, "py": reply.py, "cli": reply.cli}


def _command(command: Command | None) -> dict[str, Any] | None:
    return None if command is None else {"argv": list(command.argv), "cli": command.cli}


def _event(event: Event) -> dict[str, Any]:
    if isinstance(event, Received):
        return {
            "kind": "received",
            "actor": event.actor,
            "by": event.by,
            "since": event.since,
            "reply": _reply(event.reply),
        }
    if isinstance(event, Unblocked):
        return {
            "kind": "unblocked",
            "actor": event.actor,
            "by": event.by,
            "since": event.since,
            "command": _command(event.command),
            "reply": _reply(event.reply),
        }
    return {
        "kind": "timeout",
        "actor": event.actor,
        "since": event.since,
        "command": _command(event.command),
        "reply": _reply(event.reply),
    }


def _step(record: StepRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "step": record.step,
        "actor": record.actor,
        "action": record.action,
        "kind": record.kind,
        "note": record.note,
        "line": record.line,
        "stage": record.stage,
        "clock": record.clock,
        "command": _command(record.command),
        "python": record.python,
        "status": record.status,
        "reply": _reply(record.reply),
    }
    if record.error_source is not None:
        out["error_source"] = record.error_source
    out["events"] = [_event(e) for e in record.events]
    assert record.snapshot is not None, "a step record is serialised only once its snapshot is taken"
    out.update(_snapshot(record.snapshot))
    if record.after is not None:
        out["after"] = record.after
    return out


def _snapshot(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "state": {key: {"type": s.type, "value": s.value, "py": s.py} for key, s in snapshot.state.items()},
        "variables": {
            name: {"value": v.value, "py": v.py, "waiting": v.waiting, "changed": v.changed}
            for name, v in snapshot.variables.items()
        },
        "processes": {
            actor: {name: {"value": p.value, "py": p.py} for name, p in values.items()}
            for actor, values in snapshot.processes.items()
        },
        "blocked": {
            actor: {"since": b.since, "command": b.command, "keys": list(b.keys), "deadline": b.deadline}
            for actor, b in snapshot.blocked.items()
        },
        "subscribed": {
            actor: {
                "since": s.since,
                "channels": list(s.channels),
                "patterns": list(s.patterns),
                "pending": [dict(m) for m in s.pending],
            }
            for actor, s in snapshot.subscribed.items()
        },
        "crashed": dict(snapshot.crashed),
    }
