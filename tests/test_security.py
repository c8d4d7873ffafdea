"""What a deployed site owes its learners: security headers on every response, no secret in a page, a
body limit, an owner-only secret key file, forged tokens answered with 400, and Vary: HX-Request
wherever the answer depends on it."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from conftest import LESSONS, free_port
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app
from tutor.limits import LIMITS
from tutor.urls import mask
from tutor.web import SECURITY_HEADERS

ROOT = Path(__file__).resolve().parent.parent
STEPPER = "/lessons/redis-broker/step-through"
HTMX = {"HX-Request": "true"}


def _csrf(client: FlaskClient) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(f"{STEPPER}?step=1").get_data(as_text=True))
    assert match
    return match.group(1)


@pytest.mark.parametrize(
    ("method", "url", "headers", "status"),
    [
        ("GET", "/", {}, 200),
        ("GET", f"{STEPPER}?step=2", {}, 200),
        ("GET", f"{STEPPER}?step=2", HTMX, 200),
        ("GET", "/lessons/nope/", {}, 404),
        ("GET", "/lessons/nope/", HTMX, 404),
        ("GET", "/static/style.css", {}, 200),
        ("GET", "/api/lessons/redis-broker/trace", {}, 200),
        ("POST", "/lessons/redis-broker/quiz/answer", {}, 400),
    ],
)
def test_every_response_carries_the_security_headers(
    client: FlaskClient, method: str, url: str, headers: dict[str, str], status: int
) -> None:
    response = client.open(url, method=method, headers=headers)
    response.close()
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self'") and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_no_template_has_an_inline_script_style_or_handler() -> None:
    for template in (ROOT / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", text), template.name


def test_the_lane_classes_cover_every_lane_a_lesson_may_have() -> None:
    css = (ROOT / "static" / "style.css").read_text(encoding="utf-8")
    lanes = LIMITS.actors + 1  # every actor, and Redis
    for n in range(1, lanes + 1):
        for rule in (f".lanes-{n} ", f".col-from-{n} ", f".col-to-{n + 1} ", f".span-{n} "):
            assert rule in css, rule


def test_the_503_page_names_the_redis_server_but_never_its_password(tmp_path: Path) -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"  # nobody listens there
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(LESSONS),
            "TUTOR_DATABASE": str(tmp_path / "t.sqlite3"),
            "SECRET_KEY": "s",
            "REDIS_URL": url,
        }
    )
    try:
        response = app.test_client().get(f"{STEPPER}?step=1")
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert "s3cret-pass" not in page
        assert f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}" in page and "***" in page
    finally:
        app.extensions["tutor.backend"].close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://user:pw@host:6380", "rediss://user:***@host:6380"),
        ("redis://pw@host", "redis://***@host"),
        ("unix:///run/redis.sock?db=0&password=pw", "unix:///run/redis.sock?db=0&password=***"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("postgresql+psycopg://tutor:pw@db/tutor", "postgresql+psycopg://tutor:***@db/tutor"),
    ],
)
def test_mask_hides_every_password_and_keeps_the_rest(url: str, shown: str) -> None:
    assert mask(url) == shown


def test_a_body_over_the_limit_gets_413_with_a_sentence(client: FlaskClient, app: Flask) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 64 * 1024
    response = client.post("/lessons/redis-broker/quiz/answer", data={"choice": "x" * (limit + 1)})
    assert response.status_code == 413
    assert "64 KiB" in response.get_data(as_text=True)


def test_a_form_under_the_limit_is_read_as_usual(client: FlaskClient) -> None:
    token = _csrf(client)
    data = {"csrf": token, "quiz": "step-through:main", "question": "1", "choice": "0", "pad": "y" * 30_000}
    assert client.post("/lessons/redis-broker/quiz/answer", data=data).status_code != 413


@pytest.mark.parametrize("token", ["é", "\u2603" * 64, "%C3%A9", "%FF%FE"])
@pytest.mark.parametrize("url", ["/lessons/redis-broker/quiz/answer", "/lessons/redis-broker/quiz/hint"])
def test_a_non_ascii_csrf_token_is_a_400_not_a_500(client: FlaskClient, url: str, token: str) -> None:
    _csrf(client)  # the learner exists
    # Sent as the raw body a browser or a script would send: %FF%FE is not even UTF-8.
    body = f"csrf={token}&quiz=step-through%3Amain&question=1&choice=0".encode()
    response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)


def test_the_instance_secret_key_is_readable_by_its_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTOR_SECRET_KEY", raising=False)
    monkeypatch.setenv("TUTOR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setattr("os.umask", lambda mask: 0)  # not needed by os.open's mode; shows no umask is relied on
    first = create_app({"TESTING": True, "TUTOR_LESSONS": str(LESSONS), "REDIS_URL": None})
    key = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    second = create_app({"TESTING": True, "TUTOR_LESSONS": str(LESSONS), "REDIS_URL": None})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key.read_text()
    assert len(first.config["SECRET_KEY"]) == 64


def test_processes_starting_at_once_agree_on_one_complete_secret_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tutor.config import _instance_secret

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: _instance_secret(tmp_path / "instance"), range(32)))
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert [p.name for p in (tmp_path / "instance").iterdir()] == ["secret_key"]  # no draft left


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("GET", f"{STEPPER}?step=1", None),
        ("GET", "/lessons/nope/", None),
        ("POST", "/lessons/redis-broker/quiz/hint", {"quiz": "step-through:main", "question": "1"}),
        ("POST", "/lessons/redis-broker/quiz/answer", {"quiz": "step-through:main", "question": "1", "choice": "0"}),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_every_answer_that_depends_on_hx_request_says_vary(
    client: FlaskClient, method: str, url: str, data: dict[str, str] | None, htmx: bool
) -> None:
    token = _csrf(client)
    form = {"csrf": token, **data} if data is not None else None
    response = client.open(url, method=method, data=form, headers=HTMX if htmx else {})
    assert response.status_code in (200, 303, 404)
    assert "HX-Request" in response.headers.get("Vary", "")


def test_a_tampered_session_cookie_makes_a_new_learner(client: FlaskClient) -> None:
    client.get(f"{STEPPER}?step=1")
    with client.session_transaction() as session:
        before = session["learner"]
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.set_cookie("session", cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB"))
    response = client.get(f"{STEPPER}?step=1")
    assert "session=" in response.headers.get("Set-Cookie", "")
    with client.session_transaction() as session:
        assert session["learner"] != before
