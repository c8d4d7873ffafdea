"""`tutor results`: per question (answered by, first-try share, most chosen wrong choice), per
learner scores, and the CSV, on a small hand-made dataset whose numbers are known, computed by SQL
on SQLite and on PostgreSQL; and the SQL fold agrees with the site's scoring rules."""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor import db, quiz, results
from tutor.cli import main
from tutor.loader import load_text
from tutor.model import Lesson
from tutor.progress import SqlStore
from tutor.records import Answer

LESSON = """\
title: Results fixture
step_through:
  actors: [p]
  watch: [q]
  steps:
    - {actor: p, action: push, redis: LPUSH q a}
  quiz:
    - prompt: State of q after step 1?
      choices:
        - {text: "['a']", correct: true}
        - "[]"
        - "None"
      hint: Row 1.
      answer_from: {step: 1, key: q}
    - prompt: Which are list commands?
      choices:
        - {text: LPUSH, correct: true}
        - {text: RPOP, correct: true}
        - SET
performance:
  impact: low
  scenario: Batching
  bad: {code: a, why: slow}
  good: {code: b, why: fast}
  quiz:
    - prompt: Faster?
      choices:
        - {text: one call, correct: true}
        - many calls
"""
ST = "step-through:main"


def _a(
    who: str, quiz: str, number: int, choices: tuple[int, ...], correct: bool, at: float, hinted: bool = False
) -> Answer:
    return Answer(who, "res", quiz, number, choices, correct, hinted, at)


# alice: Q1 right first try; Q2 wrong (picked SET) then right; performance right.
# bob: Q1 wrong ("[]"), wrong ("[]"), then right after the hint.
# carol: Q1 skipped (a prediction skip), then wrong ("None"); Q2 right first try.
DATASET = [
    _a("alice", ST, 1, (0,), True, 1),
    _a("alice", ST, 2, (0, 2), False, 2),
    _a("alice", ST, 2, (0, 1), True, 3),
    _a("alice", "performance", 1, (0,), True, 4),
    _a("bob", ST, 1, (1,), False, 5),
    _a("bob", ST, 1, (1,), False, 6),
    _a("bob", ST, 1, (0,), True, 7, hinted=True),
    _a("carol", ST, 1, (), False, 8),
    _a("carol", ST, 1, (2,), False, 9),
    _a("carol", ST, 2, (0, 1), True, 10),
]


@pytest.fixture
def lesson() -> Lesson:
    loaded = load_text(LESSON, "res.yaml", "res")
    assert loaded.lesson is not None, loaded.problems
    return loaded.lesson


@pytest.fixture
def lessons_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "res.yaml").write_text(LESSON, encoding="utf-8")
    return folder


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """The dataset in a progress database (SQLite, then PostgreSQL)."""
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    store = SqlStore(engine, keep=True)
    for answer in DATASET:
        store.record_answer(answer)
    yield store
    store.close()
    engine.dispose()


@pytest.fixture
def database(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> str:
    """The dataset's database, as the site names it: DATABASE_URL."""
    url = store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TUTOR_DATABASE", raising=False)
    return url


def test_question_stats(lesson: Lesson, store: SqlStore) -> None:
    stats = {(s.quiz, s.number): s for s in results.question_stats([lesson], store)}
    q1 = stats[(ST, 1)]
    assert (q1.learners, q1.first_try_right) == (3, 1)
    assert q1.share_first_try == pytest.approx(1 / 3)
    assert (q1.wrong_choice, q1.wrong_count) == ("[]", 2)
    q2 = stats[(ST, 2)]
    assert (q2.learners, q2.first_try_right, q2.wrong_choice, q2.wrong_count) == (2, 1, "SET", 1)
    perf = stats[("performance", 1)]
    assert (perf.learners, perf.first_try_right, perf.wrong_choice) == (1, 1, None)


def test_learner_scores_use_the_site_rules(lesson: Lesson, store: SqlStore) -> None:
    scores = results.learner_scores([lesson], store)
    assert {who: s["res"].text for who, s in scores.items()} == {
        "alice": "2.75 / 3",  # 1 + 0.75 + 1
        "bob": "0.25 / 3",  # two wrong and a hint: the 0.25 minimum
        "carol": "1 / 3",  # Q1 still wrong (the skip did not count), Q2 first try
    }


def test_rows_skip_the_skips(store: SqlStore) -> None:
    rows = {(r.learner, r.quiz, r.question): r for r in results.rows(store)}
    carol = rows[("carol", ST, 1)]
    assert (carol.attempts, carol.first_try_right, carol.points) == (1, False, 0.0)
    bob = rows[("bob", ST, 1)]
    assert (bob.attempts, bob.hinted, bob.points) == (3, True, 0.25)


def test_the_sql_fold_agrees_with_the_site_scoring_on_random_attempts(database_url: str) -> None:
    """Any order of wrong, right, hinted and skipped attempts scores the same in SQL as on the site."""
    chooser = random.Random(12)
    answers = []
    for at in range(400):
        who, number = chooser.choice(["ann", "ben", "cy", "dee"]), chooser.randint(1, 3)
        kind = chooser.choice(["wrong", "right", "skip"])
        choices = () if kind == "skip" else (chooser.randint(0, 2),)
        answers.append(Answer(who, "res", ST, number, choices, kind == "right", chooser.random() < 0.3, float(at)))
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    store = SqlStore(engine, keep=True)
    try:
        for answer in chooser.sample(answers, len(answers)):  # stored in any order; `at` orders them
            store.record_answer(answer)
        by_sql = {(r.learner, r.question): r for r in results.rows(store)}
        expected = {}
        for key in {(a.learner, a.question) for a in answers}:
            state = quiz.question_state(a for a in answers if (a.learner, a.question) == key)
            if state.attempts:
                expected[key] = (state.attempts, state.first_try_right, state.points)
        assert {k: (r.attempts, r.first_try_right, r.points) for k, r in by_sql.items()} == expected
        assert len({points for _, _, points in expected.values()}) > 2  # the data really varies
    finally:
        store.close()
        engine.dispose()


def test_report_prints_both_tables_and_writes_the_csv(lessons_dir: Path, database: str, tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "scores.csv"
    args = argparse.Namespace(lesson=None, csv=str(target), lessons=str(lessons_dir))
    assert results.report(args, out) == 0
    text = out.getvalue()
    assert "res step-through:main Q1: State of q after step 1?" in text
    assert "answered by 3 · right on first attempt 33% · most chosen wrong choice: [] (2x)" in text
    assert "answered by 2 · right on first attempt 50% · most chosen wrong choice: SET (1x)" in text
    assert "answered by 1 · right on first attempt 100% · most chosen wrong choice: -" in text
    assert "  alice: res: 2.75 / 3" in text
    assert "  bob: res: 0.25 / 3" in text
    assert "wrote 6 row(s)" in text
    with target.open(newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    assert table[0] == ["learner", "lesson", "quiz", "question", "attempts", "first_try_right", "hinted", "points"]
    assert ["alice", "res", ST, "2", "2", "0", "0", "0.75"] in table
    assert ["bob", "res", ST, "1", "3", "0", "1", "0.25"] in table
    assert ["carol", "res", ST, "1", "1", "0", "0", "0"] in table
    assert len(table) == 7


def test_cli_results_with_lesson_filter(
    lessons_dir: Path, database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["results", "--lesson", "res", "--lessons", str(lessons_dir)]) == 0
    out = capsys.readouterr().out
    assert "Per question" in out and "Per learner" in out and "carol: res: 1 / 3" in out
    assert main(["results", "--lesson", "nope", "--lessons", str(lessons_dir)]) == 1
    assert "no lesson 'nope'" in capsys.readouterr().err


def test_report_on_an_empty_store(lessons_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_DATABASE", str(tmp_path / "empty.sqlite3"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    out = io.StringIO()
    args = argparse.Namespace(lesson=None, csv=None, lessons=str(lessons_dir))
    assert results.report(args, out) == 0
    assert "answered by 0 · right on first attempt -" in out.getvalue()
    assert "no quiz answers recorded yet" in out.getvalue()
