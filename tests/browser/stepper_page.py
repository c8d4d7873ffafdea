"""What the seed 001 step-through must show after k steps, checked in a real page.

The lesson is lessons/redis-broker.yaml: 5 steps; step 4 blocks the consumer, step 5 pushes 'world'
and Redis hands it to the waiting consumer. A quiz question with `ask_before_step: N` is a prediction:
at step N-1 the question takes the place of Next until it is answered or skipped. Only Next waits:
a permalink ?step=k, the slider, Last and End open exactly step k (a shared link shows everyone the
same state). The helpers here answer a prediction the way a learner would.

The live region is #announcer, outside #stepper (screen readers keep it across swaps); each stepper
fragment updates its text out of band.
"""

from __future__ import annotations

import re

from conftest import LESSONS
from playwright.sync_api import Locator, Page, expect

from tutor.catalog import Catalog
from tutor.model import StepThrough

from .support import tab_to

LESSON = "redis-broker"
STEP_THROUGH = f"/lessons/{LESSON}/step-through"
COUNT = 5


def predictions(walk: StepThrough) -> dict[int, list[str]]:
    """The walk's prediction questions: the step each is asked before, and its correct choices."""
    return {q.ask_before_step: [c.text for c in q.choices if c.correct] for q in walk.quiz if q.ask_before_step}


def prediction_numbers(walk: StepThrough) -> dict[int, int]:
    """The walk's prediction questions: the step each is asked before, and its number in the quiz."""
    return {q.ask_before_step: q.number for q in walk.quiz if q.ask_before_step}


def _seed_walk() -> StepThrough:
    lesson = Catalog(LESSONS).get(LESSON)
    assert lesson is not None, f"lessons/ has no sound lesson '{LESSON}' (run: tutor check lessons/)"
    return lesson.step_throughs[0]


SEED_PREDICTIONS = predictions(_seed_walk())
SEED_PREDICTION_NUMBERS = prediction_numbers(_seed_walk())
SEED_QUIZ = _seed_walk().quiz
SEED_QUIZ_TOTAL = len(SEED_QUIZ)  # the step-through's quiz section: "Score: p / total"

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
    """Remember this document (and its live region), so a full page load can be detected later.

    Also counts htmx requests from now on (see htmx_requests).
    """
    page.evaluate(
        """() => {
             window.__sameDocument = true;
             window.__htmxRequests = 0;
             document.addEventListener('htmx:beforeRequest', () => { window.__htmxRequests += 1; });
             const live = document.getElementById('announcer');
             if (live) live.__kept = true;
           }"""
    )


def htmx_requests(page: Page) -> int:
    """How many htmx requests the page started since mark_page.

    htmx fires htmx:beforeRequest synchronously while handling the click (stepper.js clicks the
    control inside its keydown handler), so right after a key press this count already says
    whether the key started a request: no waiting for something not to happen.
    """
    return int(page.evaluate("window.__htmxRequests"))


def assert_same_page(page: Page) -> None:
    """The steps were swapped in by htmx: the document, and its live region, were never replaced."""
    assert page.evaluate("window.__sameDocument === true"), (
        "the page was reloaded: the step controls navigated instead of being swapped by htmx"
    )
    assert page.evaluate("document.getElementById('announcer').__kept === true"), (
        "the live region #announcer was replaced by a swap: screen readers may stop announcing it"
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

    assert_announced(page, step)


def announcer(page: Page) -> Locator:
    """The page's one live region for steps: outside #stepper, so swaps never replace it."""
    return page.locator("#announcer")


def assert_announced(page: Page, step: int) -> None:
    """The live region says which row just ran ("Step k of 5: ..."), and it is where it belongs."""
    live = announcer(page)
    expect(live).to_have_count(1)
    expect(live).to_have_attribute("role", "status")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_have_text(re.compile(rf"^\s*Step {step} of {COUNT}\b"))  # the row that just ran
    assert live.evaluate("el => !el.closest('#stepper')"), "#announcer is inside #stepper: each swap replaces it"
    # the out-of-band pieces of the fragment were swapped to their places, none left in the stepper
    expect(page.locator("#stepper [hx-swap-oob]")).to_have_count(0)
    expect(page.locator("#stepper [role='status'][aria-live]:not(#try-result)")).to_have_count(0)


def quiz_section(page: Page) -> Locator:
    """The step-through's own quiz section, below the stepper."""
    section = page.locator("section.quiz-section")
    expect(section).to_have_count(1)
    return section


def assert_quiz_score(page: Page, points: str, total: int = SEED_QUIZ_TOTAL) -> None:
    """The quiz section's score line reads "Score: points / total"."""
    line = quiz_section(page).locator(".quiz-score")
    expect(line).to_have_text(re.compile(rf"^\s*Score: {re.escape(points)} / {total}\b"))


def quiz_question(page: Page, number: int) -> Locator:
    """Question `number` of the step-through's quiz section."""
    return (
        quiz_section(page)
        .locator("article.quiz-question")
        .filter(has=page.locator("legend", has_text=re.compile(rf"^\s*Question {number}\.")))
    )


def prediction_form(page: Page) -> Locator:
    """The prediction question that stands in for Next at step N-1 (while it is undecided)."""
    return page.locator("#stepper form.prediction")


def assert_prediction_asked(page: Page, step: int) -> None:
    """At step-1 the prediction about `step` takes the place of Next (→ has nothing to press)."""
    expect(page.locator("#position")).to_have_text(f"Step {step - 1} of {COUNT}")
    form = prediction_form(page)
    expect(form).to_be_visible()
    expect(form.locator("legend")).to_contain_text(f"Predict before step {step} runs")
    expect(page.locator("#ctl-next")).to_have_count(0)
    expect(page.locator("#stepper [data-key='ArrowRight']")).to_have_count(0)


def assert_not_asked(page: Page) -> None:
    """No prediction asked here and no verdict shown (a step reached without pressing Next)."""
    expect(prediction_form(page)).to_have_count(0)
    expect(page.locator("#stepper #prediction-result")).to_have_count(0)


def commit_prediction(page: Page, step: int) -> None:
    """Pick the right choice(s) with the mouse and commit; the step it asked about then runs."""
    assert_prediction_asked(page, step)
    form = prediction_form(page)
    for text in SEED_PREDICTIONS[step]:
        form.get_by_label(text, exact=True).check()
    form.get_by_role("button", name=re.compile(r"^\W*Commit")).click()


def commit_prediction_with_keyboard(page: Page, step: int) -> None:
    """Tab into the choices, arrow to the right one, Tab to Commit and press Enter."""
    assert_prediction_asked(page, step)
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
