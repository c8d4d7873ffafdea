"""Load YAML into plain values while remembering where every value and key came from.

Instructors fix what `tutor check` reports by jumping to `file:line:col`, so every field path
must map back to a position in the file.

The document is built from PyYAML's event stream by a loop, not by PyYAML's recursive composer,
so a hostile file harms nothing but itself: nesting deeper than `LIMITS.yaml_depth`, aliases that
expand to more than `LIMITS.yaml_values` values (a "billion laughs"), an alias of its own anchor
and a number too long to convert each stop the load with a problem at their position, instead of
exhausting memory, the stack or Python's integer conversion.

Plain values are read by the YAML 1.2 core schema, as editors (yaml-language-server) read them.
Where YAML 1.1 (PyYAML, and tutor before) reads a plain value differently (`no`, `on`, `1:30`,
`010`, `1_000`, `2024-01-01`, `1e3`...), the value is reported with a hint to quote it, so a file
that passes `tutor check` means the same to every reader.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from tutor import messages
from tutor.limits import LIMITS
from tutor.yamlerrors import plain_error

Path = tuple[str | int, ...]


class Position(NamedTuple):
    """A 1-based line and column (a tuple: a file has one for every value, made a thousand times a lesson)."""

    line: int
    col: int


@dataclass
class Located:
    """A document's plain value with the position of every path in it."""

    value: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    duplicates: list[tuple[Path, Position]] = field(default_factory=list)
    problems: list[tuple[Path, Position, str]] = field(default_factory=list)  # values read differently

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
    """A file that is not valid YAML (or is hostile), with the position the problem is about."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.position = position


# Position((line, col)) without the generated __new__'s Python call: half the cost, a thousand times a lesson.
_new_position: Callable[[tuple[int, int]], Position] = functools.partial(tuple.__new__, Position)


def _position(mark: Any) -> Position:
    return _new_position((mark.line + 1, mark.column + 1)) if mark is not None else Position(1, 1)


# libyaml's parser when PyYAML has it (about 30 times faster on a large file); its events are the
# same as the Python parser's. Its error messages are not, so a file that is not YAML is parsed
# again by the Python parser, whose messages `plain_error` knows.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_EVENT = yaml.ScalarEvent


def load(text: str) -> Located:
    """Parse one YAML document; raise YamlSyntaxError with a position when it is not YAML."""
    builder = _Builder()
    feed, scalar = builder.feed, builder._scalar  # noqa: SLF001 - most events are scalars: one call, not two
    parser = _FAST_LOADER(text)
    try:
        next_event = parser.get_event  # yaml.parse() without its generator: None after the last event
        while (event := next_event()) is not None:
            if type(event) is _SCALAR_EVENT:
                scalar(event)
            else:
                feed(event)
    except yaml.MarkedYAMLError as error:
        error = _python_error(text) or error
        message, mark = plain_error(error, text)
        raise YamlSyntaxError(messages.YAML_SYNTAX.format(problem=message), _position(mark)) from None
    finally:
        parser.dispose()
    return builder.located


def _python_error(text: str) -> yaml.MarkedYAMLError | None:
    """The Python parser's error for a text that is not YAML (worded as `plain_error` expects)."""
    try:
        for _ in yaml.parse(text, Loader=yaml.SafeLoader):
            pass
    except yaml.MarkedYAMLError as error:
        return error
    return None


@dataclass
class _Anchor:
    value: Any
    size: int
    height: int


@dataclass
class _Frame:
    path: Path
    value: dict[str, Any] | list[Any]
    anchor: str | None
    count_at_start: int
    height: int = 1
    key: str | None = None  # a mapping's key waiting for its value
    key_position: Position | None = None


class _Builder:
    """Turns parser events into plain values, positions and problems, within the limits."""

    def __init__(self) -> None:
        self.located = Located(value=None)
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor | None] = {}  # None: the anchor's collection is still open
        self.count = 0
        self.documents = 0
        self.aliased = False

    def feed(self, event: yaml.Event) -> None:
        """One event of any kind (`load` sends a plain ScalarEvent, most events, to `_scalar` itself)."""
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise YamlSyntaxError(messages.YAML_SECOND_DOCUMENT, _position(event.start_mark))
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._start(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self._end()
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)

    # --- where a value goes -------------------------------------------------------------------------

    def _expects_key(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return isinstance(top, _Frame) and isinstance(top.value, dict) and top.key is None

    def _child_path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, dict):
            assert top.key is not None
            return (*top.path, top.key)
        return (*top.path, len(top.value))

    def _place(self, value: Any, height: int) -> None:
        if not self.stack:
            self.located.value = value
            return
        top = self.stack[-1]
        top.height = max(top.height, height + 1)
        if isinstance(top.value, dict):
            assert top.key is not None
            top.value[top.key] = value
            top.key = None
        else:
            top.value.append(value)

    def _count(self, amount: int, position: Position) -> None:
        self.count += amount
        if self.count > LIMITS.yaml_values:
            template = messages.YAML_TOO_MANY_ALIASED if self.aliased else messages.YAML_TOO_MANY_VALUES
            raise YamlSyntaxError(template.format(limit=LIMITS.yaml_values), position)

    # --- events ---------------------------------------------------------------------------------------

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        # The hottest path of parsing (most events are scalars): _count, _expects_key, _child_path
        # and _place written out in line, same order, same results.
        mark: Any = event.start_mark  # a parser's scalar always has one
        position = _new_position((mark.line + 1, mark.column + 1))
        self.count += 1
        if self.count > LIMITS.yaml_values:
            self._count(0, position)  # raises with the right message
        text = event.value
        if event.implicit[0] and not event.style and text and text[0] not in _MAY_BE_TYPED:
            value, problem = text, None  # plain text to every reader: `_resolve`'s first way out, without the call
        else:
            value, problem = _resolve(event)
        top = self.stack[-1] if self.stack else None
        if top is None:
            self.located.values[()] = position
            if problem:
                self.located.problems.append(((), position, problem))
            if event.anchor:
                self.anchors[event.anchor] = _Anchor(value, 1, 0)
            self.located.value = value
            return
        container = top.value
        key = top.key
        if isinstance(container, dict) and key is None:
            self._key(event, value, problem, position)
            return
        path: Path = (*top.path, key) if key is not None else (*top.path, len(container))
        self.located.values[path] = position
        if problem:
            self.located.problems.append((path, position, problem))
        if event.anchor:
            self.anchors[event.anchor] = _Anchor(value, 1, 0)
        if top.height < 1:
            top.height = 1
        if isinstance(container, dict):
            assert key is not None
            container[key] = value
            top.key = None
        else:
            container.append(value)

    def _key(self, event: yaml.ScalarEvent, value: Any, problem: str | None, position: Position) -> None:
        top = self.stack[-1]
        assert isinstance(top.value, dict)
        key = value if isinstance(value, str) else event.value
        path = (*top.path, key)
        if problem:
            self.located.problems.append((path, position, problem))
        if key in top.value:
            self.located.duplicates.append((path, position))
        self.located.keys[path] = position
        top.key = key

    def _start(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        position = _position(event.start_mark)
        if self._expects_key():
            raise YamlSyntaxError(messages.YAML_COMPLEX_KEY, position)
        if len(self.stack) + 1 > LIMITS.yaml_depth:
            raise YamlSyntaxError(messages.YAML_TOO_DEEP.format(limit=LIMITS.yaml_depth), position)
        self._count(1, position)
        _check_tag(event.tag, ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"), position)
        path = self._child_path()
        self.located.values[path] = position
        value: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        if event.anchor:
            self.anchors[event.anchor] = None
        self.stack.append(_Frame(path, value, event.anchor, self.count - 1))

    def _end(self) -> None:
        frame = self.stack.pop()
        if frame.anchor:
            self.anchors[frame.anchor] = _Anchor(frame.value, self.count - frame.count_at_start, frame.height)
        self._place(frame.value, frame.height)

    def _alias(self, event: yaml.AliasEvent) -> None:
        position = _position(event.start_mark)
        name = event.anchor
        if name not in self.anchors:
            raise YamlSyntaxError(messages.YAML_UNDEFINED_ALIAS.format(name=name), position)
        anchor = self.anchors[name]
        if anchor is None:
            raise YamlSyntaxError(messages.YAML_RECURSIVE_ALIAS.format(name=name), position)
        if self._expects_key():
            raise YamlSyntaxError(messages.YAML_COMPLEX_KEY, position)
        if len(self.stack) + anchor.height > LIMITS.yaml_depth:
            raise YamlSyntaxError(messages.YAML_TOO_DEEP.format(limit=LIMITS.yaml_depth), position)
        self.aliased = True
        self._count(anchor.size, position)
        self.located.values[self._child_path()] = position
        self._place(copy.deepcopy(anchor.value), anchor.height)


# --- plain values: YAML 1.2 core schema, checked against YAML 1.1 ------------------------------------

_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_NUMBERISH = re.compile(r"[-+]?[0-9.][0-9a-fA-FoxXbB_:.eE+\-]*")
_MAY_BE_TYPED = frozenset("-+.0123456789~nNyYoOtTfF<=")  # first characters of YAML 1.1's and 1.2's typed values
# A plain value starting with a letter is typed, in YAML 1.1 or 1.2, only if it is one of these words.
_WORD_STARTS = frozenset("nNyYoOtTfF")
_TYPED_WORDS = frozenset(
    "yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL".split()
)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _core(text: str) -> Any:
    """A plain scalar's value by the YAML 1.2 core schema (what editors see)."""
    if _NULL.fullmatch(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT10.fullmatch(text):
        return int(text, 10)
    if _INT8.fullmatch(text):
        return int(text[2:], 8)
    if _INT16.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


def _yaml11(text: str) -> Any:
    """A plain scalar's value as PyYAML (YAML 1.1) reads it."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"):
        return text
    # The tag's constructor itself: construct_object() would keep every node it is given for ever.
    return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, text))


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _resolve(event: yaml.ScalarEvent) -> tuple[Any, str | None]:
    """The value of a scalar, and a problem when readers would disagree on it."""
    text = event.value
    plain = event.implicit[0] and not event.style  # the C parser says '' for plain, Python None
    if not plain:
        tag = event.tag if event.tag not in (None, "!") else "tag:yaml.org,2002:str"
        return _tagged(tag, text, _position(event.start_mark))
    if text and (text[0] not in _MAY_BE_TYPED or (text[0] in _WORD_STARTS and text not in _TYPED_WORDS)):
        return text, None  # text to YAML 1.1 and 1.2 alike (most values: the fast way)
    if len(text) > LIMITS.number_chars and _NUMBERISH.fullmatch(text):
        return text, messages.YAML_NUMBER_TOO_LONG.format(length=len(text), limit=LIMITS.number_chars)
    value = _core(text)
    try:
        old = _yaml11(text)
    except (ValueError, yaml.YAMLError):
        return value, None  # PyYAML cannot read it at all; the 1.2 reading stands
    if _same(value, old):
        return value, None
    return value, _disagreement(text, old, value)


def _tagged(tag: str, text: str, position: Position) -> tuple[Any, str | None]:
    """A quoted or explicitly tagged scalar: text, unless a core tag asks for a type."""
    _check_tag(tag, _SCALAR_TAGS, position)
    if tag == "tag:yaml.org,2002:str":
        return text, None
    if len(text) > LIMITS.number_chars:
        return text, messages.YAML_NUMBER_TOO_LONG.format(length=len(text), limit=LIMITS.number_chars)
    value = _core(text)
    wanted = {
        "tag:yaml.org,2002:int": int,
        "tag:yaml.org,2002:float": float,
        "tag:yaml.org,2002:bool": bool,
        "tag:yaml.org,2002:null": type(None),
    }[tag]
    if wanted is float and type(value) is int:
        value = float(value)
    if type(value) is not wanted:
        raise YamlSyntaxError(messages.YAML_BAD_TAGGED.format(text=text, tag=tag.rsplit(":", 1)[-1]), position)
    return value, None


_SCALAR_TAGS = (
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
)


def _check_tag(tag: str | None, allowed: tuple[str, ...], position: Position) -> None:
    if tag is None or tag == "!" or tag in allowed:
        return
    raise YamlSyntaxError(messages.YAML_UNSUPPORTED_TAG.format(tag=tag), position)


def _describe(value: Any) -> str:
    if value is None:
        return "null (nothing)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__}"


def _canonical(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    return None


def _disagreement(text: str, old: Any, new: Any) -> str:
    """How YAML 1.1 and 1.2 read a plain value differently, and the spellings every reader agrees on."""
    ways = [c for c in (_canonical(old), _canonical(new)) if c is not None]
    ways.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return messages.YAML_VERSIONS_DISAGREE.format(
        text=text, old=_describe(old), new=_describe(new), ways=" or ".join(dict.fromkeys(ways))
    )


def format_path(path: Path) -> str:
    """Write a field path the way an instructor reads it: step_through.steps[2].redis."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(file)"
