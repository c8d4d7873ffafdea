"""The validated lesson: plain, immutable data that the engine runs and the pages render.

Each field keeps the `Path` it came from in the YAML file, so problems found later (a command
Redis rejects, a failed expectation, a quiz answer that drifted) still point at file:line:col.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tutor.yamlpos import Path

BLOCKED = "blocked"


@dataclass(frozen=True)
class Step:
    """One row of the execution table, as the author wrote it."""

    actor: str
    action: str
    path: Path
    argv: tuple[str, ...] | None = None
    python: str | None = None
    note: str | None = None
    assign: str | None = None
    expect: Any = None
    has_expect: bool = False
    wait: float = 0.0
    line: int | None = None
    stage: int | None = None
    crash: str | None = None  # the actor whose process is killed at this step (its connection closes)
    restart: str | None = None  # the actor that gets a new process and connection at this step

    @property
    def kind(self) -> str:
        """redis, python, crash, restart or note: what the step runs."""
        if self.crash is not None:
            return "crash"
        if self.restart is not None:
            return "restart"
        if self.argv is not None:
            return "redis"
        if self.python is not None:
            return "python"
        return "note"


@dataclass(frozen=True)
class Code:
    """A code sample shown highlighted."""

    code: str
    language: str = "python"
    explanation: str | None = None
    framework: str | None = None


@dataclass(frozen=True)
class KeyMoment:
    """A question a learner usually has, answered, and the steps it explains."""

    question: str
    answer: str
    steps: tuple[int, ...] = ()


@dataclass(frozen=True)
class Choice:
    """One answer a learner may pick."""

    text: str
    correct: bool = False
    feedback: str | None = None


@dataclass(frozen=True)
class AnswerFrom:
    """Where in the trace the correct answer comes from."""

    step: int
    key: str | None = None
    variable: str | None = None
    reply: bool = False
    walkthrough: str | None = None


@dataclass(frozen=True)
class Question:
    """A quiz question; `number` is its stable 1-based index within its quiz."""

    prompt: str
    choices: tuple[Choice, ...]
    path: Path
    number: int
    hint: str | None = None
    hint_step: int | None = None
    explanation: str | None = None
    ask_before_step: int | None = None
    answer_from: AnswerFrom | None = None

    @property
    def correct(self) -> frozenset[int]:
        """Indexes of the correct choices."""
        return frozenset(i for i, c in enumerate(self.choices) if c.correct)

    @property
    def multiple(self) -> bool:
        """True for a "select all that apply" question."""
        return len(self.correct) > 1


@dataclass(frozen=True)
class StepThrough:
    """A step-by-step execution mode: actors, watched keys, steps and what explains them."""

    slug: str
    title: str
    path: Path
    actors: tuple[str, ...]
    steps: tuple[Step, ...]
    minutes: int | None = None
    summary: str | None = None
    concept_flow: tuple[str, ...] = ()
    concept_note: str | None = None
    sample: Code | None = None
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    watch: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    exit_note: str | None = None
    key_moments: tuple[KeyMoment, ...] = ()
    snapshot: str | None = None
    transcript: str | None = None
    quiz: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Side:
    """The bad or the good pattern of a performance page."""

    code: str
    why: str
    title: str | None = None
    language: str = "python"
    cost: str | None = None
    gain: str | None = None


@dataclass(frozen=True)
class Correction:
    """A claim of the source material that is wrong, and the truth."""

    claim: str
    truth: str
    source: str | None = None


@dataclass(frozen=True)
class Performance:
    """The performance & optimisation mode."""

    impact: str
    scenario: str
    bad: Side
    good: Side
    path: Path
    minutes: int | None = None
    affects: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    pipeline: tuple[str, ...] = ()
    pipeline_note: str | None = None
    bottleneck: str | None = None
    bottleneck_stage: int | None = None
    metric: str | None = None
    tips: tuple[str, ...] = ()
    check_tool: str | None = None
    check_how: str | None = None
    check_look_for: str | None = None
    corrections: tuple[Correction, ...] = ()
    quiz: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Lesson:
    """One topic, from one YAML file."""

    id: str
    title: str
    source: str
    framework: str | None = None
    minutes: int | None = None
    summary: str | None = None
    order: int = 0
    builds_on: tuple[str, ...] = ()  # ids of the lessons to take first
    teaches: str | None = None  # what the topic teaches, in one line
    step_throughs: tuple[StepThrough, ...] = ()
    performance: Performance | None = None

    def step_through(self, slug: str | None = None) -> StepThrough | None:
        """The step-through with this slug; the first one when slug is None."""
        if not self.step_throughs:
            return None
        if slug is None:
            return self.step_throughs[0]
        return next((s for s in self.step_throughs if s.slug == slug), None)

    def quizzes(self) -> list[tuple[str, tuple[Question, ...]]]:
        """Every quiz of the topic, named by the mode it belongs to ('step-through:main', ...)."""
        out = [(f"step-through:{s.slug}", s.quiz) for s in self.step_throughs if s.quiz]
        if self.performance and self.performance.quiz:
            out.append(("performance", self.performance.quiz))
        return out
