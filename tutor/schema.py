"""The lesson format as a JSON Schema: the instructors' public contract, in one place.

`tutor schema` prints it for editors (yaml-language-server), and the loader validates every
lesson file against this same document, so the editor and `tutor check` never disagree.
"""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string", "minLength": 1}
_TEXT_LIST = {"type": "array", "items": _TEXT}
_NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.:\-]*$"}
_STEP_NUMBER = {"type": "integer", "minimum": 1}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


_CODE = _object(
    {
        "language": {**_TEXT, "description": "Pygments lexer name, e.g. python."},
        "code": {"type": "string", "description": "The code, shown highlighted."},
        "explanation": {**_TEXT, "description": "One paragraph under the code."},
        "framework": _TEXT,
    },
    ["code"],
)

_CHOICE = {
    "anyOf": [
        {"type": ["string", "number", "boolean"]},
        _object(
            {
                "text": {"type": ["string", "number", "boolean"]},
                "correct": {"type": "boolean"},
                "feedback": _TEXT,
            },
            ["text"],
        ),
    ],
    "description": "A choice: plain text, or {text, correct, feedback}.",
}

_QUESTION = _object(
    {
        "prompt": _TEXT,
        "choices": {"type": "array", "items": _CHOICE, "minItems": 2},
        "hint": _TEXT,
        "hint_step": {**_STEP_NUMBER, "description": "Open the step-through at this step."},
        "explanation": _TEXT,
        "ask_before_step": {
            **_STEP_NUMBER,
            "description": "Ask as a prediction before this step runs; graded by what it does.",
        },
        "answer_from": _object(
            {
                "step": {"type": "integer", "minimum": 0},
                "key": _TEXT,
                "variable": _TEXT,
                "reply": {"type": "boolean"},
                "walkthrough": _TEXT,
            },
            ["step"],
            description="Bind the correct choice to the executed trace.",
        ),
    },
    ["prompt", "choices"],
)

_QUIZ = {"type": "array", "items": _QUESTION}

_STEP = _object(
    {
        "actor": {**_TEXT, "description": "Who runs the step; one of actors:."},
        "action": {**_TEXT, "description": "What happens, in the learner's words."},
        "redis": {
            "anyOf": [_TEXT, {"type": "array", "items": {"type": ["string", "number"]}, "minItems": 1}],
            "description": "A redis-cli line (quotes as in redis-cli) or a list of arguments.",
        },
        "python": {**_TEXT, "description": "An operation on the actor's process memory."},
        "note": {**_TEXT, "description": "Narration shown as the step's result."},
        "assign": {**_TEXT, "description": "Tracked variable that receives the reply."},
        "expect": {"description": "The reply this step must give, or 'blocked'. Checked, never shown."},
        "wait": {"type": "number", "minimum": 0, "description": "Lesson seconds that pass before it."},
        "line": {**_STEP_NUMBER, "description": "Line of the sample code to highlight."},
        "stage": {**_STEP_NUMBER, "description": "Stage of concept_flow this step belongs to."},
        "crash": {**_TEXT, "description": "Kill this actor's process here: its connection closes."},
        "restart": {**_TEXT, "description": "Give this crashed actor a new process and connection."},
    },
    ["actor", "action"],
)

_PROCESS_VALUE = {
    "anyOf": [{"type": "array"}, {"type": "object"}, {"type": "string", "pattern": r"^deque\("}],
    "description": "Initial value: a list, a dict, or 'deque([...])'.",
}

_STEP_THROUGH = _object(
    {
        "title": _TEXT,
        "slug": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-]*$"},
        "minutes": {"type": "integer", "minimum": 1},
        "summary": _TEXT,
        "concept_flow": {**_TEXT_LIST, "minItems": 1},
        "concept_note": _TEXT,
        "sample": _CODE,
        "actors": {"type": "array", "items": _NAME, "minItems": 1},
        "processes": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": _PROCESS_VALUE},
            "description": "Each actor's own process memory: {actor: {name: initial value}}.",
        },
        "watch": {"type": "array", "items": _TEXT, "description": "Keys shown after every step."},
        "variables": {"type": "array", "items": _NAME},
        "steps": {"type": "array", "items": _STEP, "minItems": 1},
        "exit_note": _TEXT,
        "key_moments": {
            "type": "array",
            "items": _object(
                {
                    "question": _TEXT,
                    "answer": _TEXT,
                    "steps": {"type": "array", "items": _STEP_NUMBER},
                },
                ["question", "answer"],
            ),
        },
        "snapshot": _TEXT,
        "transcript": _TEXT,
        "quiz": _QUIZ,
    },
    ["actors", "steps"],
)

_SIDE = {
    "title": _TEXT,
    "language": _TEXT,
    "code": {"type": "string"},
    "why": _TEXT,
}

_PERFORMANCE = _object(
    {
        "minutes": {"type": "integer", "minimum": 1},
        "impact": {"enum": ["low", "medium", "high"]},
        "affects": _TEXT,
        "scenario": _TEXT,
        "bad": _object({**_SIDE, "cost": _TEXT}, ["code", "why"]),
        "good": _object({**_SIDE, "gain": _TEXT}, ["code", "why"]),
        "comparison": _object(
            {
                "columns": {**_TEXT_LIST, "minItems": 2},
                "rows": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": ["string", "number"]}},
                },
            },
            ["columns", "rows"],
        ),
        "pipeline": _TEXT_LIST,
        "pipeline_note": _TEXT,
        "bottleneck": _TEXT,
        "bottleneck_stage": {**_STEP_NUMBER, "description": "The pipeline stage (1-based) the bottleneck is in."},
        "metric": _TEXT,
        "tips": _TEXT_LIST,
        "check": _object({"tool": _TEXT, "how": _TEXT, "look_for": _TEXT}, ["how", "look_for"]),
        "corrections": {
            "type": "array",
            "items": _object({"claim": _TEXT, "truth": _TEXT, "source": _TEXT}, ["claim", "truth", "source"]),
            "description": "What the source material got wrong, what is true, and where a learner can check it.",
        },
        "quiz": _QUIZ,
    },
    ["impact", "scenario", "bad", "good"],
)

LESSON_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://tutor.invalid/lesson.schema.json",
    "title": "tutor lesson",
    "description": "One topic: its step-through(s), its performance page and their quizzes.",
    **_object(
        {
            "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-_]*$"},
            "title": _TEXT,
            "framework": _TEXT,
            "minutes": {"type": "integer", "minimum": 1},
            "summary": _TEXT,
            "order": {"type": "integer", "description": "Position in the catalog."},
            "builds_on": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-_]*$"},
                "uniqueItems": True,
                "description": "Ids of the lessons a learner should take first.",
            },
            "teaches": {**_TEXT, "description": "What the topic teaches, in one line."},
            "step_through": {"anyOf": [_STEP_THROUGH, {"type": "array", "items": _STEP_THROUGH, "minItems": 1}]},
            "performance": _PERFORMANCE,
        },
        ["title"],
    ),
}
