"""Resource limits on a learner's own run: what one learner may make Redis (and the app) hold.

Sizes a command states up front (a SETRANGE offset, an APPEND onto a long string) are refused
before the command is sent, so `SETRANGE queue 536870911 x` never reaches Redis. What only the
outcome shows (elements in a key, the run's memory) is read after every step; a run over a limit
is refused whole, and since a run is only ever its log, refusing means not saving the command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.exceptions import ResponseError

from tutor import messages


@dataclass(frozen=True)
class RunLimits:
    """The caps on one learner's run; a request body cap and a rate cap live with the views."""

    value_bytes: int = 64 * 1024
    elements_per_key: int = 1000
    memory_bytes: int = 4 * 1024 * 1024
    commands_per_run: int = 100
    commands_per_minute: int = 60
    body_bytes: int = 16 * 1024


class LimitExceeded(Exception):
    """A learner's command would take the run over a limit; `status` is the HTTP answer (4xx)."""

    def __init__(self, message: str, status: int = 413) -> None:
        super().__init__(message)
        self.status = status


_SIZE_OF = {"list": "LLEN", "set": "SCARD", "zset": "ZCARD", "hash": "HLEN", "stream": "XLEN"}
_OVERHEAD = 48  # bytes per element an estimate adds for Redis's own bookkeeping


@dataclass
class RunGuard:
    """Checks a run's commands against its limits; one per replay (it keeps the run's key sizes)."""

    limits: RunLimits
    real_redis: bool
    sizes: dict[str, int] = field(default_factory=dict)

    def before(self, observer: redis.Redis, sent: list[str]) -> None:
        """Refuse a command whose stated sizes would make a value too large, before it is sent."""
        check_stated_sizes(self.limits, sent)
        if sent[0].upper() == "APPEND" and len(sent) == 3:
            size = _strlen(observer, sent[1]) + len(sent[2].encode("utf-8", "surrogatepass"))
            if size > self.limits.value_bytes:
                raise LimitExceeded(messages.RUN_VALUE_TOO_LARGE.format(limit=self.limits.value_bytes, size=size))

    def after(self, observer: redis.Redis, keys: set[str]) -> None:
        """Read the sizes of the keys a step named: elements per key, then the run's memory."""
        for key in sorted(keys):
            kind = _text(observer.type(key))
            if kind == "none":
                self.sizes.pop(key, None)
                continue
            if kind in _SIZE_OF:
                count = int(observer.execute_command(_SIZE_OF[kind], key))
                if count > self.limits.elements_per_key:
                    cap = self.limits.elements_per_key
                    shown = key.split(":", 3)[-1]
                    raise LimitExceeded(messages.RUN_TOO_MANY_ELEMENTS.format(limit=cap, key=shown, count=count))
            self.sizes[key] = self._memory(observer, key, kind)
        total = sum(self.sizes.values())
        if total > self.limits.memory_bytes:
            raise LimitExceeded(messages.RUN_MEMORY.format(limit=self.limits.memory_bytes, size=total))

    def _memory(self, observer: redis.Redis, key: str, kind: str) -> int:
        """MEMORY USAGE on a real Redis; on the embedded one, the bytes the key's contents take."""
        if self.real_redis:
            used = observer.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0")
            return int(used or 0)
        return _estimate(observer, key, kind)


def check_stated_sizes(limits: RunLimits, argv: Sequence[str]) -> None:
    """The sizes a command states itself (its arguments, a SETRANGE offset): no Redis needed to refuse it."""
    limit = limits.value_bytes
    for arg in argv[1:]:
        size = len(arg.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise LimitExceeded(messages.RUN_VALUE_TOO_LARGE.format(limit=limit, size=size))
    if argv and argv[0].upper() == "SETRANGE" and len(argv) == 4:
        offset = _integer(argv[2])
        if offset is not None and offset >= 0:  # otherwise Redis answers with its own error
            size = offset + len(argv[3].encode("utf-8", "surrogatepass"))
            if size > limit:
                raise LimitExceeded(messages.RUN_VALUE_TOO_LARGE.format(limit=limit, size=size))


def _estimate(observer: redis.Redis, key: str, kind: str) -> int:
    """fakeredis has no MEMORY USAGE: count the bytes of every element, plus a fixed overhead each."""
    parts: list[Any]
    if kind == "string":
        return _strlen(observer, key) + _OVERHEAD
    if kind == "list":
        parts = observer.lrange(key, 0, -1)
    elif kind == "set":
        parts = list(observer.smembers(key))
    elif kind == "zset":
        parts = [*observer.zrange(key, 0, -1), *observer.zrange(key, 0, -1)]  # members and (about) scores
    elif kind == "hash":
        parts = [x for pair in observer.hgetall(key).items() for x in pair]
    elif kind == "stream":
        entries: Any = observer.xrange(key)
        parts = [x for _, entry in entries for pair in entry.items() for x in pair]
    else:
        parts = []
    return _OVERHEAD + sum(len(str(p).encode()) + _OVERHEAD for p in parts)


def _strlen(observer: redis.Redis, key: str) -> int:
    try:
        return int(observer.strlen(key))
    except ResponseError:
        return 0  # not a string: APPEND will answer WRONGTYPE itself


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()
