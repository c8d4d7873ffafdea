"""Who the learner is: a long random id in Flask's signed session cookie, and CSRF tokens for forms.

The id is the only thing the cookie carries; everything about the learner lives in the progress
store, so any app process can serve them. The CSRF token is derived from the id and the secret
key, so every process computes the same one without storing it.

Flask signs the cookie again on every request of a permanent session, to push its expiry on: that
was a fifth of a step click's cost. Here it is signed again when it changed, or when the signature
is more than a day old: the year's lifetime still runs from the learner's last visit, within a day.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from flask import Flask, Request, current_app, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature

REFRESH_AFTER_SECONDS = 24 * 60 * 60

_ID = re.compile(r"^[A-Za-z0-9_\-]{32,64}$")


def init_app(app: Flask) -> None:
    """Make csrf_token() available to templates; sign the session cookie only when it needs it."""
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.session_interface = LearnerSessionInterface()


class LearnerSession(SecureCookieSession):
    """Flask's cookie session, knowing when its signature was made (0: a new session)."""

    signed_at: float = 0.0


class LearnerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, set again only when changed or a day old (not on every request)."""

    session_class = LearnerSession

    def open_session(self, app: Flask, request: Request) -> LearnerSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return LearnerSession()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return LearnerSession()
        opened = LearnerSession(data)
        opened.signed_at = signed.timestamp()
        return opened

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = session.signed_at if isinstance(session, LearnerSession) else 0.0
        return time.time() - signed_at > REFRESH_AFTER_SECONDS


def current(create: bool = True) -> str | None:
    """The learner's id; a new one is made (and the cookie set) on first need."""
    learner = session.get("learner")
    if isinstance(learner, str) and _ID.match(learner):
        return learner
    if not create:
        return None
    learner = secrets.token_urlsafe(32)
    session["learner"] = learner
    session.permanent = True
    return learner


def csrf_token() -> str:
    """The token a form of this learner must send back."""
    learner = current() or ""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"csrf:" + learner.encode(), hashlib.sha256).hexdigest()


def csrf_ok(token: str | None) -> bool:
    """True when a submitted token belongs to this learner and this site."""
    if not token or current(create=False) is None:
        return False
    # compare_digest refuses non-ASCII str (TypeError): compare bytes, so a forged token is a 400, not a 500.
    return hmac.compare_digest(token.encode("utf-8", "surrogateescape"), csrf_token().encode())
