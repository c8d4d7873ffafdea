"""The instructor's live preview in chromium: save the lesson file and the open preview updates by
itself (htmx polling under the site's CSP), staying at its step; problems appear beside it while the
file is broken. Also: the login by keyboard, and every instructor page at 1440 and 375 px: a screenshot,
no sideways scrolling on phones, no axe-core violation.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tutor import accounts, create_app
from tutor.progress import SqlStore
from tutor.records import Answer

from .conftest import serving
from .support import LiveServer, new_context
from .test_axe import axe_here

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
FIXTURE_LESSON = Path(__file__).resolve().parent.parent.parent / "lessons" / "redis-broker.yaml"
LESSON = """\
title: Live queue
id: live-queue
step_through:
  actors: [producer, worker]
  watch: [jobs]
  steps:
    - actor: producer
      action: The producer queues a job
      redis: LPUSH jobs send-mail
    - actor: worker
      action: The worker takes the job
      redis: RPOP jobs
  quiz:
    - prompt: What does the worker get?
      choices:
        - {text: send-mail, correct: true}
        - nothing
"""
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective));
"""
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def lessons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("instructor-lessons")
    (folder / "live.yaml").write_text(LESSON, encoding="utf-8")
    shutil.copy(FIXTURE_LESSON, folder / FIXTURE_LESSON.name)
    return folder


@pytest.fixture(scope="module")
def server(lessons: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The site over a lessons folder of this module's own, with one instructor and a few answers."""
    app = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons),
            "TUTOR_DATABASE": str(tmp_path_factory.mktemp("instructor-db") / "tutor.sqlite3"),
            "SECRET_KEY": "browser-instructor-secret",
            "REDIS_URL": None,
            "TUTOR_RESCAN_SECONDS": 0.2,
        }
    )
    store = SqlStore(app.extensions["tutor.db"], keep=False)
    accounts.add(store, "ada", PASSWORD)
    for at, (who, choices, correct) in enumerate([("l1", (0,), True), ("l2", (1,), False), ("l2", (0,), True)]):
        store.record_answer(Answer(who * 20, "live-queue", "step-through:main", 1, choices, correct, False, at))
    try:
        with serving(app, "tutor-instructor-server") as server:
            yield server
    finally:
        app.extensions["tutor.db"].dispose()


@pytest.fixture
def signed_in(browser: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    context = new_context(browser, server)
    page = context.new_page()
    log_in(page)
    page.close()
    try:
        yield context
    finally:
        context.close()


def log_in(page: Page, target: str = "/instructor") -> None:
    """Log in with the keyboard only, as a screen-reader or keyboard user would."""
    page.goto(target)
    expect(page.get_by_role("heading", name="Instructor login")).to_be_visible()
    page.get_by_label("Name").focus()
    page.keyboard.type("ada")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Instructor login")


@pytest.fixture
def restore(lessons: Path) -> Iterator[Path]:
    """The lesson file, put back as it was after the test."""
    file = lessons / "live.yaml"
    yield file
    file.write_text(LESSON, encoding="utf-8")


def test_the_preview_updates_by_itself_after_the_file_is_saved(signed_in: BrowserContext, restore: Path) -> None:
    page = signed_in.new_page()
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto("/instructor/preview/live.yaml?step=1")
    stepper = page.locator("#stepper")
    expect(stepper).to_contain_text("The producer queues a job")
    expect(page.locator("#position")).to_have_text("Step 1 of 2")
    page.evaluate("window.__sameDocument = true")

    restore.write_text(LESSON.replace("The producer queues a job", "The producer queues an urgent job"))
    expect(stepper).to_contain_text("The producer queues an urgent job", timeout=5_000)
    expect(page.locator("#position")).to_have_text("Step 1 of 2")  # it stayed at the step it was at
    expect(page.locator("#preview-news")).to_contain_text("0 problems")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded instead of swapping the preview"

    # a broken save: the problems appear beside the last good rendering, then go once it is fixed
    restore.write_text(LESSON.replace("redis: RPOP jobs", "redis: RPOPP jobs"))
    problems = page.locator(".file-state .problems")
    expect(problems).to_contain_text("unknown Redis command 'RPOPP'", timeout=5_000)
    expect(problems).to_contain_text("live.yaml:")
    restore.write_text(LESSON.replace("The worker takes the job", "The worker takes the fixed job"))
    expect(page.locator("#problems-title")).to_have_text("No problems", timeout=5_000)
    page.get_by_role("link", name="Last").click()
    expect(stepper).to_contain_text("The worker takes the fixed job")
    assert page.evaluate("window.__csp") == []


def test_the_preview_shows_the_new_version_before_learners_get_it(
    signed_in: BrowserContext, restore: Path, server: LiveServer
) -> None:
    page = signed_in.new_page()
    page.goto("/instructor/preview/live.yaml")
    restore.write_text(LESSON.replace("redis: RPOP jobs", "redis: RPOP jobs\n      expect: nothing"))
    expect(page.locator(".basis")).to_contain_text("it loads but fails a check", timeout=5_000)
    expect(page.locator(".file-state .problems")).to_contain_text("expect")
    learner = page.context.browser.new_page() if page.context.browser else None
    assert learner is not None
    learner.goto(f"{server.url}/lessons/live-queue/step-through?step=2")
    expect(learner.locator("body")).to_contain_text("The worker takes the job")  # learners keep the good one
    learner.close()


SHOTS = {
    "login": "/instructor/login",
    "files": "/instructor",
    "preview": "/instructor/preview/live.yaml",
    "results": "/instructor/results",
}


@pytest.mark.parametrize("kind", list(SHOTS))
@pytest.mark.parametrize("width", [1440, 375])
def test_instructor_page_screenshots(
    browser: Browser, server: LiveServer, artifacts: Path, lessons: Path, kind: str, width: int
) -> None:
    (lessons / "broken.yaml").write_text(LESSON.replace("LPUSH", "LPUHS").replace("live-queue", "broken"))
    context = new_context(browser, server, viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.add_init_script(WATCH_VIOLATIONS)
        if kind != "login":
            log_in(page, SHOTS[kind])
        else:
            page.goto(SHOTS[kind])
        expect(page.locator("main h1")).to_be_visible()
        if kind == "files":
            expect(page.locator("table.files")).to_contain_text("LPUHS")
        target = artifacts / f"instructor-{kind}-{width}.png"
        target.unlink(missing_ok=True)
        page.screenshot(path=str(target), full_page=True)
        assert target.read_bytes()[:8] == PNG
        assert page.evaluate("window.__csp") == []
        assert axe_here(page, f"{SHOTS[kind]} at {width} px") == ""
        if width == 375:
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner + 1, f"{SHOTS[kind]} scrolls sideways at 375 px ({scroll} > {inner})"
    finally:
        context.close()
        (lessons / "broken.yaml").unlink(missing_ok=True)
