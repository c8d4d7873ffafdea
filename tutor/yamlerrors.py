"""PyYAML's syntax errors in plain words, at the line the mistake is on.

PyYAML describes its parser ("expected <block end>, but found '<block mapping start>'"); an
instructor needs the mistake ("this line is indented differently from the field above it") and the
line to fix, which is not always where the parser gave up (an unclosed quote is found at the end
of the file, but the quote to close is where it opened).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tutor import messages


def plain_error(error: yaml.MarkedYAMLError, text: str) -> tuple[str, Any]:
    """The error as a sentence, and the mark (PyYAML's 0-based position) it is about."""
    problem = error.problem or ""
    context = error.context or ""
    at = error.problem_mark
    opened = error.context_mark
    lines = text.splitlines()
    if problem.startswith("expected <block end>"):
        return _indentation(at, lines, problem), at
    if problem == "mapping values are not allowed here":
        message = _colon(at, lines)
        if message != messages.YAML_COLON_IN_VALUE and at is not None:
            return message, _Mark(at.line, _content_col(lines[at.line]))
        return message, at
    if "that cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else "?"
        if char == "\\t":
            return messages.YAML_TAB, at
        return messages.YAML_BAD_START.format(char=char), at
    if problem == "found unexpected end of stream" and "quoted scalar" in context and opened is not None:
        return messages.YAML_UNCLOSED_QUOTE.format(line=opened.line + 1, col=opened.column + 1), opened
    if re.fullmatch(r"expected ',' or '[\]}]', but got .*", problem) and opened is not None:
        bracket = "[" if "]" in problem.split("but")[0] else "{"
        closing = "]" if bracket == "[" else "}"
        if at is not None and at.line > opened.line:
            return messages.YAML_UNCLOSED_FLOW.format(bracket=bracket, closing=closing, line=at.line + 1), opened
        return messages.YAML_FLOW_ITEM.format(bracket=bracket, closing=closing), at
    if "could not find expected ':'" in problem and opened is not None:
        return messages.YAML_NO_COLON.format(line=opened.line + 1), opened
    if "while scanning an alias" in context or "while scanning an anchor" in context:
        sign = "*" if "alias" in context else "&"
        return messages.YAML_ALIAS_START.format(sign=sign), opened or at
    if "found unknown escape character" in problem:
        char = problem.split("'")[1] if "'" in problem else "?"
        return messages.YAML_BAD_ESCAPE.format(char=char), at
    if "while scanning a block scalar" in context:
        return messages.YAML_BLOCK_SCALAR, at
    if "found duplicate anchor" in context and opened is not None:
        return messages.YAML_DUPLICATE_ANCHOR.format(line=opened.line + 1), at
    where = f" ({context} started at line {opened.line + 1})" if context and opened is not None else ""
    return f"{problem}{where}", at or opened


class _Mark:
    """A 0-based line and column, as PyYAML's marks have them."""

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.column = column


def _content_col(line: str) -> int:
    """The 0-based column where a line's field or item starts (after any '- ')."""
    stripped = line.lstrip(" ")
    col = len(line) - len(stripped)
    while stripped.startswith("- "):
        rest = stripped[2:].lstrip(" ")
        col += len(stripped) - len(rest)
        stripped = rest
    return col


def _previous(lines: list[str], index: int) -> int | None:
    """The nearest line above `index` with content (not blank, not a comment)."""
    for i in range(index - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("#"):
            return i
    return None


def _indentation(at: Any, lines: list[str], problem: str) -> str:
    if at is None or at.line >= len(lines):
        return messages.YAML_INDENTATION_PLAIN
    line = lines[at.line]
    if "'<scalar>'" in problem and re.search(r"[\"']\s*\S", line[: at.column + 1] or ""):
        return messages.YAML_AFTER_QUOTE
    above = _previous(lines, at.line)
    if above is None:
        return messages.YAML_INDENTATION_PLAIN
    indent = len(line) - len(line.lstrip(" "))
    if line.lstrip(" ").startswith("-"):
        above_col = len(lines[above]) - len(lines[above].lstrip(" "))
    else:
        above_col = _content_col(lines[above])
    return messages.YAML_INDENTATION.format(col=indent + 1, above=above + 1, above_col=above_col + 1)


def _colon(at: Any, lines: list[str]) -> str:
    if at is None or at.line >= len(lines):
        return messages.YAML_COLON_IN_VALUE
    line = lines[at.line]
    above = _previous(lines, at.line)
    first_colon = line.find(": ")
    if above is None:
        return messages.YAML_COLON_IN_VALUE
    deeper = _content_col(line) > _content_col(lines[above])
    if deeper and (first_colon == -1 or first_colon >= at.column - 1):
        return messages.YAML_INDENTED_TOO_DEEP.format(
            col=_content_col(line) + 1, above=above + 1, above_col=_content_col(lines[above]) + 1
        )
    return messages.YAML_COLON_IN_VALUE
