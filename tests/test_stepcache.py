"""Pieces of the step-through page kept per (version, step) are exactly what a fresh render gives,
and a learner's own parts (CSRF token, their own run) are never taken from another learner."""

from __future__ import annotations

import gzip
import re
import shutil
import time
from pathlib import Path
from typing import Any

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app, learner, stepcache, tracecache, web

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


MAIN = "/lessons/redis-broker/step-through"  # 5 steps; a prediction holds Next at step 4, its result shows at 5
# A click as the page's script sends it once no prediction is shown locked (static/stepper.js).
CLICK = {"HX-Request": "true", "X-Tutor-Locked": ""}


def _csrf(client: FlaskClient, step: int = 0) -> str:
    page = client.get(f"{MAIN}?step={step}").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _rendered_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on the view renders every response per request, as before anything was kept."""
    monkeypatch.setattr(stepcache, "kept", lambda *args: None)


def _quiz_from_its_template(site: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on every quiz question and section is rendered by the template, none taken from what is kept."""
    monkeypatch.setitem(site.jinja_env.globals, "kept_question", lambda view, caller: caller())
    monkeypatch.setitem(site.jinja_env.globals, "kept_section", lambda section, place, oob, caller: caller())
    site.jinja_env.cache = {}  # type: ignore[assignment]  # templates compiled again, with these globals
    stepcache.clear()


@pytest.mark.parametrize("headers", [{}, CLICK], ids=["page", "click"])
def test_a_kept_response_equals_the_one_rendered_for_the_request(
    site: Flask, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = site.test_client()
    urls = [f"{URL}?step={k}" for k in range(7)] + [f"{MAIN}?step={k}" for k in range(4)]  # no prediction here
    kept = [client.get(url, headers=headers).get_data(as_text=True) for url in urls]
    assert len(stepcache._RESPONSES._items) == len(urls)
    _rendered_afresh(monkeypatch)
    fresh = [client.get(url, headers=headers).get_data(as_text=True) for url in urls]
    assert kept == fresh
    assert all(f"<strong>Step {k} of 9</strong>" in page for k, page in enumerate(kept[:7]))


def test_a_gzipped_kept_response_is_the_same_response_compressed(site: Flask) -> None:
    client = site.test_client()
    for headers in ({}, CLICK):
        plain = client.get(f"{MAIN}?step=3", headers=headers)
        zipped = client.get(f"{MAIN}?step=3", headers={**headers, "Accept-Encoding": "gzip"})
        assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
        assert gzip.decompress(zipped.data) == plain.data
        for response in (plain, zipped):
            assert {"HX-Request", "Accept-Encoding"} <= set(response.vary)


def test_a_gzipped_page_splices_its_kept_quiz_section_with_each_learners_token(
    site: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[int] = []
    kept_quiz = stepcache.kept_quiz

    def noting(*args: Any) -> Any:
        text, pieces = kept_quiz(*args)
        if args[-1]:  # gzip accepted
            served.append(len(pieces or []))
        return text, pieces

    monkeypatch.setattr(stepcache, "kept_quiz", noting)
    a, b = site.test_client(), site.test_client()
    tokens = [_csrf(client, 3) for client in (a, b)]
    for client, token, other in ((a, *tokens), (b, *reversed(tokens))):
        for _ in range(2):  # the second time from the kept section
            plain = client.get(f"{MAIN}?step=3").data
            zipped = client.get(f"{MAIN}?step=3", headers={"Accept-Encoding": "gzip"}).data
            assert gzip.decompress(zipped) == plain
            assert token.encode() in plain and other.encode() not in plain
    assert served and all(count > 3 for count in served)  # the section went as kept pieces around tokens


def test_one_learners_own_run_never_appears_in_another_learners_click(site: Flask) -> None:
    a, b = site.test_client(), site.test_client()
    before = [b.get(f"{MAIN}?step={k}", headers=CLICK).get_data(as_text=True) for k in range(3, 6)]
    data = {"csrf": _csrf(a, 3), "step": "3", "actor": "producer", "command": "LPUSH queue learner-a-was-here"}
    assert a.post(f"{MAIN}/console", data=data, headers=CLICK).status_code == 200
    for k in range(3, 6):
        mine = a.get(f"{MAIN}?step={k}", headers=CLICK).get_data(as_text=True)
        assert "learner-a-was-here" in mine and "This is your run" in mine
    after = [b.get(f"{MAIN}?step={k}", headers=CLICK).get_data(as_text=True) for k in range(3, 6)]
    assert after == before
    assert not any("learner-a-was-here" in page or "This is your run" in page for page in after)


def test_one_learners_prediction_and_its_grade_never_appear_in_another_learners_click(site: Flask) -> None:
    a, b = site.test_client(), site.test_client()
    assert 'class="prediction"' in a.get(f"{MAIN}?step=4", headers=CLICK).get_data(as_text=True)  # held for a
    data = {"csrf": _csrf(a, 4), "quiz": "step-through:main", "question": "3", "choice": "2"}
    assert a.post("/lessons/redis-broker/quiz/predict", data=data).status_code == 303
    graded = a.get(f"{MAIN}?step=5", headers=CLICK).get_data(as_text=True)
    assert 'id="prediction-result"' in graded and "Your prediction" in graded
    for step in (4, 5):  # b has not predicted: held at 4, no result at 5, whatever a did
        page = b.get(f"{MAIN}?step={step}", headers=CLICK).get_data(as_text=True)
        assert 'id="prediction-result"' not in page
        assert ('class="prediction"' in page) == (step == 4)
    a_at_3 = a.get(f"{MAIN}?step=3", headers=CLICK).get_data(as_text=True)
    assert a_at_3 == b.get(f"{MAIN}?step=3", headers=CLICK).get_data(as_text=True)  # away from it: the same bytes


def test_a_fragment_form_posts_with_the_token_from_the_pages_header(site: Flask) -> None:
    client = site.test_client()
    token = _csrf(client, 3)
    data = {"step": "3", "actor": "producer", "command": "LPUSH queue world"}
    refused = client.post(f"{MAIN}/console", data=data, headers={**CLICK, "X-CSRF-Token": "0" * 64})
    assert refused.status_code == 400
    accepted = client.post(f"{MAIN}/console", data=data, headers={**CLICK, "X-CSRF-Token": token})
    assert accepted.status_code == 200 and "This is your run" in accepted.get_data(as_text=True)
    other = site.test_client()
    _csrf(other)
    assert other.post(f"{MAIN}/console", data=data, headers={**CLICK, "X-CSRF-Token": token}).status_code == 400


def test_an_own_run_is_found_for_a_cookie_from_before_the_cookie_listed_runs(site: Flask) -> None:
    client = site.test_client()
    data = {"csrf": _csrf(client, 3), "step": "3", "actor": "producer", "command": "LPUSH queue world"}
    assert client.post(f"{MAIN}/console", data=data, headers=CLICK).status_code == 200
    with client.session_transaction() as session:
        assert session["runs"] == ["redis-broker/main"]
        del session["runs"]  # as a cookie set before the list existed
    assert "This is your run" in client.get(f"{MAIN}?step=4", headers=CLICK).get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["runs"] == ["redis-broker/main"]  # filled from the store, once
    data["do"] = "back"
    assert client.post(f"{MAIN}/console", data=data, headers=CLICK).status_code == 200
    with client.session_transaction() as session:
        assert session["runs"] == []
    assert "This is your run" not in client.get(f"{MAIN}?step=4", headers=CLICK).get_data(as_text=True)


def test_the_cookie_is_signed_again_only_when_it_changed_or_is_over_a_day_old(
    site: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = site.test_client()
    assert "Set-Cookie" in client.get(f"{MAIN}?step=1").headers  # the learner's first page sets it
    assert "Set-Cookie" not in client.get(f"{MAIN}?step=2", headers=CLICK).headers
    assert "Set-Cookie" not in client.get(f"{MAIN}?step=2").headers  # signed a moment ago: nothing to push
    cookie = client.get_cookie("session")
    assert cookie is not None
    signer = site.session_interface.get_signing_serializer(site)  # type: ignore[attr-defined]
    data = signer.loads(cookie.value)
    two_days_ago = int(time.time()) - 2 * web.SESSION_RESIGN_SECONDS
    for headers in ({}, CLICK):  # a page or a click with a cookie two days old pushes its expiry forward
        with monkeypatch.context() as patch:
            patch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: two_days_ago)
            client.set_cookie("session", signer.dumps(data))
        assert "Set-Cookie" in client.get(f"{MAIN}?step=2", headers=headers).headers
        fresh = client.get_cookie("session")
        assert fresh is not None
        assert signer.loads(fresh.value, max_age=web.SESSION_RESIGN_SECONDS) == data  # the same learner, signed now
        assert "Set-Cookie" not in client.get(f"{MAIN}?step=2", headers=headers).headers


@pytest.mark.parametrize(
    ("locked", "sent"),
    [("5", True), ("", False), ("4 9", False), (None, True), ("junk", True)],
    ids=["locked-here", "none-locked", "others-locked", "no-header-reads-store", "bad-header-reads-store"],
)
def test_a_click_brings_the_quiz_section_when_the_page_says_the_step_opens_a_prediction(
    site: Flask, locked: str | None, sent: bool
) -> None:
    client = site.test_client()
    client.get(f"{MAIN}?step=3")
    headers = {"HX-Request": "true"} if locked is None else {**CLICK, "X-Tutor-Locked": locked}
    response = client.get(f"{MAIN}?step=5", headers=headers)
    assert ('<section class="quiz-section"' in response.get_data(as_text=True)) == sent
    assert "X-Tutor-Locked" in response.vary


@pytest.mark.parametrize("headers", [{}, CLICK], ids=["page", "click"])
def test_a_kept_held_prediction_and_its_grade_equal_the_ones_rendered_for_the_request(
    site: Flask, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = site.test_client()

    def both(step: int, before: Any = None) -> list[str]:
        """The step as kept, then as rendered for the request, each after `before` (the same action)."""
        seen = []
        for afresh in (False, True):
            with monkeypatch.context() as patch:
                if afresh:
                    _rendered_afresh(patch)
                if before:
                    before()
                seen.append(client.get(f"{MAIN}?step={step}", headers=headers).get_data(as_text=True))
        assert seen[0] == seen[1]
        return seen

    held = both(4)
    assert 'class="prediction"' in held[0] and "is-held" in held[0]
    shapes = [key[2] for key in stepcache._RESPONSES._items]  # (slug, step, root, fragment, shape)
    assert any(step == 4 and shape[0] == 3 for _, step, _, _, shape in shapes)  # kept with question 3's slot
    data = {"csrf": _csrf(client, 4), "quiz": "step-through:main", "question": "3", "choice": "2"}

    def predict() -> None:  # commits once; again it only marks the next step to focus its grade
        assert client.post("/lessons/redis-broker/quiz/predict", data=data).status_code == 303

    focused = both(5, before=predict)
    assert 'id="prediction-result" tabindex="-1" autofocus' in focused[0]
    graded = both(5)
    assert (
        'id="prediction-result"' in graded[0] and "autofocus" not in graded[0].split('id="prediction-result"')[1][:40]
    )
    shapes = [key[2] for key in stepcache._RESPONSES._items]
    assert any(step == 5 and shape[1] for _, step, _, _, shape in shapes)  # kept with a slot for the grade


def _question(page: str, number: int) -> str:
    start = page.index(f'id="q-step-through-main-{number}"')
    return page[page.rindex("<article", 0, start) : page.index("</article>", start)]


def test_an_untouched_question_is_kept_with_each_learners_token_and_an_answered_one_is_only_theirs(
    site: Flask,
) -> None:
    a, b = site.test_client(), site.test_client()
    tokens = [_csrf(client, 3) for client in (a, b)]
    # Question 2's choices are steps, shown in step order to everyone: the same block but for the token.
    first = [_question(client.get(f"{MAIN}?step=3").get_data(as_text=True), 2) for client in (a, b)]
    assert tokens[0] in first[0] and tokens[1] in first[1]
    assert first[0].replace(tokens[0], "T") == first[1].replace(tokens[1], "T")
    assert len(stepcache._QUESTIONS._items) >= 1
    data = {"csrf": tokens[0], "quiz": "step-through:main", "question": "2", "place": "mode", "choice": "1"}
    assert a.post("/lessons/redis-broker/quiz/answer", data=data).status_code == 303
    answered = _question(a.get(f"{MAIN}?step=3").get_data(as_text=True), 2)
    assert "quiz-result" in answered and "is-right" in answered
    untouched = _question(b.get(f"{MAIN}?step=3").get_data(as_text=True), 2)
    assert untouched == first[1] and "quiz-result" not in untouched


ANSWER = "/lessons/redis-broker/quiz/answer"


def test_an_answered_question_is_shared_only_with_a_learner_of_the_same_standing_and_never_a_token(
    site: Flask,
) -> None:
    a, b, c = site.test_client(), site.test_client(), site.test_client()
    tokens = [_csrf(client, 3) for client in (a, b, c)]
    answer = {"quiz": "step-through:main", "question": "2", "place": "mode"}
    for client, token, choice in zip((a, b, c), tokens, ("1", "1", "0"), strict=True):  # same order for everyone
        assert client.post(ANSWER, data={**answer, "csrf": token, "choice": choice}).status_code == 303
    blocks = [_question(client.get(f"{MAIN}?step=3").get_data(as_text=True), 2) for client in (a, b, c)]
    assert all(token in block for token, block in zip(tokens, blocks, strict=True))
    assert blocks[0].replace(tokens[0], "T") == blocks[1].replace(tokens[1], "T")  # same answer, same standing
    assert "is-right" in blocks[0] and "is-wrong" in blocks[2]  # c's own wrong answer, not a's right one
    for mine, block in enumerate(blocks):
        assert not any(token in block for other, token in enumerate(tokens) if other != mine)
    assert b.post(ANSWER, data={**answer, "csrf": tokens[1], "choice": "1"}).status_code == 303  # b tries again
    again = [_question(client.get(f"{MAIN}?step=3").get_data(as_text=True), 2) for client in (a, b)]
    assert "Attempts: 1 " in again[0] and "Attempts: 2 " in again[1]  # a's block is still a's own count
    d = site.test_client()
    token = _csrf(d, 3)
    assert d.post(ANSWER, data={**answer, "csrf": token, "choice": "2"}).status_code == 303  # wrong, as c was
    other_wrong = _question(d.get(f"{MAIN}?step=3").get_data(as_text=True), 2)
    assert "<strong>Step 3</strong>" in other_wrong and "<strong>Step 1</strong>" not in other_wrong
    assert "<strong>Step 1</strong>" in _question(c.get(f"{MAIN}?step=3").get_data(as_text=True), 2)  # c's own
    fragment = b.post(ANSWER, data={**answer, "csrf": tokens[1], "choice": "1"}, headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "Attempts: 3 " in text and tokens[1] in text and tokens[0] not in text and tokens[2] not in text


def test_a_page_with_kept_questions_equals_one_rendering_every_question(
    site: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = site.test_client()
    token = _csrf(client)
    form = {"csrf": token, "quiz": "step-through:main", "place": "mode"}

    def story() -> list[str]:
        """From a reset: hint question 1, answer question 2 wrong then right (htmx); every response."""
        assert client.post("/lessons/redis-broker/progress/reset", data={"csrf": token}).status_code == 303
        client.get(f"{MAIN}?step=5")  # every prediction opened: no question locked
        seen = [client.get(f"{MAIN}?step={k}").get_data(as_text=True) for k in (2, 5)]
        assert client.post("/lessons/redis-broker/quiz/hint", data={**form, "question": "1"}).status_code == 303
        assert client.post(ANSWER, data={**form, "question": "2", "choice": "0"}).status_code == 303
        seen += [client.get(f"{MAIN}?step={k}").get_data(as_text=True) for k in (2, 5)]
        answered = client.post(ANSWER, data={**form, "question": "2", "choice": "1"}, headers={"HX-Request": "true"})
        return [*seen, answered.get_data(as_text=True), client.get(f"{MAIN}?step=5").get_data(as_text=True)]

    kept = story()
    assert kept == story()  # the second time from what the first time kept
    assert "Hint:" in kept[2] and "is-wrong" in kept[2] and "is-right" in kept[4] and "is-right" in kept[5]
    _quiz_from_its_template(site, monkeypatch)
    assert story() == kept


def test_a_step_through_without_a_quiz_is_kept_and_equals_its_fresh_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "dead-consumer.yaml", lessons)
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons),
            "TUTOR_DATABASE": str(tmp_path / "db.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
        }
    )
    client = app.test_client()
    url = "/lessons/dead-consumer/step-through?step=3"
    kept = [client.get(url, headers=headers).get_data(as_text=True) for headers in ({}, CLICK)]
    assert len(stepcache._RESPONSES._items) == 2
    assert 'class="quiz-section"' not in kept[0]
    _rendered_afresh(monkeypatch)
    assert [client.get(url, headers=headers).get_data(as_text=True) for headers in ({}, CLICK)] == kept


def test_a_lesson_edit_that_keeps_the_walk_shows_at_once_in_kept_pages(tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    source = (ROOT / "lessons" / "redis-broker.yaml").read_text()
    title = next(line for line in source.splitlines() if line.startswith("title:"))
    (lessons / "redis-broker.yaml").write_text(source)
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons),
            "TUTOR_DATABASE": str(tmp_path / "db.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
            "TUTOR_RESCAN_SECONDS": 0,
        }
    )
    client = app.test_client()
    assert "A retitled broker lesson" not in client.get(f"{MAIN}?step=2").get_data(as_text=True)
    (lessons / "redis-broker.yaml").write_text(source.replace(title, "title: A retitled broker lesson", 1))
    assert "A retitled broker lesson" in client.get(f"{MAIN}?step=2").get_data(as_text=True)


def test_a_cookie_from_before_the_run_list_keeps_every_run_when_the_console_changes_one(site: Flask) -> None:
    client = site.test_client()
    for url, step, actor in ((URL, 2, "worker-1"), (MAIN, 3, "producer")):
        page = client.get(f"{url}?step={step}").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        data = {"csrf": token, "step": str(step), "actor": actor, "command": "LPUSH queue mine"}
        assert client.post(f"{url}/console", data=data, headers=CLICK).status_code == 200
    with client.session_transaction() as session:
        assert session["runs"] == ["redis-broker/main", "redis-broker/two-workers"]
        del session["runs"]  # as a cookie set before the list existed
    data = {"csrf": token, "step": "3", "actor": "producer", "command": "", "do": "back"}
    assert client.post(f"{MAIN}/console", data=data, headers=CLICK).status_code == 200  # leaves main's run
    with client.session_transaction() as session:
        assert session["runs"] == ["redis-broker/two-workers"]
    assert "This is your run" in client.get(f"{URL}?step=2", headers=CLICK).get_data(as_text=True)


def _choice_values(block: str) -> list[str]:
    return re.findall(r'name="choice" value="(\d+)"', block)


def test_learners_of_one_standing_share_one_kept_question_each_with_their_own_order_and_token(
    site: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept question is cut where its choices go: each learner's order is put in, as a fresh render has it."""
    ids = iter(f"learner-{number:02d}-{'x' * 30}" for number in range(99))
    monkeypatch.setattr(learner.secrets, "token_urlsafe", lambda _size: next(ids))
    clients = [site.test_client() for _ in range(6)]
    tokens = [_csrf(client, 3) for client in clients]
    answer = {"quiz": "step-through:main", "question": "1", "place": "mode"}
    for client, token in zip(clients[:3], tokens[:3], strict=True):  # three learners of one standing
        assert client.post(ANSWER, data={**answer, "csrf": token, "choice": "0"}).status_code == 303

    def responses() -> list[tuple[str, bytes, str, bytes]]:
        """Each learner's page, gzipped page, the htmx answer to a form sent without a choice (nothing stored),
        and a gzipped click whose quiz section comes out of band (the page shows step 5's prediction locked)."""
        seen = []
        for client, token in zip(clients, tokens, strict=True):
            page = client.get(f"{MAIN}?step=3").get_data(as_text=True)
            zipped = client.get(f"{MAIN}?step=3", headers={"Accept-Encoding": "gzip"}).data
            fragment = client.post(ANSWER, data={**answer, "csrf": token}, headers={"HX-Request": "true"})
            assert fragment.status_code == 200 and "quiz-notice" in fragment.get_data(as_text=True)
            opened = {**CLICK, "X-Tutor-Locked": "5", "Accept-Encoding": "gzip"}
            click = gzip.decompress(client.get(f"{MAIN}?step=5", headers=opened).data)
            assert b'hx-swap-oob="true"' in click
            seen.append((page, gzip.decompress(zipped), fragment.get_data(as_text=True), click))
        return seen

    responses()  # every learner reaches step 5: from here on, the same standing in each round
    stepcache.clear()
    kept = responses()
    assert kept == responses()  # the second time from what the first time kept
    orders = [_choice_values(_question(page, 1)) for page, *_ in kept]
    assert len({tuple(order) for order in orders}) > 1  # the learners' shuffles differ
    assert "quiz-result" in _question(kept[0][0], 1) and "quiz-result" not in _question(kept[5][0], 1)
    kept_questions = [key for key in stepcache._QUESTIONS._items if key[0] == "question" and key[2][4].endswith("-1")]
    assert len(kept_questions) == 4  # answered or not, with or without the notice: not one per learner's order
    assert len([key for key in stepcache._QUESTIONS._items if key[0] == "section"]) == 4  # page, oob: two standings
    assert len([key for key in stepcache._QUESTIONS._items if key[0] == "quiz"]) == 4  # the quiz slot of those
    for mine, (page, unzipped, fragment, click) in enumerate(kept):
        assert unzipped == page.encode()
        assert tokens[mine] in page and tokens[mine] in fragment and tokens[mine].encode() in click
        others = [token for other, token in enumerate(tokens) if other != mine]
        assert not any(token in page or token in fragment or token.encode() in click for token in others)
    _quiz_from_its_template(site, monkeypatch)
    assert responses() == kept


def test_a_kept_quiz_answer_equals_the_rendered_one_headers_included(
    site: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The htmx answer to a quiz form, from kept pieces, is the fragment render() gave, with the same headers."""
    from flask import make_response

    from tutor import quiz_views

    clients = [site.test_client() for _ in range(3)]
    tokens = [_csrf(client, 3) for client in clients]
    form = {"quiz": "step-through:main", "question": "1", "place": "mode"}

    def answers() -> list[tuple[int, dict[str, str], bytes]]:
        seen = []
        for client, token in zip(clients, tokens, strict=True):
            for accept in ({}, {"Accept-Encoding": "gzip"}):  # no choice ticked: a notice, nothing stored
                response = client.post(ANSWER, data={**form, "csrf": token}, headers={"HX-Request": "true", **accept})
                headers = {name: value for name, value in response.headers.items() if name != "Content-Length"}
                body = gzip.decompress(response.data) if "Content-Encoding" in headers else response.data
                seen.append((response.status_code, headers, body))
        return seen

    kept = answers()
    assert len([key for key in stepcache._QUESTIONS._items if key[0] == "answer"]) == 1  # one for all three
    assert all(tokens[number // 2].encode() in body for number, (_, _, body) in enumerate(kept))
    assert kept[1][1]["Content-Encoding"] == "gzip" and "Content-Encoding" not in kept[0][1]

    def rendered(text: str, pieces: Any) -> Any:  # what render() did: the text, Vary: HX-Request, then the hooks
        response = make_response(text)
        response.vary.add("HX-Request")
        return response

    monkeypatch.setattr(quiz_views, "send_text", rendered)
    monkeypatch.setattr(stepcache, "_known", lambda key, held: None)  # nothing kept is used
    monkeypatch.setitem(site.jinja_env.globals, "kept_question", lambda view, caller: caller())
    site.jinja_env.cache = {}  # type: ignore[assignment]
    assert answers() == kept
