"""Consumer-group times on lesson time: idle times, and claims by min-idle-time, decided by `wait:`.

Redis measures how long a pending entry has waited (XPENDING's idle, XCLAIM's and XAUTOCLAIM's
min-idle-time) and how long a consumer has been quiet (XINFO CONSUMERS' idle) on its own clock, so
those numbers would differ on every run. A run instead keeps, per stream, group and entry, the lesson
time at which the entry was last delivered or claimed, and per consumer the lesson time it was last
seen, and:

- before a command that compares idle times with a minimum (XCLAIM or XAUTOCLAIM with a
  min-idle-time, XPENDING with IDLE), sets Redis's own idle time of every pending entry of that
  group to its lesson idle time (`XCLAIM key group <owner> 0 <id> IDLE <ms> JUSTID`: same owner, no
  extra delivery), so Redis itself still decides what is claimed or listed;
- after a reply, records what was delivered or claimed, and writes the lesson idle times into the
  idle fields of XPENDING's and XINFO CONSUMERS' replies.

Which consumer is seen when follows Redis 7.0: XREADGROUP sees its consumer on each stream it
serves (new entries, or the consumer's own history even when empty; not a `>` read that finds
nothing), XCLAIM and XAUTOCLAIM only when they claim at least one entry, XGROUP CREATECONSUMER when
it creates one. An entry deleted from the stream while pending keeps the server's own idle time
(claiming it, even to its owner, would drop it from the group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.connection import AbstractConnection
from redis.exceptions import ResponseError

from tutor import fakeshape

_PEL_LIMIT = 1000  # a lesson's group never holds more pending entries than this


@dataclass
class StreamClock:
    """One run's record of delivery and seen times, in lesson milliseconds."""

    delivered: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (key, group, id)
    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (key, group, consumer)

    def exchange(
        self,
        connection: AbstractConnection,
        observer: redis.Redis | None,
        sent: list[str],
        clock: float,
        queued: Sequence[list[str]] = (),
        queueing: bool = False,
    ) -> Any:
        """Send one command and read its reply, with idle times on lesson time around it.

        A command queued inside MULTI is only recorded when EXEC runs it: `queued` are the
        commands that EXEC runs, in order.
        """
        assert observer is not None
        now = round(clock * 1000)
        fake = fakeshape.is_fake(observer)
        runs = [] if queueing else list(queued) if sent[0].upper() == "EXEC" else [sent]
        for command in runs:
            self._sync(observer, command, now)
        missing = [fakeshape.missing_consumer(observer, command) if fake else set() for command in runs]
        connection.send_command(*sent)
        raw = connection.read_response()
        if queueing:
            return raw
        if sent[0].upper() != "EXEC":
            return self._after(observer, sent, raw, now, fake, missing[0])
        if not isinstance(raw, list):
            return raw
        done = [
            self._after(observer, command, result, now, fake, absent)
            for command, result, absent in zip(runs, raw, missing, strict=False)
        ]
        return done + raw[len(done) :]

    def idle(self, key: str, group: str, entry: str, now: int) -> int:
        """An entry's lesson idle time; an entry the run never saw delivered counts as delivered now."""
        return now - self.delivered.setdefault((key, group, entry), now)

    def _sync(self, observer: redis.Redis, command: list[str], now: int) -> None:
        """Set Redis's idle time of the group's pending entries to lesson time, before it compares them."""
        name = command[0].upper()
        upper = [a.upper() for a in command]
        compares = (name in ("XCLAIM", "XAUTOCLAIM") and len(command) > 4 and command[4] != "0") or (
            name == "XPENDING" and len(command) > 3 and upper[3] == "IDLE"
        )
        if not compares:
            return
        key, group = command[1], command[2]
        try:
            pending = [
                (str(e["message_id"]), str(e["consumer"]))
                for e in observer.xpending_range(key, group, "-", "+", _PEL_LIMIT)
            ]
            pipe = observer.pipeline(transaction=False)
            for entry, _ in pending:
                pipe.xrange(key, entry, entry, count=1)
            present = pipe.execute()
            pipe = observer.pipeline(transaction=False)
            for (entry, owner), found in zip(pending, present, strict=True):
                if found:
                    pipe.xclaim(key, group, owner, 0, [entry], idle=self.idle(key, group, entry, now), justid=True)
            pipe.execute()
        except ResponseError:
            return  # no such key or group, or not a stream: the command itself will say so

    def _after(
        self, observer: redis.Redis, command: list[str], raw: Any, now: int, fake: bool, missing: set[str]
    ) -> Any:
        """Record deliveries and sightings from a reply, and put lesson idle times into it.

        `missing`: on fakeredis, the streams whose group had no such consumer before the command;
        a consumer Redis 7.0 would not have made there is taken away again.
        """
        if isinstance(raw, ResponseError):
            return raw
        name = command[0].upper()
        if fake:
            raw = fakeshape.as_redis(command, raw)
        seen: set[str] = set()
        if name == "XREADGROUP":
            seen = self._read(command, raw, now)
        elif name in ("XCLAIM", "XAUTOCLAIM") and len(command) > 3:
            seen = self._claimed(command, raw, now)
        elif name == "XGROUP" and len(command) > 4 and command[1].upper() == "CREATECONSUMER" and raw == 1:
            self.seen[(command[2], command[3], command[4])] = now
        elif name == "XPENDING" and len(command) > 3 and isinstance(raw, list):
            raw = [self._pending_row(command, row, now) for row in raw]
        elif name == "XINFO" and len(command) > 3 and command[1].upper() == "CONSUMERS" and isinstance(raw, list):
            raw = [self._consumer(command, consumer, now) for consumer in raw]
        elif name == "RENAME" and len(command) == 3 and command[1] != command[2]:
            self._rename(command[1], command[2])
        if missing - seen:
            fakeshape.forget_consumer(observer, command, missing - seen)
        return raw

    def _rename(self, old: str, new: str) -> None:
        """RENAME moves a stream's groups to the new name, and with them their times."""
        for record in (self.delivered, self.seen):
            for key in [k for k in record if k[0] in (old, new)]:
                value = record.pop(key)
                if key[0] == old:
                    record[(new, key[1], key[2])] = value

    def _read(self, command: list[str], raw: Any, now: int) -> set[str]:
        """XREADGROUP GROUP g c ...: every entry it returned is delivered now; returns the streams it served.

        Redis 7.0 sees (and makes) the consumer only on the streams it serves: those in the reply
        (new entries, or the consumer's own history, even when that is empty), not on a `>` read
        that found nothing.
        """
        if len(command) < 4 or command[1].upper() != "GROUP":
            return set()
        group, consumer = command[2], command[3]
        streams = raw.items() if isinstance(raw, dict) else raw if isinstance(raw, list) else []
        served: set[str] = set()
        for item in streams:
            key, entries = item[0], item[1]
            served.add(key)
            self.seen[(key, group, consumer)] = now
            for entry in entries or []:
                if entry and entry[1] is not None:  # a deleted entry in the history keeps its time
                    self.delivered[(key, group, entry[0])] = now
        return served

    def _claimed(self, command: list[str], raw: Any, now: int) -> set[str]:
        """XCLAIM / XAUTOCLAIM: record each claimed entry; the stream, when at least one was claimed."""
        key, group, consumer = command[1], command[2], command[3]
        upper = [a.upper() for a in command]
        entries = raw if upper[0] == "XCLAIM" else raw[1] if isinstance(raw, list) and len(raw) > 1 else []
        idle = 0
        if upper[0] == "XCLAIM" and "IDLE" in upper[5:]:
            at = upper.index("IDLE", 5) + 1
            idle = int(command[at]) if at < len(command) and command[at].isdigit() else 0
        ids = [e if isinstance(e, str) else e[0] for e in entries or [] if e]
        for entry in ids:
            self.delivered[(key, group, entry)] = now - idle
        if ids:
            self.seen[(key, group, consumer)] = now
        return {key} if ids else set()

    def _pending_row(self, command: list[str], row: Any, now: int) -> Any:
        """One XPENDING extended row [id, consumer, idle, deliveries], its idle on lesson time."""
        if not isinstance(row, list) or len(row) != 4:
            return row
        return [row[0], row[1], self.idle(command[1], command[2], row[0], now), row[3]]

    def _consumer(self, command: list[str], consumer: Any, now: int) -> Any:
        """One XINFO CONSUMERS map, its idle (and Redis 7.2's inactive) on lesson time."""
        if not isinstance(consumer, dict) or "name" not in consumer:
            return consumer
        seen = self.seen.setdefault((command[2], command[3], consumer["name"]), now)
        times = {field: now - seen for field in ("idle", "inactive") if field in consumer}
        return {**consumer, **times}
