"""Blocked clients as Redis 7.0 keeps and serves them (src/blocked.c, src/db.c, src/t_stream.c).

The engine never leaves a connection blocked on the server: it holds a waiting command itself and
sends it once Redis could answer it. This module is the model that decides when that is, following
Redis 7.0's own rules:

- A write that *creates* a key (dbAdd) of a type somebody blocks for signals the key as ready, once,
  in the order keys were signalled; XADD always signals; deleting or overwriting a stream signals it
  (for XREADGROUP); XGROUP DESTROY signals. A key already waiting in the ready list is not added again.
- After each command (a whole MULTI/EXEC counts as one), the ready keys are handled in that order.
  Each key's waiters are served in the order they blocked, only those waiting for the key's current
  type; a list or sorted set stops serving when it is emptied. A served waiter is answered from that
  key alone (a client blocked on several keys pops from the ready one; XREAD replies with that one
  stream only).
- Serving BLMOVE/BRPOPLPUSH pushes to its destination: a key created so is signalled into a fresh
  ready list, handled after the current one (the cascade).
- A waiter whose key now holds another type stays blocked; XREADGROUP waiters are the exception: a
  deleted or retyped stream answers them "UNBLOCKED ...", a destroyed group "NOGROUP ...".

Redis 7.2 changed this (it re-runs the blocked command instead): docs/trace-format.md says where.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError

from tutor.commands import LIST, STREAM, ZSET, Blocking, spec_for

BLOCKABLE = (LIST, ZSET, STREAM)
XREAD_BLOCKED_DEFAULT_COUNT = "1000"  # src/t_stream.c: a blocked XREAD without COUNT is served at most this many
UNBLOCKED_DELETED = "UNBLOCKED the stream key no longer exists"  # src/blocked.c, Redis 7.0
NOGROUP_DESTROYED = "NOGROUP the consumer group this client was blocked on no longer exists"  # src/blocked.c


@dataclass
class Waiter:
    """An actor blocked by a command, until a value of its type arrives or lesson time passes its timeout."""

    actor: str
    since: int
    argv: list[str]  # as the author wrote it
    sent: list[str]  # namespaced, with XREAD's `$` pinned to the stream's last ID
    blocking: Blocking
    deadline: float | None
    assign: str | None
    keys: list[str] = field(default_factory=list)  # namespaced, each once, in the command's order

    def __post_init__(self) -> None:
        self.keys = list(dict.fromkeys(self.sent[i] for i in self.blocking.keys))

    def stream_id(self, key: str) -> str:
        """The ID an XREAD waits after on this key (the first time the key is named, as Redis keeps it)."""
        at = next(i for i in self.blocking.keys if self.sent[i] == key)
        return self.sent[at + len(self.blocking.keys)]

    def served_argv(self, key: str) -> list[str]:
        """The command rewritten to the ready key alone, so Redis itself answers as it answers a waiter."""
        name = self.sent[0].upper()
        if name in ("BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"):
            return [self.sent[0], key, self.sent[-1]]
        if name in ("BLMPOP", "BZMPOP"):
            last = self.blocking.keys[-1]
            return [self.sent[0], self.sent[1], "1", key, *self.sent[last + 1 :]]
        if name == "XREAD":
            count = _option(self.sent, "COUNT") or XREAD_BLOCKED_DEFAULT_COUNT
            return ["XREAD", "COUNT", count, "STREAMS", key, self.stream_id(key)]
        if name == "XREADGROUP" and self.blocking.group is not None:
            group, consumer = self.blocking.group
            count = _option(self.sent, "COUNT") or XREAD_BLOCKED_DEFAULT_COUNT
            noack = ["NOACK"] if _has_flag(self.sent, "NOACK") else []
            return ["XREADGROUP", "GROUP", group, consumer, "COUNT", count, *noack, "STREAMS", key, ">"]
        return list(self.sent)  # BLMOVE, BRPOPLPUSH: one source key already


def _streams_at(argv: Sequence[str]) -> int:
    upper = [a.upper() for a in argv]
    return upper.index("STREAMS") if "STREAMS" in upper else len(argv)


def _option(argv: Sequence[str], name: str) -> str | None:
    """The value after an option word (COUNT n) before STREAMS."""
    head = [a.upper() for a in argv[: _streams_at(argv)]]
    if name in head and head.index(name) + 1 < len(head):
        return argv[head.index(name) + 1]
    return None


def _has_flag(argv: Sequence[str], name: str) -> bool:
    return name in (a.upper() for a in argv[: _streams_at(argv)])


def parse_id(text: str) -> tuple[int, int] | None:
    """A stream ID as (ms, seq); `5` means 5-0 as XREAD reads it; None when it is not one."""
    ms, _, seq = text.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return None


class ReadyKeys:
    """Redis's ready list: keys signalled in order, each once until it is handled."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self._queued: set[str] = set()

    def signal(self, key: str, kind: str, waiters: Iterable[Waiter]) -> None:
        """signalKeyAsReady(): only for a type somebody waits for, on a key somebody waits on, once."""
        waiting = list(waiters)
        if kind not in BLOCKABLE or not any(w.blocking.kind == kind for w in waiting):
            return
        if key in self._queued or not any(key in w.keys for w in waiting):
            return
        self._queued.add(key)
        self.pending.append(key)

    def take(self) -> list[str]:
        """The current list; signals from now on go to a fresh one (handled after it)."""
        batch, self.pending = self.pending, []
        return batch

    def handled(self, key: str) -> None:
        """The key is being handled: it may be signalled again (by a cascade)."""
        self._queued.discard(key)


# What a command does to the type of the keys it names: enough to know when it creates one.
_STRING = "SET SETNX SETEX GETSET MSET INCR INCRBY DECR DECRBY INCRBYFLOAT APPEND SETRANGE".split()
_HASH = "HSET HSETNX HMSET HINCRBY HINCRBYFLOAT".split()
_LIST_PUSH = "LPUSH RPUSH".split()
_LIST_MOVE = "LMOVE RPOPLPUSH BLMOVE BRPOPLPUSH".split()
_ZSET_ADD = "ZADD ZINCRBY".split()
_ZSET_STORE = "ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANGESTORE".split()
_REMOVE = (
    "LPOP RPOP LMPOP BLPOP BRPOP BLMPOP LREM LTRIM ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN BZPOPMAX BZMPOP ZREM "
    "ZREMRANGEBYSCORE ZREMRANGEBYRANK ZREMRANGEBYLEX SREM SPOP HDEL"
).split()
UNKNOWN = "unknown"  # a pop may or may not have emptied the key


def signals(argv: Sequence[str], result: Any, types: dict[str, str], waited: set[str]) -> list[tuple[str, str]]:
    """The (key, type) signals Redis 7.0 raises running `argv` with this result; updates `types`.

    `types` holds the type of each key the command names, as it was before the command (read from
    the server before a single command; carried from one queued command to the next inside EXEC).
    Only keys in `waited` (somebody waits on them) are signalled.
    """
    if isinstance(result, ResponseError):
        return []
    name = argv[0].upper()
    try:
        positions = spec_for(argv).keys(list(argv))
    except ValueError:
        return []
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    original = dict(types)  # RENAME's destination takes the source's type from before the command
    for index in positions:
        key = argv[index]
        if key in seen:
            continue  # a key named twice (DEL k k, LMOVE k k ...) is one key: no creation
        seen.add(key)
        old = types.get(key, UNKNOWN)
        new = _effect(name, list(argv), index, result, original)
        if new is None:
            continue
        types[key] = new
        if key not in waited:
            continue
        if old == STREAM and new != STREAM:
            out.append((key, STREAM))  # a deleted or overwritten stream (dbDelete/dbOverwrite)
        renamed = name in ("RENAME", "RENAMENX") and index == 2
        if new in BLOCKABLE and (old in ("none", UNKNOWN) or renamed):
            out.append((key, new))  # dbAdd
        elif name == "XADD" and new == STREAM:
            out.append((key, STREAM))
    if name == "XGROUP" and len(argv) > 2 and argv[1].upper() == "DESTROY" and result == 1 and argv[2] in waited:
        out.append((argv[2], STREAM))
    return out


def _effect(name: str, argv: list[str], index: int, result: Any, types: dict[str, str]) -> str | None:
    """The key's type after the command, UNKNOWN, or None when the command leaves it as it was."""
    if name in ("DEL", "UNLINK", "GETDEL"):
        return "none"
    if name in _LIST_MOVE and argv[1] == argv[2]:
        return None  # a list rotated onto itself: the key was there before and after
    if name in ("RENAME", "RENAMENX"):
        if name == "RENAMENX" and result == 0:
            return None
        return types.get(argv[1], UNKNOWN) if index == 2 else "none"
    if name in _LIST_PUSH or (name in _LIST_MOVE and index == 2 and result is not None):
        return LIST
    if name in _ZSET_ADD:
        return ZSET
    if name in _ZSET_STORE or (name == "SORT" and index != 1):
        kind = ZSET if name in _ZSET_STORE else LIST
        return kind if result else "none"
    if name == "XADD" or (name == "XGROUP" and any(a.upper() == "MKSTREAM" for a in argv)):
        return None if result is None else STREAM  # XADD ... NOMKSTREAM on no stream adds nothing
    if name in _STRING:
        return None if result is None or (name == "SETNX" and result == 0) else "string"
    if name in _HASH:
        return "hash"
    if name == "SADD" or (name == "SMOVE" and index == 2 and result):
        return "set"
    if name in _REMOVE or (name in _LIST_MOVE and index == 1) or (name == "SMOVE" and index == 1):
        return UNKNOWN if result not in (None, 0, []) else None
    return None
