"""Each step-through executed once per lesson version, and step k served from that one run.

The engine is deterministic: lesson time moves only by `wait:`, stream IDs and idle times follow the
lesson clock, and every run works in a fresh namespace. So steps 1..k of a full run are exactly the
steps of a run stopped at k (tests/test_tracecache.py checks it on every step of every lesson), and a
click needs no Redis round trip at all: it slices the full trace.

The version is a content hash of the step-through as loaded (every field, with its file positions),
plus the lesson id the trace names and the server it ran on. An edited lesson file gives a new model,
hence a new hash, hence a new run: a stale trace is never served.

Why in process memory and not in Redis or SQL: a trace is lesson-derived data, the same for every
learner and every process (the tests render the same page from two app instances), so it is no
learner state. Each process pays one full run per version (a few milliseconds to tens of
milliseconds) and then serves clicks from memory, where a shared copy in Redis would cost a round
trip and a JSON decode on every click, and would put lesson data in the server where learner runs
live. The memory is bounded (an LRU of `KEPT` traces).

A learner's own commands (`extra` steps) are per learner: they never go through this cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from tutor import engine
from tutor.backend import Backend
from tutor.model import StepThrough

KEPT = 64  # full traces kept per process; the curriculum has a handful of step-throughs


class SharedTrace(dict[str, Any]):
    """A trace served from the cache: the same for every learner, so what is derived from it may be kept too.

    It is a plain dict to every reader (equal to engine.run's, serialised the same); `key` names the
    version it was executed from, and `step` how many steps it shows. A learner's own run is a plain
    dict, never a SharedTrace, so nothing derived from it is ever kept for others.
    """

    key: tuple[str, ...]


class _Lru:
    """A small thread-safe LRU mapping."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_TRACES = _Lru(KEPT)
# id(walk) -> (walk, digest): the walk is held, so its id cannot be reused by another object while listed.
_DIGESTS = _Lru(4 * KEPT)
_RUNNING: dict[tuple[str, ...], threading.Lock] = {}
_RUNNING_LOCK = threading.Lock()


def version(walk: StepThrough) -> str:
    """The content hash of a step-through as loaded, computed once per loaded object."""
    known = _DIGESTS.get(id(walk))
    if known is not None and known[0] is walk:
        return str(known[1])
    encoded = json.dumps(dataclasses.asdict(walk), sort_keys=True, default=_plain, separators=(",", ":"))
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    _DIGESTS.put(id(walk), (walk, digest))
    return digest


def trace(
    walk: StepThrough, backend: Backend, lesson_id: str, upto: int | None = None, key_ttl: float | None = None
) -> dict[str, Any]:
    """The trace `engine.run(walk, backend, lesson_id, upto=upto)` returns, from the version's one full run.

    The result shares its step records with every other caller: read it, never change it. `key_ttl`
    (the run's keys expire, tutor/lease.py) is passed to the run; a trace never shows it.
    """
    full = _full(walk, backend, lesson_id, key_ttl)
    total = len(full["steps"])
    count = total if upto is None else max(0, min(upto, total))
    if count == total:
        return full
    return _shared({**full, "executed": count, "steps": full["steps"][:count]}, full.key)


def kept_version(walk: StepThrough, backend: Backend, lesson_id: str) -> tuple[str, ...] | None:
    """The version key of the walk's full trace if this process has it already (nothing runs), else None.

    What `trace` would serve is then a slice of that trace with this key (tutor/clickpath.py looks
    up a kept click by it without building the slice).
    """
    key = _key(walk, backend, lesson_id)
    return key if _TRACES.get(key) is not None else None


def is_shared(trace: dict[str, Any]) -> bool:
    """True for a trace this cache served (the same for every learner), False for a learner's own run."""
    return isinstance(trace, SharedTrace)


def clear() -> None:
    """Forget every trace (tests; a process never needs it: a new version has a new key)."""
    _TRACES.clear()
    _DIGESTS.clear()


def _shared(trace: dict[str, Any], key: tuple[str, ...]) -> SharedTrace:
    shared = SharedTrace(trace)
    shared.key = key
    return shared


def _key(walk: StepThrough, backend: Backend, lesson_id: str) -> tuple[str, ...]:
    return (version(walk), lesson_id, backend.name, backend.url or "")


def _full(walk: StepThrough, backend: Backend, lesson_id: str, key_ttl: float | None = None) -> SharedTrace:
    key = _key(walk, backend, lesson_id)
    known = _TRACES.get(key)
    if known is not None:
        return known  # type: ignore[no-any-return]
    with _RUNNING_LOCK:
        lock = _RUNNING.setdefault(key, threading.Lock())
    # One run per version: requests that arrive meanwhile wait for it rather than run it again.
    with lock:
        known = _TRACES.get(key)
        if known is None:
            known = _shared(engine.run(walk, backend, lesson_id, key_ttl=key_ttl), key)
            _TRACES.put(key, known)
    with _RUNNING_LOCK:
        _RUNNING.pop(key, None)
    return known  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """JSON for what the model holds beyond JSON: sets in a stable order, anything else by repr."""
    if isinstance(value, set | frozenset):
        return sorted(repr(item) for item in value)
    return repr(value)
