"""The site through Flask's test client: catalog, topic, stepper pages and fragments, API, reloads."""

from __future__ import annotations

import gzip
import html
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from tutor import create_app
from tutor.catalog import Catalog
from tutor.inline import inline

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
STEPPER = "/lessons/redis-broker/step-through"
FRAGMENT_LIMIT = 8 * 1024  # as sent: gzip, which every browser accepts

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
    headers = {"HX-Request": "true", "Accept-Encoding": "gzip, deflate, br"}
    response = client.get(f"{STEPPER}?step={step}", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    sent = len(response.get_data())
    body = gzip.decompress(response.get_data()).decode()
    print(f"fragment at step {step}: {sent} bytes sent, {len(body)} bytes unpacked")
    assert "<html" not in body
    assert body.startswith('<div id="stepper"')
    assert position(body) == f"Step {step} of 5"
    assert "HX-Request" in response.headers["Vary"]
    assert sent < FRAGMENT_LIMIT, f"the step {step} fragment is {sent} bytes as sent"


def test_a_full_page_also_varies_on_hx_request(client: FlaskClient) -> None:
    response = client.get(f"{STEPPER}?step=1")
    assert "HX-Request" in response.headers["Vary"]
    assert response.get_data(as_text=True).lstrip().lower().startswith("<!doctype html")


def test_an_htmx_history_restore_gets_the_whole_page(client: FlaskClient) -> None:
    response = client.get(f"{STEPPER}?step=1", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", ""])
def test_a_bad_step_is_a_400_that_says_what_is_allowed(client: FlaskClient, bad: str) -> None:
    response = client.get(STEPPER, query_string={"step": bad})
    assert response.status_code == 400
    assert "step must be a whole number between 0 and 5" in response.get_data(as_text=True)


@pytest.mark.parametrize("beyond", ["6", "99", "999999"])
def test_a_step_past_the_end_lands_on_the_last_step(client: FlaskClient, beyond: str) -> None:
    response = client.get(STEPPER, query_string={"step": beyond})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{STEPPER}?step=5"
    assert position(client.get(response.headers["Location"]).get_data(as_text=True)) == "Step 5 of 5"
    swapped = client.get(STEPPER, query_string={"step": beyond}, headers={"HX-Request": "true"})
    assert swapped.status_code == 200
    assert position(swapped.get_data(as_text=True)) == "Step 5 of 5"
    assert swapped.headers["HX-Push-Url"] == f"{STEPPER}?step=5"  # the address bar says where it landed


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
    held = client.get("/lessons/redis-broker/step-through?step=4").get_data(as_text=True)
    assert "Why does the consumer block at step 4?" not in held  # not while it asks what step 5 does
    at_four = get_step(client, 4)
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


# --- issue 9: nothing ahead of the learner, small things -----------------------------------------------


def _walks() -> list[tuple[str, str, object]]:
    lessons, _ = Catalog(LESSONS).state()
    return [
        (lesson.id, f"/lessons/{lesson.id}/step-through" + ("" if i == 0 else f"/{walk.slug}"), walk)
        for lesson in lessons
        for i, walk in enumerate(lesson.step_throughs)
    ]


def _shown(page: str, text: str) -> bool:
    return str(inline(text)) in page


@pytest.mark.parametrize(("lesson_id", "url", "walk"), _walks(), ids=[u for _, u, _ in _walks()])
def test_no_key_moment_note_or_prediction_is_shown_or_answerable_before_its_step(
    app: Flask, lesson_id: str, url: str, walk: Any
) -> None:
    client = app.test_client()  # a new learner, stepping forward with Next and never predicting
    count = len(walk.steps)
    predictions = [q for q in walk.quiz if q.ask_before_step]
    quiz_name = f"step-through:{walk.slug}"
    for step in range(count + 1):
        page = client.get(f"{url}?step={step}").get_data(as_text=True)
        assert position(page) == f"Step {step} of {count}"
        held = any(q.ask_before_step == step + 1 for q in predictions)  # its moments wait for the answer
        for moment in walk.key_moments:
            due = max(moment.steps, default=0)
            assert _shown(page, moment.answer) == (due < step or (due == step and not held)), (
                f"step {step}: key moment {moment.question!r} (steps {list(moment.steps)}) "
                + ("is shown before its steps ran" if due > step else "is missing after its steps ran")
            )
        if walk.exit_note:
            assert _shown(page, walk.exit_note) == (step == count), f"step {step}: the exit note"
        if walk.transcript:
            assert _shown(page, walk.transcript.strip()) == (step == count), f"step {step}: the transcript"
        quiz_page = client.get(f"/lessons/{lesson_id}/quiz").get_data(as_text=True)
        token = hidden(page, "csrf")
        for question in predictions:
            asked_here = step == question.ask_before_step - 1
            if step < question.ask_before_step:
                # only the prediction form in place of Next may show it, and only at the step before
                assert page.count(str(inline(question.prompt))) == (1 if asked_here else 0), f"step {step}"
                assert not _shown(quiz_page, question.prompt), f"step {step}: the quiz page shows the prediction"
                data = {"csrf": token, "quiz": quiz_name, "question": str(question.number), "place": "quiz"}
                data["choice"] = [str(i) for i in sorted(question.correct)]
                refused = client.post(f"/lessons/{lesson_id}/quiz/answer", data=data)
                assert refused.status_code == 403, f"step {step}: the quiz took an answer to a later prediction"
                assert f"prediction about step {question.ask_before_step}" in refused.get_data(as_text=True)
            else:
                assert _shown(quiz_page, question.prompt), f"step {step}: the prediction is still locked"
    assert not any(
        a.question in {q.number for q in predictions} for a in app.extensions["tutor.progress"].all_answers()
    ), "a refused answer was recorded"


def test_every_page_names_its_icon_and_the_icon_is_served_locally(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert match and match.group(1).startswith("/static/favicon.svg?v=")
    with client.get(match.group(1)) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert b"<svg" in icon.get_data()


def test_the_controls_have_first_and_no_reset_that_repeats_it(client: FlaskClient) -> None:
    page = get_step(client, 3)
    controls = page[page.index('aria-label="Step controls"') : page.index("</nav>", page.index("Step controls"))]
    assert 'id="ctl-first"' in controls and f'href="{STEPPER}?step=0"' in controls
    assert "Reset" not in controls and controls.count(f'href="{STEPPER}?step=0"') == 1


def test_headings_name_the_mode_once(client: FlaskClient) -> None:
    step_page = get_step(client, 1)
    assert "<h1>Redis as message broker</h1>" in step_page
    for page in (
        client.get("/lessons/redis-broker/").get_data(as_text=True),
        client.get("/lessons/redis-broker/quiz").get_data(as_text=True),
    ):
        headings = " ".join(re.findall(r"<h[12][^>]*>(.*?)</h[12]>", page, re.S)) + page
        assert "Step-by-Step Execution: Redis as message broker - Step-by-Step Execution" not in headings
        assert "Redis as message broker - Step-by-Step Execution</span>" not in page
    assert "Step-by-Step Execution: Redis as message broker</h2>" in client.get("/lessons/redis-broker/quiz").get_data(
        as_text=True
    )


def test_step_5_of_the_broker_walk_marks_no_line_of_step_1(client: FlaskClient) -> None:
    page = get_step(client, 5)
    assert 'class="line current"' not in page  # the push of 'world' is not in the sample
    assert "Step 5 runs no line of this code." in page
    assert 'class="line current" id="line-7"' in get_step(client, 1)


def test_jumping_past_a_prediction_opens_it_in_the_quiz_section_in_the_same_swap(client: FlaskClient) -> None:
    prompt = "If the producer pushes another message after step 4, what happens to the consumer?"
    client.get(f"{STEPPER}?step=3")
    at_three = client.get(f"{STEPPER}?step=3", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-swap-oob="true"' not in at_three  # nothing opened: the quiz section is left alone
    last = client.get(f"{STEPPER}?step=5", headers={"HX-Request": "true"}).get_data(as_text=True)
    section = last[last.index('<section class="quiz-section"') :]
    assert 'hx-swap-oob="true"' in section[: section.index(">")]
    assert str(escape(prompt)) in section  # answerable now: step 5 has run


def test_a_big_hash_in_the_step_view_opens_every_field_without_script(client: FlaskClient) -> None:
    html = client.get("/lessons/rq/step-through?step=7").get_data(as_text=True)
    job = html[html.index('data-key="rq:job:') :]
    job = job[: job.index("</li>")]
    assert job.count('<div class="cell new">') == 2 + 14  # two drawn; behind the summary every field, status unchanged
    assert '<details class="whole every changed"><summary>+ 13 more fields' in job
    assert "12 new or changed in this step" in job
    assert "<dt><code>&#39;timeout&#39;</code></dt><dd><pre>&#39;180&#39;</pre>" in job


def test_a_crash_step_says_its_note_once_and_shows_the_actor_crashed(client: FlaskClient) -> None:
    page = get_step(client, 8, "/lessons/celery-delivery/step-through")
    now = page.split('id="now-action"', 1)[1].split('<div class="state">', 1)[0]
    assert now.count("the task it was running dies with it") == 1, now
    assert "crashed at step 8" in page.split('<div class="state">', 1)[1]
