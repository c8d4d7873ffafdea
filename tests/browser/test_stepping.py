"""The seed 001 step-through in a real browser: keyboard, clicks, permalinks, history, no-JS, focus.

The seed lesson asks a prediction before step 5 (`ask_before_step: 5`). Only Next waits for it: at
step 4 the question takes the place of Next (so → does nothing there) until the learner commits or
skips it; a permalink, the slider, Last and End open exactly the step asked for, so a shared link
shows everyone the same state.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from .stepper_page import (
    COUNT,
    SEED_PREDICTION_NUMBERS,
    SEED_PREDICTIONS,
    SEED_QUIZ,
    STEP_THROUGH,
    assert_not_asked,
    assert_prediction_asked,
    assert_prediction_verdict,
    assert_quiz_score,
    assert_same_page,
    assert_step,
    commit_prediction,
    commit_prediction_with_keyboard,
    control,
    controls,
    htmx_requests,
    mark_page,
    prediction_form,
    quiz_question,
    step_url,
    trace_rows,
)
from .support import LiveServer, new_context, tab_to

pytestmark = pytest.mark.browser

# The seed step-through asks a prediction before its last step; the prediction tests depend on it.
assert SEED_PREDICTIONS, "lessons/redis-broker.yaml's step-through asks no prediction any more"


def test_keyboard_walk_forward_back_home_end(page: Page) -> None:
    page.goto(STEP_THROUGH)
    assert_step(page, 0, url=False)  # a new learner starts at step 0, on the bare URL
    mark_page(page)

    page.keyboard.press("End")
    assert_step(page, COUNT)  # End opens the last step at once, undecided predictions or not
    assert_not_asked(page)  # jumped past the prediction: not asked on the way, no verdict
    page.keyboard.press("Home")
    assert_step(page, 0)

    predicted = 0
    for step in range(1, COUNT + 1):
        if step in SEED_PREDICTIONS:
            assert_prediction_asked(page, step)  # the question stands where Next was
            assert_quiz_score(page, str(predicted))
            before = htmx_requests(page)
            page.keyboard.press("ArrowRight")
            assert htmx_requests(page) == before, "→ ran a step the learner has to predict first"
            expect(page.locator("#position")).to_have_text(f"Step {step - 1} of {COUNT}")
            expect(page).to_have_url(re.compile(rf"[?&]step={step - 1}(?:[&#]|$)"))

            commit_prediction_with_keyboard(page, step)
            assert_step(page, step)
            assert_prediction_verdict(page, step)
            predicted += 1
            assert_quiz_score(page, str(predicted))  # 1 point (right, first try), shown without a reload
        else:
            before = htmx_requests(page)
            page.keyboard.press("ArrowRight")
            assert htmx_requests(page) == before + 1, "→ started no request (the probe above would be blind)"
            assert_step(page, step)

    page.keyboard.press("ArrowLeft")
    assert_step(page, COUNT - 1)  # back to the blocked consumer, row 5 gone
    expect(page.locator("#ctl-next")).to_be_visible()  # the prediction is decided: Next is back
    page.keyboard.press("Home")
    assert_step(page, 0)
    page.keyboard.press("End")
    assert_step(page, COUNT)
    assert_same_page(page)


def test_clicking_the_controls_and_the_slider(page: Page) -> None:
    page.goto(STEP_THROUGH)
    assert_step(page, 0, url=False)
    mark_page(page)
    expect(control(page, "First")).to_have_attribute("aria-disabled", "true")
    expect(control(page, "Back")).to_have_attribute("aria-disabled", "true")

    control(page, "Next").click()
    assert_step(page, 1)
    control(page, "Next").click()
    assert_step(page, 2)
    control(page, "Back").click()
    assert_step(page, 1)
    with page.expect_response(re.compile(rf"[?&]step={COUNT}$")) as last:
        control(page, "Last").click()
    assert "hx-push-url" not in last.value.headers, "Last was redirected to another step"
    assert_step(page, COUNT)  # straight to the last step, past the undecided prediction
    assert_not_asked(page)
    assert_quiz_score(page, "0")  # jumping past a prediction records nothing
    expect(control(page, "Next")).to_have_attribute("aria-disabled", "true")
    expect(control(page, "Last")).to_have_attribute("aria-disabled", "true")
    control(page, "First").click()
    assert_step(page, 0)

    slider = page.get_by_role("slider", name="Go to step")
    slider.evaluate(
        """(el, value) => {
             el.value = value;
             el.dispatchEvent(new Event('input', {bubbles: true}));
             el.dispatchEvent(new Event('change', {bubbles: true}));
           }""",
        "3",
    )
    assert_step(page, 3)
    expect(page.get_by_role("slider", name="Go to step")).to_have_value("3")

    page.get_by_role("slider", name="Go to step").evaluate(f"el => {{ el.value = '{COUNT}'; }}")
    page.get_by_role("button", name="Go").click()
    assert_step(page, COUNT)  # the slider opens exactly the step asked for
    assert_not_asked(page)

    page.get_by_role("slider", name="Go to step").evaluate(f"el => {{ el.value = '{COUNT - 1}'; }}")
    page.get_by_role("button", name="Go").click()
    assert_step(page, COUNT - 1)
    if COUNT in SEED_PREDICTIONS:
        assert_prediction_asked(page, COUNT)  # only here, in place of Next
    control(page, "Last").click()
    assert_step(page, COUNT)  # Last is never held
    expect(controls(page).get_by_role("link", name=re.compile("Reset"))).to_have_count(0)  # First does that
    assert_same_page(page)


def test_permalink_reload_share_and_browser_back(browser: Browser, live_server: LiveServer, page: Page) -> None:
    page.goto(step_url(3))
    assert_step(page, 3)
    page.reload()
    assert_step(page, 3)

    someone_else = new_context(browser, live_server)  # sharing the link shows the same state
    try:
        other = someone_else.new_page()
        other.goto(page.url)
        assert_step(other, 3)
    finally:
        someone_else.close()

    control(page, "Next").click()
    assert_step(page, 4)
    if 5 in SEED_PREDICTIONS:
        commit_prediction(page, 5)  # the second "Next" is the prediction's Commit
    else:
        control(page, "Next").click()
    assert_step(page, 5)
    page.go_back()
    assert_step(page, 4)
    page.go_back()
    assert_step(page, 3)
    page.go_forward()
    assert_step(page, 4)


def test_a_permalink_past_a_prediction_shows_everyone_that_step(
    browser: Browser, live_server: LiveServer, page: Page
) -> None:
    """A fresh learner opening ?step=5 sees step 5 (5 rows), not the question asked before it."""
    link = step_url(COUNT)  # past every prediction of the walk
    response = page.goto(link)
    assert response is not None and response.ok
    assert "hx-push-url" not in response.headers, "the permalink was corrected to another step"
    assert_step(page, COUNT)
    expect(trace_rows(page)).to_have_count(COUNT)
    assert_not_asked(page)
    assert_quiz_score(page, "0")  # opening the link answers nothing
    page.reload()
    assert_step(page, COUNT)

    someone_else = new_context(browser, live_server)  # sharing the link shows the same state
    try:
        other = someone_else.new_page()
        other.goto(link)
        assert_step(other, COUNT)
        expect(trace_rows(other)).to_have_count(COUNT)
        assert_not_asked(other)
        held = max(SEED_PREDICTIONS)
        other.goto(step_url(held - 1))  # the step before it is where the question waits
        assert_step(other, held - 1)
        assert_prediction_asked(other, held)
    finally:
        someone_else.close()


def test_committing_a_prediction_refreshes_the_quiz_score_without_a_reload(page: Page) -> None:
    step = min(SEED_PREDICTIONS)
    number = SEED_PREDICTION_NUMBERS[step]
    page.goto(step_url(step - 1))
    assert_step(page, step - 1)
    mark_page(page)
    assert_quiz_score(page, "0")
    # before its step runs the prediction cannot be answered in the quiz section: only its place shows
    locked = page.locator(f"section.quiz-section #q-step-through-main-{number}")
    expect(locked).to_have_class(re.compile(r"\blocked\b"))
    expect(locked.locator("input, button")).to_have_count(0)

    commit_prediction(page, step)
    assert_step(page, step)
    assert_prediction_verdict(page, step)
    assert_quiz_score(page, "1")  # 1 point: right on the first try, without the hint
    expect(quiz_question(page, number)).to_have_class(re.compile(r"\bis-right\b"))
    expect(quiz_question(page, number).locator(".quiz-result")).to_contain_text("Right")

    # The refreshed section still works in place: answer another question of it, still no reload.
    other = next(q for q in SEED_QUIZ if not q.ask_before_step and not q.multiple)
    article = quiz_question(page, other.number)
    (right,) = [c.text for c in other.choices if c.correct]
    article.get_by_label(right, exact=True).check()
    article.get_by_role("button", name=re.compile(r"^\W*Submit")).click()
    expect(article.locator(".quiz-result")).to_contain_text("Right")
    assert_quiz_score(page, "2")
    assert_same_page(page)


def test_without_javascript_links_and_the_slider_form_work(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(STEP_THROUGH)
        assert_step(page, 0, url=False)

        control(page, "Next").click()  # a plain link: a full page load
        assert_step(page, 1)
        control(page, "Next").click()
        assert_step(page, 2)
        expect(trace_rows(page)).to_have_count(2)

        slider = page.get_by_role("slider", name="Go to step")
        slider.focus()
        page.keyboard.press("ArrowRight")  # the browser's own range input, no script
        page.keyboard.press("ArrowRight")
        expect(slider).to_have_value("4")
        page.get_by_role("button", name="Go").click()
        assert_step(page, 4)

        if 5 in SEED_PREDICTIONS:
            assert_prediction_asked(page, 5)
            commit_prediction(page, 5)  # a plain form post, redirected to step 5
            assert_step(page, 5)
            assert_prediction_verdict(page, 5)
            assert_quiz_score(page, "1")

        page.goto(step_url(COUNT))  # a permalink without JavaScript opens that very step too
        assert_step(page, COUNT)
    finally:
        context.close()


def test_focus_stays_on_the_control_after_a_swap(page: Page) -> None:
    page.goto(STEP_THROUGH)
    assert_step(page, 0, url=False)
    mark_page(page)

    tab_to(page, "#ctl-next")
    page.keyboard.press("Enter")
    assert_step(page, 1)
    next_control = page.locator("#ctl-next")
    expect(next_control).to_be_focused()
    assert next_control.evaluate("el => el.matches(':focus-visible')"), "the focused Next shows no focus ring"
    outline = next_control.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert outline[0] != "none" and outline[1] >= 2, f"focused Next has outline {outline}"

    page.keyboard.press("Enter")  # keep going from the same control
    assert_step(page, 2)
    expect(next_control).to_be_focused()

    slider = page.locator("#step-slider")
    tab_to(page, "#step-slider")
    page.keyboard.press("ArrowRight")  # the slider steps too, and keeps focus after the swap
    assert_step(page, 3)
    expect(slider).to_be_focused()
    assert_same_page(page)


def test_focus_is_not_lost_after_committing_a_prediction(page: Page) -> None:
    """The prediction form is replaced by the step it asked about; focus must land in the stepper."""
    held = min(SEED_PREDICTIONS)
    page.goto(step_url(held - 1))
    assert_step(page, held - 1)
    commit_prediction_with_keyboard(page, held)
    assert_step(page, held)
    expect(prediction_form(page)).to_have_count(0)
    focused = page.evaluate(
        """() => { const a = document.activeElement;
                   return a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') : null; }"""
    )
    inside = page.evaluate("document.getElementById('stepper').contains(document.activeElement)")
    assert inside, (
        f"after committing the prediction with the keyboard, focus fell to {focused}: a keyboard or "
        "screen-reader user loses their place (expected the verdict or the Next control to have focus)"
    )


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rgb(css: str) -> tuple[float, float, float]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)[:3]]
    return numbers[0], numbers[1], numbers[2]


# The focused control's outline colour, and the colour behind the outline (the first opaque ancestor).
_FOCUS_COLOURS = """el => {
  const style = getComputedStyle(el);
  let node = el.parentElement, behind = 'rgb(255, 255, 255)';
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(bg)) { behind = bg; break; }
    node = node.parentElement;
  }
  return {outline: style.outlineColor, outlineStyle: style.outlineStyle, behind: behind, shadow: style.boxShadow};
}"""


@pytest.mark.parametrize("element_id", ["ctl-next", "ctl-back", "step-slider"])
def test_focus_ring_contrasts_with_its_background(page: Page, element_id: str) -> None:
    """WCAG 1.4.11: the focus indicator needs 3:1 against what surrounds it, or it is not visible."""
    page.goto(step_url(2))
    assert_step(page, 2)
    tab_to(page, f"#{element_id}")
    colours = page.locator(f"#{element_id}").evaluate(_FOCUS_COLOURS)
    behind = _rgb(colours["behind"])
    ratio = _contrast(_rgb(colours["outline"]), behind) if colours["outlineStyle"] != "none" else 0.0
    if colours["shadow"] != "none":  # a two-tone ring: a box-shadow ring may carry the contrast
        ratio = max(ratio, _contrast(_rgb(colours["shadow"]), behind))
    assert ratio >= 3, (
        f"#{element_id}'s focus ring (outline {colours['outline']}, box-shadow {colours['shadow']}) on "
        f"{colours['behind']} has contrast {ratio:.2f}:1; a focus indicator needs 3:1"
    )


def test_arriving_at_a_prediction_moves_focus_to_it_and_the_live_region_says_why_next_waits(page: Page) -> None:
    held = min(SEED_PREDICTIONS)
    page.goto(step_url(held - 2))
    assert_step(page, held - 2)
    mark_page(page)
    page.locator("pre.code").focus()  # a scrolling box, not a form field: the arrows still step
    page.keyboard.press("ArrowRight")
    assert_step(page, held - 1)
    assert_prediction_asked(page, held)
    expect(prediction_form(page)).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text(f"Next is held: predict what step {held} does")
    before = htmx_requests(page)
    page.keyboard.press("ArrowRight")  # held: → has nothing to press
    assert htmx_requests(page) == before
    page.keyboard.press("ArrowLeft")  # Back is never held
    assert_step(page, held - 2)
    assert_same_page(page)


def test_arrows_do_not_step_while_typing_in_the_console(page: Page) -> None:
    page.goto(step_url(2))
    assert_step(page, 2)
    mark_page(page)
    page.locator("#console-line").fill("LRANGE queue 0 -1")
    page.keyboard.press("ArrowLeft")  # moves the text cursor, nothing else
    page.keyboard.press("ArrowRight")
    assert htmx_requests(page) == 0
    expect(page.locator("#position")).to_have_text(f"Step 2 of {COUNT}")


def test_a_step_click_sends_the_pages_token_and_the_predictions_it_shows_locked(page: Page) -> None:
    """The step fragment is the same bytes for everyone (tutor/stepcache.py): the page supplies the rest.

    htmx sends the learner's CSRF token from the page's hx-headers, and stepper.js the steps of the
    predictions the quiz section still shows locked, so the server knows without a store read
    whether a click opens one.
    """
    sent: list[dict[str, str]] = []
    page.on("request", lambda request: sent.append(request.headers) if "step=" in request.url else None)
    asked = max(SEED_PREDICTIONS)
    assert asked == COUNT, "this test opens the seed's prediction with Last"
    page.goto(step_url(0))
    mark_page(page)
    token = page.locator("body").get_attribute("hx-headers")
    assert token and re.fullmatch(r'\{"X-CSRF-Token": "[0-9a-f]{64}"\}', token)
    locked = page.locator(f"article.quiz-question.locked[data-opens-at='{asked}']")
    expect(locked).to_have_count(1)
    control(page, "Last").click()
    assert_step(page, asked)
    click = next(headers for headers in reversed(sent) if headers.get("hx-request") == "true")
    assert click["x-csrf-token"] == token.split('"')[3]
    assert click["x-tutor-locked"].split() == [str(asked)]  # locked when the page was shown: it opens now
    expect(locked).to_have_count(0)  # the quiz section came with the step: the prediction is open
    expect(quiz_question(page, SEED_PREDICTION_NUMBERS[asked])).to_be_visible()
    control(page, "First").click()
    assert_step(page, 0)
    click = next(headers for headers in reversed(sent) if headers.get("hx-request") == "true")
    assert click["x-tutor-locked"] == ""  # nothing shown locked any more
    assert_same_page(page)
