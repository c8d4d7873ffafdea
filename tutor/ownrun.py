"""A learner's own run: the commands they added to a lesson, as a log that is replayed, never kept live.

A run is a list of entries, each "after lesson step k, this actor ran this command" (or a crash,
a restart, some seconds passing). The engine replays the lesson with the entries inserted, so the
state a learner sees is always re-made from the log: any app process serves the same run, and a
reload shows it again. The log travels as compact JSON (to the store) and as a base64url token
(in a share link); whatever comes back is validated again, as if a stranger had typed it.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Any

from tutor import messages
from tutor.commands import CommandError, format_cli, spec_for
from tutor.model import Step, StepThrough

ACTIONS = ("run", "crash", "restart", "wait")
MAX_ENTRIES = 100
MAX_WAIT_SECONDS = 3600
MAX_ARG_CHARS = 512
MAX_TOKEN_CHARS = 24_000
_MAX_JSON_BYTES = 64 * 1024


class RunError(ValueError):
    """A log that cannot be replayed on this step-through (damaged, forged, or for another lesson)."""


@dataclass(frozen=True)
class Entry:
    """One thing the learner did: after lesson step `after_step`, `actor` ran argv (or an action)."""

    after_step: int
    actor: str
    action: str = "run"
    argv: tuple[str, ...] = ()
    seconds: int = 0

    def to_step(self) -> Step:
        """The entry as an engine step (its action text is what the console shows)."""
        if self.action == "crash":
            return Step(actor=self.actor, action=f"crash {self.actor}", path=(), crash=self.actor)
        if self.action == "restart":
            return Step(actor=self.actor, action=f"restart {self.actor}", path=(), restart=self.actor)
        if self.action == "wait":
            note = messages.WAIT_NOTE.format(seconds=self.seconds)
            return Step(actor=self.actor, action=note, path=(), note=note, wait=float(self.seconds))
        return Step(actor=self.actor, action="Your command", path=(), argv=self.argv)

    def label(self) -> str:
        """How the console prints the entry."""
        if self.action == "run":
            return format_cli(self.argv)
        if self.action == "wait":
            return messages.WAIT_NOTE.format(seconds=self.seconds)
        return f"{self.action} {self.actor}"


def validate(entries: list[Entry], walk: StepThrough) -> list[Entry]:
    """The entries, checked against the step-through: actors, step numbers, allowed commands, sizes."""
    if len(entries) > MAX_ENTRIES:
        raise RunError(messages.RUN_TOO_MANY_COMMANDS.format(limit=MAX_ENTRIES))
    for entry in entries:
        check_entry(entry, walk)
    return entries


def check_entry(entry: Entry, walk: StepThrough) -> None:
    """Raise RunError with the learner's message when one entry cannot run on this step-through."""
    if not 0 <= entry.after_step <= len(walk.steps):
        raise RunError(messages.LEARNER_BAD_STEP.format(count=len(walk.steps)))
    if entry.actor not in walk.actors:
        raise RunError(messages.TRY_UNKNOWN_ACTOR.format(known=", ".join(walk.actors)))
    if entry.action not in ACTIONS:
        raise RunError(messages.RUN_UNKNOWN_DO)
    if entry.action == "wait" and not 1 <= entry.seconds <= MAX_WAIT_SECONDS:
        raise RunError(messages.RUN_BAD_SECONDS.format(limit=MAX_WAIT_SECONDS))
    if entry.action == "run":
        if sum(len(a) for a in entry.argv) > MAX_ARG_CHARS:
            raise RunError(messages.TRY_TOO_LONG.format(limit=MAX_ARG_CHARS))
        try:
            spec_for(entry.argv)
        except CommandError as error:
            raise RunError(str(error)) from None


def inserts(entries: list[Entry]) -> dict[int, list[Step]]:
    """The engine's `inserts`: entries grouped by the lesson step they follow, in the order typed."""
    out: dict[int, list[Step]] = {}
    for entry in entries:
        out.setdefault(entry.after_step, []).append(entry.to_step())
    return out


def upto(entries: list[Entry], step: int) -> list[Entry]:
    """The entries that have run by lesson step `step` (later ones wait for the learner to get there)."""
    return [e for e in entries if e.after_step <= step]


def dumps(entries: list[Entry]) -> str:
    """Compact JSON: [[after_step, actor, action, argv-or-seconds], ...]."""
    rows: list[list[Any]] = []
    for e in entries:
        rows.append([e.after_step, e.actor, e.action, e.seconds if e.action == "wait" else list(e.argv)])
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes, walk: StepThrough) -> list[Entry]:
    """Entries from dumps() output, validated again; RunError if anything is off."""
    if len(text) > _MAX_JSON_BYTES:
        raise RunError(messages.RUN_BAD_TOKEN)
    try:
        rows = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise RunError(messages.RUN_BAD_TOKEN) from None
    if not isinstance(rows, list) or len(rows) > MAX_ENTRIES:
        raise RunError(messages.RUN_BAD_TOKEN)
    entries = [_entry(row) for row in rows]
    return validate(entries, walk)


def _entry(row: Any) -> Entry:
    if not (isinstance(row, list) and len(row) == 4):
        raise RunError(messages.RUN_BAD_TOKEN)
    after, actor, action, payload = row
    if not (isinstance(after, int) and not isinstance(after, bool) and isinstance(actor, str)):
        raise RunError(messages.RUN_BAD_TOKEN)
    if action == "wait":
        if not (isinstance(payload, int) and not isinstance(payload, bool)):
            raise RunError(messages.RUN_BAD_TOKEN)
        return Entry(after, actor, "wait", seconds=payload)
    if action == "run":
        if not (isinstance(payload, list) and payload and all(isinstance(a, str) for a in payload)):
            raise RunError(messages.RUN_BAD_TOKEN)
        return Entry(after, actor, "run", argv=tuple(payload))
    if action in ("crash", "restart") and payload == []:
        return Entry(after, actor, action)
    raise RunError(messages.RUN_BAD_TOKEN)


def to_token(entries: list[Entry]) -> str:
    """The log for a share link: deflated JSON in base64url (nothing secret: it is validated on load)."""
    packed = zlib.compress(dumps(entries).encode(), 9)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def from_token(token: str, walk: StepThrough) -> list[Entry]:
    """Entries from a share link, bounded while inflating (no zip bomb) and validated again."""
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise RunError(messages.RUN_BAD_TOKEN)
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, _MAX_JSON_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise RunError(messages.RUN_BAD_TOKEN) from None
    if len(text) > _MAX_JSON_BYTES or inflater.unconsumed_tail:
        raise RunError(messages.RUN_BAD_TOKEN)
    return loads(text, walk)


def differences(lesson: dict[str, Any], yours: dict[str, Any], step: int) -> list[dict[str, Any]]:
    """Where your run's trace differs from the lesson's, step by step up to `step`: replies and key states."""
    out: list[dict[str, Any]] = []
    for theirs, mine in zip(lesson["steps"][:step], yours["steps"][:step], strict=True):
        if _outcome(theirs) != _outcome(mine):
            out.append({"step": mine["step"], "what": "reply", "lesson": _outcome(theirs), "yours": _outcome(mine)})
        for key in yours["watch"]:
            a, b = theirs["state"].get(key, {}).get("py"), mine["state"].get(key, {}).get("py")
            if a != b:
                out.append({"step": mine["step"], "what": f"'{key}'", "lesson": a, "yours": b})
    return out


def _outcome(record: dict[str, Any]) -> str:
    """A step's reply in words, with who it woke: what the learner compares between runs."""
    if record["status"] == "blocked":
        text = "blocks waiting"
    elif record["status"] == "note":
        text = record.get("note") or ""
    else:
        text = (record.get("reply") or {}).get("py", "")
    woke = [f"{e['actor']} receives {e['reply']['py']}" for e in record.get("events", []) if e["kind"] == "unblocked"]
    return "; ".join([text, *woke]) if woke else text
