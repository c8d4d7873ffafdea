"""The click path (tutor/clickpath.py): a plain step click answered without Flask, exactly as Flask answers it.

Two sites over the same lessons, one with the click path (TUTOR_HOT_CLICKS on) and one without, get
the same requests with the same cookie; every answer must be the same (status, headers in order,
body) and so must the progress each writes. The clicks the path should take are counted one by one,
so a path that silently never answers fails too.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tutor import create_app, db, progress, quiz, stepcache
from tutor.clickpath import ClickPath
from tutor.model import StepThrough

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
BROKER = "/lessons/redis-broker/step-through"
CLICK = {"HX-Request": "true"}
LOCKED = "X-Tutor-Locked"


def _site(
    folder: Path, hot: bool, database_url: str | None = None, warm: bool = True, lessons: Path | None = None
) -> Flask:
    """A site on its own database; warmed, on one lesson (redis-broker) unless `lessons` says which folder."""
    config: dict[str, Any] = {
        "TESTING": True,
        "TUTOR_LESSONS": str(lessons or _broker_only(folder)),
        "SECRET_KEY": "test-secret",
        "REDIS_URL": None,
        "TUTOR_HOT_CLICKS": hot,
        "TUTOR_WARM": warm,
    }
    if database_url is None:
        config["TUTOR_DATABASE"] = str(folder / ("hot" if hot else "cold") / "tutor.sqlite3")
    else:
        config["DATABASE_URL"] = database_url
    return create_app(config)


def _broker_only(folder: Path) -> Path:
    """A lessons folder with redis-broker alone: most tests click only there, and warming it is quick."""
    only = folder / "broker-only"
    if not only.exists():
        only.mkdir()
        shutil.copy(LESSONS / "redis-broker.yaml", only)
    return only


def _path(app: Flask) -> ClickPath:
    path = app.extensions["tutor.clickpath"]
    assert isinstance(path, ClickPath)
    return path


@pytest.fixture(autouse=True)
def room_for_every_kept_click(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two warmed sites keep about 860 responses: no eviction may turn an expected hot click into a render."""
    stepcache.clear()
    monkeypatch.setattr(stepcache._RESPONSES, "size", 8192)
    yield
    stepcache.clear()


class Twin:
    """The same requests to the hot and the cold site, with one cookie (the hot site's), answers compared."""

    def __init__(self, hot: Flask, cold: Flask) -> None:
        self.hot, self.cold = hot, cold
        self.clients = hot.test_client(use_cookies=False), cold.test_client(use_cookies=False)
        self.cookie: str | None = None
        self.seen: set[str] = set()  # cookies the hot site was sent already (so its session check remembers them)
        self.learners: dict[str, str] = {}  # learner id -> a name that is the same on both sites

    def send(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET", data: Any = None
    ) -> tuple[TestResponse, bool]:
        """The hot site's answer (equal to the cold one's) and whether the click path gave it."""
        sent = dict(headers or {})
        cookie = self.cookie
        if cookie is not None:
            sent["Cookie"] = f"session={cookie}"
        before = _path(self.hot).served
        hot = self.clients[0].open(path, method=method, headers=sent, data=data)
        served = _path(self.hot).served - before
        cold = self.clients[1].open(path, method=method, headers=sent, data=data)
        assert self.normal(hot) == self.normal(cold), f"{method} {path} {headers}"
        assert served in (0, 1)
        if cookie is not None:
            self.seen.add(cookie)
        new = _session_cookie(hot)
        if new is not None:
            self.cookie = new
        return hot, bool(served)

    def start(self, page: str = f"{BROKER}?step=0") -> str:
        """A new learner's first page on the hot site, the same page on the cold one with its cookie, then a click.

        The click goes to Flask on the hot site too (its first sight of the cookie, which it then remembers).
        """
        first = self.clients[0].get(page)
        cookie = _session_cookie(first)
        assert first.status_code == 200 and cookie is not None
        self.cookie = cookie
        who = _payload(self.hot, cookie)["learner"]
        self.learners[who] = f"learner {len(self.learners) + 1}"
        assert self.clients[1].get(page, headers={"Cookie": f"session={cookie}"}).status_code == 200
        assert not self.send(page, CLICK)[1]
        return str(who)

    def normal(self, response: TestResponse) -> tuple[str, list[tuple[str, str]], bytes]:
        """What must be equal: the status, every header in order, the body.

        Only what each site makes fresh per request is put in a comparable form: a new session
        cookie (signed at this second, for a learner each site draws at random) by its payload, and
        a gzip header's time of compression.
        """
        headers = []
        for name, value in response.headers.to_wsgi_list():
            if name == "Set-Cookie" and value.startswith("session="):
                signed, _, rest = value.partition(";")
                payload = _payload(self.hot, signed.removeprefix("session="))
                if "learner" in payload:
                    payload["learner"] = self.learners.get(payload["learner"], "a new learner")
                value = json.dumps(payload, sort_keys=True) + re.sub(r" Expires=[^;]*;", "", rest)
            headers.append((name, value))
        body = response.get_data()
        if body[:2] == b"\x1f\x8b":
            body = body[:4] + bytes(4) + body[8:]  # gzip's MTIME
        return response.status, headers, body

    def rows(self, app: Flask) -> dict[str, list[tuple[Any, ...]]]:
        """Every progress row the site wrote, but the times it wrote them."""
        name = self.learners.get
        with app.extensions["tutor.db"].connect() as connection:
            steps = connection.execute(sqlalchemy.select(db.steps)).all()
            answers = connection.execute(sqlalchemy.select(db.answers).order_by(db.answers.c.id)).all()
            runs = connection.execute(sqlalchemy.select(db.own_runs)).all()
        return {
            "steps": sorted(
                (name(r.learner, r.learner), r.lesson, r.walkthrough, r.current, r.furthest) for r in steps
            ),
            "answers": [
                (name(r.learner, r.learner), r.lesson, r.quiz, r.question, r.choices, r.correct) for r in answers
            ],
            "runs": sorted((name(r.learner, r.learner), r.lesson, r.walkthrough, r.log) for r in runs),
        }

    def progress_in(self, lesson_id: str, app: Flask | None = None) -> dict[str, tuple[int, int]]:
        """The current learner's (current, furthest) step in each step-through of a lesson, on one site."""
        who = _payload(self.hot, str(self.cookie))["learner"]
        steps = progress.SqlStore((app or self.hot).extensions["tutor.db"], keep=False).steps(who, lesson_id)
        return {slug: (saved.current, saved.furthest) for slug, saved in steps.items()}

    def decided(self, lesson_id: str, walk: StepThrough) -> frozenset[int]:
        """The predictions of a step-through the current learner answered or skipped."""
        who = self.learners[_payload(self.hot, str(self.cookie))["learner"]]
        name = quiz.quiz_name(walk)
        return frozenset(
            q
            for w, lesson, in_quiz, q, *_ in self.rows(self.hot)["answers"]
            if (w, lesson, in_quiz) == (who, lesson_id, name)
        )

    def same_progress(self) -> None:
        assert self.rows(self.hot) == self.rows(self.cold)

    def csrf(self, path: str) -> str:
        page, _ = self.send(path)
        token = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True))
        assert token is not None
        return html.unescape(token.group(1))


def _session_cookie(response: TestResponse) -> str | None:
    for value in response.headers.getlist("Set-Cookie"):
        if value.startswith("session="):
            return value.partition(";")[0].removeprefix("session=")
    return None


def _payload(app: Flask, cookie: str) -> dict[str, Any]:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(cookie))


def _signed(app: Flask, data: dict[str, Any], at: float | None = None, monkeypatch: Any = None) -> str:
    """A session cookie as the site signs it (at time `at`, when given)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    if at is None:
        return str(serializer.dumps(data))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: at)
        return str(serializer.dumps(data))


def _asked(walk: StepThrough) -> list[int]:
    return [q.ask_before_step for q in walk.quiz if q.ask_before_step]


def plain_click_is_hot(
    walk: StepThrough, step: int, locked: str | None, decided: frozenset[int] = frozenset(), just: bool = False
) -> bool:
    """The rule of tutor/clickpath.py, written out again: which clicks of a learner without a run skip Flask.

    `decided`: the walk's predictions this learner answered or skipped; `just`: their cookie holds the
    mark of a prediction just committed.
    """
    asked = _asked(walk)
    if any(at in (step, step + 1) for at in asked):  # a prediction is asked before the next step, or graded here
        if just:
            return False  # Flask takes the mark out of the cookie
        if any(q.ask_before_step == step + 1 < len(walk.steps) + 1 and q.number not in decided for q in walk.quiz):
            return False  # the question is held in place of Next: its form is Flask's
    if not any(at <= step for at in asked):
        return True
    if locked is None or not re.fullmatch(r"[0-9]{1,6}(?: [0-9]{1,6}){0,63}|", locked):
        return False
    return not any(at <= step for at in asked if str(at) in locked.split())


def _walk_url(lesson_id: str, index: int, slug: str) -> str:
    return f"/lessons/{lesson_id}/step-through" + ("" if index == 0 else f"/{slug}")


def _every_click(twin: Twin, own_runs: set[str]) -> tuple[int, int, int]:
    """Every step of every step-through, in four header variants.

    (clicks the path took, clicks expected, of those taken the ones at step N-1 or N of a prediction).
    """
    taken = expected = at_predictions = 0
    for lesson in twin.hot.extensions["tutor.catalog"].lessons():
        for index, walk in enumerate(lesson.step_throughs):
            url = _walk_url(lesson.id, index, walk.slug)
            every = " ".join(str(at) for at in _asked(walk))
            decided = twin.decided(lesson.id, walk)
            for step in range(len(walk.steps) + 1):
                for locked, gzipped in ((None, True), ("", False), (every, True), ("x1", False)):
                    headers = {**CLICK, **({"Accept-Encoding": "gzip"} if gzipped else {})}
                    if locked is not None:
                        headers[LOCKED] = locked
                    known = twin.cookie in twin.seen
                    just = "just_predicted" in _payload(twin.hot, str(twin.cookie))
                    response, served = twin.send(f"{url}?step={step}", headers)
                    assert response.status_code == 200
                    hot = (
                        known
                        and f"{lesson.id}/{walk.slug}" not in own_runs
                        and plain_click_is_hot(walk, step, locked, decided, just)
                    )
                    assert served == hot, f"{url}?step={step} {headers}: served {served}, expected {hot}"
                    if served:  # its write is the one Flask makes: this step is the current one on both sites
                        mine = twin.progress_in(lesson.id)
                        assert mine == twin.progress_in(lesson.id, twin.cold) and mine[walk.slug][0] == step
                    taken += served
                    expected += hot
                    at_predictions += served and any(at in (step, step + 1) for at in _asked(walk))
    return taken, expected, at_predictions


@pytest.fixture
def twin(tmp_path: Path) -> Twin:
    """A hot and a cold site on redis-broker alone."""
    return Twin(_site(tmp_path, hot=True), _site(tmp_path, hot=False))


@pytest.fixture
def every_lesson_twin(tmp_path: Path) -> Twin:
    """A hot and a cold site on every lesson in lessons/: every click of the real curriculum."""
    return Twin(_site(tmp_path, hot=True, lessons=LESSONS), _site(tmp_path, hot=False, lessons=LESSONS))


def test_every_click_of_a_new_learner_is_answered_as_flask_answers_it(every_lesson_twin: Twin) -> None:
    twin = every_lesson_twin
    twin.start()
    taken, expected, at_predictions = _every_click(twin, own_runs=set())
    assert taken == expected and expected > 400  # 407 of the 856 clicks (every step, four variants)
    assert at_predictions > 20  # 28: step N of every prediction (nothing graded, nothing held there)
    twin.same_progress()


def test_every_click_of_a_learner_with_graded_and_held_predictions_is_answered_as_flask_answers_it(
    every_lesson_twin: Twin,
) -> None:
    twin = every_lesson_twin
    twin.start()
    lesson = twin.hot.extensions["tutor.catalog"].get("redis-broker")
    question = next(q for q in lesson.step_throughs[0].quiz if q.ask_before_step == 5)
    for step in range(5):
        twin.send(f"{BROKER}?step={step}", CLICK)
    token = twin.csrf(f"{BROKER}?step=4")
    form = {"csrf": token, "quiz": "step-through:main", "question": str(question.number), "choice": "0"}
    assert twin.send("/lessons/redis-broker/quiz/predict", method="POST", data=form)[0].status_code == 303
    assert "just_predicted" in _payload(twin.hot, str(twin.cookie))  # its grade is shown (and focused) next
    for step in range(8):  # up to the prediction asked before step 8 of two-workers: held there
        twin.send(f"{BROKER}/two-workers?step={step}", CLICK)
    focused, served = twin.send(f"{BROKER}?step=5", CLICK)  # the verdict takes the focus, the mark leaves the cookie
    assert not served and "autofocus" in focused.get_data(as_text=True)
    assert "just_predicted" not in _payload(twin.hot, str(twin.cookie))
    twin.send(f"{BROKER}?step=5", {**CLICK, LOCKED: ""})  # the grade alone (no quiz section): kept from now on
    taken, expected, at_predictions = _every_click(twin, own_runs=set())
    assert taken == expected and expected > 400
    assert at_predictions > 20  # the graded step 5 and the decided step 4 of main among them
    twin.same_progress()
    assert twin.rows(twin.hot)["answers"]  # the prediction was written, on both sites alike


def test_every_click_of_a_learner_with_an_own_run_is_answered_as_flask_answers_it(every_lesson_twin: Twin) -> None:
    twin = every_lesson_twin
    twin.start()
    token = twin.csrf(f"{BROKER}?step=3")
    form = {"csrf": token, "step": "3", "actor": "producer", "command": "LPUSH queue own-marker"}
    response, _ = twin.send(f"{BROKER}/console", CLICK, method="POST", data=form)
    assert response.status_code == 200
    assert _payload(twin.hot, str(twin.cookie))["runs"] == ["redis-broker/main"]
    taken, expected, _ = _every_click(twin, own_runs={"redis-broker/main"})
    assert taken == expected and expected > 300
    twin.same_progress()
    assert twin.rows(twin.hot)["runs"]  # the run was kept, on both sites alike


def test_a_click_not_kept_yet_is_rendered_by_flask_and_then_taken_from_the_kept_bytes(tmp_path: Path) -> None:
    twin = Twin(_site(tmp_path, hot=True, warm=False), _site(tmp_path, hot=False, warm=False))
    twin.start()  # its click kept step 0, and Flask remembered the cookie
    first, second = twin.send(f"{BROKER}?step=3", CLICK), twin.send(f"{BROKER}?step=3", CLICK)
    assert (first[1], second[1]) == (False, True)
    twin.same_progress()


def test_the_first_step_through_by_its_long_address_is_answered_as_by_its_short_one(twin: Twin) -> None:
    twin.start()
    short, served_short = twin.send(f"{BROKER}?step=2", CLICK)
    long, served_long = twin.send(f"{BROKER}/main?step=2", CLICK)  # Flask routes both to the first step-through
    assert served_short and served_long and long.get_data() == short.get_data()
    twin.same_progress()


@pytest.mark.parametrize(
    ("path", "headers", "method", "status"),
    [
        ("/lessons/no-such-lesson/step-through?step=1", CLICK, "GET", 404),
        (f"{BROKER}/no-such-walk?step=1", CLICK, "GET", 404),
        (f"{BROKER}/?step=1", CLICK, "GET", 404),
        (f"{BROKER}?step=abc", CLICK, "GET", 400),
        (f"{BROKER}?step=1234567", CLICK, "GET", 400),
        (f"{BROKER}?step=99", CLICK, "GET", 200),  # beyond the last step: HX-Push-Url
        (f"{BROKER}?step=1&step=2", CLICK, "GET", 200),
        (f"{BROKER}", CLICK, "GET", 200),  # no ?step=: the saved step
        (f"{BROKER}?step=1", {}, "GET", 200),  # a page
        (f"{BROKER}?step=1", {**CLICK, "HX-History-Restore-Request": "true"}, "GET", 200),
        (f"{BROKER}?step=1", CLICK, "POST", 405),
        (f"{BROKER}?step=1", CLICK, "HEAD", 200),
        (f"{BROKER}/console?step=1", CLICK, "GET", 404),
    ],
)
def test_what_is_not_a_plain_click_goes_to_flask(
    twin: Twin, path: str, headers: dict[str, str], method: str, status: int
) -> None:
    twin.start()
    assert twin.send(f"{BROKER}?step=2", CLICK)[1]  # a known cookie, a kept click: the path is open to it
    response, served = twin.send(path, headers, method=method)
    assert response.status_code == status and not served
    if path.endswith("step=99"):
        assert response.headers["HX-Push-Url"] == f"{BROKER}?step=5"
    twin.same_progress()


def test_a_click_without_a_cookie_gets_a_new_learner_from_flask(twin: Twin) -> None:
    twin.start()
    twin.cookie = None
    response, served = twin.send(f"{BROKER}?step=2", CLICK)
    assert not served and response.status_code == 200 and _session_cookie(response) is not None


def test_a_forged_or_foreign_cookie_goes_to_flask_every_time(twin: Twin) -> None:
    who = twin.start()
    valid = str(twin.cookie)
    payload, _, signature = valid.rpartition(".")
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    other = Flask("other")
    other.secret_key = "not-the-site's"
    foreign = _signed(other, {"learner": who, "runs": []})
    for cookie in (forged, forged, foreign, foreign):
        twin.cookie = cookie
        response, served = twin.send(f"{BROKER}?step=2", CLICK)
        assert not served and _session_cookie(response) is not None  # refused: a new learner


def test_an_expired_cookie_goes_to_flask(twin: Twin) -> None:
    who = twin.start()
    lifetime = twin.hot.permanent_session_lifetime.total_seconds()
    expired = _signed(twin.hot, {"learner": who, "runs": [], "_permanent": True}, at=time.time() - lifetime - 60)
    for _ in range(2):
        twin.cookie = expired
        response, served = twin.send(f"{BROKER}?step=2", CLICK)
        assert not served and _payload(twin.hot, str(_session_cookie(response)))["learner"] != who


def test_a_cookie_due_to_be_signed_again_goes_to_flask_which_signs_it(twin: Twin) -> None:
    who = twin.start()
    old = _signed(twin.hot, {"learner": who, "runs": [], "_permanent": True}, at=time.time() - 2 * 24 * 3600)
    for _ in range(2):
        twin.cookie = old
        response, served = twin.send(f"{BROKER}?step=2", CLICK)
        assert not served and _payload(twin.hot, str(_session_cookie(response)))["learner"] == who
    known = twin.cookie in twin.seen  # the fresh cookie: as the first one, if signed in the same second
    assert twin.send(f"{BROKER}?step=2", CLICK)[1] == known  # else first seen by Flask
    assert twin.send(f"{BROKER}?step=3", CLICK)[1]  # then the path again


def test_a_cookie_without_a_learner_or_without_the_list_of_runs_goes_to_flask(twin: Twin) -> None:
    who = twin.start()
    for payload in ({"learner": "short", "runs": []}, {"learner": who}, {"learner": who, "runs": "x"}):
        cookie = _signed(twin.hot, {**payload, "_permanent": True})
        for _ in range(2):  # the second time Flask has verified it: still not one the path may answer
            twin.cookie = cookie
            response, served = twin.send(f"{BROKER}?step=2", CLICK)
            assert not served and _session_cookie(response) is not None  # a new learner, or the runs filled in


def test_the_click_path_is_off_with_tutor_hot_clicks_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lessons = str(_broker_only(tmp_path))
    monkeypatch.setenv("TUTOR_HOT_CLICKS", "0")
    app = create_app({"TUTOR_LESSONS": lessons, "TUTOR_DATABASE": str(tmp_path / "t.sqlite3"), "SECRET_KEY": "s"})
    assert "tutor.clickpath" not in app.extensions and not isinstance(app.wsgi_app, ClickPath)
    monkeypatch.setenv("TUTOR_HOT_CLICKS", "1")
    app = create_app({"TUTOR_LESSONS": lessons, "TUTOR_DATABASE": str(tmp_path / "u.sqlite3"), "SECRET_KEY": "s"})
    assert isinstance(app.wsgi_app, ClickPath)


def test_one_learners_own_run_and_prediction_never_appear_in_anothers_hot_click(twin: Twin) -> None:
    own = twin.start()
    token = twin.csrf(f"{BROKER}?step=3")
    form = {"csrf": token, "step": "3", "actor": "producer", "command": "LPUSH queue leak-marker"}
    assert twin.send(f"{BROKER}/console", CLICK, method="POST", data=form)[0].status_code == 200
    twin.send(f"{BROKER}?step=4", CLICK)
    walk = twin.hot.extensions["tutor.catalog"].get("redis-broker").step_throughs[0]
    question = next(q for q in walk.quiz if q.ask_before_step == 5)
    predict = {"csrf": twin.csrf(f"{BROKER}?step=4"), "quiz": "step-through:main", "question": str(question.number)}
    twin.send("/lessons/redis-broker/quiz/predict", method="POST", data={**predict, "choice": "0"})
    first = str(twin.cookie)
    other = twin.start()
    second = str(twin.cookie)
    assert other != own and second in twin.seen
    for step in (1, 2, 3, 4, 3, 2):
        for cookie in (first, second):
            twin.cookie = cookie
            known = cookie in twin.seen
            response, served = twin.send(f"{BROKER}?step={step}", {**CLICK, LOCKED: ""})
            text = response.get_data(as_text=True)
            # the first learner has a run here: never the path; step 4 is held for the prediction: never either
            assert served == (known and cookie == second and step != 4)
            if cookie == second:
                assert "leak-marker" not in text and "Your prediction" not in text
            elif step >= 3:
                assert "leak-marker" in text
    twin.same_progress()


def _statements(app: Flask) -> list[tuple[str, bool]]:
    """Every statement sent from now on, and whether the driver's connection was in autocommit."""
    sent: list[tuple[str, bool]] = []

    def autocommit(driver_connection: Any) -> bool:
        if isinstance(driver_connection, sqlite3.Connection):
            return driver_connection.isolation_level is None
        return bool(driver_connection.autocommit)

    def record(_connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append((statement.split()[0], autocommit(cursor.connection)))

    sqlalchemy.event.listen(app.extensions["tutor.db"], "before_cursor_execute", record)
    return sent


def _learner_click(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert client.get(f"{BROKER}?step=1").status_code == 200
    assert client.get(f"{BROKER}?step=1", headers=CLICK).status_code == 200  # the cookie verified by Flask
    return client


def test_a_hot_click_sends_one_upsert_in_autocommit_and_gives_its_connection_back(
    tmp_path: Path, database_url: str
) -> None:
    app = _site(tmp_path, hot=True, database_url=database_url)
    client = _learner_click(app)
    sent = _statements(app)
    pool = app.extensions["tutor.db"].pool
    served = _path(app).served
    assert client.get(f"{BROKER}?step=3", headers=CLICK).status_code == 200
    assert _path(app).served == served + 1
    assert sent == [("INSERT", True)]
    assert pool.checkedout() == 0
    with client.session_transaction() as session:
        who = session["learner"]
    steps = progress.SqlStore(app.extensions["tutor.db"], keep=False).steps(who, "redis-broker")
    assert (steps["main"].current, steps["main"].furthest) == (3, 3)
    app.extensions["tutor.db"].dispose()


def test_a_hot_click_whose_write_fails_is_answered_by_flask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    twin = Twin(_site(tmp_path, hot=True), _site(tmp_path, hot=False))
    twin.start()
    assert twin.send(f"{BROKER}?step=1", CLICK)[1]  # the path takes a click of this learner
    record = progress.SqlStore.record_step
    calls: list[int] = []

    def fails_once(self: progress.SqlStore, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("the database is gone"))
        record(self, *args, **kwargs)

    monkeypatch.setattr(progress.SqlStore, "record_step", fails_once)
    response, served = twin.send(f"{BROKER}?step=2", CLICK)
    assert response.status_code == 200 and not served
    assert len(calls) == 3  # the path's write failed, Flask wrote it (and the cold site's Flask)
    twin.same_progress()
    assert ("learner 1", "redis-broker", "main", 2, 2) in twin.rows(twin.hot)["steps"]


@pytest.mark.postgres
def test_a_hot_click_on_a_connection_postgresql_dropped_is_sent_again_once(tmp_path: Path, postgres_url: str) -> None:
    app = _site(tmp_path, hot=True, database_url=postgres_url)
    client = _learner_click(app)
    admin = sqlalchemy.create_engine(db.normalise_url(postgres_url), poolclass=sqlalchemy.NullPool)
    with admin.connect() as connection:
        dropped = connection.execute(
            sqlalchemy.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert dropped >= 1  # the pool's idle connection is gone: a restart looks the same
    sent = _statements(app)
    served = _path(app).served
    assert client.get(f"{BROKER}?step=2", headers=CLICK).status_code == 200
    assert _path(app).served == served + 1  # answered by the path, not by Flask after a failure
    assert [what for what, _ in sent] == ["INSERT", "INSERT"]  # the dead connection's, and once more
    with client.session_transaction() as session:
        who = session["learner"]
    assert progress.SqlStore(app.extensions["tutor.db"], keep=False).steps(who, "redis-broker")["main"].current == 2
    admin.dispose()
    app.extensions["tutor.db"].dispose()


def _predict_at_step_5(twin: Twin, skip: bool) -> str:
    """A new learner walks to step 4 of main, predicts (or skips) the question asked before step 5, sees step 5."""
    twin.start()
    for step in range(1, 5):
        twin.send(f"{BROKER}?step={step}", CLICK)
    walk = twin.hot.extensions["tutor.catalog"].get("redis-broker").step_throughs[0]
    question = next(q for q in walk.quiz if q.ask_before_step == 5)
    form = {"csrf": twin.csrf(f"{BROKER}?step=4"), "quiz": "step-through:main", "question": str(question.number)}
    form.update({"skip": "1"} if skip else {"choice": "0"})
    assert twin.send("/lessons/redis-broker/quiz/predict", method="POST", data=form)[0].status_code == 303
    twin.send(f"{BROKER}?step=5", CLICK)  # the verdict with the focus: the mark leaves the cookie
    return str(twin.cookie)


def test_one_learners_prediction_and_grade_never_appear_in_anothers_hot_click(twin: Twin) -> None:
    predicted = _predict_at_step_5(twin, skip=False)
    skipped = _predict_at_step_5(twin, skip=True)
    twin.start()
    for step in range(1, 4):
        twin.send(f"{BROKER}?step={step}", CLICK)
    undecided = str(twin.cookie)
    marks = {predicted: "Your prediction:", skipped: "Prediction skipped.", undecided: None}
    for round_ in range(2):
        for cookie, mark in marks.items():
            twin.cookie = cookie
            response, served = twin.send(f"{BROKER}?step=5", {**CLICK, LOCKED: ""})
            text = response.get_data(as_text=True)
            assert served or round_ == 0  # the first grade (or the first plain step 5) is kept by Flask's render
            for other in marks.values():
                assert (other is not None and other in text) == (other is not None and other == mark)
            assert ('id="prediction-result"' in text) == (mark is not None)
    twin.same_progress()
    assert len(twin.rows(twin.hot)["answers"]) == 2


def test_a_hot_prediction_click_reads_with_its_upsert_one_statement_on_postgresql(
    tmp_path: Path, database_url: str
) -> None:
    app = _site(tmp_path, hot=True, database_url=database_url)
    client = _learner_click(app)
    assert client.get(f"{BROKER}?step=5", headers={**CLICK, LOCKED: ""}).status_code == 200  # keeps step 5's click
    sent = _statements(app)
    pool = app.extensions["tutor.db"].pool
    served = _path(app).served
    assert client.get(f"{BROKER}?step=5", headers={**CLICK, LOCKED: ""}).status_code == 200
    assert _path(app).served == served + 1
    if app.extensions["tutor.db"].dialect.name == "postgresql":
        assert sent == [("WITH", True)]  # the upsert as a CTE, the learner's lesson read beside it
    else:
        assert sent == [("INSERT", True), ("SELECT", True)]
    assert pool.checkedout() == 0
    app.extensions["tutor.db"].dispose()


def test_a_held_question_click_is_written_and_read_once_and_flask_renders_the_form(
    tmp_path: Path, database_url: str
) -> None:
    """At step N-1 of an unanswered prediction the path writes the step and reads the lesson, then leaves the form to
    Flask, whose store starts from both (progress.HANDED_OVER): no second upsert, no second read."""
    app = _site(tmp_path, hot=True, database_url=database_url)
    client = _learner_click(app)
    held = {**CLICK, LOCKED: ""}
    first = client.get(f"{BROKER}?step=4", headers=held)  # step 4 of redis-broker holds the question of step 5
    assert first.status_code == 200 and 'id="predict-' in first.get_data(as_text=True)
    sent = _statements(app)
    served = _path(app).served
    again = client.get(f"{BROKER}?step=4", headers=held)
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert _path(app).served == served  # Flask answered: the form carries the learner's token
    if app.extensions["tutor.db"].dialect.name == "postgresql":
        assert sent == [("WITH", True)]  # the path's upsert with the lesson's read; nothing from Flask
    else:
        assert sent == [("INSERT", True), ("SELECT", True)]
    with client.session_transaction() as session:
        who = session["learner"]
    steps = progress.SqlStore(app.extensions["tutor.db"], keep=False).steps(who, "redis-broker")
    assert (steps["main"].current, steps["main"].furthest) == (4, 4)
    app.extensions["tutor.db"].dispose()
