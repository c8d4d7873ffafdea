"""A yes/no answer to "is this document valid against the lesson schema?", about ten times faster
than asking jsonschema.

jsonschema finds every error with its path and context, which is what an author needs when a file
is wrong, but it costs as much as parsing the file even when nothing is wrong (nearly always).
`compile_schema` turns the schema into nested closures that only answer yes or no, with
jsonschema's Draft 7 semantics keyword by keyword (a bool is no integer, 1.0 is one, `const: true`
is not met by 1, `pattern` searches, `additionalItems` counts only beside a list of `items`); the
loader asks jsonschema for the details only when the answer is no, so messages never change.

A keyword it does not implement makes `compile_schema` raise instead of being ignored, so a rule
added to the schema later can never be skipped silently. Pure: no Flask, no I/O.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]

# Keywords that say nothing about validity (annotations, and tutor's own errorMessage / x-at).
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "errorMessage", "x-at", "default", "examples"})


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


_TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": _is_integer,
    "number": _is_number,
}


def _unbool(value: Any, true: object = object(), false: object = object()) -> Any:
    if value is True:
        return true
    if value is False:
        return false
    return value


def _equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema's `equal`: true is not 1, and the same inside lists and mappings."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return one.keys() == two.keys() and all(_equal(one[key], two[key]) for key in one)
    return bool(_unbool(one) == _unbool(two))


def _unique(items: list[Any]) -> bool:
    seen: list[Any] = []
    for item in items:
        if any(_equal(item, other) for other in seen):
            return False
        seen.append(item)
    return True


def compile_schema(schema: Any) -> Check:
    """A function that says whether a document is valid against `schema` (Draft 7)."""
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, dict):
        raise TypeError(f"not a schema: {schema!r}")
    unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
    if unknown:
        raise ValueError(f"schemacheck does not implement {sorted(unknown)}")
    checks = [build(schema) for names, build in _BUILDERS if not names.isdisjoint(schema)]
    if not checks:
        return lambda value: True
    return _every(checks)


def _every(checks: list[Check]) -> Check:
    """Met when each check is, asked in turn until one is not: as all() of a generator, without one per value.

    Every mapping and list of a lesson is checked by such a conjunction (its type, then its
    properties or items), so the generator cost a fifth of the schema check.
    """
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)

    def check(value: Any) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True

    return check


def _some(checks: list[Check]) -> Check:
    """Met when one check is, asked in turn until one is: as any() of a generator, without one per value."""

    def check(value: Any) -> bool:
        for one in checks:
            if one(value):
                return True
        return False

    return check


def _type(schema: dict[str, Any]) -> Check:
    kinds = schema["type"]
    tests = [_TYPES[kind] for kind in ([kinds] if isinstance(kinds, str) else kinds)]
    return tests[0] if len(tests) == 1 else _some(tests)


def _object_checks(schema: dict[str, Any]) -> Check:
    """properties, additionalProperties and required at once: one pass over the mapping."""
    properties = {name: compile_schema(sub) for name, sub in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    extra_check = None if extra is False else compile_schema(extra)
    required = list(schema.get("required", []))

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            sub = properties.get(name)
            if sub is not None:
                if not sub(item):
                    return False
            elif extra_check is None or not extra_check(item):
                return False
        return True

    return check


def _string_checks(schema: dict[str, Any]) -> Check:
    shortest = schema.get("minLength", 0)
    longest = schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None

    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        if len(value) < shortest or (longest is not None and len(value) > longest):
            return False
        return pattern is None or pattern.search(value) is not None

    return check


def _number_checks(schema: dict[str, Any]) -> Check:
    low = schema.get("minimum")
    high = schema.get("maximum")

    def check(value: Any) -> bool:
        if not _is_number(value):
            return True
        return not ((low is not None and value < low) or (high is not None and value > high))

    return check


def _array_checks(schema: dict[str, Any]) -> Check:
    fewest = schema.get("minItems", 0)
    most = schema.get("maxItems")
    unique = bool(schema.get("uniqueItems", False))
    items = schema.get("items", {})
    positional = [compile_schema(sub) for sub in items] if isinstance(items, list) else None
    every = None if positional is not None else compile_schema(items)
    rest = compile_schema(schema.get("additionalItems", True)) if positional is not None else None
    contains = compile_schema(schema["contains"]) if "contains" in schema else None

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        if len(value) < fewest or (most is not None and len(value) > most):
            return False
        if every is not None:
            for item in value:
                if not every(item):
                    return False
        else:
            assert positional is not None and rest is not None
            for index, item in enumerate(value):
                sub = positional[index] if index < len(positional) else rest
                if not sub(item):
                    return False
        if contains is not None and not any(contains(item) for item in value):
            return False
        return not unique or _unique(value)

    return check


def _const(schema: dict[str, Any]) -> Check:
    wanted = schema["const"]
    return lambda value: _equal(value, wanted)


def _enum(schema: dict[str, Any]) -> Check:
    choices = list(schema["enum"])
    return lambda value: any(_equal(choice, value) for choice in choices)


def _any_of(schema: dict[str, Any]) -> Check:
    return _some([compile_schema(sub) for sub in schema["anyOf"]])


def _all_of(schema: dict[str, Any]) -> Check:
    return _every([compile_schema(sub) for sub in schema["allOf"]])


def _one_of(schema: dict[str, Any]) -> Check:
    branches = [compile_schema(sub) for sub in schema["oneOf"]]
    return lambda value: sum(1 for branch in branches if branch(value)) == 1


def _not(schema: dict[str, Any]) -> Check:
    inner = compile_schema(schema["not"])
    return lambda value: not inner(value)


def _requires(names: list[str]) -> Check:
    return lambda value: all(name in value for name in names)


def _dependencies(schema: dict[str, Any]) -> Check:
    rules: list[tuple[str, Check]] = []
    for name, dependency in schema["dependencies"].items():
        if isinstance(dependency, list):
            rules.append((name, _requires(list(dependency))))
        else:
            rules.append((name, compile_schema(dependency)))

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        return all(rule(value) for name, rule in rules if name in value)

    return check


_BUILDERS: list[tuple[frozenset[str], Callable[[dict[str, Any]], Check]]] = [
    (frozenset({"type"}), _type),
    (frozenset({"properties", "additionalProperties", "required"}), _object_checks),
    (frozenset({"minLength", "maxLength", "pattern"}), _string_checks),
    (frozenset({"minimum", "maximum"}), _number_checks),
    (frozenset({"minItems", "maxItems", "uniqueItems", "items", "additionalItems", "contains"}), _array_checks),
    (frozenset({"const"}), _const),
    (frozenset({"enum"}), _enum),
    (frozenset({"dependencies"}), _dependencies),
    (frozenset({"anyOf"}), _any_of),
    (frozenset({"allOf"}), _all_of),
    (frozenset({"oneOf"}), _one_of),
    (frozenset({"not"}), _not),
]
_KEYWORDS: frozenset[str] = frozenset().union(*(names for names, _ in _BUILDERS))
