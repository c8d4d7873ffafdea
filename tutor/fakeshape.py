"""The embedded fakeredis, made to answer stream introspection as Redis 7.0 does.

Real Redis 7.0 is the judge. fakeredis 2.41 answers a few stream commands as a later Redis does, or
in its own shape, so a trace would differ between the backends:

- XINFO STREAM: a flat list (Redis 7.0 sends a map) with Redis 8's idempotency fields, and
  radix-tree-nodes counted as the number of entries (Redis: 1 node for an empty tree, 2 for one key);
- XINFO CONSUMERS: Redis 7.2's `inactive` field;
- XPENDING (summary form): each consumer's count as an integer (Redis sends a bulk string), and
  an empty array for no consumers (Redis sends nil);
- XREADGROUP that finds nothing new answers an empty map (Redis: nil);
- XREADGROUP that finds nothing new, and XCLAIM and XAUTOCLAIM that claim nothing, still create
  their consumer (Redis 7.0 creates it only when it serves the consumer an entry, or its history).

Only replies and state that fakeredis gets wrong are touched; a real server's are left alone.
"""

from __future__ import annotations

from typing import Any

import fakeredis
import redis
from redis.exceptions import ResponseError

# XINFO STREAM's fields in Redis 7.0, in its order.
_STREAM_FIELDS = (
    "length",
    "radix-tree-keys",
    "radix-tree-nodes",
    "last-generated-id",
    "max-deleted-entry-id",
    "entries-added",
    "recorded-first-entry-id",
    "groups",
    "first-entry",
    "last-entry",
)


def is_fake(client: redis.Redis) -> bool:
    """True for the embedded server's clients."""
    return isinstance(client, fakeredis.FakeRedis)


def as_redis(command: list[str], raw: Any) -> Any:
    """fakeredis's raw reply to `command` in the shape Redis 7.0 gives."""
    name = command[0].upper()
    sub = command[1].upper() if len(command) > 1 else ""
    if name == "XINFO" and sub == "STREAM" and isinstance(raw, list):
        fields = dict(zip(raw[::2], raw[1::2], strict=False))
        if fields.get("radix-tree-keys") in (0, 1):
            fields["radix-tree-nodes"] = fields["radix-tree-keys"] + 1
        return {f: fields[f] for f in _STREAM_FIELDS if f in fields}
    if name == "XINFO" and sub == "CONSUMERS" and isinstance(raw, list):
        return [{k: v for k, v in c.items() if k != "inactive"} if isinstance(c, dict) else c for c in raw]
    if name == "XREADGROUP" and raw in ({}, []):
        return None
    if name == "XPENDING" and len(command) == 3 and isinstance(raw, list) and len(raw) == 4:
        consumers = [[consumer, str(count)] for consumer, count in raw[3]] if raw[3] else None
        return [*raw[:3], consumers]
    return raw


def _group_and_consumer(command: list[str]) -> tuple[list[str], str, str] | None:
    """The streams, group and consumer of a command that can make a consumer, else None."""
    name = command[0].upper()
    if name in ("XCLAIM", "XAUTOCLAIM") and len(command) > 3:
        return [command[1]], command[2], command[3]
    upper = [a.upper() for a in command]
    if name == "XREADGROUP" and len(command) > 3 and upper[1] == "GROUP" and "STREAMS" in upper:
        start = upper.index("STREAMS") + 1
        return command[start : start + (len(command) - start) // 2], command[2], command[3]
    return None


def missing_consumer(observer: redis.Redis, command: list[str]) -> set[str]:
    """Before a command that can make a consumer: the streams whose group does not have it yet."""
    found = _group_and_consumer(command)
    if found is None:
        return set()
    keys, group, consumer = found
    missing: set[str] = set()
    for key in keys:
        try:
            consumers = observer.xinfo_consumers(key, group)
        except ResponseError:
            continue  # no such stream or group: the command fails, and makes nothing
        if not any(c.get("name") == consumer for c in consumers):
            missing.add(key)
    return missing


def forget_consumer(observer: redis.Redis, command: list[str], keys: set[str]) -> None:
    """Take away the consumer fakeredis made on these streams where Redis 7.0 makes none."""
    found = _group_and_consumer(command)
    if found is None:
        return
    _, group, consumer = found
    for key in sorted(keys):
        try:
            observer.xgroup_delconsumer(key, group, consumer)
        except ResponseError:
            continue
