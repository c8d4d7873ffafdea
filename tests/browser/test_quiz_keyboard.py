"""Issue 5: a quiz answered with the keyboard only, on the topic's quiz page. No mouse at all.

The right choice comes from the lesson file itself (tutor.loader.load_file); the page shows the
choices in this learner's shuffled order, and each radio's value is the choice's original index, so
the test arrows through the choices until the focused one is a correct one.
"""

from __future__ import annotations

import re

import pytest
from conftest import LESSONS
from playwright.sync_api import Page, expect

from tutor.loader import load_file
from tutor.model import Lesson, Question

from .stepper_page import LESSON
from .support import tab_to

pytestmark = pytest.mark.browser

QUIZ_PAGE = f"/lessons/{LESSON}/quiz"


def _lesson() -> Lesson:
    loaded = load_file(LESSONS / f"{LESSON}.yaml")
    assert loaded.lesson is not None, f"lessons/{LESSON}.yaml does not load: {loaded.problems}"
    return loaded.lesson


LESSON_FILE = _lesson()
FIRST_QUIZ, FIRST_QUESTIONS = LESSON_FILE.quizzes()[0]  # the page lists the quizzes in this order
TOPIC_TOTAL = sum(len(questions) for _, questions in LESSON_FILE.quizzes())


def _hinted(questions: tuple[Question, ...]) -> Question:
    """A question other than the first that has a hint text to show."""
    return next(q for q in questions[1:] if q.hint)


def _focused(page: Page, script: str) -> str:
    return str(page.evaluate(f"(() => {{ const el = document.activeElement; return {script}; }})()"))


def test_answer_a_question_and_open_a_hint_with_the_keyboard_only(page: Page) -> None:
    first = FIRST_QUESTIONS[0]
    assert not first.multiple, "this walk-through picks one radio button; the first question became multiple"
    right = {str(index) for index in first.correct}
    other = _hinted(FIRST_QUESTIONS)

    page.goto(QUIZ_PAGE)
    page.evaluate("window.__sameDocument = true")
    section = page.locator("section.quiz-section").first
    article = section.locator("article.quiz-question").first
    expect(article.locator("legend")).to_contain_text(first.prompt)
    question_id = article.get_attribute("id")
    assert question_id, "the first question has no id to aim Tab at"
    score = section.locator(".quiz-score")
    topic_score = page.locator("#quiz-topic-score")
    expect(score).to_have_text(re.compile(rf"^\s*Score: 0 / {len(FIRST_QUESTIONS)}\b"))
    expect(topic_score).to_have_text(re.compile(rf"Your score for this topic: 0 / {TOPIC_TOTAL}\b"))

    # Tab into the first question's radio group, then arrow (each arrow also selects) to a right choice.
    tab_to(page, f"#{question_id} input[type=radio]")
    radios = article.locator("input[type=radio]")
    for _ in range(radios.count()):
        if _focused(page, "el.value") in right:
            break
        page.keyboard.press("ArrowDown")
    value = _focused(page, "el.value")
    assert value in right, f"no arrow press reached a right choice ({sorted(right)}) of question {first.number}"
    page.keyboard.press("Space")  # selects the focused radio (Tab alone does not)
    chosen = article.locator(f"input[type=radio][value='{value}']")
    expect(chosen).to_be_checked()
    expect(article.locator("input[type=radio]:checked")).to_have_count(1)

    page.keyboard.press("Tab")  # from the radio group straight to Submit
    submit = article.get_by_role("button", name=re.compile(r"^\W*Submit"))
    expect(submit).to_be_focused()
    page.keyboard.press("Enter")

    result = page.locator(f"#{question_id}-result")
    expect(result).to_be_visible()
    expect(result.locator(".quiz-verdict")).to_have_text(re.compile(r"^\W*Right\b"))
    expect(result).to_contain_text(first.choices[int(value)].text)
    expect(result).to_contain_text("Attempts: 1 · Points: 1 of 1")
    expect(result).to_be_focused()  # the keyboard user lands on the verdict, not back at the top
    expect(score).to_have_text(re.compile(rf"^\s*Score: 1 / {len(FIRST_QUESTIONS)}\b"))
    expect(topic_score).to_have_text(re.compile(rf"Your score for this topic: 1 / {TOPIC_TOTAL}\b"))

    # Another question's "Show hint", reached with Tab from the verdict and pressed with Enter.
    hinted = section.locator("article.quiz-question").nth(other.number - 1)
    expect(hinted.locator("legend")).to_contain_text(other.prompt)
    hinted_id = hinted.get_attribute("id")
    assert hinted_id, f"question {other.number} has no id to aim Tab at"
    tab_to(page, f"#{hinted_id} .quiz-hint-form button")
    expect(hinted.get_by_role("button", name="Show hint")).to_be_focused()
    page.keyboard.press("Enter")

    hint = page.locator(f"#{hinted_id}-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text(other.hint or "")
    expect(hint).to_be_focused()  # the revealed hint takes the focus from the button it replaced
    expect(page.locator(f"#{hinted_id} .quiz-hint-form")).to_have_count(0)
    if other.hint_step:  # where to look, never the value: no table beside the question
        expect(hint).to_contain_text("Where to look: the execution table, row")
        expect(page.locator(f"#{hinted_id} table")).to_have_count(0)
    expect(page.locator(f"#{hinted_id}")).to_contain_text("A right answer now earns 0.75 points")
    expect(score).to_have_text(re.compile(rf"^\s*Score: 1 / {len(FIRST_QUESTIONS)}\b"))  # a hint alone earns 0
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded: the forms did not go through htmx"
