"""Subscriber actors: SUBSCRIBE on an actor's own connection, and the messages PUBLISH sends it.

After SUBSCRIBE a connection only receives: Redis pushes every message published on its channels
(or matching its patterns) down that connection. The engine reads those pushes from the real
connection, so what a subscriber received is Redis's own doing, never a model of it. It reads
without racing: PUBLISH replies with the number of receivers N only after Redis has written the
message to each of them, and channels are namespaced per run, so exactly N messages are on their
way to this run's subscribers. The engine reads until it has N (with a deadline, in case the server
misbehaves), which is deterministic whatever the scheduling.

The connections speak RESP3 (redis-py 8's default), where pushes are out-of-band: every read here
asks the parser for them (`push_request=True`) instead of letting redis-py's handler swallow them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.connection import AbstractConnection

SUBSCRIBING = frozenset({"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"})
# How long to wait for the messages Redis has already sent; a healthy server needs microseconds.
DELIVERY_DEADLINE_SECONDS = 2.0
_POLL_SECONDS = 0.002


class DeliveryError(RuntimeError):
    """Fewer messages arrived than PUBLISH said it delivered: the server or the connection failed."""


@dataclass
class Subscriber:
    """One actor's subscribed connection: what it listens to and what it has received."""

    since: int
    channels: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Still in subscribed mode (Redis leaves it when the last channel and pattern are gone)."""
        return bool(self.channels or self.patterns)


@dataclass
class Delivery:
    """The messages one actor received during one step, as raw pushes and as redis-py's dicts."""

    actor: str
    raw: list[list[Any]]
    messages: list[dict[str, Any]]


def is_subscribing(argv: Sequence[str]) -> bool:
    """SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE or PUNSUBSCRIBE: the commands a subscribed connection may send."""
    return bool(argv) and argv[0].upper() in SUBSCRIBING


def exchange(connection: AbstractConnection, sent: Sequence[str]) -> list[list[Any]]:
    """Send a (UN|P)SUBSCRIBE naming its channels, and read its confirmations: one per channel named.

    Redis answers each channel or pattern with its own push, in the order named; the reply shown is
    the list of them, as redis-cli prints them one after another.
    """
    connection.send_command(*sent)
    return [_read(connection) for _ in range(max(1, len(sent) - 1))]  # no channel: Redis's error


def message(raw: Sequence[Any]) -> dict[str, Any]:
    """A push as redis-py's PubSub.get_message() returns it."""
    if raw[0] == "pmessage":
        return {"type": "pmessage", "pattern": raw[1], "channel": raw[2], "data": raw[3]}
    return {"type": raw[0], "pattern": None, "channel": raw[1], "data": raw[2]}


def collect(
    connections: Mapping[str, AbstractConnection], expected: int, deadline: float = DELIVERY_DEADLINE_SECONDS
) -> list[Delivery]:
    """Read the `expected` messages Redis has sent to these subscribed connections.

    Returns one Delivery per actor that received something, in the order of `connections`; each
    actor's messages in the order its connection received them. Raises DeliveryError if fewer than
    `expected` arrive before the deadline.
    """
    received: dict[str, list[list[Any]]] = {actor: [] for actor in connections}
    count = 0
    give_up = time.monotonic() + deadline
    while count < expected:
        progress = False
        for actor, connection in connections.items():
            while count < expected and connection.can_read(timeout=0):
                received[actor].append(_read(connection))
                count += 1
                progress = True
        if count >= expected:
            break
        if time.monotonic() > give_up:
            raise DeliveryError(f"{count} of {expected} messages arrived")
        if not progress:
            next(iter(connections.values())).can_read(timeout=_POLL_SECONDS)  # bounded wait, then look again
    return [Delivery(actor, raw, [message(m) for m in raw]) for actor, raw in received.items() if raw]


def apply_confirmations(subscriber: Subscriber, confirmations: Sequence[Sequence[Any]]) -> None:
    """Follow what Redis confirmed: channels and patterns added or removed, in order."""
    for kind, name, _count in confirmations:
        target = subscriber.patterns if kind.startswith("p") else subscriber.channels
        if kind.endswith("unsubscribe"):
            if name in target:
                target.remove(name)
        elif name not in target:
            target.append(name)


def leave(connection: AbstractConnection, subscriber: Subscriber, prefix: str) -> None:
    """Take the connection out of subscribed mode before it is reused, naming every channel and pattern."""
    if subscriber.channels:
        exchange(connection, ["UNSUBSCRIBE", *(prefix + c for c in subscriber.channels)])
    if subscriber.patterns:
        exchange(connection, ["PUNSUBSCRIBE", *(prefix + p for p in subscriber.patterns)])
    while connection.can_read(timeout=0):
        _read(connection)  # anything published after the last step: nobody will show it


def _read(connection: AbstractConnection) -> Any:
    return connection.read_response(push_request=True)
