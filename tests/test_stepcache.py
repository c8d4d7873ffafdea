"""Pieces of the step-through page kept per (version, step) are exactly what a fresh render gives,
and a learner's own parts (CSRF token, their own run) are never taken from another learner."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app, stepcache, tracecache

ROOT = Path(__file__).resolve().parent.parent
URL = "/lessons/redis-broker/step-through/two-workers"


@pytest.fixture(autouse=True)
def empty_caches() -> None:
    tracecache.clear()
    stepcache.clear()


@pytest.fixture
def site(tmp_path: Path) -> Flask:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    shutil.copy(ROOT / "lessons" / "redis-broker.yaml", lessons)
    return create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons),
            "TUTOR_DATABASE": str(tmp_path / "db.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
        }
    )


def _get(client: FlaskClient, step: int, fragment: bool) -> str:
    headers = {"HX-Request": "true"} if fragment else {}
    response = client.get(f"{URL}?step={step}", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_a_page_from_the_kept_pieces_equals_a_fresh_render_at_every_step(site: Flask, fragment: bool) -> None:
    client = site.test_client()
    fresh = []
    for step in range(0, 8):  # two-workers holds a prediction before step 8
        tracecache.clear()
        stepcache.clear()
        fresh.append(_get(client, step, fragment))
        assert f"<strong>Step {step} of 9</strong>" in fresh[-1]
        assert f'id="row-{step + 1}"' not in fresh[-1]
    for _ in range(2):  # every step from the kept pieces, in another order than they were kept
        assert [_get(client, step, fragment) for step in reversed(range(0, 8))] == fresh[::-1]


def test_a_click_is_the_same_bytes_for_every_learner_and_each_page_carries_its_own_token(site: Flask) -> None:
    first, second = site.test_client(), site.test_client()
    clicks = [_get(client, 3, fragment=True) for client in (first, second)]
    assert clicks[0] == clicks[1] and 'id="row-3"' in clicks[0]
    assert 'name="csrf"' not in clicks[0]  # the page's hx-headers sends the token with every htmx request
    pages = [_get(client, 3, fragment=False) for client in (first, second)]
    tokens = [re.findall(r'name="csrf" value="([^"]+)"', page) for page in pages]
    headers = [re.findall(r'hx-headers=\'\{"X-CSRF-Token": "([0-9a-f]+)"\}\'', page) for page in pages]
    for own, header in zip(tokens, headers, strict=True):
        assert len(header) == 1 and own and set(own) == set(header)  # every form and the header: one token
    assert headers[0] != headers[1]


def test_a_learners_own_run_is_rendered_afresh_and_never_kept_for_others(site: Flask) -> None:
    main = "/lessons/redis-broker/step-through"
    others, mine = site.test_client(), site.test_client()

    def row4(client: FlaskClient) -> str:
        page = client.get(f"{main}?step=4").get_data(as_text=True)
        start = page.index('id="row-4"')
        return page[start : page.index("</tr>", start)]

    assert "Blocks waiting" in row4(others)  # the lesson's run: the consumer's BRPOP waits at step 4
    kept = len(stepcache._FRAGMENTS._items)
    page = mine.get(f"{main}?step=3").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = {"csrf": csrf, "step": "3", "actor": "producer", "command": "LPUSH queue world"}
    assert mine.post(main + "/console", data=data, headers={"HX-Request": "true"}).status_code == 200
    assert "world" in row4(mine) and "Blocks waiting" not in row4(mine)  # their own run, rendered for them
    assert "Blocks waiting" in row4(others)  # and never served to anyone else
    assert len(stepcache._FRAGMENTS._items) == kept + 1  # only the lesson's step 3 was kept, not their run


def test_a_trace_that_is_not_the_shared_one_is_rendered_every_time() -> None:
    calls = []

    def body() -> str:
        calls.append(1)
        return "<p>own run</p>"

    own = {"start": {}, "steps": []}
    assert stepcache.cached_fragment("x", own, 0, "/", caller=body) == "<p>own run</p>"
    assert stepcache.cached_fragment("x", own, 0, "/", caller=body) == "<p>own run</p>"
    assert len(calls) == 2
