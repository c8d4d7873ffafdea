"""The lesson format as a JSON Schema: the instructors' public contract, in one place.

`tutor schema` prints it for editors (yaml-language-server), and the loader validates every
lesson file against this same document, so the editor and `tutor check` never disagree. Every
property has a description (the editor's hover help), and every rule that JSON Schema draft 7 can
state is stated here rather than in the loader: a step runs exactly one of redis/python (or is a
note), a lesson has at least one mode, answer_from names exactly one source, the limits.

`errorMessage` (understood by yaml-language-server) gives the sentence both the editor and
`tutor check` show when a rule fails; `x-at` names the field a step-level rule is about, so
`tutor check` can point at it. Unknown keywords are ignored by every other validator.
"""

from __future__ import annotations

from typing import Any

from tutor import messages
from tutor.limits import LIMITS


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": description}


def _texts(description: str, item: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "array",
        "items": _text(item),
        "maxItems": LIMITS.list_items,
        "description": description,
        **extra,
    }


def _step_number(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": LIMITS.steps, "description": description}


def _minutes(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 600, "description": description}


_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:\-]*$"


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


def _one_of_fields(names: list[str], message: str) -> dict[str, Any]:
    """At least one of these fields must be present."""
    return {"anyOf": [{"required": [name]} for name in names], "errorMessage": message}


_CODE = _object(
    {
        "code": {"type": "string", "description": "The code the step-through is about, shown highlighted."},
        "language": _text("Pygments lexer name for highlighting (default python; an unknown name shows plain text)."),
        "framework": _text("Shown next to the sample's heading, e.g. Flask."),
        "explanation": _text("One paragraph under the code."),
    },
    ["code"],
    description="The code the lesson is about; a step names the line it runs with line:.",
)

_CHOICE_TEXT = {
    "type": ["string", "number", "boolean"],
    "description": "The choice as the learner reads it; for answer_from, the exact Python repr the table shows.",
}

_CHOICE = {
    "anyOf": [
        {**_CHOICE_TEXT, "description": "A wrong choice with no feedback: just its text."},
        _object(
            {
                "text": _CHOICE_TEXT,
                "correct": {"type": "boolean", "description": "True for a right choice (several: select all)."},
                "feedback": _text("Shown after the learner answers: why this choice is right or wrong."),
            },
            ["text"],
        ),
    ],
    "description": "A choice: plain text (a wrong choice), or {text, correct, feedback}.",
}

_ANSWER_FROM = _object(
    {
        "step": {
            "type": "integer",
            "minimum": 0,
            "maximum": LIMITS.steps,
            "description": "The step whose result holds the answer; 0 is the Start column. For a prediction: "
            "the step it is asked before.",
        },
        "key": _text("A watched key: the answer is its state after the step."),
        "variable": _text("A tracked variable: the answer is its value after the step."),
        "reply": {"const": True, "description": "true: the answer is the step's Result."},
        "walkthrough": _text("The slug of the step-through to read (default: the quiz's own, or the first)."),
    },
    ["step"],
    description="Bind the correct choice to the executed trace: tutor check verifies it says what the table shows.",
    oneOf=[{"required": ["key"]}, {"required": ["variable"]}, {"required": ["reply"]}],
    errorMessage=messages.ANSWER_FROM_ONE_SOURCE,
)


def _question(in_step_through: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "prompt": _text("The question."),
        "choices": {
            "type": "array",
            "items": _CHOICE,
            "minItems": 2,
            "maxItems": LIMITS.choices,
            "contains": {
                "type": "object",
                "required": ["correct"],
                "properties": {"correct": {"const": True, "description": "A choice marked correct."}},
            },
            "errorMessage": messages.QUIZ_NO_CORRECT,
            "description": "At least two choices, at least one of them marked correct: true.",
        },
        "hint": _text("A hint the learner can ask for (showing it costs 0.25 points)."),
        "hint_step": _step_number("The step-through step the hint links to."),
        "explanation": _text("The reasoning behind the right answer, shown once the learner has answered."),
    }
    if in_step_through:
        properties["ask_before_step"] = _step_number(
            "Ask as a prediction before this step runs; step N then shows the answer, so answer_from must read "
            "step N of this step-through."
        )
    properties["answer_from"] = _ANSWER_FROM
    return _object(properties, ["prompt", "choices"])


def _quiz(in_step_through: bool) -> dict[str, Any]:
    return {
        "type": "array",
        "items": _question(in_step_through),
        "maxItems": LIMITS.questions,
        "description": "Questions on this mode, in order.",
    }


_STEP = _object(
    {
        "actor": _text("Who runs the step: one of actors."),
        "action": _text("What happens, in the learner's words."),
        "redis": {
            "anyOf": [
                {"type": "string", "minLength": 1, "description": "A redis-cli line (quotes as in redis-cli)."},
                {
                    "type": "array",
                    "items": {"type": ["string", "number"], "description": "One argument."},
                    "minItems": 1,
                    "description": "The arguments, one per item, no quoting needed.",
                },
            ],
            "description": "A Redis command run on the actor's own connection.",
        },
        "python": _text("One operation on the actor's process memory, e.g. messages.append('hi')."),
        "note": _text("Narration: the Result of a step without a command, or shown under a command's Result."),
        "assign": _text("A tracked variable (one of variables) that receives the reply."),
        "expect": {
            "description": "The reply this step must give, 'blocked', or {error: TEXT} (the error starts with TEXT). "
            "Checked by tutor check, never shown."
        },
        "wait": {
            "type": "number",
            "minimum": 0,
            "maximum": LIMITS.wait_seconds,
            "description": "Lesson seconds that pass before this step runs (blocked commands may time out).",
        },
        "line": {
            "anyOf": [
                {"type": "integer", "minimum": 1, "description": "A line number of sample.code, from 1."},
                {"type": "string", "minLength": 1, "description": "Text that is on exactly one line of sample.code."},
            ],
            "description": "The sample line this step runs, highlighted while the step is current: its number, "
            'or text found on exactly one line (line: "r.brpop(").',
        },
        "stage": _step_number("The stage of concept_flow this step belongs to, from 1."),
        "crash": _text("A fault step: kill this actor's process here (one of actors); its connection closes."),
        "restart": _text("A fault step: give this crashed actor (one of actors) a new process and connection."),
    },
    ["actor", "action"],
    allOf=[
        _one_of_fields(["redis", "python", "note", "crash", "restart"], messages.EMPTY_STEP),
        {"not": {"required": ["redis", "python"]}, "errorMessage": messages.BOTH_COMMANDS},
        {
            "not": {
                "anyOf": [
                    {"required": [fault, other]}
                    for fault, other in (
                        ("crash", "redis"),
                        ("crash", "python"),
                        ("crash", "restart"),
                        ("restart", "redis"),
                        ("restart", "python"),
                    )
                ]
            },
            "errorMessage": messages.FAULT_WITH_COMMAND,
        },
    ],
    dependencies={
        "expect": {**_one_of_fields(["redis", "python"], messages.EXPECT_WITHOUT_COMMAND), "x-at": "expect"},
        "assign": {**_one_of_fields(["redis", "python"], messages.ASSIGN_WITHOUT_COMMAND), "x-at": "assign"},
    },
)

_PROCESS_VALUE = {
    "anyOf": [
        {"type": "array", "description": "A list."},
        {"type": "object", "description": "A dict."},
        {"type": "string", "pattern": r"^deque\(", "description": "A deque: 'deque([...])' with a literal list."},
    ],
    "description": "The value's initial content: a list, a dict, or 'deque([...])'.",
}


def _step_through(slug_required: bool) -> dict[str, Any]:
    return _object(
        {
            "title": _text("The step-through's title (default: the lesson's)."),
            "slug": {
                "type": "string",
                "pattern": r"^[a-z0-9][a-z0-9\-]*$",
                "description": "Its name in URLs; needed on every step-through after the first (default: main).",
            },
            "minutes": _minutes("Estimated time, shown on the topic page."),
            "summary": _text("One paragraph under the title and on the topic page."),
            "concept_flow": _texts("The stages of the idea, shown as a flow.", "One stage.", minItems=1),
            "concept_note": _text("A paragraph under the concept flow."),
            "sample": _CODE,
            "actors": {
                "type": "array",
                "items": {"type": "string", "pattern": _NAME_PATTERN, "description": "An actor's name."},
                "minItems": 1,
                "maxItems": LIMITS.actors,
                "description": "Who runs steps; each actor has its own Redis connection.",
            },
            "processes": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": _PROCESS_VALUE,
                    "description": "One actor's memory: {name: initial value}.",
                },
                "description": "Each actor's own process memory, for python: steps: {actor: {name: initial value}}.",
            },
            "watch": {
                "type": "array",
                "items": _text("A key, as the lesson names it."),
                "maxItems": LIMITS.watch,
                "description": "Keys whose state the table shows after every step; each must be used by a step.",
            },
            "variables": {
                "type": "array",
                "items": {"type": "string", "pattern": _NAME_PATTERN, "description": "A variable's name."},
                "maxItems": LIMITS.variables,
                "description": "Tracked variables that steps fill with assign:; they start as None.",
            },
            "steps": {
                "type": "array",
                "items": _STEP,
                "minItems": 1,
                "maxItems": LIMITS.steps,
                "description": "The steps, in order; each one really runs.",
            },
            "exit_note": _text("Shown under the table once the last step has run."),
            "key_moments": {
                "type": "array",
                "items": _object(
                    {
                        "question": _text("A question learners usually have."),
                        "answer": _text("Its answer."),
                        "steps": {
                            "type": "array",
                            "items": _step_number("A step number."),
                            "description": "The steps the answer explains, linked from their table rows.",
                        },
                    },
                    ["question", "answer"],
                ),
                "maxItems": LIMITS.list_items,
                "description": "Questions learners usually have, answered.",
            },
            "snapshot": _text("Concept snapshot: a few lines to remember, one paragraph each."),
            "transcript": _text("The whole story in prose, for reading instead of stepping."),
            "quiz": _quiz(in_step_through=True),
        },
        ["actors", "steps", "slug"] if slug_required else ["actors", "steps"],
        description="A step-through: actors, watched keys and steps that really run.",
    )


def _side(which: str, extra: str, extra_description: str) -> dict[str, Any]:
    return _object(
        {
            "title": _text(f"Its heading (default: 'The {which} pattern')."),
            "language": _text("Pygments lexer name (default python)."),
            "code": {"type": "string", "description": "The code, shown highlighted (not run)."},
            "why": _text(f"Why this pattern is {'slow' if which == 'slow' else 'better'}."),
            extra: _text(extra_description),
        },
        ["code", "why"],
        description=f"The {which} pattern.",
    )


_PERFORMANCE = _object(
    {
        "minutes": _minutes("Estimated time, on the topic page."),
        "impact": {"enum": ["low", "medium", "high"], "description": "Shown as a badge: low, medium or high."},
        "affects": _text("Who or what suffers, one line under the badge."),
        "scenario": _text("The situation, one line: the heading of the bad/good section."),
        "bad": _side("slow", "cost", "What the slow pattern costs ('Cost: ...')."),
        "good": _side("better", "gain", "What the better pattern gains ('Gain: ...')."),
        "comparison": _object(
            {
                "columns": _texts("The table's headings.", "A heading.", minItems=2),
                "rows": {
                    "type": "array",
                    "items": {
                        "type": "array",
                        "items": {"type": ["string", "number"], "description": "A cell."},
                        "description": "One row, one cell per column; a last cell good/ok/bad shows a badge.",
                    },
                    "maxItems": LIMITS.list_items,
                    "description": "The rows; the first cell of each is its heading.",
                },
            },
            ["columns", "rows"],
            description="A table comparing the patterns.",
        ),
        "pipeline": _texts("The stages a request or message goes through.", "One stage."),
        "pipeline_note": _text("A paragraph about the pipeline."),
        "bottleneck": _text("Where the time goes, in words."),
        "bottleneck_stage": _step_number("The pipeline stage (from 1) marked as the bottleneck."),
        "metric": _text("What a user feels ('What a user feels: ...')."),
        "tips": _texts("A numbered list of tips.", "One tip."),
        "check": _object(
            {
                "tool": _text("The tool, named in the heading."),
                "how": _text("How to check it yourself."),
                "look_for": _text("What to look for."),
            },
            ["how", "look_for"],
            description="'Check it yourself'.",
        ),
        "corrections": {
            "type": "array",
            "items": _object(
                {
                    "claim": _text("What the source material claims."),
                    "truth": _text("What is true."),
                    "source": {
                        **_text("Where a learner can check it: text with a link (http:// or https://)."),
                        "pattern": r"https?://\S",
                        "errorMessage": messages.CORRECTION_SOURCE_NO_LINK,
                    },
                },
                ["claim", "truth", "source"],
            ),
            "maxItems": LIMITS.list_items,
            "description": "What the source material got wrong, what is true, and where a learner can check it.",
        },
        "quiz": _quiz(in_step_through=False),
    },
    ["impact", "scenario", "bad", "good"],
    description="The performance page: a slow pattern and a better one side by side (shown, not run).",
)

LESSON_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://tutor.invalid/lesson.schema.json",
    "title": "tutor lesson",
    "description": "One topic: its step-through(s), its performance page and their quizzes.",
    **_object(
        {
            "id": {
                "type": "string",
                "pattern": r"^[a-z0-9][a-z0-9\-_]*$",
                "description": "The lesson's id in URLs (default: the file name without .yaml).",
            },
            "title": _text("The topic's title, on the catalog and the topic page."),
            "framework": _text("Shown next to the title, e.g. Flask."),
            "minutes": _minutes("Estimated time, in minutes."),
            "summary": _text("A paragraph on the catalog and topic pages."),
            "order": {
                "type": "integer",
                "minimum": -1000,
                "maximum": 1000,
                "description": "Position in the catalog (lessons sort by order, then title; default 0).",
            },
            "builds_on": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-_]*$"},
                "uniqueItems": True,
                "description": "Ids of the lessons a learner should take first.",
            },
            "teaches": _text("What the topic teaches, in one line."),
            "step_through": {
                "anyOf": [
                    _step_through(slug_required=False),
                    {
                        "type": "array",
                        "items": [_step_through(slug_required=False)],
                        "additionalItems": _step_through(slug_required=True),
                        "minItems": 1,
                        "maxItems": LIMITS.step_throughs,
                        "description": "Several step-throughs; every one after the first needs a slug.",
                    },
                ],
                "description": "One step-through (a mapping), or a list of them.",
            },
            "performance": _PERFORMANCE,
        },
        ["title"],
    ),
    "allOf": [_one_of_fields(["step_through", "performance"], messages.NO_MODE)],
}
