"""Redis commands a lesson may run: parsing redis-cli lines and knowing where the keys are.

Every command a lesson or a learner sends goes through this table. It is an allowlist, so a
lesson can never reach keys outside its own run (no KEYS, SCAN, FLUSHALL, CONFIG ...), and it
knows where each command's keys sit, so the engine can move them into the run's namespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tutor import messages
from tutor.refusals import option_problem, refusal, sort_options, ttl_problem
from tutor.replies import quoted


class CommandError(ValueError):
    """A command that cannot be sent: bad quoting, unknown or forbidden command."""


def parse_cli(line: str) -> list[str]:
    """Split a redis-cli line into arguments, with redis-cli's quoting rules.

    A line with no quote in it (most of a lesson's) splits where str.split() does: on runs of the
    same whitespace (`str.isspace`), with nothing else special. Only a quoted line is read character
    by character.
    """
    if '"' not in line and "'" not in line:
        return line.split()
    return _parse_quoted(line)


def _parse_quoted(line: str) -> list[str]:
    args: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        current: list[str] = []
        in_double = in_single = False
        while True:
            if i >= n:
                if in_double or in_single:
                    raise CommandError(messages.UNBALANCED_QUOTES)
                break
            ch = line[i]
            if in_double:
                if ch == "\\" and i + 3 < n and line[i + 1] == "x" and _is_hex(line[i + 2 : i + 4]):
                    current.append(chr(int(line[i + 2 : i + 4], 16)))
                    i += 3
                elif ch == "\\" and i + 1 < n:
                    i += 1
                    current.append(_ESCAPES.get(line[i], line[i]))
                elif ch == '"':
                    if i + 1 < n and not line[i + 1].isspace():
                        raise CommandError(messages.QUOTE_NOT_FOLLOWED_BY_SPACE)
                    i += 1
                    break
                else:
                    current.append(ch)
            elif in_single:
                if ch == "\\" and i + 1 < n and line[i + 1] == "'":
                    i += 1
                    current.append("'")
                elif ch == "'":
                    if i + 1 < n and not line[i + 1].isspace():
                        raise CommandError(messages.QUOTE_NOT_FOLLOWED_BY_SPACE)
                    i += 1
                    break
                else:
                    current.append(ch)
            elif ch.isspace():
                break
            elif ch == '"' and not current:
                in_double = True
            elif ch == "'" and not current:
                in_single = True
            else:
                current.append(ch)
            i += 1
        args.append("".join(current))


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@$*+\-<>=\[\]{}()|,!?#%&~^]+$")


def format_cli(argv: Sequence[str]) -> str:
    """Write arguments back as a redis-cli line that parse_cli reads to the same list."""
    return " ".join(_quote(a) for a in argv)


def _quote(arg: str) -> str:
    return arg if _PLAIN.fullmatch(arg) else quoted(arg)


KeyFinder = Callable[[list[str]], list[int]]


def _range(first: int, last: int = 0, step: int = 1) -> KeyFinder:
    """Key positions as Redis's legacy key spec: first, last (negative from the end), step."""

    def find(argv: list[str]) -> list[int]:
        stop = len(argv) + last if last <= 0 else last + 1
        if first == 0:
            return []
        return list(range(first, min(stop, len(argv)), step))

    return find


def _numkeys(at: int) -> KeyFinder:
    """Keys follow a numkeys argument at position `at` (LMPOP, BLMPOP, ZMPOP ...)."""

    def find(argv: list[str]) -> list[int]:
        try:
            count = int(argv[at])
        except (IndexError, ValueError):
            return []
        return list(range(at + 1, min(at + 1 + max(count, 0), len(argv))))

    return find


def _streams(argv: list[str]) -> list[int]:
    """XREAD / XREADGROUP: after STREAMS come N keys then N ids."""
    upper = [a.upper() for a in argv]
    if "STREAMS" not in upper:
        return []
    start = upper.index("STREAMS") + 1
    count = (len(argv) - start) // 2
    return list(range(start, start + count))


def _subcommand_key(argv: list[str]) -> list[int]:
    """XGROUP CREATE key ..., XINFO STREAM key: the key follows the subcommand."""
    return [2] if len(argv) > 2 else []


def _sort_keys(argv: list[str]) -> list[int]:
    """SORT key ... STORE destination: both are keys."""
    stores = [at + 1 for word, at in sort_options(argv) if word == "STORE" and at + 1 < len(argv)]
    return ([1] if len(argv) > 1 else []) + stores


@dataclass(frozen=True)
class CommandSpec:
    """What the engine needs to know about one allowed command."""

    keys: KeyFinder
    channels: KeyFinder | None = None
    status_reply: bool = False


_ALL = _range(1, 0)
_ONE = _range(1, 1)
_TWO = _range(1, 2)
_NONE = _range(0)
_ALL_BUT_LAST = _range(1, -1)


def _spec(keys: KeyFinder, status: bool = False) -> CommandSpec:
    return CommandSpec(keys=keys, status_reply=status)


COMMANDS: dict[str, CommandSpec] = {
    # strings and keys
    "GET": _spec(_ONE),
    "SET": _spec(_ONE, status=True),
    "SETNX": _spec(_ONE),
    "SETEX": _spec(_ONE, status=True),
    "GETSET": _spec(_ONE),
    "GETDEL": _spec(_ONE),
    "MGET": _spec(_ALL),
    "MSET": _spec(_range(1, 0, 2), status=True),
    "INCR": _spec(_ONE),
    "INCRBY": _spec(_ONE),
    "DECR": _spec(_ONE),
    "DECRBY": _spec(_ONE),
    "INCRBYFLOAT": _spec(_ONE),
    "APPEND": _spec(_ONE),
    "STRLEN": _spec(_ONE),
    "GETRANGE": _spec(_ONE),
    "SETRANGE": _spec(_ONE),
    "DEL": _spec(_ALL),
    "UNLINK": _spec(_ALL),
    "EXISTS": _spec(_ALL),
    "TYPE": _spec(_ONE, status=True),
    "EXPIRE": _spec(_ONE),
    "PEXPIRE": _spec(_ONE),
    "PSETEX": _spec(_ONE, status=True),
    "GETEX": _spec(_ONE),
    "PERSIST": _spec(_ONE),
    "RENAME": _spec(_TWO, status=True),
    "SORT": _spec(_sort_keys),
    "SORT_RO": _spec(_sort_keys),
    # lists
    "LPUSH": _spec(_ONE),
    "RPUSH": _spec(_ONE),
    "LPUSHX": _spec(_ONE),
    "RPUSHX": _spec(_ONE),
    "LPOP": _spec(_ONE),
    "RPOP": _spec(_ONE),
    "LLEN": _spec(_ONE),
    "LRANGE": _spec(_ONE),
    "LINDEX": _spec(_ONE),
    "LSET": _spec(_ONE, status=True),
    "LREM": _spec(_ONE),
    "LTRIM": _spec(_ONE, status=True),
    "LINSERT": _spec(_ONE),
    "LPOS": _spec(_ONE),
    "RPOPLPUSH": _spec(_TWO),
    "LMOVE": _spec(_TWO),
    "LMPOP": _spec(_numkeys(1)),
    "BLPOP": _spec(_ALL_BUT_LAST),
    "BRPOP": _spec(_ALL_BUT_LAST),
    "BRPOPLPUSH": _spec(_TWO),
    "BLMOVE": _spec(_TWO),
    "BLMPOP": _spec(_numkeys(2)),
    # hashes
    "HSET": _spec(_ONE),
    "HSETNX": _spec(_ONE),
    "HMSET": _spec(_ONE, status=True),
    "HGET": _spec(_ONE),
    "HMGET": _spec(_ONE),
    "HGETALL": _spec(_ONE),
    "HDEL": _spec(_ONE),
    "HEXISTS": _spec(_ONE),
    "HLEN": _spec(_ONE),
    "HKEYS": _spec(_ONE),
    "HVALS": _spec(_ONE),
    "HINCRBY": _spec(_ONE),
    "HINCRBYFLOAT": _spec(_ONE),
    # sets
    "SADD": _spec(_ONE),
    "SREM": _spec(_ONE),
    "SMEMBERS": _spec(_ONE),
    "SISMEMBER": _spec(_ONE),
    "SCARD": _spec(_ONE),
    "SUNION": _spec(_ALL),
    "SINTER": _spec(_ALL),
    "SDIFF": _spec(_ALL),
    "SMOVE": _spec(_TWO),
    # sorted sets
    "ZADD": _spec(_ONE),
    "ZREM": _spec(_ONE),
    "ZRANGE": _spec(_ONE),
    "ZREVRANGE": _spec(_ONE),
    "ZRANGEBYSCORE": _spec(_ONE),
    "ZSCORE": _spec(_ONE),
    "ZCARD": _spec(_ONE),
    "ZCOUNT": _spec(_ONE),
    "ZRANK": _spec(_ONE),
    "ZINCRBY": _spec(_ONE),
    "ZPOPMIN": _spec(_ONE),
    "ZPOPMAX": _spec(_ONE),
    "ZREMRANGEBYSCORE": _spec(_ONE),
    "ZREMRANGEBYRANK": _spec(_ONE),
    "ZMPOP": _spec(_numkeys(1)),
    "BZPOPMIN": _spec(_ALL_BUT_LAST),
    "BZPOPMAX": _spec(_ALL_BUT_LAST),
    "BZMPOP": _spec(_numkeys(2)),
    # streams
    "XADD": _spec(_ONE),
    "XLEN": _spec(_ONE),
    "XRANGE": _spec(_ONE),
    "XREVRANGE": _spec(_ONE),
    "XDEL": _spec(_ONE),
    "XTRIM": _spec(_ONE),
    "XREAD": _spec(_streams),
    "XREADGROUP": _spec(_streams),
    "XGROUP": _spec(_subcommand_key, status=True),
    "XACK": _spec(_ONE),
    "XPENDING": _spec(_ONE),
    "XCLAIM": _spec(_ONE),
    "XAUTOCLAIM": _spec(_ONE),
    "XINFO": _spec(_subcommand_key),
    # pub/sub: channels are namespaced per run like keys (tutor/subscribers.py reads what subscribers receive)
    "PUBLISH": CommandSpec(keys=_NONE, channels=_ONE),
    "SUBSCRIBE": CommandSpec(keys=_NONE, channels=_ALL),
    "UNSUBSCRIBE": CommandSpec(keys=_NONE, channels=_ALL),
    "PSUBSCRIBE": CommandSpec(keys=_NONE, channels=_ALL),
    "PUNSUBSCRIBE": CommandSpec(keys=_NONE, channels=_ALL),
    # transactions
    "MULTI": _spec(_NONE, status=True),
    "EXEC": _spec(_NONE),
    "DISCARD": _spec(_NONE, status=True),
    "WATCH": _spec(_ALL, status=True),
    "UNWATCH": _spec(_NONE, status=True),
    # connection
    "PING": _spec(_NONE, status=True),
    "ECHO": _spec(_NONE),
}


def spec_for(argv: Sequence[str]) -> CommandSpec:
    """The allowed command's spec, or a CommandError saying why it cannot run."""
    if not argv:
        raise CommandError(messages.EMPTY_COMMAND)
    name = argv[0].upper()
    if name in COMMANDS:
        if name == "XADD" and "*" in argv[2:]:
            raise CommandError(messages.XADD_STAR)
        problem = option_problem(name, list(argv)) or ttl_problem(name, list(argv))
        if problem:
            raise CommandError(problem)
        blocking = blocking_info(argv)
        if blocking is not None and blocking.timeout_seconds is None:
            # Never send a blocking command whose wait we cannot read: it could really block.
            raise CommandError(messages.BAD_TIMEOUT.format(name=name))
        return COMMANDS[name]
    raise CommandError(refusal(argv[0], COMMANDS))


def reply_options(argv: Sequence[str]) -> dict[str, Any]:
    """The options redis-py's own method passes to the reply callback for this command line.

    `r.xclaim(..., justid=True)`, `r.xpending_range(...)` and `r.zrange(..., withscores=True)` hand
    their callbacks an option the bare reply does not carry; without it the value would not be what
    the learner's redis-py call returns.
    """
    name = argv[0].upper()
    upper = [a.upper() for a in argv]
    if "WITHSCORES" in upper:
        return {"withscores": True}
    if name in ("XCLAIM", "XAUTOCLAIM") and "JUSTID" in upper[5:]:
        return {"parse_justid": True}
    if name == "XPENDING" and len(argv) > 3:
        return {"parse_detail": True}
    return {}


LIST, ZSET, STREAM = "list", "zset", "stream"


@dataclass(frozen=True)
class Blocking:
    """How a blocking command waits: the keys it watches, its timeout, the type of value that serves it.

    Redis keeps a blocked client waiting until a value of the type it waits for arrives on one of its
    keys (src/blocked.c serves list, zset and stream waiters separately), so `kind` is part of the wait.
    """

    keys: list[int]
    timeout_seconds: float | None  # None: the timeout is not a number; Redis will say so
    kind: str  # LIST, ZSET or STREAM
    group: tuple[str, str] | None = None  # XREADGROUP: (group, consumer)


def blocking_info(argv: Sequence[str]) -> Blocking | None:
    """Describe a blocking command, or None when the command never blocks."""
    name = argv[0].upper()
    args = list(argv)
    if name in ("BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"):
        kind = ZSET if name.startswith("BZ") else LIST
        return Blocking(_ALL_BUT_LAST(args), _seconds(args[-1]), kind)
    if name in ("BRPOPLPUSH", "BLMOVE"):
        return Blocking([1] if len(args) > 2 else [], _seconds(args[-1]), LIST)
    if name in ("BLMPOP", "BZMPOP"):
        kind = LIST if name == "BLMPOP" else ZSET
        return Blocking(_numkeys(2)(args), _seconds(args[1]) if len(args) > 1 else None, kind)
    if name in ("XREAD", "XREADGROUP"):
        upper = [a.upper() for a in args]
        streams_at = upper.index("STREAMS") if "STREAMS" in upper else len(upper)
        if "BLOCK" in upper[:streams_at]:
            at = upper.index("BLOCK") + 1
            millis = _seconds(args[at]) if at < streams_at else None
            group = (args[2], args[3]) if name == "XREADGROUP" and len(args) > 3 and upper[1] == "GROUP" else None
            return Blocking(_streams(args), None if millis is None else millis / 1000, STREAM, group)
    return None


_DECIMAL = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,6})?$")


def _seconds(text: str) -> float | None:
    """A timeout written as a plain decimal number, or None for anything else."""
    return float(text) if _DECIMAL.fullmatch(text) else None
