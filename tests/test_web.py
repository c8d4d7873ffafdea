"""The site through Flask's test client: catalog, topic, stepper pages and fragments, API, reloads."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from tutor import create_app

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
STEPPER = "/lessons/redis-broker/step-through"
FRAGMENT_LIMIT = 16 * 1024

BROKEN = """\
title: A broken lesson
step_through:
  actors: [producer]
  steps:
    - actor: producer
      action: push
      redis: LPUHS queue hello
"""


def make_app(lessons: Path, database: Path, **extra: object) -> Flask:
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


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} in the form"
    return html.unescape(match.group(1))


def get_step(client: FlaskClient, step: int, url: str = STEPPER, **kwargs: object) -> str:
    """The page at `step`, skipping any prediction question that holds the learner before it."""
    for _ in range(10):
        response = client.get(f"{url}?step={step}", **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        form = re.search(r'<form method="post" class="prediction".*?</form>', page, re.S)
        if form is None:
            return page
        fields = {name: hidden(form.group(0), name) for name in ("csrf", "quiz", "question")}
        action = html.unescape(re.search(r'action="([^"]+)"', form.group(0)).group(1))  # type: ignore[union-attr]
        skipped = client.post(action, data={**fields, "skip": "1"})
        assert skipped.status_code == 303
    raise AssertionError("still held by a prediction after 10 skips")


def position(page: str) -> str:
    match = re.search(r"<strong>(Step \d+ of \d+)</strong>", page)
    assert match, "no 'Step k of n' on the page"
    return match.group(1)


# --- catalog and topic --------------------------------------------------------------------------------


def test_the_catalog_lists_the_topics(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Redis as message broker in Flask" in page
    assert 'href="/lessons/redis-broker/"' in page
    assert "Lesson files with problems" not in page


def test_the_topic_offers_the_learning_styles(client: FlaskClient) -> None:
    response = client.get("/lessons/redis-broker/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Choose your learning style" in page
    assert "Step-by-Step Execution" in page
    assert f'href="{STEPPER}"' in page


def test_an_unknown_lesson_is_a_404_that_says_so(client: FlaskClient) -> None:
    for url in ("/lessons/nope/", "/lessons/nope/step-through", "/lessons/redis-broker/step-through/nope"):
        response = client.get(url)
        assert response.status_code == 404, url
    page = client.get("/lessons/nope/").get_data(as_text=True)
    assert "there is no lesson &#39;nope&#39;" in page


# --- the step-through ---------------------------------------------------------------------------------


def test_the_last_step_shows_the_executed_table_with_real_replies(client: FlaskClient) -> None:
    page = get_step(client, 5)
    assert "<html" in page
    assert position(page) == "Step 5 of 5"
    assert "<table" in page
    assert '<th scope="col">' in page
    table = page[page.index('<table class="trace">') : page.index("</table>")]
    assert str(escape("('queue', 'hello')")) in table
    assert "<code>LPUSH queue hello</code>" in table
    assert "<code>BRPOP queue 0</code>" in table
    assert "Blocks waiting" in table
    assert str(escape("('queue', 'world')")) in table  # the wake-up at step 5
    assert table.count('<tr id="row-') == 5


def test_step_4_shows_the_consumer_waiting_in_the_tracker(client: FlaskClient) -> None:
    page = get_step(client, 4)
    assert position(page) == "Step 4 of 5"
    tracker = page[page.index('<table class="tracker">') :]
    tracker = tracker[: tracker.index("</table>")]
    assert "None (waiting)" in tracker
    assert page.count('<tr id="row-') == 4


def test_step_0_runs_nothing(client: FlaskClient) -> None:
    page = get_step(client, 0)
    assert position(page) == "Step 0 of 5"
    assert '<tr id="row-' not in page
    assert "Nothing has run yet" in page


@pytest.mark.parametrize("step", [0, 1, 2, 3, 4, 5])
def test_a_step_click_from_htmx_gets_a_small_fragment(client: FlaskClient, step: int) -> None:
    get_step(client, step)  # answer any prediction first, as the learner would
    response = client.get(f"{STEPPER}?step={step}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    size = len(response.get_data())
    print(f"fragment at step {step}: {size} bytes")
    assert "<html" not in body
    assert body.startswith('<div id="stepper"')
    assert position(body) == f"Step {step} of 5"
    assert "HX-Request" in response.headers["Vary"]
    assert size < FRAGMENT_LIMIT, f"the step {step} fragment is {size} bytes"


def test_a_full_page_also_varies_on_hx_request(client: FlaskClient) -> None:
    response = client.get(f"{STEPPER}?step=1")
    assert "HX-Request" in response.headers["Vary"]
    assert response.get_data(as_text=True).lstrip().lower().startswith("<!doctype html")


def test_an_htmx_history_restore_gets_the_whole_page(client: FlaskClient) -> None:
    response = client.get(f"{STEPPER}?step=1", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["abc", "99", "6", "-1", "1.5", ""])
def test_a_bad_step_is_a_400_that_says_what_is_allowed(client: FlaskClient, bad: str) -> None:
    response = client.get(STEPPER, query_string={"step": bad})
    assert response.status_code == 400
    assert "step must be a whole number between 0 and 5" in response.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["²", "9" * 5000])
def test_a_step_that_is_digits_but_not_a_number_is_a_400(app: Flask, bad: str) -> None:
    app.config["TESTING"] = False  # let the error handler answer, as in production
    response = app.test_client().get(STEPPER, query_string={"step": bad})
    assert response.status_code == 400


# --- the JSON API -----------------------------------------------------------------------------------


def test_the_api_returns_the_whole_trace(client: FlaskClient) -> None:
    response = client.get("/api/lessons/redis-broker/trace")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    trace = response.get_json()
    assert trace["format"] == "tutor-trace/1"
    assert trace["lesson"] == "redis-broker"
    assert trace["executed"] == trace["step_count"] == 5
    assert trace["steps"][1]["reply"]["py"] == "('queue', 'hello')"
    assert trace["steps"][3]["status"] == "blocked"


def test_the_api_answers_an_unknown_lesson_in_json(client: FlaskClient) -> None:
    response = client.get("/api/lessons/nope/trace")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not Found", "message": "there is no lesson 'nope'"}


# --- lesson files -------------------------------------------------------------------------------------


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    shutil.copy(LESSONS / "redis-broker.yaml", folder / "redis-broker.yaml")
    return folder


def test_a_broken_lesson_is_not_on_the_public_catalog_and_the_good_one_still_works(
    lessons: Path, tmp_path: Path
) -> None:
    (lessons / "broken.yaml").write_text(BROKEN)
    app = make_app(lessons, tmp_path / "db.sqlite3")
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    statuses = {status.source: status for status in app.extensions["tutor.catalog"].status()}
    [problem] = statuses[str(lessons / "broken.yaml")].problems
    assert str(problem) == (
        f"{lessons / 'broken.yaml'}:7:7: step_through.steps[0].redis (step 1): "
        "unknown Redis command 'LPUHS' (did you mean LPUSH?)"
    )
    assert "LPUHS" not in page
    assert "broken.yaml" not in page
    assert "Redis as message broker in Flask" in page
    assert position(get_step(client, 2)) == "Step 2 of 5"
    assert client.get("/lessons/broken/").status_code == 404


def test_editing_a_lesson_file_shows_once_it_passes_and_a_broken_edit_keeps_the_last_good_version(
    lessons: Path, tmp_path: Path
) -> None:
    client = make_app(lessons, tmp_path / "db.sqlite3", TUTOR_RESCAN_SECONDS=0).test_client()
    assert "Redis as message broker in Flask" in client.get("/").get_data(as_text=True)
    file = lessons / "redis-broker.yaml"
    file.write_text(file.read_text().replace("title: Redis as message broker in Flask", "title: Queues, live-edited"))
    page = client.get("/").get_data(as_text=True)
    assert "Queues, live-edited" in page
    assert "Redis as message broker in Flask" not in page
    file.write_text(BROKEN.replace("A broken lesson", "Not served"))
    page = client.get("/").get_data(as_text=True)
    assert "Queues, live-edited" in page
    assert "LPUHS" not in page and "Not served" not in page
    assert "Queues, live-edited" in client.get("/lessons/redis-broker/").get_data(as_text=True)


def test_a_new_lesson_file_appears_without_a_new_app(lessons: Path, tmp_path: Path) -> None:
    client = make_app(lessons, tmp_path / "db.sqlite3", TUTOR_RESCAN_SECONDS=0).test_client()
    assert client.get("/lessons/extra/").status_code == 404
    (lessons / "extra.yaml").write_text(
        "title: An extra topic\nstep_through:\n  actors: [a]\n  steps:\n    - {actor: a, action: x, redis: PING}\n"
    )
    assert "An extra topic" in client.get("/lessons/extra/").get_data(as_text=True)


# --- learners -----------------------------------------------------------------------------------------


def test_the_step_through_resumes_where_the_learner_left(client: FlaskClient) -> None:
    assert position(get_step(client, 3)) == "Step 3 of 5"
    assert position(client.get(STEPPER).get_data(as_text=True)) == "Step 3 of 5"
    assert position(get_step(client, 1)) == "Step 1 of 5"
    assert position(client.get(STEPPER).get_data(as_text=True)) == "Step 1 of 5"


def test_a_new_learner_starts_at_step_0(client: FlaskClient) -> None:
    assert position(client.get(STEPPER).get_data(as_text=True)) == "Step 0 of 5"


def test_learners_do_not_share_progress(app: Flask) -> None:
    first, second = app.test_client(), app.test_client()
    get_step(first, 3)
    assert position(second.get(STEPPER).get_data(as_text=True)) == "Step 0 of 5"


def test_two_app_processes_on_one_database_serve_the_same_learner(tmp_path: Path) -> None:
    database = tmp_path / "shared.sqlite3"
    one = make_app(LESSONS, database).test_client()
    two = make_app(LESSONS, database).test_client()
    assert position(get_step(one, 3)) == "Step 3 of 5"
    cookie = one.get_cookie("session")
    assert cookie is not None
    two.set_cookie("session", cookie.value)
    assert position(two.get(STEPPER).get_data(as_text=True)) == "Step 3 of 5"
    get_step(two, 2)
    assert position(one.get(STEPPER).get_data(as_text=True)) == "Step 2 of 5"


@pytest.mark.parametrize("lesson_id", ["redis-broker", "celery", "async-flask"])
def test_performance_page_marks_the_bottleneck_stage_with_an_icon_and_a_word(
    client: FlaskClient, lesson_id: str
) -> None:
    html = client.get(f"/lessons/{lesson_id}/performance").get_data(as_text=True)
    marked = re.findall(r'<li class="bottleneck">([^<]*)<span class="badge error">.*?bottleneck</span></li>', html)
    assert len(marked) == 1, marked
    assert 'class="verdict good"><span aria-hidden="true">✔ </span>Good' in html
    assert 'class="verdict bad"><span aria-hidden="true">✖ </span>Bad' in html


def test_a_key_moment_appears_beside_the_step_it_explains(client: FlaskClient) -> None:
    at_four = client.get("/lessons/redis-broker/step-through?step=4").get_data(as_text=True)
    at_three = client.get("/lessons/redis-broker/step-through?step=3").get_data(as_text=True)
    beside = 'class="moment-now"'
    assert beside in at_four and "Key moment: Why does the consumer block at step 4?" in at_four
    assert "Key moment: Why does the consumer block at step 4?" not in at_three


def test_a_long_celery_message_can_be_read_whole_with_its_body_decoded(client: FlaskClient) -> None:
    html = client.get("/lessons/celery/step-through?step=5").get_data(as_text=True)
    text = html.replace("&#34;", '"').replace("&#39;", "'")
    assert '<details class="whole"><summary>Whole command</summary>' in html
    assert '"task": "app.long_task"' in text  # the JSON, indented, one field a line
    assert '# body, base64-decoded: [[], {}, {"callbacks": null' in text
