"""One trace point drawn as what it is: each watched key by its type, each actor by its status.

The step view shows the state after step k the way Python Tutor shows a heap: a list as cells with
its head and tail, a hash as fields, a sorted set with scores, a stream with its ids. What step k
changed is marked by comparing its snapshot with the one before it (both complete, so nothing
else is consulted). Pure: no Flask, no Redis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tutor.render import visible
from tutor.replies import shorten

CELL_CHARS = 48  # a list cell, a member, a field's value: cut here, whole on request
LABEL_CHARS = 40  # a hash field's name, a stream id
MAX_CELLS = 8  # elements drawn per key; the rest are counted and shown whole on request
HASH_BIG = 4  # a hash with more fields than this is drawn compact:
HASH_FIELDS = 2  # at most this many fields of a big hash are drawn, the step's changes first...
HASH_FIRST = 1  # ...topped up to this many with its first fields: a job hash must not push other keys off screen


@dataclass(frozen=True)
class Cell:
    """One element of a key: its shown text, a label (field, score, id) and whether the step made it."""

    text: str
    label: str = ""
    mark: str = ""  # "new", "changed" or ""


@dataclass(frozen=True)
class KeyView:
    """A watched key after a step, ready to draw."""

    name: str
    type: str
    cells: list[Cell]
    changed: bool = False
    change: str = ""  # what the step did to it, in words
    removed: list[str] = field(default_factory=list)
    more: int = 0  # elements not drawn
    whole: str | None = None  # the whole value, when something is cut or not drawn
    summary: str = ""  # the value in one line (compact layouts, screen readers)
    every: list[Cell] = field(default_factory=list)  # a hash with fields not drawn: all of them, uncut, marked
    more_changed: int = 0  # of the elements not drawn, how many the step made or changed


@dataclass(frozen=True)
class ActorView:
    """An actor after a step: running, blocked (on which keys, since when) or woken (with what)."""

    name: str
    status: str  # running, blocked, woken, timeout, crashed
    text: str
    ran: bool = False
    detail: str = ""
    memory: list[tuple[str, str, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class VariableView:
    """A tracked variable after a step."""

    name: str
    text: str
    changed: bool
    waiting: bool


def printable(text: str) -> str:
    """A name as text, control bytes shown as redis-cli shows them (celery\\x06\\x163)."""
    return visible(text)


def _show(value: Any, limit: int = CELL_CHARS) -> str:
    return shorten(repr(value) if isinstance(value, str) else _py(value), limit)


def _py(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return repr(value) if not isinstance(value, list | dict) else json.dumps(value, ensure_ascii=False)


def _pretty(value: Any) -> str:
    """A value to read whole: JSON text indented, anything else as Python shows it."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith(("{", "[")):
            try:
                return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        return repr(value)
    return _py(value)


def key_views(watch: list[str], now: dict[str, Any], before: dict[str, Any] | None) -> list[KeyView]:
    """Every watched key after a step; `before` is the previous snapshot's state (None at step 0)."""
    return [_key(name, now[name], before[name] if before else None) for name in watch]


def _key(name: str, now: dict[str, Any], before: dict[str, Any] | None) -> KeyView:
    kind = now["type"]
    old_kind = before["type"] if before else kind
    changed = before is not None and (before["type"], before["value"]) != (kind, now["value"])
    if kind == "none":
        change = ""
        if changed:
            change = "emptied, so Redis deleted the key" if old_kind != "string" else "deleted"
        return KeyView(name, kind, [], changed, change, summary="(none)")
    created = before is not None and old_kind == "none"
    old = before["value"] if before and old_kind == kind else None
    cells, removed, change = _draw(kind, now["value"], old, created or (changed and old is None))
    if created:
        change = "created by this step"
    elif changed and not change:
        change = "changed by this step"
    summary = shorten(now["py"], 80)
    if kind == "hash" and len(cells) > HASH_BIG:
        drawn = _pick(cells, HASH_FIELDS, HASH_FIRST)
        every = _every_field(now["value"], cells)
        hidden = [c for i, c in enumerate(cells) if i not in drawn]
        return KeyView(
            name,
            kind,
            [cells[i] for i in drawn],
            changed,
            change,
            removed,
            len(hidden),
            None,
            summary,
            every,
            sum(1 for c in hidden if c.mark),
        )
    shown = cells[:MAX_CELLS]
    more = len(cells) - len(shown)
    cut = any(c.text.endswith("…") or c.label.endswith("…") for c in shown)
    whole = _whole(kind, now["value"]) if (cut or more) else None
    return KeyView(name, kind, shown, changed, change, removed, more, whole, summary)


def _pick(cells: list[Cell], limit: int, first: int) -> list[int]:
    """The indexes of the cells to draw, in order: up to `limit` the step made or changed, topped up to `first`
    with the first others.

    What a step did to a big hash stays in view; the untouched fields wait behind "+ K more fields".
    """
    marked = [i for i, c in enumerate(cells) if c.mark][:limit]
    rest = [i for i, c in enumerate(cells) if not c.mark][: max(0, first - len(marked))]
    return sorted(marked + rest)


def _every_field(value: dict[str, Any], cells: list[Cell]) -> list[Cell]:
    """Every field of a hash, whole (JSON indented), keeping the marks the drawn cells have."""
    return [Cell(_pretty(v), repr(f), c.mark) for (f, v), c in zip(value.items(), cells, strict=True)]


def _draw(kind: str, value: Any, old: Any, all_new: bool) -> tuple[list[Cell], list[str], str]:
    """The cells of a key, the elements the step removed, and what it did (for lists: where)."""
    new_mark = "new" if all_new else ""
    if kind == "string":
        mark = "changed" if old is not None and old != value else new_mark
        return [Cell(_show(value, 72), mark=mark)], [], ""
    if kind == "list":
        return _draw_list(value, old, new_mark)
    if kind == "hash":
        before = old or {}
        cells = [
            Cell(_show(v), _show(f, LABEL_CHARS), _mark(f in before, before.get(f) != v, old, new_mark))
            for f, v in value.items()
        ]
        return cells, [_show(f, LABEL_CHARS) for f in before if f not in value], ""
    if kind == "set":
        members = set(old or [])
        cells = [Cell(_show(m), mark=("new" if old is not None and m not in members else new_mark)) for m in value]
        return cells, [_show(m) for m in (old or []) if m not in set(value)], ""
    if kind == "zset":
        scores = dict(old or [])
        cells = [Cell(_show(m), _py(s), _mark(m in scores, scores.get(m) != s, old, new_mark)) for m, s in value]
        present = {m for m, _ in value}
        return cells, [_show(m) for m, _ in (old or []) if m not in present], ""
    if kind == "stream":
        ids = {i for i, _ in (old or [])}
        cells = [Cell(_show(f, 60), i, "new" if old is not None and i not in ids else new_mark) for i, f in value]
        return cells, [], ""
    return [Cell(_show(value, 72), mark=new_mark)], [], ""


def _mark(existed: bool, differs: bool, old: Any, new_mark: str) -> str:
    if old is None:
        return new_mark
    if not existed:
        return "new"
    return "changed" if differs else ""


def _draw_list(value: list[str], old: list[str] | None, new_mark: str) -> tuple[list[Cell], list[str], str]:
    """A list's cells; a push or pop at either end is found and named, anything else marks every cell."""
    if old is None or old == value:
        return [Cell(_show(v), mark=new_mark) for v in value], [], ""
    n, o = len(value), len(old)
    for start in range(n - o + 1):
        if value[start : start + o] == old:
            marks = ["new" if i < start or i >= start + o else "" for i in range(n)]
            ends = [w for w, added in (("head", start), ("tail", n - start - o)) if added]
            return (
                [Cell(_show(v), mark=m) for v, m in zip(value, marks, strict=True)],
                [],
                f"pushed at the {' and '.join(ends)}",
            )
    for start in range(o - n + 1):
        if old[start : start + n] == value:
            gone = old[:start] + old[start + n :]
            ends = [w for w, taken in (("head", start), ("tail", o - start - n)) if taken]
            return [Cell(_show(v)) for v in value], [_show(v) for v in gone], f"popped from the {' and '.join(ends)}"
    return [Cell(_show(v), mark="changed") for v in value], [], ""


def _whole(kind: str, value: Any) -> str:
    """The whole value, one element a line, JSON indented: what "Whole value" opens."""
    if kind == "hash":
        return "\n".join(f"{f!r}:\n{_pretty(v)}" for f, v in value.items())
    if kind == "zset":
        return "\n".join(f"{m!r}  score {_py(s)}" for m, s in value)
    if kind == "stream":
        return "\n".join(f"{i}  {_pretty(f)}" for i, f in value)
    if kind in ("list", "set"):
        return "\n".join(_pretty(v) for v in value)
    return _pretty(value)


def actor_views(
    point: dict[str, Any], actors: list[str], processes: dict[str, list[str]], before: dict[str, Any] | None
) -> list[ActorView]:
    """Each actor after a step: who ran it, who waits on which keys since when, who was woken with what."""
    ran = point.get("actor")
    events = {e["actor"]: e for e in point.get("events", [])}
    views = []
    for name in actors:
        memory = _memory(point, before, name, processes.get(name, []))
        blocked = point["blocked"].get(name)
        event = events.get(name)
        crashed_at = point.get("crashed", {}).get(name)
        if crashed_at is not None:
            detail = f"its process was killed at step {crashed_at}; Redis closed its connection"
            views.append(ActorView(name, "crashed", f"crashed at step {crashed_at}", name == ran, detail, memory))
        elif blocked is not None:
            keys = ", ".join(printable(k) for k in blocked["keys"])
            deadline = blocked["deadline"]
            detail = printable(blocked["command"]) + (
                " · waits with no timeout" if deadline is None else f" · times out at t = {deadline:g} s"
            )
            text = f"blocked on {keys} since step {blocked['since']}"
            views.append(ActorView(name, "blocked", text, name == ran, detail, memory))
        elif event is not None and event["kind"] == "unblocked":
            text = f"woken with {shorten(event['reply']['py'], 60)}"
            detail = f"blocked since step {event['since']}; {event['by']}'s command at this step served it"
            views.append(ActorView(name, "woken", text, name == ran, detail, memory))
        elif event is not None and event["kind"] == "received":
            text = f"received {shorten(event['reply']['py'], 60)}"
            detail = f"subscribed since step {event['since']}; {event['by']}'s PUBLISH sent it" + _inbox(point, name)
            views.append(ActorView(name, "woken", text, name == ran, detail, memory))
        elif _listening(point, name):
            text = "subscribed to " + ", ".join(printable(c) for c in _listening(point, name))
            views.append(ActorView(name, "running", text, name == ran, _inbox(point, name).lstrip("; "), memory))
        elif event is not None:
            text = "timed out: received None"
            detail = f"blocked since step {event['since']} on {printable(event['command']['cli'])}"
            views.append(ActorView(name, "timeout", text, name == ran, detail, memory))
        else:
            views.append(ActorView(name, "running", "running", name == ran, "", memory))
    return views


def _listening(point: dict[str, Any], actor: str) -> list[str]:
    """The channels and patterns a subscribed actor listens to after the step (none: not subscribed)."""
    info = point.get("subscribed", {}).get(actor)
    return [*info["channels"], *info["patterns"]] if info else []


def _inbox(point: dict[str, Any], actor: str) -> str:
    """'; 2 messages received so far: o2, o4' for a subscriber (the trace's pending messages)."""
    info = point.get("subscribed", {}).get(actor)
    if not info or not info["pending"]:
        return ""
    data = ", ".join(shorten(str(m["data"]), 20) for m in info["pending"][-5:])
    count = len(info["pending"])
    return f"; {count} message{'s' if count != 1 else ''} received so far: {'… ' if count > 5 else ''}{data}"


def _memory(
    point: dict[str, Any], before: dict[str, Any] | None, actor: str, names: list[str]
) -> list[tuple[str, str, bool]]:
    """An actor's process values (name, shown value, changed by the step)."""
    out = []
    for name in names:
        now = point["processes"][actor][name]["py"]
        old = before["processes"][actor][name]["py"] if before else now
        out.append((name, shorten(now, 60), old != now))
    return out


def variable_views(point: dict[str, Any], names: list[str], first: bool) -> list[VariableView]:
    """The tracked variables after a step (`changed` as the trace records it; never at step 0)."""
    return [
        VariableView(
            name,
            shorten(point["variables"][name]["py"], 60),
            not first and bool(point["variables"][name]["changed"]),
            bool(point["variables"][name]["waiting"]),
        )
        for name in names
    ]
