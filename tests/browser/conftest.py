"""Browser fixtures: the real site served on a loopback port, and Debian's headless chromium.

Every test gets a fresh browser context, so fresh cookies and a fresh learner. Without
/usr/bin/chromium the tests skip, or fail with CI=true (tests/conftest.py's `need`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import LESSONS, need
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from werkzeug.serving import make_server

from tutor import create_app

from .support import TIMEOUT_MS, LiveServer, buffered, new_context

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def _wait_for_port(host: str, port: int, thread: threading.Thread, seconds: float = 10) -> None:
    """Poll until something accepts connections on host:port, or give up at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the tutor site did not start on {host}:{port}") from None
            time.sleep(0.02)  # polling for readiness with a deadline, not racing


@contextmanager
def serving(app: Flask, name: str) -> Iterator[LiveServer]:
    """The app on a free loopback port (the OS picks it), in a background thread, until the block ends."""
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        _wait_for_port("127.0.0.1", port, thread)
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a free loopback port (the OS picks it), in a background thread, for the session."""
    database = tmp_path_factory.mktemp("browser") / "tutor.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(LESSONS),
            "TUTOR_DATABASE": str(database),
            "SECRET_KEY": "browser-test-secret",
            "REDIS_URL": None,
        }
    )
    with serving(app, "tutor-live-server") as server:
        yield server


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's sync driver for the session."""
    need(CHROMIUM, "the browser tests drive Debian's chromium")
    driver = sync_playwright().start()
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole session."""
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser context per test."""
    ctx = new_context(browser, live_server)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page in this test's fresh context."""
    return context.new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/ (git-ignored), where screenshots go."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
