"""What learners see, at phone, tablet and desktop sizes: full-page screenshots in tests/artifacts/.

The step-through is shot three ways: as a shared permalink to the last step shows it, with the
prediction question standing in for Next, and at the step it asked about with the verdict.
At 375 px no page may scroll sideways (wide tables scroll inside their own region).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LESSONS
from playwright.sync_api import Browser

from tutor.catalog import Catalog

from .stepper_page import (
    COUNT,
    LESSON,
    SEED_PREDICTIONS,
    assert_not_asked,
    assert_prediction_asked,
    assert_prediction_verdict,
    assert_step,
    commit_prediction,
    step_url,
)
from .support import LiveServer, new_context

pytestmark = pytest.mark.browser

SIZES = [(375, 812), (768, 1024), (1440, 900)]
PNG = b"\x89PNG\r\n\x1a\n"


def _performance_lesson() -> str:
    """The seed lesson's performance page, or the first lesson that has one."""
    lessons, _ = Catalog(LESSONS).state()
    with_perf = [lesson.id for lesson in lessons if lesson.performance is not None]
    return LESSON if LESSON in with_perf else (with_perf[0] if with_perf else LESSON)


ASKED = min(SEED_PREDICTIONS, default=None)  # the step the seed walk's first prediction is about

PAGES = {
    "step-through": step_url(COUNT),
    "topic": f"/lessons/{LESSON}/",
    "performance": f"/lessons/{_performance_lesson()}/performance",
}
if ASKED is not None:
    PAGES["prediction"] = step_url(ASKED - 1)
    PAGES["verdict"] = step_url(ASKED - 1)  # then committed: the page at step ASKED

# Elements that stick out to the right of the viewport, outermost first, with nothing clipping them.
_OVERFLOWING = """() => {
  const width = window.innerWidth;
  const clipped = el => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      const ox = getComputedStyle(node).overflowX;
      if (ox !== 'visible') return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.length ? '.' + [...el.classList].join('.') : '');
  const path = el => {
    const parts = [];
    for (let node = el; node && node !== document.body; node = node.parentElement) parts.unshift(name(node));
    return parts.join(' > ');
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !clipped(el)) {
      if (!out.some(o => o.el.contains(el))) out.push({el, right: Math.round(box.right)});
    }
  }
  return out.slice(0, 8).map(o => `${path(o.el)} (right edge ${o.right}px)`);
}"""


@pytest.mark.parametrize("kind", list(PAGES))
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_full_page_screenshot(
    browser: Browser, live_server: LiveServer, artifacts: Path, size: tuple[int, int], kind: str
) -> None:
    width, height = size
    context = new_context(browser, live_server, viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        response = page.goto(PAGES[kind])
        assert response is not None and response.ok, f"{PAGES[kind]} answered {response and response.status}"
        page.wait_for_load_state("load")
        if kind == "step-through":
            assert_step(page, COUNT)  # a new learner's permalink: the last step, no question on the way
            assert_not_asked(page)
        elif kind == "prediction" and ASKED is not None:
            assert_prediction_asked(page, ASKED)
        elif kind == "verdict" and ASKED is not None:
            commit_prediction(page, ASKED)
            assert_step(page, ASKED)
            assert_prediction_verdict(page, ASKED)
            page.evaluate("window.scrollTo(0, 0)")
        page.evaluate("document.fonts.ready.then(() => true)")
        target = artifacts / f"{kind}-{width}x{height}.png"
        target.unlink(missing_ok=True)
        page.screenshot(path=str(target), full_page=True)
        assert target.is_file() and target.stat().st_size > 1000, f"{target} was not written"
        assert target.read_bytes()[:8] == PNG, f"{target} is not a PNG"

        if width == 375:
            scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll_width > inner_width + 1:
                culprits = page.evaluate(_OVERFLOWING)
                pytest.fail(
                    f"{PAGES[kind]} scrolls sideways at {width} px: scrollWidth {scroll_width} > "
                    f"{inner_width}; sticking out: " + ("; ".join(culprits) or "(no single element found)")
                )
    finally:
        context.close()
