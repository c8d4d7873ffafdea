"""Replies and key states as plain values: what redis-py hands the sample's code, and redis-cli's view.

The trace stores each reply three ways so no front end has to guess: `value` (JSON), `py` (the
repr a Python learner sees, e.g. ('queue', 'hello')) and `cli` (what redis-cli prints).
"""

from __future__ import annotations

import re
from typing import Any

from redis.exceptions import ResponseError

ELLIPSIS = "…"


def to_json(value: Any) -> Any:
    """A reply as JSON: tuples become lists, sets sorted lists, keys text."""
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_json(v) for v in value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def py_repr(value: Any) -> str:
    """The value as Python prints it; sets sorted so the display never jitters."""
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(repr(v) for v in sorted(value)) + "}" if value else "set()"
    return repr(value)


def cli_text(raw: Any, status: bool = False, indent: int = 0) -> str:
    """A raw RESP reply as redis-cli prints it."""
    if isinstance(raw, ResponseError):
        return f"(error) {raw}"
    if raw is None:
        return "(nil)"
    if isinstance(raw, bool):
        return "(integer) 1" if raw else "(integer) 0"
    if isinstance(raw, int):
        return f"(integer) {raw}"
    if isinstance(raw, float):
        return f'"{raw:.17g}"'  # Redis 7.0 sends a score as %.17g (addReplyDouble); redis-cli shows it
    if isinstance(raw, str):
        return raw if status else quoted(raw)
    if isinstance(raw, bytes):
        return quoted(raw.decode("utf-8", "backslashreplace"))
    if isinstance(raw, list | tuple):
        if not raw:
            return "(empty array)"
        width = len(str(len(raw)))
        lines = []
        for number, item in enumerate(raw, 1):
            prefix = f"{number:>{width}}) "
            inner = cli_text(item, indent=indent + len(prefix))
            lines.append(prefix + inner)
        return ("\n" + " " * indent).join(lines)
    if isinstance(raw, dict):
        return cli_text([x for pair in raw.items() for x in pair], indent=indent)
    if isinstance(raw, set | frozenset):
        return cli_text(sorted(raw, key=str), indent=indent)
    return repr(raw)


# Control characters that redis-cli writes as \xNN (\n, \r and \t have escapes of their own).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def quoted(text: str) -> str:
    """`text` in double quotes, escaped as redis-cli writes it: the quote, the backslash, control characters.

    By str.replace (C, a pass per escape) and a search for the rare other control characters, not a
    Python loop per character: a lesson's payloads (a Celery message is a few hundred characters of
    JSON) are quoted in every command line and reply of a trace, and that loop was a tenth of
    `tutor check`'s execution time. The backslash goes first, so no escape written here is escaped again.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    escaped = escaped.replace("\t", "\\t")
    if _CONTROL.search(escaped):
        escaped = _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", escaped)
    return '"' + escaped + '"'


def reply_record(value: Any, raw: Any, status: bool = False) -> dict[str, Any]:
    """A successful reply, ready for the trace."""
    return {"type": _kind(raw), "value": to_json(value), "py": py_repr(value), "cli": cli_text(raw, status)}


def error_record(message: str, cli: str | None = None) -> dict[str, Any]:
    """An error reply (Redis's or Python's), shown as data the way redis-cli shows it."""
    return {"type": "error", "value": message, "py": message, "cli": cli or f"(error) {message}"}


def _kind(raw: Any) -> str:
    if raw is None:
        return "nil"
    if isinstance(raw, bool | int):
        return "integer"
    if isinstance(raw, str | bytes | float):
        return "string"
    if isinstance(raw, list | tuple | dict):
        return "array"
    return "other"


def shorten(text: str, limit: int) -> str:
    """Cut long text for a table cell; the JSON trace keeps it whole."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


MISSING = {"type": "none", "value": None, "py": "(none)"}
