"""Where the embedded fakeredis answers differently from Redis 7.0, made to answer as Redis does.

Every lesson must give the same trace on the embedded default and on a real Redis 7.0, so each
difference found is corrected here, in fakeredis itself, once per process (install()), rather than
by special cases in the engine. Each correction is proven against a real server in tests/test_engine.py:

- LMPOP/BLMPOP that empties a list leaves the key behind in fakeredis (TYPE says list, EXISTS 0, and
  WATCH is not told); Redis deletes an emptied list.
- XREAD/XREADGROUP on a key that holds another type crash inside fakeredis (AttributeError); Redis
  answers WRONGTYPE, key by key, after checking the syntax.
- XREAD/XREADGROUP that find nothing answer an empty map in fakeredis; Redis 7.0 answers nil.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from fakeredis._core import CommandItem
from fakeredis._helpers import SimpleError
from fakeredis.commands_mixins.list_mixin import ListCommandsMixin
from fakeredis.commands_mixins.streams_mixin import StreamsCommandsMixin
from fakeredis.model import XStream

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
_INSTALLED = "_tutor_redis70"


def install() -> None:
    """Apply the corrections (idempotent: a second call changes nothing)."""
    if getattr(ListCommandsMixin, _INSTALLED, False):
        return
    ListCommandsMixin._lmpop = _deleting_emptied(ListCommandsMixin._lmpop)  # type: ignore[method-assign]
    StreamsCommandsMixin.xread = _as_redis_reads(StreamsCommandsMixin.xread, group=False)  # type: ignore[method-assign]
    StreamsCommandsMixin.xreadgroup = _as_redis_reads(StreamsCommandsMixin.xreadgroup, group=True)  # type: ignore[method-assign]
    setattr(ListCommandsMixin, _INSTALLED, True)


def _deleting_emptied(lmpop: Callable[..., Any]) -> Callable[..., Any]:
    """After the pop, write the key back: an empty list is then removed (and WATCH is told)."""

    @functools.wraps(lmpop)
    def patched(self: Any, keys: Any, count: int, direction_left: bool, first_pass: bool) -> Any:
        reply = lmpop(self, keys, count, direction_left, first_pass)
        if reply:
            item = CommandItem(reply[0], self._db, item=self._db.get(reply[0]), default=[])
            item.updated()
            item.writeback()
        return reply

    return patched


def _as_redis_reads(read: Callable[..., Any], group: bool) -> Callable[..., Any]:
    """WRONGTYPE for a key of another type, nil for nothing found, as src/t_stream.c xreadCommand."""

    @functools.wraps(read)
    def patched(self: Any, *args: bytes) -> Any:
        for key in _stream_keys(list(args[3 if group else 0 :])):
            item = self._db.get(key)
            if item is not None and not isinstance(item.value, XStream):
                raise SimpleError(WRONGTYPE)
            if group and (item is None or not item.value.group_get(args[1])):
                break  # Redis answers NOGROUP for this key before looking at the next one: fakeredis does too
        reply = read(self, *args)
        return None if reply == {} or reply == [] else reply

    return patched


def _stream_keys(args: list[bytes]) -> list[bytes]:
    """The keys of a well-formed `... STREAMS k1 k2 id1 id2`; none when the syntax is wrong (fakeredis says so)."""
    upper = [a.upper() for a in args]
    if b"STREAMS" not in upper:
        return []
    rest = args[upper.index(b"STREAMS") + 1 :]
    if not rest or len(rest) % 2:
        return []
    return rest[: len(rest) // 2]
