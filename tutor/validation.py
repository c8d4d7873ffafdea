"""Turn JSON Schema errors into sentences an instructor can act on: which field, what was expected.

jsonschema's own messages describe the schema ("'x' is not valid under any of the given schemas");
these describe the lesson ("unknown field 'acton'; did you mean 'action'?").
"""

from __future__ import annotations

import difflib
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from tutor import messages
from tutor.schema import LESSON_SCHEMA
from tutor.schemacheck import compile_schema
from tutor.yamlpos import Path

_VALIDATOR = Draft7Validator(LESSON_SCHEMA)
_IS_VALID = compile_schema(LESSON_SCHEMA)  # yes or no, fast; jsonschema says where and why only after a no


def schema_problems(document: Any) -> list[tuple[Path, str]]:
    """Every schema problem of a lesson document as (path, message), in path order."""
    if _IS_VALID(document):
        return []
    errors = sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    # A misspelt field ("redsi") also breaks the rules that need the field ("a step needs redis:");
    # the unknown field is the mistake to fix, so the rule is not reported on the same mapping.
    leaves = [leaf for error in errors for leaf in _leaves(error)]
    misspelt = {tuple(e.absolute_path) for e in leaves if e.validator == "additionalProperties"}
    kept = [e for e in leaves if not (_is_rule(e) and tuple(e.absolute_path) in misspelt)]
    return [problem for error in kept for problem in _describe(error)]


def _is_rule(error: ValidationError) -> bool:
    return isinstance(error.schema, dict) and "errorMessage" in error.schema


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors worth describing: inside a failed "one of these forms", the form that came closest."""
    if error.validator in ("anyOf", "oneOf") and not _is_rule(error):
        deeper = [sub for sub in error.context or [] if sub.validator != "type" or sub.relative_path]
        if deeper:
            return [leaf for sub in deeper for leaf in _leaves(sub)]
    return [error]


_TYPE_NAMES = {
    "string": "text",
    "array": "a list",
    "object": "a mapping",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def _type_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _expected(schema: Any) -> str:
    kinds = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kinds, str):
        kinds = [kinds]
    if not kinds:
        return "a valid value"
    return " or ".join(_TYPE_NAMES.get(k, k) for k in kinds)


def _describe(error: ValidationError) -> list[tuple[Path, str]]:
    """Turn a JSON Schema error into (path, message) pairs an author can act on."""
    path: Path = tuple(error.absolute_path)
    kind = error.validator
    rule = error.schema if isinstance(error.schema, dict) else {}
    if kind in ("anyOf", "oneOf", "not", "contains", "pattern") and "errorMessage" in rule:
        at = rule.get("x-at")
        return [((*path, at) if at else path, rule["errorMessage"])]
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        out = []
        for name in error.instance:
            if name in allowed:
                continue
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            message = messages.UNKNOWN_FIELD.format(name=name, hint=hint, allowed=", ".join(allowed))
            out.append(((*path, name), message))
        return out
    if kind == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return [(path, messages.MISSING_FIELD.format(name=name)) for name in missing]
    if kind == "type":
        expected = _expected(error.schema)
        return [(path, messages.WRONG_TYPE.format(expected=expected, actual=_type_of(error.instance)))]
    if kind == "enum":
        choices = ", ".join(map(str, error.validator_value))
        return [(path, messages.NOT_ONE_OF.format(allowed=choices, actual=error.instance))]
    if kind in ("minItems", "minLength"):
        if kind == "minLength":
            return [(path, "must not be empty")]
        return [(path, messages.TOO_SHORT.format(minimum=error.validator_value))]
    if kind == "minimum":
        return [(path, messages.TOO_SMALL.format(minimum=error.validator_value, actual=error.instance))]
    if kind == "maximum":
        return [(path, messages.TOO_LARGE.format(maximum=error.validator_value, actual=error.instance))]
    if kind == "maxItems":
        what = path[-1] if path and isinstance(path[-1], str) else "items"
        return [(path, messages.TOO_MANY.format(what=what, limit=error.validator_value, count=len(error.instance)))]
    if kind == "const":
        return [(path, messages.MUST_BE.format(value=_type_of(error.validator_value)))]
    if kind == "pattern":
        what = "the allowed form (letters, digits, '-', '_')"
        return [(path, messages.BAD_PATTERN.format(actual=error.instance, what=what))]
    if kind in ("anyOf", "oneOf"):
        branches = [_expected(branch) for branch in error.validator_value]
        expected = " or ".join(dict.fromkeys(branches))
        return [(path, messages.WRONG_TYPE.format(expected=expected, actual=_type_of(error.instance)))]
    return [(path, error.message)]
