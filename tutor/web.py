"""What every view shares: the catalog, the backend, page-or-fragment rendering, error pages."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask, Response, abort, current_app, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from tutor.backend import Backend
from tutor.catalog import Catalog


def init_app(app: Flask) -> None:
    """Attach the lesson catalog and the Redis backend, and render errors as pages."""
    app.extensions["tutor.catalog"] = Catalog(app.config["TUTOR_LESSONS"])
    app.extensions["tutor.backend"] = Backend(app.config["REDIS_URL"])
    app.register_error_handler(HTTPException, _error_page)


def catalog() -> Catalog:
    """The app's lesson catalog."""
    return current_app.extensions["tutor.catalog"]  # type: ignore[no-any-return]


def backend() -> Backend:
    """The app's Redis backend (embedded fakeredis or REDIS_URL)."""
    return current_app.extensions["tutor.backend"]  # type: ignore[no-any-return]


def is_fragment_request() -> bool:
    """True for an htmx request that wants a fragment (not a history restore, which needs a page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def render(page: str, fragment: str | None = None, **context: Any) -> Response:
    """Render the full page, or only its swappable fragment for htmx; caches keep them apart."""
    template = fragment if fragment and is_fragment_request() else page
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response


def fail(code: int, message: str) -> NoReturn:
    """Stop with a 4xx whose page (or htmx fragment) says what was wrong."""
    abort(code, description=message)


def _error_page(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    if request.path.startswith("/api/"):
        from flask import jsonify

        return jsonify(error=error.name, message=error.description), code  # type: ignore[return-value]
    return render_template("error.html", code=code, name=error.name, message=error.description), code
