"""Load YAML into plain values while remembering where every value and key came from.

Instructors fix what `tutor check` reports by jumping to `file:line:col`, so every field path
must map back to a position in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from tutor import messages

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column."""

    line: int
    col: int


@dataclass
class Located:
    """A document's plain value with the position of every path in it."""

    value: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    duplicates: list[tuple[Path, Position]] = field(default_factory=list)

    def at(self, path: Path) -> Position:
        """The position of a path's value, or of its nearest ancestor that exists."""
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Position(1, 1))

    def key_at(self, path: Path) -> Position:
        """The position of a mapping key (for unknown-field errors), else of its value."""
        return self.keys.get(path) or self.at(path)


class YamlSyntaxError(ValueError):
    """A file that is not valid YAML, with where the parser stopped."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.position = position


class _Constructor(yaml.constructor.SafeConstructor):
    pass


def load(text: str) -> Located:
    """Parse one YAML document; raise YamlSyntaxError with a position when it is not YAML."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        problem = error.problem or str(error)
        raise YamlSyntaxError(messages.YAML_SYNTAX.format(problem=problem), position) from None
    located = Located(value=None)
    if node is None:
        return located
    constructor = _Constructor()
    located.value = _convert(node, (), located, constructor)
    return located


def _convert(node: yaml.Node, path: Path, located: Located, constructor: _Constructor) -> Any:
    located.values[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                key = str(key)
            child = (*path, str(key))
            key_position = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                located.duplicates.append((child, key_position))
            located.keys[child] = key_position
            result[str(key)] = _convert(value_node, child, located, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, index), located, constructor) for index, item in enumerate(node.value)]
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as error:
        position = located.values[path]
        raise YamlSyntaxError(messages.YAML_SYNTAX.format(problem=error.problem), position) from None


def format_path(path: Path) -> str:
    """Write a field path the way an instructor reads it: step_through.steps[2].redis."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(file)"
