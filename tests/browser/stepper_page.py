"""What the seed 001 step-through must show after k steps, checked in a real page.

The lesson is lessons/redis-broker.yaml: 5 steps; step 4 blocks the consumer, step 5 pushes 'world'
and Redis hands it to the waiting consumer. A quiz question with `ask_before_step: N` is a prediction:
the step-through holds the learner at step N-1 (the question replaces Next) until it is answered or
skipped; the helpers here get past it the way a learner would.
"""

from __future__ import annotations

import re

from conftest import LESSONS
from playwright.sync_api import Locator, Page, expect

from tutor.catalog import Catalog
from tutor.model import StepThrough

LESSON = "redis-broker"
STEP_THROUGH = f"/lessons/{LESSON}/step-through"
COUNT = 5


def predictions(walk: StepThrough) -> dict[int, list[str]]:
    """The walk's prediction questions: the step each is asked before, and its correct choices."""
    return {q.ask_before_step: [c.text for c in q.choices if c.correct] for q in walk.quiz if q.ask_before_step}


def _seed_walk() -> StepThrough:
    lesson = Catalog(LESSONS).get(LESSON)
    assert lesson is not None, f"lessons/ has no sound lesson '{LESSON}' (run: tutor check lessons/)"
    return lesson.step_throughs[0]


SEED_PREDICTIONS = predictions(_seed_walk())

# The Result cell of each row (its main text, without the wake-up events shown under it).
RESULTS = {
    1: "1",
    2: "('queue', 'hello')",
    3: "Message 'hello' processed",
    4: "Blocks waiting",
    5: "1",
}
UNBLOCKED = "unblocked, receives ('queue', 'world')"
WAITING = "None (waiting)"
WOKEN = "('queue', 'world')"

# The Result cell's own text: events removed, whitespace collapsed.
_RESULT_TEXT = """cell => {
  const copy = cell.cloneNode(true);
  copy.querySelectorAll('.event').forEach(e => e.remove());
  return copy.textContent.replace(/\\s+/g, ' ').trim();
}"""


def step_url(step: int) -> str:
    """The permalink of the seed step-through at this step."""
    return f"{STEP_THROUGH}?step={step}"


def controls(page: Page) -> Locator:
    """The step controls' navigation landmark."""
    return page.get_by_role("navigation", name="Step controls")


def control(page: Page, name: str) -> Locator:
    """A step control link by its accessible name (icons around the word are allowed)."""
    return controls(page).get_by_role("link", name=re.compile(rf"^\W*{name}\W*$"))


def trace_rows(page: Page) -> Locator:
    """The executed rows of the execution table (not the 'nothing has run yet' placeholder)."""
    return page.locator("#stepper table.trace tbody tr[id^='row-']")


def tracker_cells(page: Page, variable: str) -> Locator:
    """The value cells of one row of the variable tracker."""
    row = page.locator("#stepper table.tracker tbody tr").filter(
        has=page.locator("th", has_text=re.compile(rf"^\s*{re.escape(variable)}\b"))
    )
    expect(row).to_have_count(1)
    return row.locator("td")


def mark_page(page: Page) -> None:
    """Remember this document, so a later full page load (not an htmx swap) can be detected."""
    page.evaluate("window.__sameDocument = true")


def assert_same_page(page: Page) -> None:
    """The steps were swapped in by htmx: the document was never reloaded."""
    assert page.evaluate("window.__sameDocument === true"), (
        "the page was reloaded: the step controls navigated instead of being swapped by htmx"
    )


def assert_step(page: Page, step: int, *, url: bool = True) -> None:
    """Everything the stepper shows after `step` steps; waits for the swap (the 'Step k of 5' text)."""
    expect(page.locator("#position")).to_have_text(f"Step {step} of {COUNT}")
    if url:
        expect(page).to_have_url(re.compile(rf"[?&]step={step}(?:[&#]|$)"))

    rows = trace_rows(page)
    expect(rows).to_have_count(step)  # never a stale row after going back
    for number in range(1, step + 1):
        row = rows.nth(number - 1)
        expect(row).to_have_id(f"row-{number}")
        result = row.locator("td.result")
        text = result.evaluate(_RESULT_TEXT)
        pattern = rf"^(?:\W+\s)?{re.escape(RESULTS[number])}$"  # an icon before the words is fine
        assert re.match(pattern, text), f"row {number}'s Result is {text!r}, expected {RESULTS[number]!r}"
        events = result.locator(".event")
        if number == 5:
            expect(events).to_have_count(1)
            expect(events).to_contain_text(UNBLOCKED)
        else:
            expect(events).to_have_count(0)
    if step == 0:
        expect(page.locator("#stepper table.trace tbody")).to_contain_text("Nothing has run yet")

    current = page.locator("#stepper table.trace tbody tr[aria-current='step']")
    if step:
        expect(current).to_have_count(1)
        expect(current).to_have_id(f"row-{step}")
    else:
        expect(current).to_have_count(0)

    msg = tracker_cells(page, "msg")
    expect(msg).to_have_count(step + 1)  # Start, After step 1..k
    now = msg.last
    if step == 4:
        expect(now.locator("code")).to_have_text(WAITING)
        expect(now).to_have_class(re.compile(r"\bwaiting\b"))
    elif step == 5:
        expect(now.locator("code")).to_have_text(WOKEN)
        expect(now).not_to_have_class(re.compile(r"\bwaiting\b"))

    live = page.locator("#stepper [role='status'][aria-live]").filter(has_text=f"Step {step} of {COUNT}")
    expect(live).to_have_count(1)  # the announcement of the row that just ran


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches the selector (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab")


def prediction_form(page: Page) -> Locator:
    """The prediction question that stands in for Next before a step (present only while held)."""
    return page.locator("#stepper form.prediction")


def assert_held_before(page: Page, step: int) -> None:
    """The learner is held at step-1: the prediction about `step` is asked instead of running it."""
    expect(page.locator("#position")).to_have_text(f"Step {step - 1} of {COUNT}")
    form = prediction_form(page)
    expect(form).to_be_visible()
    expect(form.locator("legend")).to_contain_text(f"Predict before step {step} runs")


def commit_prediction(page: Page, step: int) -> None:
    """Pick the right choice(s) with the mouse and commit; the held step then runs."""
    assert_held_before(page, step)
    form = prediction_form(page)
    for text in SEED_PREDICTIONS[step]:
        form.get_by_label(text, exact=True).check()
    form.get_by_role("button", name=re.compile(r"^\W*Commit")).click()


def commit_prediction_with_keyboard(page: Page, step: int) -> None:
    """Tab into the choices, arrow to the right one, Tab to Commit and press Enter."""
    assert_held_before(page, step)
    (wanted,) = SEED_PREDICTIONS[step]  # a single-choice prediction: radio buttons
    tab_to(page, "#stepper form.prediction input[type=radio]")
    label = "document.activeElement.labels[0].textContent.trim()"
    for _ in range(prediction_form(page).locator("input[type=radio]").count()):
        if page.evaluate(label) == wanted:
            break
        page.keyboard.press("ArrowDown")  # moves to the next radio and selects it
    assert page.evaluate(label) == wanted, f"could not reach the choice {wanted!r} with the arrow keys"
    page.keyboard.press("Space")
    expect(prediction_form(page).get_by_label(wanted, exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    commit = prediction_form(page).get_by_role("button", name=re.compile(r"^\W*Commit"))
    expect(commit).to_be_focused()
    page.keyboard.press("Enter")


def assert_prediction_verdict(page: Page, step: int) -> None:
    """After a committed prediction, step N shows the learner's answer graded against what ran."""
    verdict = page.locator("#stepper #prediction-result")
    expect(verdict).to_be_visible()
    expect(verdict).to_contain_text("Right")
    for text in SEED_PREDICTIONS[step]:
        expect(verdict).to_contain_text(text)
