"""Issue 10: the console driven with the keyboard only, as redis-cli is: Tab to it, type, Enter, ↑.

At step 3 of the broker lesson the learner pushes 'world'; Next then runs step 4 on that state,
whose BRPOP returns ('queue', 'world') instead of blocking. A typo is answered in place, HELP
answers in place, ↑ recalls the earlier command, and "Back to the lesson's run" leaves the run.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .stepper_page import STEP_THROUGH
from .support import tab_to

pytestmark = pytest.mark.browser


def _run(page: Page, line: str) -> None:
    """Type a line into the focused console and press Enter, as at a redis-cli prompt."""
    line_box = page.locator("#console-line")
    expect(line_box).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def test_the_console_with_the_keyboard_only(page: Page) -> None:
    page.goto(f"{STEP_THROUGH}?step=3")
    tab_to(page, "#console-line", limit=250)

    _run(page, "LPUSH queue world")
    expect(page.locator("#console-log")).to_contain_text("LPUSH queue world")
    expect(page.locator("#console-log")).to_contain_text("(integer) 1")
    expect(page.locator("#console-title")).to_have_text("Your run")
    expect(page.locator("#console-line")).to_be_focused()  # focus stays at the prompt across the swap

    _run(page, "LPUHS queue x")
    expect(page.locator("#console-output")).to_contain_text("(error) unknown Redis command 'LPUHS'")
    expect(page.locator("#console-line")).to_have_value("LPUHS queue x")  # kept, to fix in place

    _run(page, "HELP LPUSH")
    expect(page.locator("#console-output")).to_have_text("LPUSH key element [element ...]")

    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#console-line")).to_have_value("LPUSH queue world")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#console-line")).to_have_value("")

    tab_to(page, "#ctl-next", limit=250)
    page.keyboard.press("Enter")
    expect(page.locator("#position")).to_have_text("Step 4 of 5")
    expect(page.locator("#row-4 td.result")).to_contain_text("('queue', 'world')")
    expect(page.locator("#row-4 td.result")).not_to_contain_text("Blocks waiting")
    expect(page.locator(".differences")).to_contain_text("Step 4, reply")

    tab_to(page, "#console-back", limit=250)
    page.keyboard.press("Enter")
    expect(page.locator("#console-title")).to_have_text("Try it yourself")
    expect(page.locator("#row-4 td.result")).to_contain_text("Blocks waiting")


def test_the_console_works_as_plain_forms_without_javascript(browser: object, live_server: object) -> None:
    from playwright.sync_api import Browser

    from .support import LiveServer, new_context

    assert isinstance(browser, Browser) and isinstance(live_server, LiveServer)
    context = new_context(browser, live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{STEP_THROUGH}?step=3")
        page.locator("#console-line").fill("LPUSH queue world")
        page.locator("#console-line").press("Enter")
        expect(page.locator("#console-log")).to_contain_text("(integer) 1")
        assert page.url.endswith(f"{STEP_THROUGH}?step=3#console")  # PRG: the step page, not the POST
        page.locator("#console-line").fill("KEYS *")
        page.locator("#console-line").press("Enter")
        expect(page.locator("#console-output")).to_contain_text("(error) 'KEYS' is not available in lessons")
        expect(page.locator("h1")).to_be_visible()  # the whole page, not a bare error page
    finally:
        context.close()


def test_a_console_form_posted_by_the_browser_itself_carries_the_token(page: Page) -> None:
    """A fragment's form has no CSRF field (htmx sends the page's token as a header). Submitted before
    htmx has taken it over, e.g. Enter pressed while a swap settles, the browser posts it natively:
    stepper.js adds the token, so the command is answered on a whole page instead of refused with 400.
    """
    page.goto(f"{STEP_THROUGH}?step=2")
    page.locator("#ctl-next").click()  # step 3 comes as an htmx fragment: its form has no token field
    expect(page.locator("#position")).to_have_text("Step 3 of 5")
    expect(page.locator("#console-form input[name='csrf']")).to_have_count(0)
    # A copy of the form is one htmx has never processed: submitting it is the browser's own post.
    page.evaluate(
        """() => {
            const form = document.getElementById("console-form");
            const copy = form.cloneNode(true);
            form.replaceWith(copy);
            copy.querySelector("#console-line").value = "HELP LPUSH";
            copy.requestSubmit();
        }"""
    )
    expect(page.locator("#console-output")).to_have_text("LPUSH key element [element ...]")
    expect(page.locator("body")).not_to_contain_text("this form has expired")
