"""The fast yes/no schema check (tutor/schemacheck.py) says "valid" exactly when jsonschema finds no
error: on every lesson, on hundreds of broken variants of them, and on the corners of Draft 7 where
Python's types differ from JSON's. If it said yes where jsonschema says no, `tutor check` would pass
a file that breaks the schema; this is what keeps the two in step."""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tutor.schema import LESSON_SCHEMA
from tutor.schemacheck import compile_schema
from tutor.validation import schema_problems
from tutor.yamlpos import load

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "lessons").glob("*.yaml")) + sorted((ROOT / "tests" / "fixtures").glob("*.yaml"))
SLOW = Draft7Validator(LESSON_SCHEMA)
FAST = compile_schema(LESSON_SCHEMA)

# Values a mutation puts somewhere: each type, the limits' edges, and the forms the schema names.
POOL: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    1.5,
    201,
    600,
    601,
    1001,
    math.nan,
    math.inf,
    "",
    "x",
    "blocked",
    "deque([1])",
    "bad name!",
    "https://redis.io/docs",
    "medium",
    [],
    ["a"],
    ["a", "a"],
    [1, "x"],
    {},
    {"correct": True},
    {"text": "x", "correct": 1},
    {"error": "ERR"},
    {"redis": "PING"},
    {"step": 1, "reply": True},
    {"step": 1, "reply": 1},
    {"step": 1, "key": "k", "variable": "v"},
]


def slow_valid(document: Any) -> bool:
    return next(iter(SLOW.iter_errors(document)), None) is None


def documents() -> list[Any]:
    return [load(file.read_text(encoding="utf-8")).value for file in FILES]


def paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(paths(item, (*path, index)))
    return found


def mutate(document: Any, chance: random.Random) -> Any:
    """One change somewhere in a copy: a value replaced, a field dropped or added, an item repeated."""
    changed = copy.deepcopy(document)
    path = chance.choice(paths(changed)[1:])
    parent = changed
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = chance.randrange(4)
    if action == 0:
        parent[last] = copy.deepcopy(chance.choice(POOL))
    elif action == 1:
        del parent[last]
    elif action == 2 and isinstance(parent[last], dict):
        parent[last][chance.choice(["redsi", "expect", "assign", "note", "python", "crash", "correct", "slug"])] = (
            copy.deepcopy(chance.choice(POOL))
        )
    elif isinstance(parent[last], list) and parent[last]:
        parent[last].append(copy.deepcopy(parent[last][0]))
    else:
        parent[last] = copy.deepcopy(chance.choice(POOL))
    return changed


def test_the_fast_check_accepts_every_lesson_jsonschema_accepts() -> None:
    for document in documents():
        assert FAST(document) is True
        assert slow_valid(document)


def test_the_fast_check_agrees_with_jsonschema_on_broken_variants_of_every_lesson() -> None:
    chance = random.Random(12)
    originals = documents()
    verdicts = {True: 0, False: 0}
    for _ in range(600):
        variant = mutate(chance.choice(originals), chance)
        expected = slow_valid(variant)
        assert FAST(variant) is expected, variant
        verdicts[expected] += 1
    assert verdicts[True] > 50 and verdicts[False] > 200  # both answers were really exercised


LESSON = {"title": "T", "step_through": {"actors": ["a"], "steps": [{"actor": "a", "action": "x", "redis": "PING"}]}}


def with_step(**fields: Any) -> dict[str, Any]:
    lesson = copy.deepcopy(LESSON)
    lesson["step_through"]["steps"][0].update(fields)
    return lesson


def with_quiz(question: dict[str, Any]) -> dict[str, Any]:
    lesson = copy.deepcopy(LESSON)
    lesson["step_through"]["quiz"] = [question]
    return lesson


QUESTION = {"prompt": "?", "choices": ["a", {"text": "b", "correct": True}]}


@pytest.mark.parametrize(
    "document",
    [
        with_step(stage=1.0),  # 1.0 is an integer to Draft 7
        with_step(stage=True),  # a bool is not
        with_step(stage=1.5),
        with_step(wait=False),
        with_step(wait=math.nan),
        with_step(line=0),
        with_step(redis=[]),
        with_step(redis=["GET", 1, True]),
        with_step(note="n", expect=1),
        with_step(python="x", redis="PING"),
        with_step(crash="a"),
        with_quiz({**QUESTION, "choices": ["a", {"text": "b", "correct": 1}]}),  # const true is not 1
        with_quiz({**QUESTION, "answer_from": {"step": 1, "reply": 1}}),
        with_quiz({**QUESTION, "answer_from": {"step": 1, "reply": True}}),
        with_quiz({**QUESTION, "answer_from": {"step": 1, "key": "k", "variable": "v"}}),
        {**LESSON, "builds_on": ["a", "a"]},
        {**LESSON, "builds_on": ["a", "b"]},
        {**LESSON, "id": "abc\n"},  # `$` matches before a final newline under re.search, in both
        {**LESSON, "step_through": [LESSON["step_through"], LESSON["step_through"]]},  # later ones need a slug
        {**LESSON, "step_through": [LESSON["step_through"], {**LESSON["step_through"], "slug": "two"}]},
        {"title": "T"},
        {"title": "T", "performance": {"impact": "huge", "scenario": "s", "bad": {}, "good": {}}},
    ],
)
def test_the_fast_check_agrees_with_jsonschema_where_python_and_json_types_differ(document: dict[str, Any]) -> None:
    assert FAST(document) is slow_valid(document)


def test_a_keyword_the_fast_check_does_not_implement_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="patternProperties"):
        compile_schema({"type": "object", "patternProperties": {"^x": {"type": "string"}}})


def test_schema_problems_still_gives_jsonschemas_details_when_the_fast_check_says_no() -> None:
    document = with_step(acton="x")
    assert FAST(document) is False
    assert [path for path, _ in schema_problems(document)] == [("step_through", "steps", 0, "acton")]


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"dependencies": {"a": ["b"]}}, {"a": 1}),
        ({"dependencies": {"a": ["b"]}}, {"a": 1, "b": 2}),
        ({"type": ["string", "null"]}, None),
        ({"maxLength": 2}, "abc"),
        ({"enum": [1, "x"]}, True),
        ({"const": [1, {"a": True}]}, [1, {"a": 1}]),
        ({"items": [{"type": "string"}], "additionalItems": False}, ["a", "b"]),
        ({"additionalItems": False}, ["a", "b"]),  # without a list of items it says nothing
        ({"contains": {"const": 2}}, "not an array"),
        ({"not": {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}}, {"c": 1}),
    ],
)
def test_the_fast_check_agrees_with_jsonschema_on_keywords_the_lesson_schema_uses_little(
    schema: dict[str, Any], instance: Any
) -> None:
    assert compile_schema(schema)(instance) is (next(iter(Draft7Validator(schema).iter_errors(instance)), None) is None)
