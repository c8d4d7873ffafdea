"""Who the learner is: a long random id in Flask's signed session cookie, and CSRF tokens for forms.

The id is the only thing the cookie carries; everything about the learner lives in the progress
store, so any app process can serve them. The CSRF token is derived from the id and the secret
key, so every process computes the same one without storing it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, request, session

from tutor import progress

_ID = re.compile(r"^[A-Za-z0-9_\-]{32,64}$")


def init_app(app: Flask) -> None:
    """Make csrf_token() available to templates."""
    app.jinja_env.globals["csrf_token"] = csrf_token


def current(create: bool = True) -> str | None:
    """The learner's id; a new one is made (and the cookie set) on first need."""
    learner = id_in(session)
    if learner is not None:
        return learner
    if not create:
        return None
    learner = secrets.token_urlsafe(32)
    session["learner"] = learner
    session.permanent = True
    g.new_learner = learner
    progress.store().mark_new(learner)
    return learner


def id_in(cookie: Mapping[str, Any]) -> str | None:
    """The learner id a session cookie's payload holds, if it is a well-formed one."""
    learner = cookie.get("learner")
    if isinstance(learner, str) and _ID.match(learner):
        return learner
    return None


def made_now() -> str | None:
    """The id this request made for a learner who came without one: nothing can be stored under it yet."""
    made: str | None = g.get("new_learner")
    return made


def csrf_token() -> str:
    """The token a form of this learner must send back (computed once per request and learner id)."""
    learner = current() or ""
    known: tuple[str, str] | None = g.get("csrf_token")
    if known is not None and known[0] == learner:
        return known[1]
    key = str(current_app.config["SECRET_KEY"]).encode()
    token = hmac.new(key, b"csrf:" + learner.encode(), hashlib.sha256).hexdigest()
    g.csrf_token = (learner, token)
    return token


CSRF_HEADER = "X-CSRF-Token"


def csrf_ok(token: str | None) -> bool:
    """True when a submitted token belongs to this learner and this site.

    A form field, or else the header htmx sends from the page's `hx-headers`: a step fragment is the
    same bytes for every learner, so the forms inside it carry no token of their own.
    """
    token = token or request.headers.get(CSRF_HEADER)
    if not token or current(create=False) is None:
        return False
    # compare_digest refuses non-ASCII str (TypeError): compare bytes, so a forged token is a 400, not a 500.
    return hmac.compare_digest(token.encode("utf-8", "surrogateescape"), csrf_token().encode())
