"""The start-up warm-up (tutor/warmup.py): what it keeps is what requests are served, and it never stops a start."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from conftest import free_port
from flask import Flask

from tutor import create_app, stepcache, tracecache, warmup

ROOT = Path(__file__).resolve().parent.parent
TWO_WORKERS = "/lessons/redis-broker/step-through/two-workers"  # a prediction holds Next at step 7
MAIN = "/lessons/redis-broker/step-through"  # a prediction holds Next at step 4
# Steps a new learner sees without a held prediction: the shapes the warm-up keeps.
URLS = [f"{TWO_WORKERS}?step={k}" for k in range(7)] + [f"{MAIN}?step={k}" for k in range(4)]
CLICK = {"HX-Request": "true", "X-Tutor-Locked": ""}


@pytest.fixture(autouse=True)
def empty_caches() -> None:
    tracecache.clear()
    stepcache.clear()


def _site(tmp_path: Path, warm: bool, redis_url: str | None = None) -> Flask:
    lessons = tmp_path / "lessons"
    lessons.mkdir(exist_ok=True)
    shutil.copy(ROOT / "lessons" / "redis-broker.yaml", lessons)
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons),
            "TUTOR_DATABASE": str(tmp_path / "db.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": redis_url,
            "TUTOR_WARM": warm,
        }
    )


def _renders(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every response rendered and split into kept pieces from here on (none when served from what is kept)."""
    seen: list[object] = []
    split = stepcache._split

    def spy(lesson: object, text: str) -> object:
        seen.append(lesson)
        return split(lesson, text)  # type: ignore[arg-type]

    monkeypatch.setattr(stepcache, "_split", spy)
    return seen


@pytest.mark.parametrize("headers", [{}, CLICK], ids=["page", "click"])
def test_after_the_warm_up_a_new_learners_pages_and_clicks_render_nothing(
    tmp_path: Path, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(tmp_path, warm=True)
    renders = _renders(monkeypatch)
    client = site.test_client()
    bodies = [client.get(url, headers=headers).get_data(as_text=True) for url in URLS]
    assert renders == []
    assert all(f"<strong>Step {k} of 9</strong>" in body for k, body in enumerate(bodies[:7]))


def test_without_the_warm_up_the_first_requests_render_what_they_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(tmp_path, warm=False)
    assert len(stepcache._RESPONSES._items) == 0
    renders = _renders(monkeypatch)
    client = site.test_client()
    for url in URLS:
        client.get(url, headers=CLICK)
    assert len(renders) == len(URLS)


@pytest.mark.parametrize("headers", [{}, CLICK], ids=["page", "click"])
def test_what_the_warm_up_keeps_equals_a_fresh_render_for_the_request(
    tmp_path: Path, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(tmp_path, warm=True)
    client = site.test_client()
    warmed = [client.get(url, headers=headers).get_data(as_text=True) for url in URLS]
    monkeypatch.setattr(stepcache, "kept", lambda *args: None)  # every response rendered for its request
    fresh = [client.get(url, headers=headers).get_data(as_text=True) for url in URLS]
    assert warmed == fresh


def test_the_warm_up_runs_every_step_of_every_step_through(tmp_path: Path) -> None:
    site = _site(tmp_path, warm=False)
    warmed = warmup.warm(site)
    assert warmed.failed is None
    assert (warmed.walks, warmed.steps) == (2, (5 + 1) + (9 + 1))
    assert warmed.templates >= 10
    assert warmup.warm(site).steps == warmed.steps  # a second warm-up finds it all kept


def test_an_unreachable_redis_stops_the_warm_up_not_the_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    unused_port = free_port()
    with caplog.at_level(logging.WARNING, logger="tutor.warmup"):
        site = _site(tmp_path, warm=True, redis_url=f"redis://127.0.0.1:{unused_port}/0")
    assert "warm-up stopped after 0 steps (ConnectionError" in caplog.text
    response = site.test_client().get(MAIN)
    assert response.status_code == 503  # as without the warm-up: Redis is down
