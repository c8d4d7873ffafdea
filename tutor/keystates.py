"""Reading a run's watched keys, and taking the run's namespace back out of what Redis says.

Every key of a run lives under `tutor:run:<random>:`; learners and authors must only ever see the
names the author wrote, in replies and in key states alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis
from redis.exceptions import ResponseError

from tutor.limits import LIMITS
from tutor.replies import MISSING, py_repr, shorten, to_json


def strip_namespace(prefix: str, value: Any) -> Any:
    """The value with the namespace removed from every string in it (lists, maps, sets, errors)."""
    if isinstance(value, str):
        return value.replace(prefix, "")
    if isinstance(value, list):
        return [strip_namespace(prefix, v) for v in value]
    if isinstance(value, tuple):
        return tuple(strip_namespace(prefix, v) for v in value)
    if isinstance(value, dict):
        return {strip_namespace(prefix, k): strip_namespace(prefix, v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return {strip_namespace(prefix, v) for v in value}
    if isinstance(value, ResponseError):
        return ResponseError(str(value).replace(prefix, ""))
    return value


_READERS = {
    "string": lambda pipe, key: pipe.get(key),
    "list": lambda pipe, key: pipe.lrange(key, 0, -1),
    "hash": lambda pipe, key: pipe.hgetall(key),
    "set": lambda pipe, key: pipe.smembers(key),
    "zset": lambda pipe, key: pipe.zrange(key, 0, -1, withscores=True),
    "stream": lambda pipe, key: pipe.xrange(key),
}


def read_key_states(
    observer: redis.Redis, prefix: str, watch: Sequence[str], guess: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Each watched key's type and value: one round trip when `guess` (the types read last time) is right.

    The value of a key is asked for beside its TYPE, by the command its guessed type needs; a key whose
    type turns out to be another (made, deleted, or replaced since) is read again in a second round
    trip. A read of the wrong type only fails (WRONGTYPE) and changes nothing, and that reply is dropped.
    """
    guess = guess or {}
    pipe = observer.pipeline(transaction=False)
    for key in watch:
        pipe.type(prefix + key)
    guessed = [(index, guess[key]) for index, key in enumerate(watch) if guess.get(key) in _READERS]
    for index, kind in guessed:
        _READERS[kind](pipe, prefix + watch[index])
    replies = pipe.execute(raise_on_error=False)
    types = replies[: len(watch)]
    for reply in types:
        if isinstance(reply, Exception):
            raise reply
    values: dict[int, Any] = {}
    for (index, kind), value in zip(guessed, replies[len(watch) :], strict=True):
        if types[index] == kind:
            if isinstance(value, Exception):
                raise value
            values[index] = value
    unread = [(index, kind) for index, kind in enumerate(types) if kind in _READERS and index not in values]
    if unread:
        pipe = observer.pipeline(transaction=False)
        for index, kind in unread:
            _READERS[kind](pipe, prefix + watch[index])
        values.update(zip([index for index, _ in unread], pipe.execute(), strict=True))
    out: dict[str, Any] = {}
    for index, (key, kind) in enumerate(zip(watch, types, strict=True)):
        if index in values:
            value = strip_namespace(prefix, values[index])
            out[key] = {"type": kind, "value": to_json(value), "py": py_repr(value)}
            if len(out[key]["py"]) > LIMITS.reply_chars:
                # A state too large to keep whole: its repr is cut, and the value left out.
                out[key] = {"type": kind, "value": None, "py": shorten(out[key]["py"], LIMITS.reply_chars)}
        elif kind == "none":
            out[key] = dict(MISSING)
        else:
            out[key] = {"type": kind, "value": None, "py": f"({kind})"}
    return out
