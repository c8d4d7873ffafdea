"""At phone width no page of the curriculum scrolls sideways: every lesson's every page, not one sample.

test_screenshots.py holds the seed lesson's pages to this; a lesson's own text can still break it
(`self.request.delivery_info["redelivered"],` in celery-delivery's tips, one word to the browser,
once widened its performance page to 389 px at 375). Code, tables and the lanes scroll inside
their own regions, so only the page itself is measured.
"""

from __future__ import annotations

import pytest
from conftest import LESSONS
from playwright.sync_api import Browser

from tutor.catalog import Catalog

from .support import LiveServer, new_context

pytestmark = pytest.mark.browser

WIDTH = 375


def _pages() -> list[str]:
    """The catalog, and each lesson's page, quiz, performance page, and each step-through at its first and last step."""
    lessons, broken = Catalog(LESSONS).state()
    assert not broken, f"lessons/ has broken files: {[b.path for b in broken]}"
    pages = ["/"]
    for lesson in lessons:
        base = f"/lessons/{lesson.id}"
        pages += [f"{base}/", f"{base}/quiz"]
        if lesson.performance is not None:
            pages.append(f"{base}/performance")
        for index, walk in enumerate(lesson.step_throughs):
            url = f"{base}/step-through" + ("" if index == 0 else f"/{walk.slug}")
            pages += [f"{url}?step=0", f"{url}?step={len(walk.steps)}"]
    return pages


def test_no_page_scrolls_sideways_at_phone_width(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, live_server, viewport={"width": WIDTH, "height": 812})
    wide = []
    try:
        page = context.new_page()
        pages = _pages()
        for path in pages:
            response = page.goto(path)
            assert response is not None and response.ok, f"{path} answered {response and response.status}"
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > WIDTH:
                wide.append(f"{path}: {scroll_width} px wide")
    finally:
        context.close()
    assert len(pages) > 30  # every lesson's pages were visited
    assert not wide, f"at {WIDTH} px these pages scroll sideways:\n" + "\n".join(wide)
