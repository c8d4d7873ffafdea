"""A learner's browser asks for the stylesheets and scripts once, not again on every page (tutor/assets.py).

The icon is left out of the count: Chromium fetches it apart from the page, on its own schedule (a
page left before its icon arrived asks for it again on the next), so its requests say nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LESSONS
from playwright.sync_api import Browser

from tutor import create_app

from .conftest import serving
from .support import LiveServer, new_context

pytestmark = pytest.mark.browser

ICON = "/static/favicon.svg"
PAGES = [
    "/",
    "/lessons/redis-broker/",
    "/lessons/redis-broker/step-through?step=1",
    "/lessons/redis-broker/step-through?step=3",
    "/lessons/redis-broker/quiz",
    "/lessons/streams/step-through?step=2",
]


class Counted:
    """The paths the server was asked for, in order (the icon's left out)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != ICON:
            self.paths.append(path)
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def counted_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Counted]]:
    folder: Path = tmp_path_factory.mktemp("static-cache")
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(LESSONS),
            "TUTOR_DATABASE": str(folder / "tutor.sqlite3"),
            "SECRET_KEY": "static-cache-secret",
            "REDIS_URL": None,
        }
    )
    counted = Counted(app.wsgi_app)
    app.wsgi_app = counted  # type: ignore[method-assign]
    with serving(app, "tutor-static-cache") as server:
        yield server, counted


def test_pages_after_the_first_ask_the_server_for_no_static_file(
    browser: Browser, counted_site: tuple[LiveServer, Counted]
) -> None:
    server, counted = counted_site
    context = new_context(browser, server)
    try:
        page = context.new_page()
        page.goto(PAGES[0])
        page.goto(PAGES[2])  # the step-through's own files (the console's) come with its first visit
        first = [path for path in counted.paths if path.startswith("/static/")]
        assert {"/static/style.css", "/static/vendor/htmx.min.js", "/static/console.js"} <= set(first), first
        counted.paths.clear()
        for path in PAGES:
            response = page.goto(path)
            assert response is not None and response.ok, path
            styled = page.evaluate("getComputedStyle(document.querySelector('main')).overflowWrap")
            assert styled == "break-word", f"{path} is not styled by style.css"  # taken from the browser's cache
        assert counted.paths == [path.split("?")[0] for path in PAGES], "static files were asked for again"
        page.reload()
        assert not [path for path in counted.paths if path.startswith("/static/")]
    finally:
        context.close()
