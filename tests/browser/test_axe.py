"""axe-core on every page of the site, for every lesson in lessons/: zero violations."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import LESSONS
from playwright.sync_api import Page, expect

from tutor.catalog import Catalog

from .support import LiveServer

pytestmark = pytest.mark.browser

QUIZ_RULE = "/lessons/<lesson_id>/quiz"
SHOWN = 6  # elements listed per violation in a failure message


def site_pages() -> list[tuple[str, int | None]]:
    """Every page a learner can open: the catalog, each lesson's topic, step-throughs and performance.

    A step-through is checked at step 0, at its last step (a permalink opens it directly) and, for
    each prediction (`ask_before_step: N`), at step N-1, where the question stands in place of Next;
    such a page comes with N, so the test can also check step N after the prediction is skipped.
    """
    lessons, _ = Catalog(LESSONS).state()
    pages: list[tuple[str, int | None]] = [("/", None)]
    for lesson in lessons:
        pages.append((f"/lessons/{lesson.id}/", None))
        for index, walk in enumerate(lesson.step_throughs):
            base = f"/lessons/{lesson.id}/step-through" + ("" if index == 0 else f"/{walk.slug}")
            shown: dict[int, int | None] = {0: None, len(walk.steps): None}
            shown.update({q.ask_before_step - 1: q.ask_before_step for q in walk.quiz if q.ask_before_step})
            pages += [(f"{base}?step={step}", asked) for step, asked in sorted(shown.items())]
        if lesson.performance is not None:
            pages.append((f"/lessons/{lesson.id}/performance", None))
    return pages


def quiz_pages() -> list[str]:
    """Each lesson's quiz page, when the site has the quiz route."""
    lessons, _ = Catalog(LESSONS).state()
    return [f"/lessons/{lesson.id}/quiz" for lesson in lessons]


def describe(violations: list[dict[str, Any]]) -> str:
    """What axe found, so the failure says what to fix and where: rule, help, targets, HTML."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        nodes = violation["nodes"]
        for node in nodes[:SHOWN]:
            summary = str(node.get("failureSummary", "")).replace("\n", " ")
            lines.append(f"    at {node['target']}: {summary}")
            lines.append(f"       {node['html'][:200]}")
        if len(nodes) > SHOWN:
            lines.append(f"    ... and {len(nodes) - SHOWN} more elements")
    return "\n".join(lines)


def violations_on(page: Page, path: str) -> str:
    """Open the page and run axe-core on it; a description of the violations ('' when none)."""
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"
    return axe_here(page, path)


AXE_SCRIPT = Axe().axe_script  # axe-core itself, as axe-playwright-python ships it


def axe_here(page: Page, label: str) -> str:
    """Run axe-core on the page as it is now (injected once per document: an htmx swap keeps it)."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    violations = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
    if not violations:
        return ""
    return f"axe-core found {len(violations)} violation(s) on {label}:\n" + describe(violations)


def skip_prediction(page: Page, step: int) -> None:
    """Skip the prediction asked in place of Next: step `step` runs and shows the skip note."""
    form = page.locator("#stepper form.prediction")
    expect(form).to_have_count(1)
    form.get_by_role("button", name="Skip the prediction").click()
    expect(page.locator("#stepper #position")).to_contain_text(f"Step {step} of ")
    expect(page.locator("#stepper #prediction-result")).to_be_visible()


PAGES = site_pages()


@pytest.mark.parametrize(("path", "asked"), PAGES, ids=[path for path, _ in PAGES])
def test_page_has_no_axe_violations(page: Page, path: str, asked: int | None) -> None:
    found = [violations_on(page, path)]
    if asked is not None:
        skip_prediction(page, asked)  # the page with its question was checked above
        found.append(axe_here(page, f"{path} after skipping the prediction (step {asked})"))
    problems = "\n".join(f for f in found if f)
    assert not problems, problems


@pytest.mark.parametrize("path", quiz_pages())
def test_quiz_page_has_no_axe_violations(page: Page, live_server: LiveServer, path: str) -> None:
    assert any(rule.rule == QUIZ_RULE for rule in live_server.app.url_map.iter_rules()), f"no {QUIZ_RULE} route"
    problems = violations_on(page, path)
    assert not problems, problems
