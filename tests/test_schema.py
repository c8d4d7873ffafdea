"""One source for the lesson contract: the schema describes every field, holds the rules it can
express, and agrees with `tutor check` and with editors (YAML 1.2) on every lesson and doc example."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from tutor import messages
from tutor.loader import load_text
from tutor.schema import LESSON_SCHEMA
from tutor.validation import schema_problems
from tutor.yamlpos import YamlSyntaxError, load

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("*.yaml"))
AUTHORING = ROOT / "docs" / "authoring.md"
VALIDATOR = Draft7Validator(LESSON_SCHEMA)


def properties(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (path, property schema) in the schema, however deep (anyOf branches, items, additional)."""
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, value in schema.items():
            if key == "properties":
                for name, sub in value.items():
                    yield from properties(sub, f"{path}.{name}")
            elif isinstance(value, dict | list):
                yield from properties(value, path)
    elif isinstance(schema, list):
        for item in schema:
            yield from properties(item, path)


def test_every_property_of_the_schema_has_a_description() -> None:
    found = list(properties(LESSON_SCHEMA))
    assert len(found) > 150
    undescribed = sorted({path for path, sub in found if not sub.get("description")})
    assert undescribed == []


def test_the_completeness_test_notices_a_property_without_a_description() -> None:
    broken = {"properties": {"a": {"type": "string", "description": "A."}, "b": {"type": "string"}}}
    assert [path for path, sub in properties(broken) if not sub.get("description")] == [".b"]


def test_the_schema_is_valid_draft_7_and_docs_copy_is_current() -> None:
    Draft7Validator.check_schema(LESSON_SCHEMA)
    shipped = (ROOT / "docs" / "lesson.schema.json").read_text(encoding="utf-8")
    assert json.loads(shipped) == LESSON_SCHEMA, "run: tutor schema > docs/lesson.schema.json"


def schema_messages(document: Any) -> list[str]:
    return [message for _, message in schema_problems(document)]


STEP = {"actor": "a", "action": "x"}


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({**STEP, "redis": "PING", "python": "len(m)"}, messages.BOTH_COMMANDS),
        (STEP, messages.EMPTY_STEP),
        ({**STEP, "note": "n", "expect": 1}, messages.EXPECT_WITHOUT_COMMAND),
        ({**STEP, "note": "n", "assign": "v"}, messages.ASSIGN_WITHOUT_COMMAND),
    ],
)
def test_the_schema_holds_the_step_rules_with_the_checkers_words(step: dict[str, Any], message: str) -> None:
    lesson = {"title": "T", "step_through": {"actors": ["a"], "steps": [step]}}
    assert not VALIDATOR.is_valid(lesson)
    assert schema_messages(lesson) == [message]


def test_a_note_may_go_with_a_command() -> None:
    lesson = {"title": "T", "step_through": {"actors": ["a"], "steps": [{**STEP, "redis": "PING", "note": "n"}]}}
    assert VALIDATOR.is_valid(lesson)


def test_the_schema_holds_the_lesson_and_quiz_rules() -> None:
    assert schema_messages({"title": "T"}) == [messages.NO_MODE]
    walk = {"actors": ["a"], "steps": [{**STEP, "note": "n"}]}
    question = {"prompt": "p", "choices": ["a", "b"], "answer_from": {"step": 1, "key": "k", "variable": "v"}}
    assert schema_messages({"title": "T", "step_through": {**walk, "quiz": [question]}}) == [
        messages.QUIZ_NO_CORRECT,
        messages.ANSWER_FROM_ONE_SOURCE,
    ]
    assert schema_messages({"title": "T", "step_through": [walk, walk]}) == ["missing required field 'slug'"]


def test_wait_1_30_and_no_are_what_editors_read_and_check_says_to_quote_them() -> None:
    text = "title: T\nstep_through:\n  actors: [a]\n  steps:\n    - {actor: a, action: x, note: n, wait: 1:30}\n"
    # An editor (YAML 1.2) reads '1:30' as text, so the schema says wait is not a number there...
    assert not VALIDATOR.is_valid(load(text).value)
    # ...and tutor check reports the value once, with the spellings every reader agrees on.
    [problem] = load_text(text, "x.yaml", "x").problems
    assert problem.message.startswith("1:30 means the number 90 in YAML 1.1 (PyYAML) but the text '1:30'")


@pytest.mark.parametrize("file", LESSONS, ids=[f.name for f in LESSONS])
def test_every_lesson_is_valid_and_reads_the_same_in_yaml_1_1_and_1_2(file: Path) -> None:
    text = file.read_text(encoding="utf-8")
    value = load(text).value
    assert list(VALIDATOR.iter_errors(value)) == []
    assert yaml.safe_load(text) == value


# --- the examples in docs/authoring.md ---------------------------------------------------------------------


def yaml_examples() -> list[tuple[int, str]]:
    """Every ```yaml block of the authoring guide, dedented, with its line number."""
    lines = AUTHORING.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    while index < len(lines):
        opening = re.fullmatch(r"( *)```yaml", lines[index])
        if opening is None:
            index += 1
            continue
        indent = opening.group(1)
        end = lines.index(f"{indent}```", index + 1)
        found.append((index + 1, textwrap.dedent("\n".join(lines[index + 1 : end])) + "\n"))
        index = end + 1
    return found


EXAMPLES = yaml_examples()

# The examples the guide shows failing on purpose, by their first line: each must fail in the editor too.
INVALID_ON_PURPOSE = {
    "framework: Flask": [
        "missing required field 'title'",
        "expected a whole number, got the text 'ten'",
        "unknown field 'expct'; did you mean 'expect'? (allowed: actor, action, redis, python, note, assign, "
        "expect, wait, line, stage, crash, restart)",
    ]
}
NOT_YAML_ON_PURPOSE = {"title: Broken quoting"}


def _subschemas(schema: Any) -> Iterator[tuple[str, Any]]:
    for path, sub in properties(schema):
        yield path.rsplit(".", 1)[-1], sub


FIELD_SCHEMAS: dict[str, list[Any]] = {}
for _name, _sub in _subschemas(LESSON_SCHEMA):
    FIELD_SCHEMAS.setdefault(_name, []).append(_sub)


def fragment_is_valid(key: str, value: Any) -> bool:
    """A fragment field is valid when the schema of some field of that name accepts it."""
    return any(Draft7Validator(sub).is_valid(value) for sub in FIELD_SCHEMAS.get(key, []))


@pytest.mark.parametrize(("line", "text"), EXAMPLES, ids=[f"authoring.md:{line}" for line, _ in EXAMPLES])
def test_every_yaml_example_in_the_guide_agrees_with_the_schema(line: int, text: str) -> None:
    first = text.splitlines()[0]
    try:
        located = load(text)
    except YamlSyntaxError:
        assert first in NOT_YAML_ON_PURPOSE
        return
    value = located.value
    if isinstance(value, dict) and ("step_through" in value or "performance" in value):
        found = schema_messages(value)
        assert found == INVALID_ON_PURPOSE.get(first, [])
        return
    if isinstance(value, list):  # a fragment of a steps: list
        assert fragment_is_valid("steps", value), value
        return
    # A fragment: each field (or each line, when a block lists alternatives for one field) on its own.
    items = (
        [next(iter(load(row).value.items())) for row in text.splitlines() if row and not row.startswith("#")]
        if located.duplicates
        else list(value.items())
    )
    for key, field_value in items:
        assert fragment_is_valid(str(key), field_value), f"{key}: {field_value!r}"


def test_the_guide_has_the_examples_this_test_expects() -> None:
    assert len(EXAMPLES) >= 20
    firsts = {text.splitlines()[0] for _, text in EXAMPLES}
    assert set(INVALID_ON_PURPOSE) <= firsts
    assert NOT_YAML_ON_PURPOSE <= firsts
