"""`tutor results`: per question (answered by, first-try share, most chosen wrong choice), per
learner scores, and the CSV, on a small hand-made dataset whose numbers are known."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest

from tutor import results
from tutor.cli import main
from tutor.loader import load_text
from tutor.model import Lesson
from tutor.progress import Answer, RedisStore, SqliteStore

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
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "results.sqlite3"
    store = SqliteStore(path)
    for answer in DATASET:
        store.record_answer(answer)
    monkeypatch.setenv("TUTOR_DATABASE", str(path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    return path


def test_question_stats(lesson: Lesson) -> None:
    stats = {(s.quiz, s.number): s for s in results.question_stats([lesson], DATASET)}
    q1 = stats[(ST, 1)]
    assert (q1.learners, q1.first_try_right) == (3, 1)
    assert q1.share_first_try == pytest.approx(1 / 3)
    assert (q1.wrong_choice, q1.wrong_count) == ("[]", 2)
    q2 = stats[(ST, 2)]
    assert (q2.learners, q2.first_try_right, q2.wrong_choice, q2.wrong_count) == (2, 1, "SET", 1)
    perf = stats[("performance", 1)]
    assert (perf.learners, perf.first_try_right, perf.wrong_choice) == (1, 1, None)


def test_learner_scores_use_the_site_rules(lesson: Lesson) -> None:
    scores = results.learner_scores([lesson], DATASET)
    assert {who: s["res"].text for who, s in scores.items()} == {
        "alice": "2.75 / 3",  # 1 + 0.75 + 1
        "bob": "0.25 / 3",  # two wrong and a hint: the 0.25 minimum
        "carol": "1 / 3",  # Q1 still wrong (the skip did not count), Q2 first try
    }


def test_rows_skip_the_skips(lesson: Lesson) -> None:
    rows = {(r.learner, r.quiz, r.question): r for r in results.rows(DATASET)}
    carol = rows[("carol", ST, 1)]
    assert (carol.attempts, carol.first_try_right, carol.points) == (1, False, 0.0)
    bob = rows[("bob", ST, 1)]
    assert (bob.attempts, bob.hinted, bob.points) == (3, True, 0.25)


def test_report_prints_both_tables_and_writes_the_csv(lessons_dir: Path, database: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "scores.csv"
    args = argparse.Namespace(lesson=None, csv=str(target), lessons=str(lessons_dir), redis_url=None)
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
    lessons_dir: Path, database: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["results", "--lesson", "res", "--lessons", str(lessons_dir)]) == 0
    out = capsys.readouterr().out
    assert "Per question" in out and "Per learner" in out and "carol: res: 1 / 3" in out
    assert main(["results", "--lesson", "nope", "--lessons", str(lessons_dir)]) == 1
    assert "no lesson 'nope'" in capsys.readouterr().err


def test_report_on_an_empty_store(lessons_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_DATABASE", str(tmp_path / "empty.sqlite3"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    out = io.StringIO()
    args = argparse.Namespace(lesson=None, csv=None, lessons=str(lessons_dir))
    assert results.report(args, out) == 0
    assert "answered by 0 · right on first attempt -" in out.getvalue()
    assert "no quiz answers recorded yet" in out.getvalue()


@pytest.mark.real_redis
def test_report_reads_redis_when_redis_url_is_set(
    lessons_dir: Path, real_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    client = redis.Redis.from_url(real_redis, decode_responses=True)
    try:
        store = RedisStore(client)
        for answer in DATASET:
            store.record_answer(answer)
    finally:
        client.close()
    monkeypatch.setenv("REDIS_URL", real_redis)
    out = io.StringIO()
    assert results.report(argparse.Namespace(lesson="res", csv=None, lessons=str(lessons_dir)), out) == 0
    assert "answered by 3 · right on first attempt 33% · most chosen wrong choice: [] (2x)" in out.getvalue()
    assert "  alice: res: 2.75 / 3" in out.getvalue()
