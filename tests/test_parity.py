"""The embedded fakeredis and a real redis-server give the same traces, checks and learner state."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from tutor import create_app, engine
from tutor.backend import Backend
from tutor.checker import check_paths, lesson_files
from tutor.loader import load_file, load_text
from tutor.model import Step, StepThrough

pytestmark = pytest.mark.real_redis

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
STEPPER = "/lessons/redis-broker/step-through"


def step_throughs() -> list[tuple[str, str, StepThrough | None]]:
    """(file, lesson id, step-through) for every step-through of every lesson file.

    A file that does not load gets one entry with no step-through, so it fails its own test (with its
    problems) instead of stopping the whole module from being collected.
    """
    found: list[tuple[str, str, StepThrough | None]] = []
    for file in lesson_files([LESSONS]):
        loaded = load_file(file)
        if loaded.lesson is None:
            found.append((file.name, "\n".join(str(p) for p in loaded.problems), None))
            continue
        for walk in loaded.lesson.step_throughs:
            found.append((file.name, loaded.lesson.id, walk))
    return found


WALKS = step_throughs()


@pytest.fixture
def real_backend(real_redis: str) -> Iterator[Backend]:
    backend = Backend(real_redis)
    yield backend
    backend.close()


@pytest.mark.parametrize(
    ("file", "lesson_id", "walk"), WALKS, ids=[f"{f}:{w.slug if w else 'broken'}" for f, _, w in WALKS]
)
def test_every_step_through_gives_the_same_trace_on_fakeredis_and_real_redis(
    file: str, lesson_id: str, walk: StepThrough | None, real_backend: Backend
) -> None:
    assert walk is not None, f"{file} does not load:\n{lesson_id}"
    embedded = engine.run(walk, Backend(), lesson_id)
    real = engine.run(walk, real_backend, lesson_id)
    for ours, theirs in zip(embedded["steps"], real["steps"], strict=True):
        assert ours == theirs, f"{file} step-through {walk.slug!r} differs at step {ours['step']}"
    assert embedded == real
    assert real_backend.shared().keys("*") == []


def test_the_lessons_check_clean_on_real_redis(real_backend: Backend) -> None:
    assert check_paths([LESSONS], real_backend) == []
    assert real_backend.shared().keys("*") == []


def test_blocking_fifo_and_timeouts_match_real_redis(real_backend: Backend) -> None:
    text = textwrap.dedent(
        """\
        title: Blocking
        step_through:
          actors: [A, B, C, producer]
          watch: [q, a, b, c]
          variables: [x, y, z]
          steps:
            - {actor: A, action: wait, redis: BRPOP q 0, assign: x}
            - {actor: B, action: wait, redis: BRPOP q 3, assign: y}
            - {actor: C, action: wait, redis: BLMOVE a b RIGHT LEFT 0, assign: z}
            - {actor: producer, action: push, redis: LPUSH q m1}
            - {actor: producer, action: later, note: time passes, wait: 3}
            - {actor: producer, action: push, redis: RPUSH a job}
            - {actor: producer, action: wrong type, redis: SET c text}
            - {actor: producer, action: wrong type, redis: LPUSH c x}
        """
    )
    loaded = load_text(text, "lessons/blocking.yaml", "blocking")
    assert loaded.lesson is not None
    walk = loaded.lesson.step_throughs[0]
    embedded = engine.run(walk, Backend(), "blocking")
    real = engine.run(walk, real_backend, "blocking")
    assert embedded == real
    assert [e["kind"] for e in real["steps"][4]["events"]] == ["timeout"]
    assert real["steps"][7]["reply"]["value"].startswith("WRONGTYPE")


@pytest.mark.parametrize("timeout", ["0x1", "1e0", "-1", "soon"])
def test_a_blocking_command_with_an_unreadable_timeout_never_reaches_the_server(
    real_backend: Backend, timeout: str
) -> None:
    # Redis reads '0x1' as 1 s (strtold); a command the engine cannot read the wait of would
    # really block the server connection (0x0: past the socket timeout), so it must never be sent.
    walk = load_text(
        "title: T\nstep_through:\n  actors: [a]\n  steps:\n    - {actor: a, action: x, redis: PING}\n",
        "lessons/t.yaml",
        "t",
    ).lesson.step_throughs[0]  # type: ignore[union-attr]
    learner = Step(actor="a", action="Your command", path=(), argv=("BRPOP", "q", timeout))
    real = engine.run(walk, real_backend, "t", extra=[learner])
    embedded = engine.run(walk, Backend(), "t", extra=[learner])
    [mine] = real["extra"]
    assert (mine["status"], mine["error_source"]) == ("error", "engine")
    assert mine["reply"]["value"].startswith("BRPOP needs its timeout as a plain number of seconds")
    assert real == embedded


# --- learners on a shared Redis -------------------------------------------------------------------------


@pytest.fixture
def redis_apps(real_redis: str, tmp_path: Path) -> Iterator[tuple[Flask, Flask]]:
    """Two app objects (two processes, as far as the site knows) on the same Redis."""
    apps = tuple(
        create_app(
            {
                "TESTING": True,
                "TUTOR_LESSONS": str(LESSONS),
                "TUTOR_DATABASE": str(tmp_path / "shared.sqlite3"),  # one database, as one DATABASE_URL
                "SECRET_KEY": "shared-secret",
                "REDIS_URL": real_redis,
            }
        )
        for n in (1, 2)
    )
    yield apps  # type: ignore[misc]
    for app in apps:
        app.extensions["tutor.backend"].close()


def position(page: str) -> str:
    match = re.search(r"<strong>(Step \d+ of \d+)</strong>", page)
    assert match
    return match.group(1)


def test_two_apps_on_one_redis_serve_the_same_learner(redis_apps: tuple[Flask, Flask], real_redis: str) -> None:
    one, two = (app.test_client() for app in redis_apps)
    assert position(one.get(f"{STEPPER}?step=3").get_data(as_text=True)) == "Step 3 of 5"
    cookie = one.get_cookie("session")
    assert cookie is not None
    two.set_cookie("session", cookie.value)
    assert position(two.get(STEPPER).get_data(as_text=True)) == "Step 3 of 5"
    assert position(two.get(f"{STEPPER}?step=2").get_data(as_text=True)) == "Step 2 of 5"
    assert position(one.get(STEPPER).get_data(as_text=True)) == "Step 2 of 5"
    client = redis.Redis.from_url(real_redis, decode_responses=True)
    try:
        assert client.keys("*") == []  # no run keys left behind, and progress never lives in Redis
    finally:
        client.close()
    with one.session_transaction() as session:
        who = session["learner"]
    saved = redis_apps[0].extensions["tutor.progress"].steps(who, "redis-broker")["main"]
    assert (saved.current, saved.furthest) == (2, 3)


def test_the_api_trace_from_a_real_redis_app_equals_the_embedded_one(
    redis_apps: tuple[Flask, Flask], app: Flask
) -> None:
    real = redis_apps[0].test_client().get("/api/lessons/redis-broker/trace").get_json()
    embedded = app.test_client().get("/api/lessons/redis-broker/trace").get_json()
    assert real["format"] == "tutor-trace/1"
    assert real == embedded
