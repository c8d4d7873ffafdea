"""A walk executed once per lesson version serves every step exactly as a run stopped at that step would."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app, engine, tracecache
from tutor.backend import Backend
from tutor.checker import lesson_files
from tutor.loader import load_file
from tutor.model import Lesson

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"

SMALL = """\
title: Queues, cached
order: 1
step_through:
  actors: [producer, worker]
  watch: [queue]
  steps:
    - actor: worker
      action: wait for a job
      redis: BRPOP queue 0
    - actor: producer
      action: push a job
      redis: LPUSH queue {job}
    - actor: producer
      action: push another
      redis: LPUSH queue second
"""


def curriculum() -> list[Lesson]:
    lessons = []
    for file in lesson_files([LESSONS]):
        loaded = load_file(file)
        assert loaded.lesson is not None, loaded.problems
        lessons.append(loaded.lesson)
    return lessons


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    tracecache.clear()


def test_every_step_of_every_lesson_equals_a_fresh_run_stopped_there() -> None:
    backend = Backend()
    compared = 0
    for lesson in curriculum():
        for walk in lesson.step_throughs:
            for step in range(len(walk.steps) + 1):
                assert tracecache.trace(walk, backend, lesson.id, upto=step) == engine.run(
                    walk, backend, lesson.id, upto=step
                ), f"{lesson.id}/{walk.slug} step {step}"
                compared += 1
            assert tracecache.trace(walk, backend, lesson.id) == engine.run(walk, backend, lesson.id)
    assert compared > 50


@pytest.mark.real_redis
def test_every_step_on_real_redis_equals_a_fresh_run_stopped_there(real_redis: str) -> None:
    backend = Backend(real_redis)
    try:
        for lesson in curriculum():
            for walk in lesson.step_throughs:
                for step in range(len(walk.steps) + 1):
                    cached = tracecache.trace(walk, backend, lesson.id, upto=step)
                    assert cached == engine.run(walk, backend, lesson.id, upto=step), f"{lesson.id} {step}"
    finally:
        backend.close()


def test_a_walk_is_executed_once_however_many_steps_are_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    lesson = curriculum()[0]
    walk = lesson.step_throughs[0]
    runs = []
    real_run = engine.run
    monkeypatch.setattr(engine, "run", lambda *args, **kwargs: runs.append(args) or real_run(*args, **kwargs))
    backend = Backend()
    served = [tracecache.trace(walk, backend, lesson.id, upto=step)["executed"] for step in range(len(walk.steps) + 1)]
    assert served == list(range(len(walk.steps) + 1))
    assert len(runs) == 1


def test_a_changed_lesson_file_gives_a_new_version_and_never_the_old_trace(tmp_path: Path) -> None:
    file = tmp_path / "queues.yaml"
    file.write_text(SMALL.format(job="first"))
    old = load_file(file).lesson
    file.write_text(SMALL.format(job="changed"))
    new = load_file(file).lesson
    assert old is not None and new is not None
    old_walk, new_walk = old.step_throughs[0], new.step_throughs[0]
    assert tracecache.version(old_walk) != tracecache.version(new_walk)
    backend = Backend()
    assert tracecache.trace(old_walk, backend, old.id, upto=2)["steps"][1]["events"][0]["reply"]["py"] == (
        "('queue', 'first')"
    )
    assert tracecache.trace(new_walk, backend, new.id, upto=2)["steps"][1]["events"][0]["reply"]["py"] == (
        "('queue', 'changed')"
    )


def test_the_same_content_loaded_twice_has_the_same_version(tmp_path: Path) -> None:
    file = tmp_path / "queues.yaml"
    file.write_text(SMALL.format(job="first"))
    one, two = load_file(file).lesson, load_file(file).lesson
    assert one is not None and two is not None and one is not two
    assert tracecache.version(one.step_throughs[0]) == tracecache.version(two.step_throughs[0])


def test_an_edited_lesson_shows_its_new_reply_on_the_next_click(tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    file = lessons / "queues.yaml"
    file.write_text(SMALL.format(job="first"))
    client = _app(lessons, tmp_path / "db.sqlite3", TUTOR_RESCAN_SECONDS=0).test_client()
    url = "/lessons/queues/step-through?step=2"
    assert "(&#39;queue&#39;, &#39;first&#39;)" in client.get(url).get_data(as_text=True)
    file.write_text(SMALL.format(job="edited-job"))
    _touch_later(file)
    page = client.get(url).get_data(as_text=True)
    assert "edited-job" in page and "&#39;first&#39;" not in page


def test_two_app_instances_serve_one_learner_identical_pages_at_every_step(tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    shutil.copy(LESSONS / "redis-broker.yaml", lessons)
    one = _app(lessons, tmp_path / "shared.sqlite3").test_client()
    tracecache.clear()
    one.get(URL)  # the learner's cookie, as the first process hands it out
    cookie = one.get_cookie("session")
    assert cookie is not None
    two = _app(lessons, tmp_path / "shared.sqlite3").test_client()
    two.set_cookie("session", cookie.value)
    for step in range(6):
        first = _page(one, step)
        tracecache.clear()  # the second instance executes the walk itself, on its own embedded server
        assert _page(two, step) == first, f"step {step}"
    assert "Step 5 of" in first


URL = "/lessons/redis-broker/step-through"


def _page(client: FlaskClient, step: int) -> str:
    response = client.get(f"{URL}?step={step}")
    assert response.status_code == 200
    return re.sub(r'name="csrf" value="[^"]*"', 'name="csrf" value=""', response.get_data(as_text=True))


def _app(lessons: Path, database: Path, **extra: object) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons),
            "TUTOR_DATABASE": str(database),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
            **extra,
        }
    )


def _touch_later(file: Path) -> None:
    """Give the file a modification time clearly after the first version's (coarse file-system clocks)."""
    import os

    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
