"""Quizzes: scoring rules, per-learner shuffling, answering, hints, forged input, predictions,
persistence across a restart and across app processes on one Redis, reset and download.

The tests use a small lesson of their own (QUIZ_LESSON), so lesson edits never move them.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tutor import create_app, quiz
from tutor.loader import load_text
from tutor.model import Lesson
from tutor.progress import Answer, ProgressStore, export

LESSON_ID = "quizfix"
WALK_QUIZ = "step-through:main"
QUIZ_URL = f"/lessons/{LESSON_ID}/quiz"
STEP_URL = f"/lessons/{LESSON_ID}/step-through"

QUIZ_LESSON = """\
title: Quiz fixture
order: 1
step_through:
  title: Quiz fixture walk
  actors: [producer, consumer]
  watch: [queue]
  variables: [msg]
  steps:
    - {actor: producer, action: Producer pushes a, redis: LPUSH queue a}
    - {actor: consumer, action: Consumer pops, redis: RPOP queue, assign: msg}
    - {actor: producer, action: Producer pushes b, redis: LPUSH queue b}
    - {actor: producer, action: Producer pushes c, redis: LPUSH queue c}
  quiz:
    - prompt: What is the state of 'queue' after step 1?
      choices:
        - {text: "['a']", correct: true, feedback: One push onto an empty list.}
        - {text: "[]", feedback: Nothing has been popped yet.}
        - {text: "None", feedback: The key exists after the push.}
        - "['b']"
      hint: Look at row 1 of the execution table.
      hint_step: 1
      explanation: LPUSH creates the list and adds the element.
      answer_from: {step: 1, key: queue}
    - prompt: Which commands work on lists?
      choices:
        - {text: LPUSH, correct: true, feedback: Pushes onto the head.}
        - {text: RPOP, correct: true, feedback: Pops from the tail.}
        - {text: SET, feedback: SET works on strings.}
        - {text: GET, feedback: GET reads strings.}
    - prompt: What does LPUSH reply at step 3?
      ask_before_step: 3
      choices:
        - {text: "1", correct: true, feedback: The pop emptied the list and b is alone.}
        - {text: "2", feedback: The list was emptied at step 2.}
        - {text: "0", feedback: LPUSH replies with the new length.}
      answer_from: {step: 3, reply: true}
performance:
  impact: low
  scenario: One round trip or many
  bad: {code: "for x in xs: r.lpush('q', x)", why: One round trip per element.}
  good: {code: "r.lpush('q', *xs)", why: One round trip.}
  quiz:
    - prompt: Which pattern makes fewer round trips?
      choices:
        - {text: One LPUSH with every element, correct: true}
        - One LPUSH per element
"""


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def lessons_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / f"{LESSON_ID}.yaml").write_text(QUIZ_LESSON, encoding="utf-8")
    return folder


def make_app(lessons_dir: Path, database: Path, **extra: Any) -> Flask:
    config = {
        "TESTING": True,
        "TUTOR_LESSONS": str(lessons_dir),
        "TUTOR_DATABASE": str(database),
        "SECRET_KEY": "quiz-test-secret",
        "REDIS_URL": None,
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture
def qapp(lessons_dir: Path, tmp_path: Path) -> Flask:
    return make_app(lessons_dir, tmp_path / "tutor.sqlite3")


@pytest.fixture
def qclient(qapp: Flask) -> FlaskClient:
    return qapp.test_client()


def the_lesson() -> Lesson:
    loaded = load_text(QUIZ_LESSON, "quizfix.yaml", LESSON_ID)
    assert loaded.lesson is not None, loaded.problems
    return loaded.lesson


def store_of(app: Flask) -> ProgressStore:
    return app.extensions["tutor.progress"]  # type: ignore[no-any-return]


def csrf_from(client: FlaskClient, url: str = QUIZ_URL) -> str:
    """The CSRF token as a learner's browser gets it: from a form on the page."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def learner_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["learner"])


def answer(
    client: FlaskClient,
    token: str,
    choices: list[int] | list[str],
    question: int = 1,
    quiz_name: str = WALK_QUIZ,
    htmx: bool = False,
    place: str = "quiz",
) -> Any:
    data = {
        "csrf": token,
        "quiz": quiz_name,
        "question": str(question),
        "place": place,
        "choice": [str(c) for c in choices],
    }
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/lessons/{LESSON_ID}/quiz/answer", data=data, headers=headers)


def show_hint(client: FlaskClient, token: str, question: int = 1, htmx: bool = False) -> Any:
    data = {"csrf": token, "quiz": WALK_QUIZ, "question": str(question), "place": "quiz"}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/lessons/{LESSON_ID}/quiz/hint", data=data, headers=headers)


def text_of(response: Any) -> str:
    """Page text without tags and with collapsed spaces, for assertions on what a learner reads."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def snapshot(app: Flask, learner: str) -> tuple[dict[str, Any], list[Answer]]:
    store = store_of(app)
    return export(store, learner), store.all_answers()


def states(app: Flask, learner: str) -> dict[str, list[quiz.QuestionState]]:
    store = store_of(app)
    return quiz.lesson_states(the_lesson(), store.answers(learner, LESSON_ID), store.hints(learner, LESSON_ID))


# --- scoring rules (pure) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wrong", "hinted", "right", "expected"),
    [
        (0, False, True, 1.0),
        (1, False, True, 0.75),
        (0, True, True, 0.75),
        (2, True, True, 0.25),
        (3, False, True, 0.25),
        (9, True, True, 0.25),
        (0, False, False, 0.0),
        (3, True, False, 0.0),
    ],
)
def test_points_rule(wrong: int, hinted: bool, right: bool, expected: float) -> None:
    assert quiz.points(wrong, hinted, right) == expected


@pytest.mark.parametrize(
    ("value", "text"), [(0.0, "0"), (1.0, "1"), (2.5, "2.5"), (2.25, "2.25"), (0.75, "0.75"), (3.0, "3")]
)
def test_points_are_formatted_in_quarter_steps(value: float, text: str) -> None:
    assert quiz.format_points(value) == text


def _answer(choices: tuple[int, ...], correct: bool, hinted: bool = False, at: float = 0.0) -> Answer:
    return Answer("l", LESSON_ID, WALK_QUIZ, 1, choices, correct, hinted, at)


def test_question_state_counts_wrong_tries_before_the_first_right_one() -> None:
    state = quiz.question_state([_answer((1,), False), _answer((0,), True), _answer((2,), False)])
    assert (state.attempts, state.wrong_before_right, state.right, state.points) == (3, 1, True, 0.75)
    assert state.last is not None and state.last.choices == (2,)
    assert not state.first_try_right


def test_hint_counts_only_when_used_before_the_right_answer() -> None:
    before = quiz.question_state([_answer((0,), True, hinted=True)], hinted=True)
    after = quiz.question_state([_answer((0,), True, hinted=False)], hinted=True)
    assert before.points == 0.75
    assert after.points == 1.0
    assert quiz.question_state([], hinted=True).worth == 0.75


def test_skipped_prediction_is_decided_but_not_an_attempt() -> None:
    state = quiz.question_state([_answer((), False), _answer((0,), True)])
    assert state.skipped and state.decided
    assert (state.attempts, state.wrong_before_right, state.points) == (1, 0, 1.0)
    assert state.first_try_right


def test_score_text_and_what_is_left() -> None:
    right = quiz.question_state([_answer((0,), True)])
    hinted = quiz.question_state([_answer((1,), False), _answer((0,), True, hinted=True)])
    open_ = quiz.question_state([])
    score = quiz.score([right, hinted, open_])
    assert (score.text, score.left_text) == ("1.5 / 3", "1 question left")
    assert quiz.score([open_, open_]).left_text == "2 questions left"
    assert quiz.score([right]).left_text == "all questions answered"
    assert str(quiz.score([right, open_])) == "1 / 2 (1 question left)"


def test_topic_score_counts_every_quiz_of_the_topic() -> None:
    lesson = the_lesson()
    answers = [
        Answer("l", LESSON_ID, WALK_QUIZ, 1, (0,), True, False, 1.0),
        Answer("l", LESSON_ID, "performance", 1, (0,), True, False, 2.0),
        Answer("l", "other", WALK_QUIZ, 2, (0, 1), True, False, 3.0),
    ]
    score = quiz.topic_score(lesson, answers, set())
    assert score is not None and score.text == "2 / 4"


def test_grading_needs_exactly_the_correct_choices() -> None:
    multi = the_lesson().step_throughs[0].quiz[1]
    assert multi.multiple
    assert quiz.grade(multi, (0, 1))
    assert not quiz.grade(multi, (0,))
    assert not quiz.grade(multi, (0, 1, 2))


# --- shuffling -------------------------------------------------------------------------------


def test_choice_order_is_stable_per_learner_and_differs_between_learners() -> None:
    first = quiz.choice_order("learner-a", LESSON_ID, WALK_QUIZ, 2, 4)
    assert first == quiz.choice_order("learner-a", LESSON_ID, WALK_QUIZ, 2, 4)
    assert sorted(first) == [0, 1, 2, 3]
    orders = {tuple(quiz.choice_order(f"learner-{i}", LESSON_ID, WALK_QUIZ, 2, 4)) for i in range(30)}
    assert len(orders) > 1


def test_a_remembered_choice_order_is_the_seeded_shuffle_and_a_fresh_list_each_time() -> None:
    """The memo changes nothing a learner sees: the order is the seeded shuffle it always was."""
    for who in ("learner-a", "learner-b", "DEQRf-WXZJjfct5mCV286JXYHIgAGJ02Ol86cds64ic"):
        for number, count in ((1, 2), (2, 4), (3, 6)):
            seed = hashlib.sha256(f"{who}\0{LESSON_ID}\0{WALK_QUIZ}\0{number}".encode()).digest()
            expected = list(range(count))
            random.Random(int.from_bytes(seed[:8], "big")).shuffle(expected)
            assert quiz.choice_order(who, LESSON_ID, WALK_QUIZ, number, count) == expected
    shown = quiz.choice_order("learner-a", LESSON_ID, WALK_QUIZ, 2, 4)
    shown.reverse()  # a caller's own list: the next caller gets the order, not this
    assert quiz.choice_order("learner-a", LESSON_ID, WALK_QUIZ, 2, 4) == shown[::-1]


def _shown_order(client: FlaskClient, question: int = 2) -> list[str]:
    html = client.get(QUIZ_URL).get_data(as_text=True)
    return re.findall(rf'id="q-step-through-main-{question}-c(\d)"', html)


def test_page_order_is_stable_for_a_learner_and_varies_between_learners(qapp: Flask) -> None:
    client = qapp.test_client()
    mine = _shown_order(client)
    assert sorted(mine) == ["0", "1", "2", "3"]
    assert _shown_order(client) == mine
    others = {tuple(_shown_order(qapp.test_client())) for _ in range(12)}
    assert len(others | {tuple(mine)}) > 1


def test_submitted_values_are_original_indexes_so_order_never_changes_the_score(qapp: Flask) -> None:
    for _ in range(4):
        client = qapp.test_client()
        token = csrf_from(client)
        assert answer(client, token, [0, 1], question=2).status_code == 303
        state = states(qapp, learner_of(client))[WALK_QUIZ][1]
        assert state.right and state.points == 1.0


# --- answering -------------------------------------------------------------------------------


def test_page_lists_every_quiz_grouped_by_mode_with_the_rule(qclient: FlaskClient) -> None:
    response = qclient.get(QUIZ_URL)
    assert response.status_code == 200
    text = text_of(response)
    assert "Step-by-Step Execution: Quiz fixture walk" in text
    assert "Performance & Optimization: One round trip or many" in text.replace("&amp;", "&")
    assert "Your score for this topic: 0 / 4" in text
    assert "4 questions left" in text
    assert "each wrong try before the right one takes 0.25 off" in text.lower()
    html = response.get_data(as_text=True)
    # question 3 is a prediction about step 3, which this new learner has not reached: not shown yet
    assert html.count("<fieldset") == 3 and html.count("<legend") == 3
    assert "What does LPUSH reply at step 3?" not in html
    assert "A prediction about step 3: it opens at step 2 of the step-through" in text_of(response)
    assert 'type="checkbox"' in html and "Select all that apply." in html
    assert html.count('type="radio"') == 4 + 2


def test_wrong_then_right_shows_verdict_feedback_explanation_attempts_points(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    response = answer(client, token, [1])
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{QUIZ_URL}#q-step-through-main-1")
    text = text_of(client.get(QUIZ_URL))
    assert "✖ Wrong" in text
    assert "Nothing has been popped yet." in text
    assert "Explanation: LPUSH creates the list and adds the element." in text
    assert "Attempts: 1 · Points: 0 of 1" in text
    assert "A right answer now earns 0.75 points." in text

    answer(client, token, [0])
    text = text_of(client.get(QUIZ_URL))
    assert "✔ Right" in text
    assert "One push onto an empty list." in text
    assert "Attempts: 2 · Points: 0.75 of 1" in text
    assert "Your score for this topic: 0.75 / 4" in text
    assert "3 questions left" in text


def test_retry_after_right_keeps_the_first_right_points(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    answer(client, token, [0])
    answer(client, token, [2])
    state = states(qapp, learner_of(client))[WALK_QUIZ][0]
    assert (state.attempts, state.points, state.right) == (2, 1.0, True)
    assert "(kept from your first right answer)" in text_of(client.get(QUIZ_URL))


def test_hint_is_recorded_says_where_to_look_not_what_is_there_and_lowers_the_points(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    assert show_hint(client, token).status_code == 303
    who = learner_of(client)
    assert store_of(qapp).hints(who, LESSON_ID) == {(WALK_QUIZ, 1)}
    html = client.get(QUIZ_URL).get_data(as_text=True)
    hint = html[html.index('id="q-step-through-main-1-hint"') :]
    hint = hint[: hint.index("</div>")]
    assert "Look at row 1 of the execution table." in hint
    assert "Where to look: the execution table, row 1, column State of &#39;queue&#39;." in hint
    assert f'href="{STEP_URL}?step=1">Open the step-through at step 1</a>' in hint
    assert "<table" not in html and "[&#39;a&#39;]" not in hint  # where, never what: no value, no table
    answer(client, token, [0])
    assert states(qapp, who)[WALK_QUIZ][0].points == 0.75
    assert store_of(qapp).answers(who, LESSON_ID)[0].hinted


def test_a_prediction_is_refused_in_the_quiz_until_its_step_has_run(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client, f"{STEP_URL}?step=1")
    for action in ("answer", "hint"):
        data = {"csrf": token, "quiz": WALK_QUIZ, "question": "3", "place": "quiz", "choice": "0"}
        refused = client.post(f"/lessons/{LESSON_ID}/quiz/{action}", data=data)
        assert refused.status_code == 403
        assert "question 3 is a prediction about step 3" in refused.get_data(as_text=True)
    # the prediction form itself is only for a learner standing at step 2, where it is asked
    early = client.post(
        f"/lessons/{LESSON_ID}/quiz/predict", data={"csrf": token, "quiz": WALK_QUIZ, "question": "3", "choice": "0"}
    )
    assert early.status_code == 403
    assert store_of(qapp).all_answers() == [] and store_of(qapp).hints(learner_of(client), LESSON_ID) == set()
    assert "What does LPUSH reply at step 3?" not in client.get(STEP_URL).get_data(as_text=True)
    client.get(f"{STEP_URL}?step=3")  # jumped there with the slider: step 3 has run, the prediction opens
    assert answer(client, token, [0], question=3).status_code == 303
    assert "What does LPUSH reply at step 3?" in client.get(QUIZ_URL).get_data(as_text=True)
    assert states(qapp, learner_of(client))[WALK_QUIZ][2].right


def test_choices_that_are_step_numbers_keep_their_order_for_every_learner() -> None:
    from tutor.model import Choice, Question
    from tutor.quiz_views import shown_order

    steps = Question("When?", tuple(Choice(f"Step {n}") for n in (3, 1, 4, 2)), (), 1)
    words = Question("What?", tuple(Choice(t) for t in ("a", "b", "c", "d", "e")), (), 2)
    orders = {tuple(shown_order(steps, f"learner-{i}", "l", "q")) for i in range(20)}
    assert orders == {(1, 3, 0, 2)}  # Step 1, Step 2, Step 3, Step 4
    assert len({tuple(shown_order(words, f"learner-{i}", "l", "q")) for i in range(20)}) > 1  # still shuffled


def test_multiple_choice_needs_all_correct_choices(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    answer(client, token, [0], question=2)
    answer(client, token, [0, 1, 2], question=2)
    answer(client, token, [1, 0], question=2)
    state = states(qapp, learner_of(client))[WALK_QUIZ][1]
    assert (state.attempts, state.wrong_before_right, state.points) == (3, 2, 0.5)


def test_htmx_answer_swaps_only_the_question_and_updates_scores_out_of_band(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    response = answer(client, token, [0], htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.strip().startswith('<article class="quiz-question is-right" id="q-step-through-main-1"')
    assert 'id="q-step-through-main-1-result" tabindex="-1" autofocus' in html
    assert re.search(r'id="quiz-step-through-main-score"[^>]*hx-swap-oob="innerHTML"', html)
    assert "Score: 1 / 3" in text_of(response)
    assert "Your score for this topic: 1 / 4" in text_of(response)
    hint = show_hint(client, token, question=1, htmx=True)
    assert 'id="q-step-through-main-1-hint" tabindex="-1" autofocus' in hint.get_data(as_text=True)


def test_no_choice_is_not_recorded(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    swapped = answer(client, token, [], question=2, htmx=True)
    assert swapped.status_code == 200
    assert "choose an answer first" in swapped.get_data(as_text=True)
    assert answer(client, token, [], question=2).status_code == 400
    assert store_of(qapp).all_answers() == []


def test_the_mode_pages_show_their_own_quiz(qapp: Flask) -> None:
    client = qapp.test_client()
    walk = client.get(STEP_URL).get_data(as_text=True)
    assert 'id="q-step-through-main-1"' in walk and 'id="q-performance-1"' not in walk
    perf = client.get(f"/lessons/{LESSON_ID}/performance").get_data(as_text=True)
    assert 'id="q-performance-1"' in perf and 'id="q-step-through-main-1"' not in perf
    assert 'value="mode"' in perf
    # the hint says where to look on every page that shows the question
    token = csrf_from(client, STEP_URL)
    show_hint(client, token)
    walk = client.get(STEP_URL).get_data(as_text=True)
    assert "Open the step-through at step 1" in walk and "Where to look: the execution table, row 1" in walk
    response = answer(client, token, [0], quiz_name="performance", place="mode")
    assert response.headers["Location"].endswith(f"/lessons/{LESSON_ID}/performance#q-performance-1")


def test_catalog_and_topic_show_the_quiz_score(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    assert show_hint(client, token, question=1).status_code == 303
    answer(client, token, [0])
    answer(client, token, [0, 1], question=2)
    catalog = client.get("/").get_data(as_text=True)
    text = text_of(client.get("/"))
    assert "quiz 1.75 / 4 (2 questions left)" in text
    # The steps and the score are two parts that wrap as wholes; no separator can start a wrapped line.
    parts = r'<p class="progress-line">.*?steps<span class="sr-only">,</span></span><span>quiz 1\.75 / 4'
    assert re.search(parts, catalog, re.S)
    assert "· quiz" not in text
    topic = client.get(f"/lessons/{LESSON_ID}/")
    assert f'href="{QUIZ_URL}"' in topic.get_data(as_text=True)
    assert "score 1.75 / 4 · 2 questions left" in text_of(topic)


def test_the_repository_lessons_quiz_pages_render(client: FlaskClient) -> None:
    from tutor.web import catalog

    with client.application.app_context():
        lessons, _ = catalog().state()
    for lesson in lessons:
        if lesson.quizzes():
            assert client.get(f"/lessons/{lesson.id}/quiz").status_code == 200


# --- forged and malformed forms --------------------------------------------------------------

FORGED: list[tuple[str, dict[str, Any], str]] = [
    ("answer", {"csrf": None}, "this form has expired"),
    ("answer", {"csrf": "0" * 64}, "this form has expired"),
    ("answer", {"quiz": "step-through:nope"}, "there is no quiz"),
    ("answer", {"quiz": ""}, "there is no quiz"),
    ("answer", {"question": "0"}, "there is no question 0"),
    ("answer", {"question": "4"}, "there is no question 4"),
    ("answer", {"question": "one"}, "there is no question one"),
    ("answer", {"question": None}, "there is no question"),
    ("answer", {"choice": ["9"]}, "choice 9 is not one of"),
    ("answer", {"choice": ["-1"]}, "choice -1 is not one of"),
    ("answer", {"choice": ["x"]}, "choice x is not one of"),
    ("answer", {"choice": ["١"]}, "is not one of"),
    ("answer", {"choice": ["0", "1"]}, "exactly one choice"),
    ("answer", {"place": "elsewhere"}, "the page to return to is unknown"),
    ("answer", {"lesson": "no-such-lesson"}, "there is no lesson"),
    ("hint", {"csrf": "bad"}, "this form has expired"),
    ("hint", {"question": "7"}, "there is no question 7"),
    ("hint", {"quiz": "performance"}, "this question has no hint"),
    ("hint", {"lesson": "no-such-lesson"}, "there is no lesson"),
    ("predict", {"question": "1"}, "is not asked before a step"),
    ("predict", {"question": "3", "choice": ["5"]}, "choice 5 is not one of"),
    ("predict", {"question": "3", "csrf": None}, "this form has expired"),
    ("predict", {"quiz": "performance"}, "is not asked before a step"),
]


@pytest.mark.parametrize(("action", "change", "message"), FORGED)
@pytest.mark.parametrize("htmx", [False, True])
def test_forged_or_malformed_forms_get_400_and_change_nothing(
    qapp: Flask, action: str, change: dict[str, Any], message: str, htmx: bool
) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    answer(client, token, [1])  # something already recorded, which must stay as it is
    who = learner_of(client)
    before = snapshot(qapp, who)
    form: dict[str, Any] = {"csrf": token, "quiz": WALK_QUIZ, "question": "1", "place": "quiz", "choice": ["0"]}
    form.update({k: v for k, v in change.items() if k != "lesson"})
    form = {k: v for k, v in form.items() if v is not None}
    lesson = change.get("lesson", LESSON_ID)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(f"/lessons/{lesson}/quiz/{action}", data=form, headers=headers)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert snapshot(qapp, who) == before


def test_a_post_without_any_session_is_refused(qapp: Flask) -> None:
    token = csrf_from(qapp.test_client())
    stranger = qapp.test_client()
    response = answer(stranger, token, [0])
    assert response.status_code == 400
    assert store_of(qapp).all_answers() == []


def test_reset_with_a_forged_token_changes_nothing(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    answer(client, token, [0])
    who = learner_of(client)
    before = snapshot(qapp, who)
    assert client.post(f"/lessons/{LESSON_ID}/progress/reset", data={"csrf": "x"}).status_code == 400
    assert client.post("/lessons/nope/progress/reset", data={"csrf": token}).status_code == 400
    assert snapshot(qapp, who) == before


# --- predictions -----------------------------------------------------------------------------


def _position(response: Any) -> str:
    match = re.search(r"Step (\d+) of (\d+)", text_of(response))
    assert match
    return match.group(1)


def test_prediction_holds_next_until_answered_then_runs_the_step_and_grades_it(qapp: Flask) -> None:
    client = qapp.test_client()
    at_two = client.get(f"{STEP_URL}?step=2")
    assert _position(at_two) == "2"
    html = at_two.get_data(as_text=True)
    assert 'id="ctl-next"' not in html and 'id="ctl-predict"' in html
    assert "Predict before step 3 runs:" in html and "What does LPUSH reply at step 3?" in html
    fragment = client.get(f"{STEP_URL}?step=2", headers={"HX-Request": "true"})
    assert _position(fragment) == "2" and 'id="ctl-predict"' in fragment.get_data(as_text=True)
    assert 'id="ctl-next"' not in fragment.get_data(as_text=True)
    assert store_of(qapp).steps(learner_of(client), LESSON_ID)["main"].furthest == 2

    token = csrf_from(client, f"{STEP_URL}?step=2")
    data = {"csrf": token, "quiz": WALK_QUIZ, "question": "3", "choice": "1"}
    response = client.post(f"/lessons/{LESSON_ID}/quiz/predict", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{STEP_URL}?step=3"
    at_three = client.get(f"{STEP_URL}?step=3")
    assert _position(at_three) == "3"
    text = text_of(at_three)
    assert "Your prediction: 2 · ✖ Wrong" in text
    assert "The list was emptied at step 2." in text
    assert "Step 3 shows it: 1" in text
    html = at_three.get_data(as_text=True)
    assert 'id="ctl-next"' in html
    # focus goes to the verdict right after committing, and only then
    assert 'id="prediction-result" tabindex="-1" autofocus' in html
    again = client.get(f"{STEP_URL}?step=3").get_data(as_text=True)
    assert 'id="prediction-result"' in again and "autofocus" not in again
    assert _position(client.get(f"{STEP_URL}?step=4")) == "4"
    # a wrong prediction is a wrong try: the quiz still counts it
    state = states(qapp, learner_of(client))[WALK_QUIZ][2]
    assert (state.attempts, state.right) == (1, False)
    answer(client, token, [0], question=3)
    assert states(qapp, learner_of(client))[WALK_QUIZ][2].points == 0.75


def test_skipping_a_prediction_releases_the_step_and_costs_nothing(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client, f"{STEP_URL}?step=2")
    data = {"csrf": token, "quiz": WALK_QUIZ, "question": "3", "skip": "1"}
    response = client.post(f"/lessons/{LESSON_ID}/quiz/predict", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    location = json.loads(response.headers["HX-Location"])
    assert location == {"path": f"{STEP_URL}?step=3", "target": "#stepper", "swap": "outerHTML"}
    who = learner_of(client)
    recorded = store_of(qapp).answers(who, LESSON_ID)
    assert [(a.question, a.choices, a.correct) for a in recorded] == [(3, (), False)]
    at_three = client.get(f"{STEP_URL}?step=3", headers={"HX-Request": "true"})
    assert _position(at_three) == "3"
    assert "Prediction skipped." in text_of(at_three)
    state = states(qapp, who)[WALK_QUIZ][2]
    assert (state.attempts, state.wrong_before_right, state.points) == (0, 0, 0.0)
    answer(client, token, [0], question=3)
    assert states(qapp, who)[WALK_QUIZ][2].points == 1.0
    # a second commit of the same prediction records nothing more
    client.post(f"/lessons/{LESSON_ID}/quiz/predict", data={**data, "skip": None, "choice": "0"})
    assert len(store_of(qapp).answers(who, LESSON_ID)) == 2


def test_a_permalink_past_an_unanswered_prediction_shows_the_step_asked_for(qapp: Flask) -> None:
    """Only Next is held: a shared ?step=k link shows everyone the state after k steps."""
    client = qapp.test_client()
    for ahead in ("3", "4"):
        shown = client.get(f"{STEP_URL}?step={ahead}")
        assert _position(shown) == ahead
        assert "HX-Push-Url" not in shown.headers
    assert store_of(qapp).answers(learner_of(client), LESSON_ID) == []


def test_hold_is_pure_and_asks_a_prediction_only_at_the_step_before_it() -> None:
    walk = the_lesson().step_throughs[0]
    held = quiz.hold(walk, 2, frozenset())
    assert (held.step, held.question and held.question.number) == (2, 3)
    free = quiz.hold(walk, 2, frozenset({3}))
    assert (free.step, free.question) == (2, None)
    past = quiz.hold(walk, 4, frozenset())
    assert (past.step, past.question) == (4, None)
    assert quiz.hold(walk, 1, frozenset()).question is None
    assert quiz.prediction_at(walk, 3, frozenset({3})) is not None
    assert quiz.prediction_at(walk, 3, frozenset()) is None


# --- progress: reset, download, restart, two processes ---------------------------------------


def test_download_and_reset(qapp: Flask) -> None:
    client = qapp.test_client()
    token = csrf_from(client)
    client.get(f"{STEP_URL}?step=2")
    answer(client, token, [0])
    download = client.get("/progress.json")
    assert download.status_code == 200
    assert download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == 'attachment; filename="tutor-progress.json"'
    data = json.loads(download.get_data(as_text=True))
    who = learner_of(client)
    assert data["learner"] == who
    mine = data["lessons"][LESSON_ID]
    assert mine["steps"]["main"]["furthest"] == 2
    assert [(a["quiz"], a["question"], a["choices"], a["correct"]) for a in mine["answers"]] == [
        (WALK_QUIZ, 1, [0], True)
    ]
    assert mine["quiz_score"] == {"points": 1.0, "questions": 4, "answered_right": 1}
    response = client.post(f"/lessons/{LESSON_ID}/progress/reset", data={"csrf": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/lessons/{LESSON_ID}/")
    assert store_of(qapp).lessons_of(who) == []
    assert json.loads(client.get("/progress.json").get_data(as_text=True))["lessons"] == {}
    assert "Your score for this topic: 0 / 4" in text_of(client.get(QUIZ_URL))


def test_download_without_a_learner_is_empty(qclient: FlaskClient) -> None:
    data = json.loads(qclient.get("/progress.json").get_data(as_text=True))
    assert data == {"learner": None, "lessons": {}}


def test_score_survives_an_app_restart(lessons_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "kept.sqlite3"
    first = make_app(lessons_dir, database)
    client = first.test_client()
    token = csrf_from(client)
    show_hint(client, token)
    answer(client, token, [2])
    answer(client, token, [0])
    cookie = client.get_cookie("session")
    assert cookie is not None

    restarted = make_app(lessons_dir, database)
    assert restarted is not first
    again = restarted.test_client()
    again.set_cookie("session", cookie.value)
    text = text_of(again.get(QUIZ_URL))
    assert "Your score for this topic: 0.5 / 4" in text
    assert "Attempts: 2 · Points: 0.5 of 1" in text
    assert "quiz 0.5 / 4" in text_of(again.get("/"))


@pytest.mark.real_redis
def test_two_app_processes_on_one_redis_and_one_database_serve_one_learner(
    lessons_dir: Path, tmp_path: Path, real_redis: str
) -> None:
    one = make_app(lessons_dir, tmp_path / "shared.sqlite3", REDIS_URL=real_redis)
    two = make_app(lessons_dir, tmp_path / "shared.sqlite3", REDIS_URL=real_redis)
    try:
        first = one.test_client()
        token = csrf_from(first)
        answer(first, token, [1, 0], question=2)
        cookie = first.get_cookie("session")
        assert cookie is not None

        second = two.test_client()
        second.set_cookie("session", cookie.value)
        text = text_of(second.get(QUIZ_URL))
        assert "Your score for this topic: 1 / 4" in text
        # and back: the prediction answered through app two releases the hold in app one
        token_two = csrf_from(second, f"{STEP_URL}?step=2")
        assert token_two == token
        data = {"csrf": token, "quiz": WALK_QUIZ, "question": "3", "choice": "0"}
        assert second.post(f"/lessons/{LESSON_ID}/quiz/predict", data=data).status_code == 303
        assert _position(first.get(f"{STEP_URL}?step=3")) == "3"
        assert "quiz 2 / 4" in text_of(first.get("/"))
    finally:
        for app in (one, two):
            app.extensions["tutor.backend"].close()


def test_the_kept_step_order_and_section_titles_equal_the_ones_computed_afresh(app: Flask) -> None:
    """shown_order keeps only whether a question's choices are steps (lesson data); _title keeps the title."""
    from tutor import quiz_views

    catalog = app.extensions["tutor.catalog"]
    learners = ["learner-a-" + "x" * 30, "learner-b-" + "y" * 30]
    seen_steps = seen_shuffled = 0
    with app.test_request_context():
        for lesson in catalog.lessons():
            for name, questions in lesson.quizzes():
                for _ in range(2):  # the second time from what the first kept
                    assert quiz_views._title(lesson, name) == quiz_views._new_title(lesson, name)
                for question in questions:
                    texts = [choice.text for choice in question.choices]
                    steps = [re.fullmatch(r"\s*steps?\s+(\d+)\s*", text, re.IGNORECASE) for text in texts]
                    for who in learners * 2:
                        shown = quiz_views.shown_order(question, who, lesson.id, name)
                        if all(steps):
                            assert shown == sorted(range(len(texts)), key=lambda i: int(steps[i].group(1)))  # type: ignore[union-attr]
                            seen_steps += 1
                        else:
                            assert shown == quiz.choice_order(who, lesson.id, name, question.number, len(texts))
                            seen_shuffled += 1
    assert seen_steps and seen_shuffled
