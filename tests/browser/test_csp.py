"""Under the Content-Security-Policy ('self' only: no inline script, no inline style) every page works
in chromium: no violation is reported, htmx still swaps steps in, and the lanes keep their layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .stepper_page import LESSON, STEP_THROUGH, assert_same_page, assert_step, control, mark_page, step_url

pytestmark = pytest.mark.browser

# Reported by chromium for anything the policy blocks (set before any page script runs).
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_every_kind_of_page_runs_under_the_policy_without_a_violation(page: Page) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH_VIOLATIONS)
    for url in (
        "/",
        f"/lessons/{LESSON}/",
        f"/lessons/{LESSON}/performance",
        f"/lessons/{LESSON}/quiz",
        step_url(3),
    ):
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.evaluate("window.__csp") == [], url
    assert [text for text in console if "Content Security Policy" in text] == []


def test_htmx_steps_and_the_lanes_keep_their_layout_under_the_policy(page: Page) -> None:
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto(step_url(1))
    mark_page(page)
    control(page, "Next").click()
    assert_step(page, 2)
    assert_same_page(page)  # swapped by htmx, not a page load
    lanes = page.locator(".lanes")
    count = page.locator(".lane-head").count()
    assert lanes.evaluate("e => getComputedStyle(e).getPropertyValue('--lanes').trim()") == str(count)
    arrow = page.locator(".lane-step .arrow").first
    start = arrow.evaluate("e => getComputedStyle(e).gridColumnStart")
    end = arrow.evaluate("e => getComputedStyle(e).gridColumnEnd")
    assert start.isdigit() and end.isdigit() and int(end) > int(start)  # placed by its classes
    assert page.evaluate("window.__csp") == []
    assert STEP_THROUGH in page.url
