"""`tutor results`: which question misleads, and how each learner did, computed by SQL on the progress database.

The database folds each learner's attempts at a question (attempts, right on the first try, wrong
tries before the first right one, hint used by then) and counts the wrong choices; tutor.quiz turns
those into points with the rule the learner was shown, so the report and the site agree (a test
compares the two folds). The database is the one the site writes: DATABASE_URL, else the SQLite file
at TUTOR_DATABASE (default: the instance folder's tutor.sqlite3, as in tutor.config).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import and_, case, func, select

from tutor import db, messages, quiz
from tutor.catalog import Catalog
from tutor.model import Lesson, Question
from tutor.paths import default_instance
from tutor.progress import SqlStore

CSV_COLUMNS = ("learner", "lesson", "quiz", "question", "attempts", "first_try_right", "hinted", "points")
_SKIP = "[]"  # a skipped prediction: recorded, never an attempt


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
    hinted: int = 0  # learners who opened the hint

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
    right: bool = False


def database_url(given: str | None = None) -> str:
    """The database the site writes, chosen the way the site chooses it."""
    if given or os.environ.get("DATABASE_URL"):
        return given or os.environ["DATABASE_URL"]
    return db.sqlite_url(os.environ.get("TUTOR_DATABASE") or default_instance() / "tutor.sqlite3")


def open_store(url: str | None = None) -> SqlStore:
    """The site's progress store, its schema brought up to date (an empty database gets the tables)."""
    engine = db.make_engine(database_url(url))
    db.upgrade(engine)
    return SqlStore(engine, keep=True)


def _where_lesson(columns: Any, lesson: str | None) -> list[Any]:
    return [columns.lesson == lesson] if lesson else []


def rows(store: SqlStore, lesson: str | None = None) -> list[Row]:
    """Per learner and question: attempts, first try right, hint used, points (skips not counted)."""
    a = db.answers.c
    key = (a.learner, a.lesson, a.quiz, a.question)
    numbered = (
        select(
            *key,
            a.correct,
            a.hinted,
            func.row_number().over(partition_by=key, order_by=(a.at, a.id)).label("n"),
        )
        .where(a.choices != _SKIP, *_where_lesson(a, lesson))
        .subquery("numbered")
    )
    n = numbered.c
    nkey = (n.learner, n.lesson, n.quiz, n.question)
    # The attempt number of the first right answer, on every row of its question (NULL: never right).
    first_right_at = func.min(case((n.correct, n.n))).over(partition_by=nkey)
    ranked = select(numbered, first_right_at.label("first_right")).subquery("ranked")
    r = ranked.c
    rkey = (r.learner, r.lesson, r.quiz, r.question)
    query = (
        select(
            *rkey,
            func.count().label("attempts"),
            func.max(case((and_(r.n == 1, r.correct), 1), else_=0)).label("first_try_right"),
            func.max(case((r.hinted, 1), else_=0)).label("hinted"),
            func.max(case((and_(r.n == r.first_right, r.hinted), 1), else_=0)).label("hinted_before_right"),
            func.min(r.first_right).label("first_right"),
        )
        .group_by(*rkey)
        .order_by(*rkey)
    )
    out = []
    for who, lesson_id, name, number, attempts, first, hinted, hinted_before, first_right in store.execute(query):
        right = first_right is not None
        wrong = first_right - 1 if right else attempts
        out.append(
            Row(
                who,
                lesson_id,
                name,
                number,
                attempts,
                bool(first),
                bool(hinted),
                quiz.points(wrong, bool(hinted_before), right),
                right,
            )
        )
    return out


def wrong_choices(store: SqlStore, lesson: str | None = None) -> dict[tuple[str, str, int], Counter[int]]:
    """How often each choice index was part of a wrong answer, per question (the database counts the sets)."""
    a = db.answers.c
    query = (
        select(a.lesson, a.quiz, a.question, a.choices, func.count())
        .where(~a.correct, a.choices != _SKIP, *_where_lesson(a, lesson))
        .group_by(a.lesson, a.quiz, a.question, a.choices)
    )
    out: dict[tuple[str, str, int], Counter[int]] = {}
    for lesson_id, name, number, choices, count in store.execute(query):
        counter = out.setdefault((lesson_id, name, number), Counter())
        for index in json.loads(choices):
            counter[index] += count
    return out


def touched(store: SqlStore, lesson: str | None = None) -> list[tuple[str, str]]:
    """Every (learner, lesson) with any answer, skips included: each gets a score line."""
    a = db.answers.c
    query = select(a.learner, a.lesson).where(*_where_lesson(a, lesson)).distinct().order_by(a.learner, a.lesson)
    return [(who, lesson_id) for who, lesson_id in store.execute(query)]


def question_stats(lessons: list[Lesson], store: SqlStore, lesson: str | None = None) -> list[QuestionStats]:
    """Every question of these lessons (answered or not), and any answered question no longer there."""
    per_question: dict[tuple[str, str, int], list[Row]] = {}
    for row in rows(store, lesson):
        per_question.setdefault((row.lesson, row.quiz, row.question), []).append(row)
    wrong_sets = wrong_choices(store, lesson)
    known: dict[tuple[str, str, int], Question] = {
        (item.id, name, q.number): q for item in lessons for name, questions in item.quizzes() for q in questions
    }
    keys = list(known) + sorted(k for k in per_question if k not in known)
    out = []
    for key in keys:
        question = known.get(key)
        listed = per_question.get(key, [])
        wrong = Counter(
            {i: c for i, c in wrong_sets.get(key, Counter()).items() if question is None or i not in question.correct}
        )
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
                learners=len(listed),
                first_try_right=sum(row.first_try_right for row in listed),
                wrong_choice=wrong_text,
                wrong_count=top[0][1] if top else 0,
                hinted=sum(row.hinted for row in listed),
            )
        )
    return out


def learner_scores(
    lessons: list[Lesson], store: SqlStore, lesson: str | None = None
) -> dict[str, dict[str, quiz.Score]]:
    """Each learner's score per topic, scored exactly as the site scores it."""
    by_key = {(row.learner, row.lesson, row.quiz, row.question): row for row in rows(store, lesson)}
    by_id = {item.id: item for item in lessons}
    out: dict[str, dict[str, quiz.Score]] = {}
    for who, lesson_id in touched(store, lesson):
        scores = out.setdefault(who, {})
        item = by_id.get(lesson_id)
        questions = [(name, q.number) for name, listed in item.quizzes() for q in listed] if item else []
        if not questions:
            continue
        mine = [by_key[key] for name, number in questions if (key := (who, lesson_id, name, number)) in by_key]
        scores[lesson_id] = quiz.Score(
            points=sum(row.points for row in mine), total=len(questions), done=sum(row.right for row in mine)
        )
    return out


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100)}%"


def print_report(lessons: list[Lesson], store: SqlStore, out: TextIO, lesson: str | None = None) -> None:
    """The two tables an instructor reads: per question, then per learner."""
    print("Per question", file=out)
    for stats in question_stats(lessons, store, lesson):
        wrong = f"{stats.wrong_choice!s} ({stats.wrong_count}x)" if stats.wrong_choice is not None else "-"
        print(
            f"  {stats.lesson} {stats.quiz} Q{stats.number}: {stats.prompt}\n"
            f"    answered by {stats.learners} · right on first attempt {_percent(stats.share_first_try)}"
            f" · most chosen wrong choice: {wrong} · hint used by {stats.hinted}",
            file=out,
        )
    print("Per learner", file=out)
    scores = learner_scores(lessons, store, lesson)
    if not scores:
        print(f"  {messages.RESULTS_NO_ANSWERS}", file=out)
    for who, per_topic in scores.items():
        text = ", ".join(f"{lesson_id}: {score.text}" for lesson_id, score in per_topic.items()) or "-"
        print(f"  {who}: {text}", file=out)


def write_csv(path: str | Path, store: SqlStore, lesson: str | None = None) -> int:
    """One row per learner and question; returns how many rows were written."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        return write_rows(file, store, lesson)


def write_rows(file: TextIO, store: SqlStore, lesson: str | None = None) -> int:
    """The CSV (header, then one row per learner and question) into an open text file; returns the row count."""
    listed = rows(store, lesson)
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
    store = open_store(getattr(args, "database_url", None))
    try:
        print_report(lessons, store, out, args.lesson or None)
        if args.csv:
            count = write_csv(args.csv, store, args.lesson or None)
            print(f"wrote {count} row(s) to {args.csv}", file=out)
    finally:
        store.close()
        store.engine.dispose()
    return 0
