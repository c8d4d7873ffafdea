"""Turn a trace into what pages and terminals show: table rows, tracker columns, lanes, code.

Reads only the trace (plus the lesson's display text), never Redis, so a page shows exactly what
ran. No Flask here: the views pass these plain structures to templates.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from tutor.commands import format_cli
from tutor.limits import LIMITS
from tutor.replies import shorten

WAITING = "None (waiting)"


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}


def visible(text: str) -> str:
    """A key name or argument with its control bytes shown as redis-cli shows them (\\x06, \\n).

    Celery's priority lists are named 'celery\\x06\\x163': printed raw, a browser shows "celery3".
    """
    return "".join(_ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 32 or ord(ch) == 127 else ch) for ch in text)


def cell(text: str) -> str:
    """A value as a table cell shows it: whole up to a limit, then cut with an ellipsis."""
    return shorten(text, LIMITS.shown_chars)


def result_text(step: dict[str, Any]) -> str:
    """The Result column of a step: its reply, 'Blocks waiting', or its narration."""
    status = step["status"]
    if status == "blocked":
        return "Blocks waiting"
    if status == "note":
        return str(step.get("note") or "")
    reply = step.get("reply") or {}
    return str(reply.get("py", ""))


def event_text(event: dict[str, Any]) -> str:
    """One sentence for a wake-up or timeout that happened during a step."""
    if event["kind"] == "unblocked":
        return f"{event['actor']} (blocked since step {event['since']}) received {event['reply']['py']}"
    if event["kind"] == "received":
        return f"{event['actor']} (subscribed since step {event['since']}) received {event['reply']['py']}"
    return f"{event['actor']}'s {event['command']['cli']} timed out: None"


def text_table(trace: dict[str, Any]) -> str:
    """The execution table and variable tracker as plain text, for `tutor trace`."""
    header = ["Step", "Actor", "Action", "Command", "Result", *[f"State of '{k}'" for k in trace["watch"]]]
    rows = [header]
    for step in trace["steps"]:
        result = result_text(step)
        if step["events"]:
            result += " | " + "; ".join(event_text(e) for e in step["events"])
        command = step["command"]["cli"] if step["command"] else (step.get("python") or "N/A")
        rows.append(
            [
                str(step["step"]),
                step["actor"],
                step["action"],
                command,
                result,
                *[step["state"][k]["py"] for k in trace["watch"]],
            ]
        )
    lines = _columns([[cell(c) for c in row] for row in rows])
    tracker = tracker_rows(trace, len(trace["steps"]))
    if tracker.rows:
        lines.append("")
        lines.extend(_columns([["Variable", *tracker.columns], *[[r.label, *r.values] for r in tracker.rows]]))
    return "\n".join(lines)


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]


@dataclass
class TrackerRow:
    """One tracked thing (a key, a variable, a process value) across the columns shown."""

    label: str
    kind: str
    values: list[str] = field(default_factory=list)
    changed: list[bool] = field(default_factory=list)
    waiting: list[bool] = field(default_factory=list)


@dataclass
class Tracker:
    """The variable tracker: rows of tracked things, columns Start, After step 1..k."""

    columns: list[str]
    rows: list[TrackerRow]


def _points(trace: dict[str, Any], upto: int) -> list[dict[str, Any]]:
    return [trace["start"], *trace["steps"][:upto]]


def tracker_rows(trace: dict[str, Any], upto: int) -> Tracker:
    """Build the tracker for the first `upto` steps of a trace."""
    points = _points(trace, upto)
    columns = ["Start", *[f"After step {p['step']}" for p in points[1:]]]
    rows: list[TrackerRow] = []
    for key in trace["watch"]:
        rows.append(_row(key, "key", [p["state"][key]["py"] for p in points]))
    for name in trace["variables"]:
        row = _row(name, "variable", [p["variables"][name]["py"] for p in points])
        row.waiting = [p["variables"][name]["waiting"] for p in points]
        rows.append(row)
    for actor, names in trace["processes"].items():
        for name in names:
            rows.append(_row(f"{actor}: {name}", "process", [p["processes"][actor][name]["py"] for p in points]))
    return Tracker(columns, rows)


def _row(label: str, kind: str, values: list[str]) -> TrackerRow:
    changed = [False] + [values[i] != values[i - 1] for i in range(1, len(values))]
    return TrackerRow(label, kind, [cell(v) for v in values], changed, [v == WAITING for v in values])


@dataclass
class Arrow:
    """A message in the sequence diagram: from one lane to another, with its text."""

    source: str
    target: str
    text: str
    kind: str  # command, reply, blocked, wake, timeout, local, note


@dataclass
class LaneRow:
    """One step of the sequence diagram: its arrows, and which actors are waiting meanwhile."""

    step: int
    actor: str
    arrows: list[Arrow]
    waiting: dict[str, str]  # actor -> the keys it waits on


def lanes(trace: dict[str, Any], upto: int) -> list[LaneRow]:
    """The sequence diagram of the first `upto` steps: one lane per actor and one for Redis."""
    rows = []
    for step in trace["steps"][:upto]:
        actor = step["actor"]
        arrows: list[Arrow] = []
        for event in step["events"]:
            if event["kind"] == "timeout":
                arrows.append(Arrow("Redis", event["actor"], f"timeout: {event['command']['cli']} → None", "timeout"))
        if step["kind"] == "redis":
            arrows.append(Arrow(actor, "Redis", step["command"]["cli"], "command"))
            if step["status"] == "blocked":
                arrows.append(Arrow("Redis", actor, "no reply yet: blocked", "blocked"))
            else:
                arrows.append(Arrow("Redis", actor, step["reply"]["py"], "reply"))
        elif step["kind"] == "python":
            arrows.append(Arrow(actor, actor, f"{step['python']} → {step['reply']['py']}", "local"))
        else:
            arrows.append(Arrow(actor, actor, step.get("note") or step["action"], "note"))
        for event in step["events"]:
            if event["kind"] == "unblocked":
                arrows.append(
                    Arrow("Redis", event["actor"], f"hands over {event['reply']['py']} (from {actor})", "wake")
                )
            elif event["kind"] == "received":
                arrows.append(Arrow("Redis", event["actor"], f"pushes {event['reply']['py']} (from {actor})", "wake"))
        waiting = {name: ", ".join(visible(k) for k in info["keys"]) for name, info in step["blocked"].items()}
        rows.append(LaneRow(step["step"], actor, [_short(a) for a in arrows], waiting))
    return rows


def _short(arrow: Arrow) -> Arrow:
    arrow.text = cell(arrow.text)
    return arrow


@lru_cache(maxsize=256)
def code_lines(code: str, language: str) -> tuple[Markup, ...]:
    """Highlighted code, one Markup per line, so templates can mark the current line."""
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    formatter = HtmlFormatter(nowrap=True)
    html = highlight(code, lexer, formatter)
    return tuple(Markup(line) for line in html.rstrip("\n").split("\n"))


def pygments_css() -> str:
    """The stylesheet for highlighted code (static/pygments.css), every colour readable (WCAG AA).

    The style's colours are darkened until they reach 4.5:1 against the lightest background a
    code line can have (the highlighted current line), so no token fails a contrast check.
    """
    css = HtmlFormatter(style="vs").get_style_defs(".code")
    return re.sub(r"color: #([0-9a-fA-F]{6})", lambda m: "color: #" + _readable(m.group(1)), css)


_LIGHTEST_BACKGROUND = "fff4c2"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _readable(hex_colour: str) -> str:
    background = _luminance(_LIGHTEST_BACKGROUND)
    rgb = [int(hex_colour[i : i + 2], 16) for i in (0, 2, 4)]
    while True:
        colour = "".join(f"{c:02x}" for c in rgb)
        if (background + 0.05) / (_luminance(colour) + 0.05) >= 4.6 or not any(rgb):
            return colour
        rgb = [int(c * 0.92) for c in rgb]


def changed_lines(bad: str, good: str) -> tuple[set[int], set[int]]:
    """1-based line numbers that differ between two code samples (for the side-by-side view)."""
    import difflib

    a, b = bad.splitlines(), good.splitlines()
    bad_changed: set[int] = set()
    good_changed: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            bad_changed.update(range(i1 + 1, i2 + 1))
            good_changed.update(range(j1 + 1, j2 + 1))
    return bad_changed, good_changed


def readable_command(argv: list[str]) -> str:
    """A command whose arguments are too long for its cell, one argument a line, JSON indented.

    A Celery message's base64 body is decoded beside it: that is the task's [args, kwargs, embed].
    """
    lines = [argv[0]]
    for arg in argv[1:]:
        lines.append(_readable_arg(arg))
    return "\n".join(lines)


def _readable_arg(arg: str) -> str:
    text = arg.strip()
    if not text.startswith(("{", "[")):
        return format_cli([arg])
    try:
        value = json.loads(text)
    except ValueError:
        return format_cli([arg])
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    body = _celery_body(value)
    if body is not None:
        pretty += "\n# body, base64-decoded: " + body
    return pretty


def _celery_body(value: Any) -> str | None:
    message = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value
    if not isinstance(message, dict) or not isinstance(message.get("body"), str):
        return None
    if message.get("properties", {}).get("body_encoding") != "base64":
        return None
    try:
        return base64.b64decode(message["body"], validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
