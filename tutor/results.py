"""`tutor results`: which question misleads, and how each learner did, from the progress store.

Scores use tutor.quiz, the rules the learner was shown, so the report and the site agree. The
store is the one the site writes: SQLite at TUTOR_DATABASE (default instance/tutor.sqlite3, as in
tutor.config), or Redis when REDIS_URL (or --redis-url) is set.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import redis

from tutor import messages, quiz
from tutor.catalog import Catalog
from tutor.model import Lesson, Question
from tutor.progress import Answer, ProgressStore, RedisStore, SqliteStore

CSV_COLUMNS = ("learner", "lesson", "quiz", "question", "attempts", "first_try_right", "hinted", "points")


@dataclass(frozen=True)
class QuestionStats:
    """How a question went over all learners who answered it."""

    lesson: str
    quiz: str
    number: int
    prompt: str
    learners: int
    first_try_right: int
    wrong_choice: str | None
    wrong_count: int

    @property
    def share_first_try(self) -> float | None:
        """Share of learners right on their first attempt; None when nobody answered."""
        return self.first_try_right / self.learners if self.learners else None


@dataclass(frozen=True)
class Row:
    """One learner on one question: the CSV line."""

    learner: str
    lesson: str
    quiz: str
    question: int
    attempts: int
    first_try_right: bool
    hinted: bool
    points: float


def open_store(redis_url: str | None = None) -> ProgressStore:
    """The store the site writes to, chosen the way the site chooses it."""
    url = redis_url or os.environ.get("REDIS_URL")
    if url:
        return RedisStore(redis.Redis.from_url(url, decode_responses=True))
    default = Path(__file__).resolve().parent.parent / "instance" / "tutor.sqlite3"
    return SqliteStore(os.environ.get("TUTOR_DATABASE") or default)


def _by_learner_question(answers: Iterable[Answer]) -> dict[tuple[str, str, str, int], list[Answer]]:
    grouped: dict[tuple[str, str, str, int], list[Answer]] = {}
    for answer in sorted(answers, key=lambda a: a.at):
        grouped.setdefault((answer.learner, answer.lesson, answer.quiz, answer.question), []).append(answer)
    return grouped


def rows(answers: Iterable[Answer]) -> list[Row]:
    """Per learner and question: attempts, first try right, hint used, points (skips not counted)."""
    out = []
    for (who, lesson, name, number), listed in sorted(_by_learner_question(answers).items()):
        state = quiz.question_state(listed)
        if not state.attempts:
            continue
        out.append(
            Row(
                who,
                lesson,
                name,
                number,
                state.attempts,
                state.first_try_right,
                any(a.hinted for a in listed if not quiz.is_skip(a)),
                state.points,
            )
        )
    return out


def question_stats(lessons: list[Lesson], answers: list[Answer]) -> list[QuestionStats]:
    """Every question of these lessons (answered or not), and any answered question no longer there."""
    grouped = _by_learner_question(answers)
    per_question: dict[tuple[str, str, int], list[list[Answer]]] = {}
    for (_, lesson, name, number), listed in grouped.items():
        per_question.setdefault((lesson, name, number), []).append(listed)
    known: dict[tuple[str, str, int], Question] = {
        (lesson.id, name, q.number): q for lesson in lessons for name, questions in lesson.quizzes() for q in questions
    }
    keys = list(known) + sorted(k for k in per_question if k not in known)
    out = []
    for key in keys:
        question = known.get(key)
        learners = first = 0
        wrong: Counter[int] = Counter()
        for listed in per_question.get(key, []):
            tried = [a for a in listed if not quiz.is_skip(a)]
            if not tried:
                continue
            learners += 1
            first += tried[0].correct
            for a in tried:
                if not a.correct:
                    wrong.update(i for i in a.choices if question is None or i not in question.correct)
        top = wrong.most_common(1)
        wrong_text = None
        if top:
            index = top[0][0]
            wrong_text = question.choices[index].text if question and index < len(question.choices) else f"#{index}"
        out.append(
            QuestionStats(
                lesson=key[0],
                quiz=key[1],
                number=key[2],
                prompt=question.prompt if question else "(no longer in the lesson)",
                learners=learners,
                first_try_right=first,
                wrong_choice=wrong_text,
                wrong_count=top[0][1] if top else 0,
            )
        )
    return out


def learner_scores(lessons: list[Lesson], answers: list[Answer]) -> dict[str, dict[str, quiz.Score]]:
    """Each learner's score per topic, scored exactly as the site scores it."""
    by_learner: dict[str, list[Answer]] = {}
    for answer in answers:
        by_learner.setdefault(answer.learner, []).append(answer)
    out: dict[str, dict[str, quiz.Score]] = {}
    for who in sorted(by_learner):
        mine = by_learner[who]
        touched = {a.lesson for a in mine}
        scores = {}
        for lesson in lessons:
            if lesson.id not in touched:
                continue
            # Hints a learner looked at are stored with each answer; that is all scoring needs.
            score = quiz.topic_score(lesson, sorted(mine, key=lambda a: a.at), set())
            if score is not None:
                scores[lesson.id] = score
        out[who] = scores
    return out


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100)}%"


def print_report(lessons: list[Lesson], answers: list[Answer], out: TextIO) -> None:
    """The two tables an instructor reads: per question, then per learner."""
    print("Per question", file=out)
    for stats in question_stats(lessons, answers):
        wrong = f"{stats.wrong_choice!s} ({stats.wrong_count}x)" if stats.wrong_choice is not None else "-"
        print(
            f"  {stats.lesson} {stats.quiz} Q{stats.number}: {stats.prompt}\n"
            f"    answered by {stats.learners} · right on first attempt {_percent(stats.share_first_try)}"
            f" · most chosen wrong choice: {wrong}",
            file=out,
        )
    print("Per learner", file=out)
    scores = learner_scores(lessons, answers)
    if not scores:
        print(f"  {messages.RESULTS_NO_ANSWERS}", file=out)
    for who, per_topic in scores.items():
        text = ", ".join(f"{lesson}: {score.text}" for lesson, score in per_topic.items()) or "-"
        print(f"  {who}: {text}", file=out)


def write_csv(path: str | Path, answers: list[Answer]) -> int:
    """One row per learner and question; returns how many rows were written."""
    listed = rows(answers)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for row in listed:
            writer.writerow(
                [
                    row.learner,
                    row.lesson,
                    row.quiz,
                    row.question,
                    row.attempts,
                    int(row.first_try_right),
                    int(row.hinted),
                    quiz.format_points(row.points),
                ]
            )
    return len(listed)


def report(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`tutor results [--lesson ID] [--csv FILE]`: print the report, write the CSV; 1 on an unknown lesson."""
    out = out or sys.stdout
    lessons, _ = Catalog(args.lessons).state()
    if args.lesson:
        chosen = [lesson for lesson in lessons if lesson.id == args.lesson]
        if not chosen:
            known = ", ".join(lesson.id for lesson in lessons) or "none"
            print(
                messages.RESULTS_UNKNOWN_LESSON.format(id=args.lesson, folder=args.lessons, known=known),
                file=sys.stderr,
            )
            return 1
        lessons = chosen
    store = open_store(getattr(args, "redis_url", None))
    try:
        answers = store.all_answers(args.lesson or None)
    finally:
        if isinstance(store, RedisStore):
            store.r.close()
    print_report(lessons, answers, out)
    if args.csv:
        count = write_csv(args.csv, answers)
        print(f"wrote {count} row(s) to {args.csv}", file=out)
    return 0
