"""What the browser tests share besides fixtures: the live server's handle and fresh contexts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from playwright.sync_api import Browser, BrowserContext

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
