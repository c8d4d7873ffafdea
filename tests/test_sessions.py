"""The session cookie's check, remembered per cookie string (tutor/web.py): as strict as Flask's own."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from tutor import web

LEARNER = "a" * 43


def _cookie(app: Flask, data: dict[str, Any]) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return str(serializer.dumps(data))


def _open(app: Flask, cookie: str) -> dict[str, Any]:
    with app.test_request_context(headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}) as context:
        session = app.session_interface.open_session(app, context.request)
        assert session is not None
        return dict(session)


def test_a_valid_cookie_opens_the_same_session_every_time(app: Flask) -> None:
    cookie = _cookie(app, {"learner": LEARNER})
    assert _open(app, cookie) == {"learner": LEARNER}
    assert _open(app, cookie) == {"learner": LEARNER}  # the remembered check


def test_a_forged_cookie_is_refused_every_time(app: Flask) -> None:
    cookie = _cookie(app, {"learner": LEARNER})
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert _open(app, forged) == {}
    assert _open(app, forged) == {}
    other_key = Flask("other")
    other_key.secret_key = "not-the-site's"
    assert _open(app, _cookie(other_key, {"learner": LEARNER})) == {}


def test_a_remembered_cookie_is_refused_once_it_is_older_than_the_session_lifetime(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = _cookie(app, {"learner": LEARNER})
    assert _open(app, cookie) == {"learner": LEARNER}
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 5
    monkeypatch.setattr(web.time, "time", lambda: later)
    assert _open(app, cookie) == {}


def test_a_change_to_one_requests_session_does_not_reach_the_next_one(app: Flask) -> None:
    cookie = _cookie(app, {"learner": LEARNER, "runs": ["redis-broker/main"]})
    with app.test_request_context(headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}) as context:
        session = app.session_interface.open_session(app, context.request)
        assert session is not None
        session["runs"].append("changed/in-place")
        session["learner"] = "someone-else"
    assert _open(app, cookie) == {"learner": LEARNER, "runs": ["redis-broker/main"]}


def test_a_new_secret_key_refuses_cookies_remembered_under_the_old_one(app: Flask) -> None:
    cookie = _cookie(app, {"learner": LEARNER})
    assert _open(app, cookie) == {"learner": LEARNER}
    app.secret_key = "rotated"
    assert _open(app, cookie) == {}


def test_a_kept_click_varies_on_the_cookie_and_sends_none_back(app: Flask) -> None:
    client = app.test_client()
    walk = "/lessons/redis-broker/step-through"
    page = client.get(f"{walk}?step=1")
    assert page.status_code == 200 and "Set-Cookie" in page.headers  # the learner's id, signed
    click = client.get(f"{walk}?step=2", headers={"HX-Request": "true"})
    assert click.status_code == 200 and "Set-Cookie" not in click.headers
    assert {"Cookie", "HX-Request", "Accept-Encoding"} <= set(click.vary)


def test_the_csrf_token_computed_once_per_request_follows_the_learner_id(app: Flask) -> None:
    """csrf_token() is kept for the rest of a request per learner id: another id in the session gets its own."""
    import hashlib
    import hmac

    from flask import session

    from tutor import learner

    def expected(who: str) -> str:
        return hmac.new(b"test-secret", b"csrf:" + who.encode(), hashlib.sha256).hexdigest()

    with app.test_request_context():
        token = learner.csrf_token()  # makes the learner's id
        made = learner.current()
        assert made is not None and token == expected(made) and learner.csrf_token() == token
        session["learner"] = LEARNER
        assert learner.csrf_token() == expected(LEARNER) != token
    with app.test_request_context():  # a new request, a new learner: nothing kept from the last one
        again = learner.csrf_token()
        assert again == expected(str(learner.current())) and again not in (token, expected(LEARNER))
