"""What every view shares: the catalog, the backend, page-or-fragment rendering, error pages."""

from __future__ import annotations

import gzip
from typing import Any, NoReturn

import redis
from flask import Flask, Response, abort, current_app, make_response, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from tutor import messages
from tutor.backend import Backend
from tutor.catalog import Catalog
from tutor.inline import inline
from tutor.model import Lesson, StepThrough
from tutor.render import cell, readable_command


def init_app(app: Flask) -> None:
    """Attach the lesson catalog and the Redis backend, and render errors as pages."""
    app.extensions["tutor.catalog"] = Catalog(app.config["TUTOR_LESSONS"])
    app.extensions["tutor.backend"] = Backend(app.config["REDIS_URL"])
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(redis.exceptions.ConnectionError, _redis_down)
    app.register_error_handler(redis.exceptions.TimeoutError, _redis_down)
    # Fragments travel on every step click: keep template indentation out of them.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.after_request(_compress)
    app.jinja_env.filters["cell"] = cell
    app.jinja_env.filters["readable_command"] = readable_command
    app.jinja_env.filters["inline"] = inline  # lesson prose: `code` and https:// links, the rest escaped


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
    """True for an htmx request that wants a fragment (not a history restore, which needs a page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def render(page: str, fragment: str | None = None, **context: Any) -> Response:
    """Render the full page, or only its swappable fragment for htmx; caches keep them apart."""
    as_fragment = bool(fragment) and is_fragment_request()
    template = fragment if as_fragment and fragment else page
    response = make_response(render_template(template, as_fragment=as_fragment, **context))
    response.vary.add("HX-Request")
    return response


def fail(code: int, message: str) -> NoReturn:
    """Stop with a 4xx whose page (or htmx fragment) says what was wrong."""
    abort(code, description=message)


_COMPRESSIBLE = ("text/html", "application/json", "text/css", "application/javascript", "text/javascript")


def _compress(response: Response) -> Response:
    """Gzip pages, fragments and JSON for clients that accept it: a step click stays a few KB."""
    response.vary.add("Accept-Encoding")
    if (
        "gzip" not in request.headers.get("Accept-Encoding", "")
        or response.direct_passthrough
        or "Content-Encoding" in response.headers
        or not (response.mimetype or "").startswith(_COMPRESSIBLE)
        or response.status_code < 200
        or response.status_code >= 300
    ):
        return response
    body = response.get_data()
    if len(body) < 1024:
        return response
    response.set_data(gzip.compress(body, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    return response


def _redis_down(error: Exception) -> tuple[str, int]:
    message = messages.REDIS_UNREACHABLE.format(url=current_app.config.get("REDIS_URL") or "embedded")
    return render_template("error.html", code=503, name="Service Unavailable", message=message), 503


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
