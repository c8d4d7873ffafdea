"""What the browser tests share besides fixtures: the live server's handle, fresh contexts, Tab."""

from __future__ import annotations

from dataclasses import dataclass

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
