"""What the browser tests share besides fixtures: the live server's handle, fresh contexts, Tab."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page

TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class LiveServer:
    """The site running for real: its base URL and the Flask app behind it."""

    url: str
    app: Flask


def new_context(browser: Browser, server: LiveServer, **options: object) -> BrowserContext:
    """A fresh context (fresh cookies: a new learner) whose relative URLs go to the live site."""
    context = browser.new_context(base_url=server.url, **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return context


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches the selector (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab")


def buffered(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """The app with each response read whole (and its iterable closed) before a byte is sent.

    Werkzeug's development server calls the response iterable's close() only after writing it all,
    not in a `finally`: when Chromium drops a connection mid-response (a page closed while its
    favicon loads), a static file's handle is left to the garbage collector, and the ResourceWarning
    lands in whichever test runs then. gunicorn, which the site runs under, closes it in a
    `finally`; buffering here gives the test server the same guarantee.
    """

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    return serve
