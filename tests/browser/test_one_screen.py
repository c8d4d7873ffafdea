"""Issue 9: one screen per step. Every step of every walk of every lesson, loaded as a permalink
(?step=k, a real page load), shows what the step did inside the viewport: the command as sent,
Redis's reply, every watched key's state and every actor's status, and the line of code that ran.

At 1440x900 and 768x1024 that is the first viewport, unscrolled. At 375x812 the step's panel is
scrolled up to the sticky controls (as a phone user would) and must then fit below them. A walk
without a code sample gives the panel the whole width (no empty column where the code would be).

One browser, one page, reused for every load (a fresh learner, so each prediction is still asked
at the step before it: the tallest case, with the question on screen).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import LESSONS
from playwright.sync_api import Browser, Page

from tutor.catalog import Catalog
from tutor.commands import format_cli
from tutor.model import StepThrough

from .support import LiveServer, new_context

pytestmark = pytest.mark.browser

SIZES = [(1440, 900), (768, 1024), (375, 812)]
PHONE = 600  # below this width the panel may be scrolled up to the sticky controls
CODE_BESIDE = 1024  # from this width the whole code sits beside the panel; below, the line is in it


def _walks() -> list[tuple[str, StepThrough]]:
    lessons, broken = Catalog(LESSONS).state()
    assert not broken, f"lessons/ has broken files: {[b.path for b in broken]}"
    found = []
    for lesson in lessons:
        for index, walk in enumerate(lesson.step_throughs):
            found.append((f"/lessons/{lesson.id}/step-through" + ("" if index == 0 else f"/{walk.slug}"), walk))
    return found


WALKS = _walks()

# Where each thing the step did is on screen, and what it says; problems in words.
_MEASURE = """({phone, codeBeside}) => {
  const problems = [];
  const controls = document.querySelector('#stepper nav.controls');
  const panel = document.getElementById('now');
  if (phone) {
    const top = panel.getBoundingClientRect().top + scrollY - controls.getBoundingClientRect().height - 2;
    scrollTo(0, Math.max(0, top));
  } else if (scrollY !== 0) {
    problems.push(`the page opened scrolled down by ${scrollY}px`);
  }
  const floor = phone ? controls.getBoundingClientRect().bottom : 0;
  const seen = {keys: [], actors: [], command: null, reply: null, line: null};
  const inView = (name, el) => {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) { problems.push(`${name} is not drawn`); return; }
    if (r.top < floor - 1 || r.bottom > innerHeight + 1 || r.left < -1 || r.right > innerWidth + 1)
      problems.push(`${name} is at y ${Math.round(r.top)}..${Math.round(r.bottom)}, x ${Math.round(r.left)}..` +
                    `${Math.round(r.right)}, outside ${Math.round(floor)}..${innerHeight} x 0..${innerWidth}`);
  };
  const command = document.querySelector('#now-command');
  if (command) { inView('the command', command); seen.command = command.textContent.replace(/\\s+/g, ' '); }
  const reply = document.querySelector('#now-reply');
  if (reply) { inView('the reply', reply); seen.reply = reply.textContent.replace(/\\s+/g, ' '); }
  panel.querySelectorAll('[data-key]').forEach(el => {
    inView(`key ${el.dataset.key}`, el);
    seen.keys.push(el.dataset.key);
  });
  panel.querySelectorAll('[data-actor]').forEach(el => {
    inView(`actor ${el.dataset.actor}`, el);
    seen.actors.push([el.dataset.actor, el.querySelector('.actor-status').textContent.trim()]);
  });
  const view = panel.parentElement.getBoundingClientRect(), drawn = panel.getBoundingClientRect();
  const sample = document.querySelector('#stepper .sample');
  if (!sample && (drawn.left > view.left + 1 || drawn.right < view.right - 1))
    problems.push(`no code sample, yet the panel takes x ${Math.round(drawn.left)}..${Math.round(drawn.right)} ` +
                  `of the view's ${Math.round(view.left)}..${Math.round(view.right)}`);
  if (sample && codeBeside && sample.getBoundingClientRect().right > drawn.left)
    problems.push('the code sample is not beside the panel');
  const line = codeBeside ? document.querySelector('pre.code .line.current') : document.querySelector('#now .now-line');
  if (line) { inView('the line of code that ran', line); seen.line = line.textContent; }
  return {problems, seen};
}"""


@pytest.fixture(scope="module")
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """One page for the whole module: a fresh learner, reused for every load at every size."""
    context = new_context(browser, live_server)
    try:
        yield context.new_page()
    finally:
        context.close()


def _expected(walk: StepThrough, step: int) -> dict[str, Any]:
    record = walk.steps[step - 1] if step else None
    text = None
    if record is not None and record.argv is not None:
        text = format_cli(record.argv)[:30]
    elif record is not None and record.python is not None:
        text = record.python[:30]
    return {"command": text, "line": record.line if record else None}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_step_shows_what_it_did_inside_one_screen(page: Page, size: tuple[int, int]) -> None:
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    problems: list[str] = []
    loads = 0
    for url, walk in WALKS:
        for step in range(len(walk.steps) + 1):
            address = f"{url}?step={step}"
            response = page.goto(address)
            assert response is not None and response.ok, f"{address} answered {response and response.status}"
            loads += 1
            found = page.evaluate(_MEASURE, {"phone": width < PHONE, "codeBeside": width >= CODE_BESIDE})
            seen, expected = found["seen"], _expected(walk, step)
            here = [f"{address} at {width}x{height}: {p}" for p in found["problems"]]
            if seen["keys"] != list(walk.watch):
                here.append(f"{address}: keys drawn {seen['keys']}, watched {list(walk.watch)}")
            if [name for name, _ in seen["actors"]] != list(walk.actors):
                here.append(f"{address}: actors shown {seen['actors']}, declared {list(walk.actors)}")
            if any(not status for _, status in seen["actors"]):
                here.append(f"{address}: an actor has no status: {seen['actors']}")
            if expected["command"] and (seen["command"] is None or seen["reply"] is None):
                here.append(f"{address}: the step runs a command, but its command or reply is not shown")
            elif expected["command"] and expected["command"] not in seen["command"]:
                here.append(f"{address}: the command shown is {seen['command']!r}, not {expected['command']!r}...")
            if expected["line"] and (seen["line"] is None or not seen["line"].strip()):
                here.append(f"{address}: line {expected['line']} ran, but no line of code is marked")
            problems += here
    assert loads == sum(len(walk.steps) + 1 for _, walk in WALKS)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])
