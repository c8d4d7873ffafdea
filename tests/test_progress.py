"""SqliteStore and RedisStore (fakeredis and a real server) keep learners' progress the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
import redis

from tutor.progress import APP_PREFIX, Answer, ProgressStore, RedisStore, SqliteStore, StepProgress, export

LEARNER = "learner-one-" + "x" * 32
OTHER = "learner-two-" + "y" * 32


@pytest.fixture(params=["sqlite", "fakeredis", pytest.param("redis", marks=pytest.mark.real_redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProgressStore]:
    """Each store, empty."""
    if request.param == "sqlite":
        yield SqliteStore(tmp_path / "progress.sqlite3")
    elif request.param == "fakeredis":
        client = fakeredis.FakeRedis(decode_responses=True)
        yield RedisStore(client)
        client.close()
    else:
        url = request.getfixturevalue("real_redis")
        client = redis.Redis.from_url(url, decode_responses=True)
        yield RedisStore(client)
        client.close()


def answer(question: int, choices: tuple[int, ...], correct: bool, at: float, **kw: object) -> Answer:
    fields: dict[str, object] = {
        "learner": LEARNER,
        "lesson": "redis-broker",
        "quiz": "step-through:main",
        "question": question,
        "choices": choices,
        "correct": correct,
        "hinted": False,
        "at": at,
    }
    fields.update(kw)
    return Answer(**fields)  # type: ignore[arg-type]


def test_a_new_learner_has_nothing(store: ProgressStore) -> None:
    assert store.steps(LEARNER, "redis-broker") == {}
    assert store.answers(LEARNER, "redis-broker") == []
    assert store.hints(LEARNER, "redis-broker") == set()
    assert store.lessons_of(LEARNER) == []
    assert export(store, LEARNER) == {"learner": LEARNER, "lessons": {}}


def test_record_step_keeps_the_current_step_and_the_furthest_reached(store: ProgressStore) -> None:
    store.record_step(LEARNER, "redis-broker", "main", 3)
    store.record_step(LEARNER, "redis-broker", "main", 5)
    store.record_step(LEARNER, "redis-broker", "main", 1)
    saved = store.steps(LEARNER, "redis-broker")
    assert set(saved) == {"main"}
    assert isinstance(saved["main"], StepProgress)
    assert (saved["main"].current, saved["main"].furthest) == (1, 5)
    assert saved["main"].updated > 0


def test_steps_are_kept_per_step_through_and_per_learner(store: ProgressStore) -> None:
    store.record_step(LEARNER, "redis-broker", "main", 2)
    store.record_step(LEARNER, "redis-broker", "two-workers", 4)
    store.record_step(OTHER, "redis-broker", "main", 5)
    mine = store.steps(LEARNER, "redis-broker")
    assert {k: (v.current, v.furthest) for k, v in mine.items()} == {"main": (2, 2), "two-workers": (4, 4)}
    assert {k: (v.current, v.furthest) for k, v in store.steps(OTHER, "redis-broker").items()} == {"main": (5, 5)}


def test_answers_come_back_in_the_order_given(store: ProgressStore) -> None:
    given = [
        answer(2, (0,), False, 100.0),
        answer(2, (1,), True, 101.0, hinted=True),
        answer(1, (0, 2), True, 102.0),
        answer(3, (), False, 103.0, quiz="performance"),
    ]
    for item in given:
        store.record_answer(item)
    assert store.answers(LEARNER, "redis-broker") == given
    assert store.all_answers("redis-broker") == given
    assert store.all_answers() == given
    assert store.answers(OTHER, "redis-broker") == []


def test_all_answers_covers_every_learner_and_lesson(store: ProgressStore) -> None:
    mine = answer(1, (0,), True, 10.0)
    theirs = answer(1, (1,), False, 11.0, learner=OTHER)
    elsewhere = answer(1, (2,), True, 12.0, lesson="celery")
    for item in (mine, theirs, elsewhere):
        store.record_answer(item)
    assert store.all_answers("redis-broker") == [mine, theirs]
    assert store.all_answers() == [mine, theirs, elsewhere]


def test_hints_are_a_set_of_quiz_and_question(store: ProgressStore) -> None:
    store.record_hint(LEARNER, "redis-broker", "step-through:main", 1)
    store.record_hint(LEARNER, "redis-broker", "step-through:main", 1)
    store.record_hint(LEARNER, "redis-broker", "performance", 2)
    assert store.hints(LEARNER, "redis-broker") == {("step-through:main", 1), ("performance", 2)}
    assert store.hints(OTHER, "redis-broker") == set()
    assert store.hints(LEARNER, "celery") == set()


def test_reset_forgets_one_lesson_only(store: ProgressStore) -> None:
    for lesson in ("redis-broker", "celery"):
        store.record_step(LEARNER, lesson, "main", 2)
        store.record_hint(LEARNER, lesson, "step-through:main", 1)
        store.record_answer(answer(1, (0,), True, 1.0, lesson=lesson))
    store.record_step(OTHER, "redis-broker", "main", 4)
    store.reset(LEARNER, "redis-broker")
    assert store.steps(LEARNER, "redis-broker") == {}
    assert store.hints(LEARNER, "redis-broker") == set()
    assert store.answers(LEARNER, "redis-broker") == []
    assert store.lessons_of(LEARNER) == ["celery"]
    assert store.steps(LEARNER, "celery")["main"].current == 2
    assert store.hints(LEARNER, "celery") == {("step-through:main", 1)}
    assert len(store.answers(LEARNER, "celery")) == 1
    assert store.steps(OTHER, "redis-broker")["main"].current == 4


def test_lessons_of_lists_every_lesson_touched_sorted(store: ProgressStore) -> None:
    store.record_answer(answer(1, (0,), True, 1.0, lesson="redis-broker"))
    store.record_hint(LEARNER, "celery", "performance", 1)
    store.record_step(LEARNER, "async-flask", "main", 1)
    store.record_step(OTHER, "zzz", "main", 1)
    assert store.lessons_of(LEARNER) == ["async-flask", "celery", "redis-broker"]


def test_export_holds_everything_kept_about_a_learner(store: ProgressStore) -> None:
    store.record_step(LEARNER, "redis-broker", "main", 4)
    store.record_step(LEARNER, "redis-broker", "main", 2)
    store.record_hint(LEARNER, "redis-broker", "step-through:main", 1)
    store.record_answer(answer(1, (0,), False, 50.0))
    store.record_answer(answer(1, (1,), True, 51.0, hinted=True))
    store.record_step(OTHER, "redis-broker", "main", 5)
    data = export(store, LEARNER)
    assert data["learner"] == LEARNER
    assert list(data["lessons"]) == ["redis-broker"]
    lesson = data["lessons"]["redis-broker"]
    step = lesson["steps"]["main"]
    assert (step["current"], step["furthest"]) == (2, 4)
    assert set(step) == {"current", "furthest", "updated"}
    assert lesson["hints"] == [["step-through:main", 1]]
    assert lesson["answers"] == [
        {
            "quiz": "step-through:main",
            "question": 1,
            "choices": (0,),
            "correct": False,
            "hinted": False,
            "at": 50.0,
        },
        {
            "quiz": "step-through:main",
            "question": 1,
            "choices": (1,),
            "correct": True,
            "hinted": True,
            "at": 51.0,
        },
    ]


def test_the_redis_store_keeps_its_keys_under_the_app_prefix() -> None:
    client = fakeredis.FakeRedis(decode_responses=True)
    store = RedisStore(client)
    store.record_step(LEARNER, "redis-broker", "main", 1)
    store.record_hint(LEARNER, "redis-broker", "performance", 1)
    store.record_answer(answer(1, (0,), True, 1.0))
    keys = client.keys("*")
    assert keys
    assert all(key.startswith(APP_PREFIX) for key in keys)
    client.close()


def test_the_sqlite_store_survives_a_new_store_object_on_the_same_file(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "p.sqlite3").record_step(LEARNER, "redis-broker", "main", 3)
    assert SqliteStore(tmp_path / "p.sqlite3").steps(LEARNER, "redis-broker")["main"].furthest == 3
