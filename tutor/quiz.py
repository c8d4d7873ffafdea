"""Quiz rules: scoring, per-learner choice order, answer parsing and prediction holds.

Pure (no Flask, no store, no Redis): the rule a learner reads on the page is the rule the tests
check, and `tutor results` scores with these same functions, so the site and the instructor's
report can never disagree about a score.

Skipped predictions are stored as an `Answer` with no choices (and correct=False). They count as
"decided" (the step-through lets the learner go on) but never as an attempt: scoring and the
results report ignore them, so skipping costs nothing beyond not having answered yet.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tutor import messages
from tutor.model import Lesson, Question, StepThrough
from tutor.records import Answer

FULL = 1.0
PENALTY = 0.25
MINIMUM = 0.25
PERFORMANCE = "performance"
STEP_THROUGH = "step-through:"


class FormError(ValueError):
    """A submitted quiz form that is forged or malformed: answered with a 400, nothing recorded."""


class NoChoice(FormError):
    """An honest form sent without any choice ticked (browsers omit unticked boxes)."""


# --- scoring ---------------------------------------------------------------------------------


def points(wrong: int, hinted: bool, right: bool) -> float:
    """What a question earns: 1, minus 0.25 per wrong try before the right one and 0.25 for the hint.

    Never below 0.25 once answered right (getting there is worth something), 0 until then.
    """
    if not right:
        return 0.0
    return max(MINIMUM, FULL - PENALTY * wrong - (PENALTY if hinted else 0.0))


def format_points(value: float) -> str:
    """Quarter points without noise: 2.0 -> '2', 2.5 -> '2.5', 0.75 -> '0.75'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def is_skip(answer: Answer) -> bool:
    """True for a skipped prediction (recorded so the step-through lets go, never scored)."""
    return not answer.choices


@dataclass(frozen=True)
class QuestionState:
    """One learner's standing on one question, from their answers in the order given."""

    attempts: int
    wrong_before_right: int
    right: bool
    hinted: bool
    hinted_before_right: bool
    skipped: bool
    last: Answer | None
    first: Answer | None
    points: float

    @property
    def decided(self) -> bool:
        """Answered or skipped: a prediction no longer holds the step-through."""
        return self.last is not None or self.skipped

    @property
    def first_try_right(self) -> bool:
        """Right on the very first (non-skipped) attempt."""
        return self.first is not None and self.first.correct

    @property
    def worth(self) -> float:
        """What a right answer would earn now (shown before the question is answered right)."""
        if self.right:
            return self.points
        return points(self.wrong_before_right, self.hinted, True)


def question_state(answers: Iterable[Answer], hinted: bool = False) -> QuestionState:
    """Fold one question's answers (oldest first) into attempts, points and the last answer.

    `hinted` says whether the hint is revealed now; the penalty uses the hint flag stored with the
    first right answer, so a hint looked at after answering right costs nothing.
    """
    attempts = wrong = 0
    right = hinted_before = skipped = False
    last = first = None
    for answer in answers:
        if is_skip(answer):
            skipped = True
            continue
        attempts += 1
        last = answer
        if first is None:
            first = answer
        if right:
            continue
        if answer.correct:
            right = True
            hinted_before = answer.hinted
        else:
            wrong += 1
    return QuestionState(
        attempts=attempts,
        wrong_before_right=wrong,
        right=right,
        hinted=hinted or hinted_before,
        hinted_before_right=hinted_before,
        skipped=skipped,
        last=last,
        first=first,
        points=points(wrong, hinted_before, right),
    )


@dataclass(frozen=True)
class Score:
    """Points earned of the questions there are, and how many are not answered right yet."""

    points: float
    total: int
    done: int

    @property
    def left(self) -> int:
        """Questions not answered right yet."""
        return self.total - self.done

    @property
    def text(self) -> str:
        """'2.5 / 3'."""
        return f"{format_points(self.points)} / {self.total}"

    @property
    def left_text(self) -> str:
        """What is left to do, in words."""
        if self.total and not self.left:
            return "all questions answered"
        return f"{self.left} question{'' if self.left == 1 else 's'} left"

    def __str__(self) -> str:
        return f"{self.text} ({self.left_text})"


def score(states: Iterable[QuestionState]) -> Score:
    """The score of a set of questions (a quiz, or every quiz of a topic)."""
    listed = list(states)
    return Score(
        points=sum(s.points for s in listed),
        total=len(listed),
        done=sum(1 for s in listed if s.right),
    )


def lesson_states(
    lesson: Lesson, answers: Iterable[Answer], hints: set[tuple[str, int]]
) -> dict[str, list[QuestionState]]:
    """Every question's state, by quiz name, for one learner (answers of other lessons ignored)."""
    grouped: dict[tuple[str, int], list[Answer]] = {}
    for answer in answers:
        if answer.lesson == lesson.id:
            grouped.setdefault((answer.quiz, answer.question), []).append(answer)
    return {
        name: [question_state(grouped.get((name, q.number), []), (name, q.number) in hints) for q in questions]
        for name, questions in lesson.quizzes()
    }


def topic_score(lesson: Lesson, answers: Iterable[Answer], hints: set[tuple[str, int]]) -> Score | None:
    """The learner's score over every quiz of a topic; None when the topic has no quiz."""
    states = [s for quiz in lesson_states(lesson, answers, hints).values() for s in quiz]
    return score(states) if states else None


# --- choice order ----------------------------------------------------------------------------


def choice_order(learner: str, lesson: str, quiz: str, number: int, count: int) -> list[int]:
    """The original choice indexes in the order this learner sees them.

    Seeded by a hash of who and which question: stable across requests, processes and restarts
    (Python's own hash() is salted per process), different between learners. Forms send the
    original indexes back, so the order never touches scoring.
    """
    return list(_choice_order(learner, lesson, quiz, number, count))


@functools.lru_cache(maxsize=16384)
def _choice_order(learner: str, lesson: str, quiz: str, number: int, count: int) -> tuple[int, ...]:
    """`choice_order`, remembered: seeding a Mersenne Twister and shuffling took 14 us a question, 4 a page.

    A function of its arguments alone, so every process computes the same order: what is kept
    here is not the learner's state, only a result any process would find again.
    """
    seed = hashlib.sha256(f"{learner}\0{lesson}\0{quiz}\0{number}".encode()).digest()
    order = list(range(count))
    random.Random(int.from_bytes(seed[:8], "big")).shuffle(order)
    return tuple(order)


# --- forms -----------------------------------------------------------------------------------


def quiz_name(walk: StepThrough) -> str:
    """The name of a step-through's quiz, as Lesson.quizzes() gives it."""
    return f"{STEP_THROUGH}{walk.slug}"


def find_question(lesson: Lesson, quiz: str | None, raw_number: str | None) -> Question:
    """The question a form names, or a FormError saying what is wrong."""
    quizzes = dict(lesson.quizzes())
    if not quiz or quiz not in quizzes:
        raise FormError(messages.LEARNER_BAD_FORM.format(what=messages.LEARNER_UNKNOWN_QUIZ.format(quiz=quiz)))
    questions = quizzes[quiz]
    number = _whole(raw_number)
    if number is None or not 1 <= number <= len(questions):
        raise FormError(messages.LEARNER_UNKNOWN_QUESTION.format(question=raw_number))
    return questions[number - 1]


def parse_choices(question: Question, raw: Sequence[str]) -> tuple[int, ...]:
    """The original choice indexes a form sent, sorted; FormError for anything a page cannot send."""
    chosen: set[int] = set()
    for text in raw:
        index = _whole(text)
        if index is None or index >= len(question.choices):
            raise FormError(messages.LEARNER_BAD_CHOICE.format(choice=text))
        chosen.add(index)
    if not chosen:
        raise NoChoice(messages.LEARNER_NO_CHOICE)
    if len(chosen) > 1 and not question.multiple:
        raise FormError(messages.LEARNER_BAD_FORM.format(what=messages.LEARNER_ONE_CHOICE))
    return tuple(sorted(chosen))


def grade(question: Question, chosen: Iterable[int]) -> bool:
    """Right when exactly the choices marked correct were picked (all of them, and no other)."""
    return frozenset(chosen) == question.correct


def _whole(text: str | None) -> int | None:
    """A non-negative whole number written in plain ASCII digits, else None."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 6:
        return None
    return int(text)


# --- predictions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """Where the step-through stops: the step to show, and the prediction to ask there (if any)."""

    step: int
    question: Question | None = None
    decided: frozenset[int] = field(default_factory=frozenset)


def decided_numbers(answers: Iterable[Answer], quiz: str) -> frozenset[int]:
    """Questions of a quiz the learner answered or skipped (any record at all)."""
    return frozenset(a.question for a in answers if a.quiz == quiz)


def hold(walk: StepThrough, requested: int, decided: frozenset[int]) -> Hold:
    """At step N-1 of an undecided prediction, the question takes the place of Next.

    Only Next is held: a permalink (?step=k), the slider, Last and End still open exactly the step
    asked for, so a shared link shows everyone the same state. A learner who jumps past a
    prediction simply is not asked it on the way.
    """
    pending = next(
        (
            q
            for q in walk.quiz
            if q.ask_before_step == requested + 1 and q.number not in decided and requested < len(walk.steps)
        ),
        None,
    )
    return Hold(step=requested, question=pending, decided=decided)


def prediction_at(walk: StepThrough, step: int, decided: frozenset[int]) -> Question | None:
    """The prediction whose step is `step` and that the learner decided: its result shows there."""
    return next((q for q in walk.quiz if q.ask_before_step == step and q.number in decided), None)
