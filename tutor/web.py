"""What every view shares: the catalog, the backend, page-or-fragment rendering, error pages."""

from __future__ import annotations

import functools
import gzip
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NoReturn

import redis
from flask import Flask, Request, Response, abort, current_app, g, make_response, render_template, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from tutor import gzsplice, learner, messages, stepcache
from tutor.backend import Backend
from tutor.catalog import Catalog
from tutor.inline import inline
from tutor.model import Lesson, StepThrough
from tutor.render import cell, readable_command
from tutor.stepcache import Kept
from tutor.urls import mask


def init_app(app: Flask) -> None:
    """Attach the lesson catalog and the Redis backend, and render errors as pages."""
    rescan = float(app.config.get("TUTOR_RESCAN_SECONDS", 1.0))
    app.extensions["tutor.catalog"] = Catalog(app.config["TUTOR_LESSONS"], rescan_seconds=rescan)
    app.extensions["tutor.backend"] = Backend(app.config["REDIS_URL"])
    app.session_interface = _LearnerSessions()
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(redis.exceptions.ConnectionError, _redis_down)
    app.register_error_handler(redis.exceptions.TimeoutError, _redis_down)
    # Fragments travel on every step click: keep template indentation out of them.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.after_request(_compress)
    app.after_request(_headers)
    app.jinja_env.filters["cell"] = cell
    app.jinja_env.filters["readable_command"] = readable_command
    app.jinja_env.filters["inline"] = inline  # lesson prose: `code` and https:// links, the rest escaped
    stepcache.init_app(app)  # cached_fragment: page pieces that are the same for every learner


def catalog() -> Catalog:
    """The app's lesson catalog."""
    return current_app.extensions["tutor.catalog"]  # type: ignore[no-any-return]


def backend() -> Backend:
    """The app's Redis backend (embedded fakeredis or REDIS_URL)."""
    return current_app.extensions["tutor.backend"]  # type: ignore[no-any-return]


def step_url(lesson: Lesson, walk: StepThrough, step: int | None = None) -> str:
    """A step-through's address (the first one has the short form), at a step when given."""
    slug = None if lesson.step_throughs[0].slug == walk.slug else walk.slug
    if step is None:
        return url_for("lessons.step_through", lesson_id=lesson.id, slug=slug)
    return url_for("lessons.step_through", lesson_id=lesson.id, slug=slug, step=step)


def is_fragment_request() -> bool:
    """True for an htmx request that wants a fragment (not a history restore, which needs a page).

    The one place that reads HX-Request: asking marks the response `Vary: HX-Request` (in _headers),
    so a cache never hands a fragment to a page load or the other way round, whoever asked.
    """
    g.varies_on_htmx = True
    g.fragment = wants_fragment(request.headers)
    return bool(g.fragment)


def wants_fragment(headers: Headers) -> bool:
    """The decision of `is_fragment_request` from the request's headers (tutor/clickpath.py asks it too)."""
    return headers.get("HX-Request") == "true" and not headers.get("HX-History-Restore-Request")


def render(page: str | None, fragment: str | None = None, **context: Any) -> Response:
    """Render the full page, or only its swappable fragment for htmx; caches keep them apart."""
    as_fragment = bool(fragment) and is_fragment_request()
    template = fragment if as_fragment and fragment else page
    assert template is not None, "render() needs a page, or a fragment for htmx requests"
    response = make_response(render_template(template, as_fragment=as_fragment, **context))
    response.vary.add("HX-Request")
    return response


def send_kept(
    kept: Kept,
    filled: Mapping[str, str] | None = None,
    also_vary: tuple[str, ...] = (),
    ready: Mapping[str, Any] | None = None,
) -> Response:
    """A kept response (tutor/stepcache.py) with its slots filled, gzipped from kept pieces when accepted.

    `also_vary`: request headers the answer depends on besides HX-Request and Accept-Encoding.
    `ready`: slots whose text is already deflated pieces (Kept.gzip).
    """
    filled = filled or {}
    if accepts_gzip():
        return _KeptResponse(kept.gzip(filled, ready), headers=kept_headers(True, also_vary))
    return _KeptResponse(kept.body(filled), headers=kept_headers(False, also_vary))


def send_text(text: str, pieces: list[gzsplice.Piece] | None) -> Response:
    """A kept htmx answer (stepcache.kept_answer): gzipped from its pieces where `_compress` would gzip the text.

    Its headers are those a rendered fragment gets from render(), the hooks and the session (Vary:
    HX-Request, Accept-Encoding, Cookie; the security headers), from the list built once.
    """
    body = text.encode()
    if accepts_gzip() and len(body) >= _GZIP_FROM:
        data = gzsplice.join(pieces) if pieces is not None else gzip.compress(body, compresslevel=1)
        return _KeptResponse(data, headers=kept_headers(True, ()))
    return _KeptResponse(body, headers=kept_headers(False, ()))


class _KeptResponse(Response):
    """A response whose headers were all set when it was made: `_compress` and `_headers` pass it by.

    Vary and the security headers are the same on every kept response: one list, built once,
    instead of parsing and rebuilding Vary and testing each header on every click.
    """


@functools.cache
def kept_headers(gzipped: bool, also_vary: tuple[str, ...]) -> list[tuple[str, str]]:
    """Built once per (gzip, extra Vary): werkzeug copies the list into each response's own headers."""
    return [
        ("Content-Type", "text/html; charset=utf-8"),
        *([("Content-Encoding", "gzip")] if gzipped else []),
        # As render(), _compress() and Flask's session (a kept response always read the learner's id) set it.
        ("Vary", ", ".join(("HX-Request", "Accept-Encoding", "Cookie", *also_vary))),
        *SECURITY_HEADERS.items(),
    ]


class _LearnerSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, signed and sent again only when it changed or is over a day old.

    A permanent session is re-sent to push its expiry (a year) forward; once a day is enough for
    that, so a page (or a step fragment, most requests) does not pay for signing a cookie the browser
    already has.
    """

    def __init__(self) -> None:
        self._verified: OrderedDict[tuple[Any, str], tuple[Any, int]] = OrderedDict()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Flask's check of the signed cookie, remembered for the same Cookie header (see `_VERIFIED_MAX`).

        Verifying a cookie (HMAC, base64, JSON, a new serializer per request) costs about as much
        as a whole hello-world request, and a learner sends the same cookie on every click. What is
        kept is a pure function of the Cookie header and the secret keys: the payload the client
        itself sent, and when it was signed. Only a cookie that passed the full check is kept, so a
        forged one is checked (and refused) every time; the age is checked again on every request
        against the signing time, so an expired cookie is refused as Flask refuses it. No learner
        state lives here beyond what the client sends with each request.
        """
        header = request.environ.get("HTTP_COOKIE")
        if not header or not app.secret_key:
            return super().open_session(app, request)
        # Keyed by the whole Cookie header, so a remembered one is not even parsed again.
        key = self._key(app, header)
        known = self._verified.get(key)
        if known is None:
            value = request.cookies.get(self.get_cookie_name(app))
            if not value:
                return self.session_class()
            serializer = self.get_signing_serializer(app)
            assert serializer is not None
            try:
                data, signed = serializer.loads(value, max_age=_max_age(app), return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if not isinstance(data, dict):
                return self.session_class(data)
            known = self._verified[key] = (data, int(signed.timestamp()))
            if len(self._verified) > _VERIFIED_MAX:
                self._verified.popitem(last=False)
        data, signed = known
        if not _within_age(app, signed):  # itsdangerous's SignatureExpired
            self._verified.pop(key, None)
            return self.session_class()
        return self._session(_copy(data), signed)

    def verified(self, app: Flask, header: str | None) -> Mapping[str, Any] | None:
        """The payload of a Cookie header `open_session` has fully verified already, if Flask would use it unchanged.

        For tutor/clickpath.py, which answers a step click without Flask: None when the header was
        not verified yet (or failed), has expired, is due to be signed again (`should_set_cookie`),
        or holds no well-formed learner id; Flask then opens it (and verifies, refuses or re-signs
        it) as always. Nothing is verified here. The payload is the remembered one: read it, never
        change it.
        """
        if not header or not app.secret_key:
            return None
        known = self._verified.get(self._key(app, header))
        if known is None:
            return None
        data, signed = known
        if not _within_age(app, signed) or learner.id_in(data) is None:
            return None
        if self.should_set_cookie(app, self._session(data, signed)):
            return None
        return data  # type: ignore[no-any-return]

    @staticmethod
    def _key(app: Flask, header: str) -> tuple[Any, str]:
        return ((app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ())), str(header))

    def _session(self, data: Any, signed: int) -> SecureCookieSession:
        session = self.session_class(data)
        session.signed_at = signed  # type: ignore[attr-defined]  # should_set_cookie: signed again after a day
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Flask's, but a kept click that sets no cookie returns at once: its Vary already names Cookie."""
        if isinstance(response, _KeptResponse) and not session.modified and not self.should_set_cookie(app, session):
            return
        super().save_session(app, session, response)

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        signed_at = getattr(session, "signed_at", None)
        stale = signed_at is None or time.time() - signed_at > SESSION_RESIGN_SECONDS
        return bool(session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"] and stale)


SESSION_RESIGN_SECONDS = 24 * 60 * 60  # a cookie older than this is signed again, for a fresh expiry


def _max_age(app: Flask) -> int:
    return int(app.permanent_session_lifetime.total_seconds())


def _within_age(app: Flask, signed: int) -> bool:
    """Whether a cookie signed at `signed` is still accepted (as itsdangerous checks max_age)."""
    return 0 <= int(time.time()) - signed <= _max_age(app)


# Cookies remembered as verified, per process: the most recent ones (about one per active learner).
_VERIFIED_MAX = 4096


def _copy(data: Any) -> Any:
    """A fresh copy of a cookie's JSON payload: a view may change the session's lists in place."""
    if isinstance(data, dict):
        return {key: _copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_copy(value) for value in data]
    return data


# 'self' only: no inline script or style anywhere (htmx's own indicator style is turned off in base.html).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _headers(response: Response) -> Response:
    """Security headers on every response (pages, fragments, errors, static files), and Vary when htmx mattered."""
    if isinstance(response, _KeptResponse):
        return response
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if g.get("varies_on_htmx"):
        response.vary.add("HX-Request")
    return response


def fail(code: int, message: str) -> NoReturn:
    """Stop with a 4xx whose page (or htmx fragment) says what was wrong."""
    abort(code, description=message)


_COMPRESSIBLE = ("text/html", "application/json", "text/css", "application/javascript", "text/javascript")


def _compress(response: Response) -> Response:
    """Gzip pages, fragments and JSON for clients that accept it: a step click stays a few KB."""
    if isinstance(response, _KeptResponse):
        return response
    response.vary.add("Accept-Encoding")
    if (
        not accepts_gzip()
        or response.direct_passthrough
        or "Content-Encoding" in response.headers
        or not (response.mimetype or "").startswith(_COMPRESSIBLE)
        or response.status_code < 200
        or response.status_code >= 300
    ):
        return response
    body = response.get_data()
    if len(body) < _GZIP_FROM:
        return response
    # Level 1: a step fragment compresses about 6.5x instead of 8.5x, for a quarter of the CPU time.
    response.set_data(gzip.compress(body, compresslevel=1))
    response.headers["Content-Encoding"] = "gzip"
    return response


_GZIP_FROM = 1024  # bytes: a smaller body goes as it is


def accepts_gzip() -> bool:
    """Whether the client takes gzip: kept responses are then sent from their deflated pieces."""
    return takes_gzip(request.headers)


def takes_gzip(headers: Headers) -> bool:
    """The decision of `accepts_gzip` from the request's headers (tutor/clickpath.py asks it too)."""
    return "gzip" in headers.get("Accept-Encoding", "")


def _redis_down(error: Exception) -> tuple[str, int]:
    url = current_app.config.get("REDIS_URL")
    # The page names the server but never its password (redis://:secret@host -> redis://:***@host).
    message = messages.REDIS_UNREACHABLE.format(url=mask(url) if url else "embedded")
    return render_template("error.html", code=503, name="Service Unavailable", message=message), 503


def _too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """413 with a sentence that says the limit, as every other 4xx does."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    error.description = messages.REQUEST_TOO_LARGE.format(limit=f"{limit // 1024} KiB")
    return _error_page(error)


def _error_page(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    if request.path.startswith("/api/"):
        from flask import jsonify

        return jsonify(error=error.name, message=error.description), code  # type: ignore[return-value]
    if is_fragment_request():
        # htmx swaps this into the page's #flash region, wherever the request meant to swap.
        html = render_template("_flash.html", code=code, name=error.name, message=error.description)
        return html, code, {"HX-Retarget": "#flash", "HX-Reswap": "outerHTML"}  # type: ignore[return-value]
    return render_template("error.html", code=code, name=error.name, message=error.description), code
