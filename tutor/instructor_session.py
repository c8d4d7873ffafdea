"""Who is logged in as an instructor, and the CSRF token of their forms.

The signed session cookie carries the account name, the login time and a random CSRF seed; the
account itself is looked up in the SQL store on every request, so removing it (`tutor instructor
remove`) ends its sessions at once, in every process. A login lasts TUTOR_INSTRUCTOR_HOURS (12 by
default), however long the learner part of the cookie lives. The CSRF token is an HMAC of the seed
with the secret key: bound to this browser's instructor session, renewed at every login and logout.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from flask import current_app, session

from tutor import accounts, progress

_NAME, _SINCE, _SEED = "instructor", "instructor_since", "instructor_csrf"


def current() -> accounts.Account | None:
    """The logged-in instructor, or None (never logged in, expired, or the account is gone)."""
    name, since = session.get(_NAME), session.get(_SINCE)
    if not isinstance(name, str) or not isinstance(since, int | float):
        return None
    hours = float(current_app.config["TUTOR_INSTRUCTOR_HOURS"])
    if time.time() - since > hours * 3600:
        return None
    account = accounts.find(progress.store(), name)
    # An account removed and made again later is another account: its old sessions stay closed.
    if account is None or account.created > since:
        return None
    return account


def start(account: accounts.Account) -> None:
    """Log the account in; a new CSRF seed, so a token seen before the login is worth nothing after it."""
    session[_NAME] = account.name
    session[_SINCE] = time.time()
    session[_SEED] = secrets.token_urlsafe(32)


def end() -> None:
    """Log out: forget the instructor and the seed; the learner part of the cookie stays."""
    for key in (_NAME, _SINCE):
        session.pop(key, None)
    session[_SEED] = secrets.token_urlsafe(32)


def csrf_token() -> str:
    """The token this browser's instructor forms must send back (the login form's too)."""
    seed = session.get(_SEED)
    if not isinstance(seed, str):
        seed = secrets.token_urlsafe(32)
        session[_SEED] = seed
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"instructor-csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_ok(token: str | None) -> bool:
    """True when a submitted token belongs to this browser's instructor session and this site."""
    if not token or not isinstance(session.get(_SEED), str):
        return False
    return hmac.compare_digest(token.encode("utf-8", "surrogateescape"), csrf_token().encode())
