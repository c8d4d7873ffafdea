"""What the site remembers about a learner, as plain data: no framework, no database driver.

The quiz rules (tutor.quiz), the results report and the store all speak these types, so scoring can
be tested and reused without a database, and the store can change without touching the rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class StepProgress:
    """How far a learner got in one step-through."""

    current: int
    furthest: int
    updated: float


@dataclass(frozen=True)
class Answer:
    """One submitted answer to one quiz question (no choices: a skipped prediction)."""

    learner: str
    lesson: str
    quiz: str
    question: int
    choices: tuple[int, ...]
    correct: bool
    hinted: bool
    at: float


class ProgressStore(Protocol):
    """What the site needs to remember about learners."""

    def record_step(self, learner: str, lesson: str, walkthrough: str, step: int) -> None: ...
    def steps(self, learner: str, lesson: str) -> dict[str, StepProgress]: ...
    def record_hint(self, learner: str, lesson: str, quiz: str, question: int) -> None: ...
    def hints(self, learner: str, lesson: str) -> set[tuple[str, int]]: ...
    def record_answer(self, answer: Answer) -> None: ...
    def answers(self, learner: str, lesson: str) -> list[Answer]: ...
    def all_answers(self, lesson: str | None = None) -> list[Answer]: ...
    def reset(self, learner: str, lesson: str) -> None: ...
    def lessons_of(self, learner: str) -> list[str]: ...


def export(progress: ProgressStore, learner: str) -> dict[str, Any]:
    """Everything kept about a learner, as JSON-ready data (for the download)."""
    out: dict[str, Any] = {"learner": learner, "lessons": {}}
    for lesson in progress.lessons_of(learner):
        out["lessons"][lesson] = {
            "steps": {k: asdict(v) for k, v in progress.steps(learner, lesson).items()},
            "hints": sorted([list(h) for h in progress.hints(learner, lesson)]),
            "answers": [
                {k: v for k, v in asdict(a).items() if k not in ("learner", "lesson")}
                for a in progress.answers(learner, lesson)
            ],
        }
    return out
