"""The quiz pages and forms: answer, hint, prediction, reset and download. Thin: rules live in tutor.quiz.

Every form is a plain POST that works without JavaScript (answer, then a 303 back to the page);
with htmx the same POST returns just the question's fragment (plus the scores, out of band).
A forged or malformed form gets a 400 from `_form` before anything is read from or written to the
learner's progress.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from tutor import learner, messages, progress, quiz, stepcache, tracecache
from tutor.model import Lesson, Question, StepThrough
from tutor.quiz import Hold, QuestionState, Score
from tutor.records import Answer
from tutor.web import accepts_gzip, catalog, fail, is_fragment_request, render, send_text, step_url

bp = Blueprint("quiz", __name__)

PLACES = ("quiz", "mode")
JUST_PREDICTED = "just_predicted"


def init_app(app: Flask) -> None:
    """Register the blueprint and the quiz texts templates show (constants: templates never query the store)."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        quiz_rule=messages.QUIZ_SCORING_RULE,
        skipped_text=messages.QUIZ_SKIPPED,
    )
    app.jinja_env.filters["quiz_points"] = quiz.format_points
    app.jinja_env.filters["mode_title"] = mode_title


# --- what templates get ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionView:
    """One question as this learner sees it: shuffled order, last answer, hint, points."""

    lesson_id: str
    quiz: str
    question: Question
    state: QuestionState
    order: list[int]
    dom_id: str
    section_id: str
    place: str
    hint_url: str | None = None
    where: str | None = None
    locked: str | None = None
    open_url: str | None = None
    notice: str | None = None
    focus: str | None = None

    @property
    def checked(self) -> tuple[int, ...]:
        """The choices of the last answer, ticked again so the learner sees what they sent."""
        return self.state.last.choices if self.state.last else ()

    @property
    def has_hint(self) -> bool:
        """A hint text or a step to open: either is worth a "Show hint" button."""
        return bool(self.question.hint or self.question.hint_step)


@dataclass(frozen=True)
class SectionView:
    """One quiz (a mode's questions) with its score."""

    name: str
    title: str
    dom_id: str
    score: Score
    questions: list[QuestionView]


def _dom(name: str) -> str:
    return name.replace(":", "-")


def _question_id(name: str, number: int) -> str:
    return f"q-{_dom(name)}-{number}"


def _section_id(name: str) -> str:
    return f"quiz-{_dom(name)}"


def _title(lesson: Lesson, name: str) -> str:
    """A quiz section's title, once per (lesson object, quiz)."""
    known = _TITLES.get((id(lesson), name))
    if known is None or known[0] is not lesson:
        known = (lesson, _new_title(lesson, name))
        _TITLES.put((id(lesson), name), known)
    return known[1]  # type: ignore[no-any-return]


_TITLES = tracecache._Lru(1024)  # (id(lesson), quiz name) -> (lesson, title): the lesson is held


def _new_title(lesson: Lesson, name: str) -> str:
    if name == quiz.PERFORMANCE and lesson.performance:
        return f"Performance & Optimization: {lesson.performance.scenario}"
    walk = lesson.step_through(name.removeprefix(quiz.STEP_THROUGH))
    return f"Step-by-Step Execution: {mode_title(walk.title)}" if walk else name


_MODE_SUFFIX = re.compile(r"\s*[-–—:]\s*step-by-step execution\s*$", re.IGNORECASE)


def mode_title(title: str) -> str:
    """A step-through's title without a trailing "- Step-by-Step Execution": pages name the mode already."""
    return _MODE_SUFFIX.sub("", title) or title


def _walk_for(lesson: Lesson, name: str, question: Question) -> StepThrough | None:
    """The step-through a question's hint_step points into (the performance quiz: the first one)."""
    if name.startswith(quiz.STEP_THROUGH):
        return lesson.step_through(name.removeprefix(quiz.STEP_THROUGH))
    wanted = question.answer_from.walkthrough if question.answer_from else None
    return lesson.step_through(wanted)


def where_to_look(question: Question) -> str | None:
    """Where a hint sends the learner (row and column), never the value that is there."""
    source = question.answer_from
    if source is not None:
        if source.key:
            return messages.HINT_WHERE_KEY.format(step=source.step, key=source.key)
        if source.variable:
            return messages.HINT_WHERE_VARIABLE.format(step=source.step, name=source.variable)
        return messages.HINT_WHERE_REPLY.format(step=source.step)
    if question.hint_step:
        return messages.HINT_WHERE_ROW.format(step=question.hint_step)
    return None


def _states(lesson: Lesson, who: str | None) -> dict[str, list[QuestionState]]:
    """Every question's state for this learner, from two reads of their progress."""
    if who is None:
        return quiz.lesson_states(lesson, [], set())
    store = progress.store()
    return quiz.lesson_states(lesson, store.answers(who, lesson.id), store.hints(who, lesson.id))


def _overall(states: dict[str, list[QuestionState]]) -> Score | None:
    listed = [s for quiz_states in states.values() for s in quiz_states]
    return quiz.score(listed) if listed else None


def _views(
    lesson: Lesson, who: str | None, names: list[str], place: str, reached: dict[str, int] | None = None
) -> tuple[list[SectionView], Score | None]:
    """The sections for these quizzes, and the topic score (`reached`: the furthest steps, when the caller knows)."""
    states = _states(lesson, who)
    reached = _reached(lesson, who) if reached is None else reached
    quizzes = dict(lesson.quizzes())
    sections = []
    for name in names:
        questions = [
            _question_view(lesson, name, question, state, who, place, reached)
            for question, state in zip(quizzes[name], states[name], strict=True)
        ]
        sections.append(SectionView(name, _title(lesson, name), _section_id(name), quiz.score(states[name]), questions))
    return sections, _overall(states)


def _reached(lesson: Lesson, who: str | None) -> dict[str, int]:
    """The furthest step this learner reached in each step-through of the lesson (one store read)."""
    if who is None:
        return {}
    return {slug: saved.furthest for slug, saved in progress.store().steps(who, lesson.id).items()}


def _lock(lesson: Lesson, name: str, question: Question, reached: dict[str, int]) -> tuple[str | None, str | None]:
    """Why a prediction cannot be answered yet (its step has not run for this learner), and where it is asked.

    A prediction asks what step N will do; answered in the quiz before step N runs, it would only
    be a guess the step-through then gives away, so it opens at step N (or at N-1, in place of Next).
    """
    step = question.ask_before_step
    walk = lesson.step_through(name.removeprefix(quiz.STEP_THROUGH)) if name.startswith(quiz.STEP_THROUGH) else None
    if not step or walk is None or reached.get(walk.slug, 0) >= step:
        return None, None
    message = messages.PREDICTION_LOCKED.format(question=question.number, step=step, before=step - 1)
    return message, step_url(lesson, walk, step - 1)


def _question_view(
    lesson: Lesson,
    name: str,
    question: Question,
    state: QuestionState,
    who: str | None,
    place: str,
    reached: dict[str, int],
) -> QuestionView:
    hint_url, where, locked, open_url = _lesson_parts(lesson, name, question, reached)
    return QuestionView(
        lesson_id=lesson.id,
        quiz=name,
        question=question,
        state=state,
        order=shown_order(question, who or "", lesson.id, name),
        dom_id=_question_id(name, question.number),
        section_id=_section_id(name),
        place=place,
        hint_url=hint_url,
        where=where,
        locked=locked,
        open_url=open_url,
    )


_LessonParts = tuple[str | None, str | None, str | None, str | None]  # hint_url, where, locked, open_url
_PARTS = tracecache._Lru(4096)


def _lesson_parts(lesson: Lesson, name: str, question: Question, reached: dict[str, int]) -> _LessonParts:
    """What a question view takes from the lesson alone, computed once per (question, open or locked, mount).

    Only whether the learner reached the prediction's step is theirs, and it is part of the key.
    """
    step = question.ask_before_step
    opened = not step or reached.get(name.removeprefix(quiz.STEP_THROUGH), 0) >= step
    key = (id(question), lesson.id, name, opened, request.script_root)
    known = _PARTS.get(key)
    if known is not None and known[0] is question:
        return known[1]  # type: ignore[no-any-return]
    walk = _walk_for(lesson, name, question)
    hint_url = None
    if walk is not None and question.hint_step and question.hint_step <= len(walk.steps):
        hint_url = step_url(lesson, walk, question.hint_step)
    locked, open_url = _lock(lesson, name, question, reached)
    parts = (hint_url, where_to_look(question), locked, open_url)
    _PARTS.put(key, (question, parts))
    return parts


_STEP_CHOICE = re.compile(r"\s*steps?\s+(\d+)\s*", re.IGNORECASE)


def shown_order(question: Question, who: str, lesson_id: str, name: str) -> list[int]:
    """The choices in this learner's shuffled order, except that step numbers stay in step order.

    "Step 4, Step 1, Step 3" asks the learner to sort before they can think; shuffled or not, the
    right answer's place gives nothing away when the choices are a sequence.
    """
    known = _STEP_ORDERS.get(id(question))
    if known is None or known[0] is not question:  # once per question object: lesson data only
        numbers = [_STEP_CHOICE.fullmatch(c.text) for c in question.choices]
        in_steps = None
        if all(numbers):
            in_steps = sorted(range(len(question.choices)), key=lambda i: int(numbers[i].group(1)))  # type: ignore[union-attr]
        known = (question, in_steps)
        _STEP_ORDERS.put(id(question), known)
    if known[1] is not None:
        return list(known[1])
    return quiz.choice_order(who, lesson_id, name, question.number, len(question.choices))


# id(question) -> (question, its choices in step order, or None when they are not all steps): the
# question is held, so its id is not reused while listed.
_STEP_ORDERS = tracecache._Lru(4096)


def quiz_section(lesson: Lesson, name: str, reached: dict[str, int] | None = None) -> dict[str, Any] | None:
    """The quiz section of a mode's page (the view passes it as `quizview`): None when that mode has no quiz.

    `reached` (step-through slug: furthest step) spares a store read when the view knows enough to
    lock or open this quiz's predictions; without it the learner's progress is read.
    """
    if name not in dict(lesson.quizzes()):
        return None
    # The id is made now, not by the form's csrf_token(): the choice order is seeded by it.
    sections, _ = _views(lesson, learner.current(), [name], "mode", reached)
    return {"sections": sections, "place": "mode", "topic_score": None}


def topic_score(lesson: Lesson) -> Score | None:
    """This learner's score over every quiz of a topic (the topic view passes it); None without quizzes."""
    return _overall(_states(lesson, learner.current(create=False)))


# --- pages -----------------------------------------------------------------------------------


@bp.get("/lessons/<lesson_id>/quiz")
def page(lesson_id: str) -> ResponseReturnValue:
    """Every quiz of a topic on one page, grouped by mode, with the topic score and the rule."""
    lesson = catalog().get(lesson_id)
    if lesson is None:
        fail(404, messages.LEARNER_UNKNOWN_LESSON.format(id=lesson_id))
    names = [name for name, _ in lesson.quizzes()]
    if not names:
        fail(404, messages.LEARNER_UNKNOWN_MODE.format(id=lesson.id, mode="quiz"))
    sections, score = _views(lesson, learner.current(), names, "quiz")
    return render("quiz.html", lesson=lesson, quizview={"sections": sections, "place": "quiz", "topic_score": score})


# --- forms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    lesson: Lesson
    quiz: str
    question: Question
    place: str
    learner: str


def _checked_lesson(lesson_id: str) -> tuple[Lesson, str]:
    """CSRF first, then the lesson: a forged or stale form stops here, with nothing read or written."""
    if not learner.csrf_ok(request.form.get("csrf")):
        fail(400, messages.LEARNER_BAD_CSRF)
    who = learner.current(create=False)
    lesson = catalog().get(lesson_id)
    if lesson is None or who is None:
        fail(400, messages.LEARNER_UNKNOWN_LESSON.format(id=lesson_id))
    return lesson, who


def _form(lesson_id: str) -> _Form:
    """The validated common fields of a quiz form, or a 400 that says which one is wrong."""
    lesson, who = _checked_lesson(lesson_id)
    try:
        question = quiz.find_question(lesson, request.form.get("quiz"), request.form.get("question"))
    except quiz.FormError as error:
        fail(400, str(error))
    place = request.form.get("place", "quiz")
    if place not in PLACES:
        fail(400, messages.LEARNER_BAD_FORM.format(what=messages.LEARNER_BAD_PLACE))
    return _Form(lesson, request.form["quiz"], question, place, who)


def _back(form: _Form, **extra: Any) -> ResponseReturnValue:
    """After a form: the question's fragment (and fresh scores) for htmx, else 303 back to the page."""
    if is_fragment_request():
        states = _states(form.lesson, form.learner)
        state = states[form.quiz][form.question.number - 1]
        view = _question_view(
            form.lesson, form.quiz, form.question, state, form.learner, form.place, _reached(form.lesson, form.learner)
        )
        view = replace(view, **extra)
        score = quiz.score(states[form.quiz])
        topic = _overall(states) if form.place == "quiz" else None
        plain = partial(
            render_template,
            "_quiz.html",
            as_fragment=True,
            quiz_fragment=view,
            quiz_fragment_score=score,
            quiz_fragment_topic=topic,
        )
        return send_text(*stepcache.kept_answer(view, score, topic, plain, accepts_gzip()))
    return redirect(_page_url(form) + "#" + _question_id(form.quiz, form.question.number), 303)


def _page_url(form: _Form) -> str:
    if form.place == "quiz":
        return url_for("quiz.page", lesson_id=form.lesson.id)
    if form.quiz == quiz.PERFORMANCE:
        return url_for("lessons.performance", lesson_id=form.lesson.id)
    walk = form.lesson.step_through(form.quiz.removeprefix(quiz.STEP_THROUGH))
    assert walk is not None
    return step_url(form.lesson, walk)


@bp.post("/lessons/<lesson_id>/quiz/answer")
def answer(lesson_id: str) -> ResponseReturnValue:
    """Grade and record one attempt; retries are welcome, the first right one sets the points."""
    form = _form(lesson_id)
    _refuse_locked(form)
    try:
        chosen = quiz.parse_choices(form.question, request.form.getlist("choice"))
    except quiz.NoChoice as error:
        if is_fragment_request():
            return _back(form, notice=str(error), focus="notice")
        fail(400, str(error))
    except quiz.FormError as error:
        fail(400, str(error))
    _record(form, chosen, correct=quiz.grade(form.question, chosen))
    return _back(form, focus="result")


def _refuse_locked(form: _Form) -> None:
    """A prediction whose step this learner has not reached cannot be answered (or hinted) in the quiz."""
    if not form.question.ask_before_step:
        return  # not a prediction: never locked, nothing to read
    locked, _ = _lock(form.lesson, form.quiz, form.question, _reached(form.lesson, form.learner))
    if locked:
        fail(403, locked)


def _record(form: _Form, chosen: tuple[int, ...], correct: bool) -> None:
    """Store one attempt; the store notes whether the hint had been used before it (it lowers the points)."""
    progress.store().record_attempt(form.learner, form.lesson.id, form.quiz, form.question.number, chosen, correct)


@bp.post("/lessons/<lesson_id>/quiz/hint")
def hint(lesson_id: str) -> ResponseReturnValue:
    """Reveal a question's hint, and remember that it was used (it costs 0.25 of a later right answer)."""
    form = _form(lesson_id)
    _refuse_locked(form)
    if not (form.question.hint or form.question.hint_step):
        fail(400, messages.LEARNER_BAD_FORM.format(what=messages.LEARNER_NO_HINT))
    progress.store().record_hint(form.learner, form.lesson.id, form.quiz, form.question.number)
    return _back(form, focus="hint")


@bp.post("/lessons/<lesson_id>/quiz/predict")
def predict(lesson_id: str) -> ResponseReturnValue:
    """Commit (or skip) a prediction, then run the step it was about: the step shows the verdict."""
    form = _form(lesson_id)
    step = form.question.ask_before_step
    walk = form.lesson.step_through(form.quiz.removeprefix(quiz.STEP_THROUGH))
    if step is None or walk is None or not form.quiz.startswith(quiz.STEP_THROUGH):
        fail(
            400,
            messages.LEARNER_BAD_FORM.format(
                what=messages.LEARNER_NOT_PREDICTION.format(question=form.question.number)
            ),
        )
    skip = "skip" in request.form
    chosen: tuple[int, ...] = ()
    if not skip:
        try:
            chosen = quiz.parse_choices(form.question, request.form.getlist("choice"))
        except quiz.FormError as error:
            fail(400, str(error))
    if _reached(form.lesson, form.learner).get(walk.slug, 0) < step - 1:
        fail(403, messages.PREDICTION_LOCKED.format(question=form.question.number, step=step, before=step - 1))
    answers = progress.store().answers(form.learner, form.lesson.id)
    if form.question.number not in quiz.decided_numbers(answers, form.quiz):
        _record(form, chosen, correct=bool(chosen) and quiz.grade(form.question, chosen))
    # One-shot: the step this lands on moves focus to the verdict (only right after committing).
    session[JUST_PREDICTED] = _prediction_key(form.lesson.id, form.quiz, form.question.number)
    target = step_url(form.lesson, walk, step)
    if is_fragment_request():
        response = make_response("")
        response.headers["HX-Location"] = json.dumps({"path": target, "target": "#stepper", "swap": "outerHTML"})
        return response
    return redirect(target, 303)


@bp.post("/lessons/<lesson_id>/progress/reset")
def reset(lesson_id: str) -> ResponseReturnValue:
    """Forget this learner's steps, hints and answers in one topic (other topics are kept)."""
    lesson, who = _checked_lesson(lesson_id)
    progress.store().reset(who, lesson.id)
    return redirect(url_for("lessons.topic", lesson_id=lesson.id), 303)


@bp.get("/progress.json")
def download() -> ResponseReturnValue:
    """Everything kept about this learner, as a JSON file to keep (their id included, nobody else's)."""
    who = learner.current(create=False)
    data = progress.export(progress.store(), who) if who else {"learner": None, "lessons": {}}
    for lesson_id, kept in data["lessons"].items():
        lesson = catalog().get(lesson_id)
        score = _overall(_states(lesson, who)) if lesson else None
        if score is not None:
            kept["quiz_score"] = {"points": score.points, "questions": score.total, "answered_right": score.done}
    response = Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="tutor-progress.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- predictions in the step-through ---------------------------------------------------------


@dataclass(frozen=True)
class PredictionView:
    """The question that replaces Next at step N-1."""

    lesson_id: str
    quiz: str
    question: Question
    order: list[int]
    step: int
    dom_id: str


@dataclass(frozen=True)
class PredictionResult:
    """What the learner predicted for step N, shown once step N has run."""

    question: Question
    answer: Answer
    step: int
    focus: bool = False

    @property
    def skipped(self) -> bool:
        """The learner chose Skip."""
        return quiz.is_skip(self.answer)

    @property
    def right_choices(self) -> list[str]:
        """The texts of the correct choices (the step just showed them happen)."""
        return [c.text for c in self.question.choices if c.correct]


def predictions(lesson: Lesson, walk: StepThrough, who: str, requested: int) -> tuple[Hold, dict[str, Any]]:
    """Hold the step-through before an undecided prediction; the stepper's extra context.

    Called by the step-through view on every click: a prediction asks at step N-1 and shows its
    result at step N, so at every other step (and in walks without predictions) nothing is read.
    """
    if not reads_predictions(walk, requested):
        return Hold(step=requested), {}
    return prediction_context(lesson, walk, who, requested, progress.store().answers(who, lesson.id), _just_predicted)


def _just_predicted(key: str) -> bool:
    """Whether the learner has just committed this prediction (one-shot: the mark leaves the session)."""
    return bool(session.pop(JUST_PREDICTED, None) == key)


def prediction_context(
    lesson: Lesson,
    walk: StepThrough,
    who: str,
    requested: int,
    lesson_answers: list[Answer],
    just: Callable[[str], bool],
) -> tuple[Hold, dict[str, Any]]:
    """`predictions` from the learner's answers in the lesson, read by the caller (tutor/clickpath.py reads them too).

    `just(key)`: whether the prediction shown graded is the one just committed (its verdict takes
    the focus); asked only when a graded prediction shows at this step.
    """
    name = quiz.quiz_name(walk)
    answers = [a for a in lesson_answers if a.quiz == name]
    held = quiz.hold(walk, requested, quiz.decided_numbers(answers, name))
    context: dict[str, Any] = {}
    if held.question is not None:
        q = held.question
        context["prediction"] = PredictionView(
            lesson_id=lesson.id,
            quiz=name,
            question=q,
            order=shown_order(q, who, lesson.id, name),
            step=held.step + 1,
            dom_id=f"predict-{_dom(name)}-{q.number}",
        )
    shown = quiz.prediction_at(walk, held.step, held.decided)
    if shown is not None:
        first = next(a for a in answers if a.question == shown.number)
        just_now = just(_prediction_key(lesson.id, name, shown.number))
        context["prediction_result"] = PredictionResult(shown, first, held.step, focus=just_now)
    return held, context


def reads_predictions(walk: StepThrough, step: int) -> bool:
    """Whether `predictions` reads the store at this step: it is step N-1 or N of a prediction asked before step N."""
    return any(q.ask_before_step in (step, step + 1) for q in walk.quiz)


def _prediction_key(lesson_id: str, name: str, number: int) -> str:
    return f"{lesson_id}|{name}|{number}"
