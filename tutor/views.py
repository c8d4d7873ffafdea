"""The learner's pages: catalog, topic, step-through. Thin: they pick the lesson, run, render."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from typing import Any

from flask import Blueprint, Response, g, get_template_attribute, redirect, render_template, request
from flask.typing import ResponseReturnValue

from tutor import console_views, gzsplice, learner, messages, progress, quiz, quiz_views, stepcache, tracecache
from tutor.model import Lesson, StepThrough
from tutor.quiz_views import PredictionResult, PredictionView
from tutor.render import changed_lines, code_lines
from tutor.stepcache import stepper_context  # stepper.stepper_context, kept per (version, step)
from tutor.web import accepts_gzip, backend, catalog, fail, is_fragment_request, render, send_kept, step_url

bp = Blueprint("lessons", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """The catalog: every served topic and this learner's progress (file problems are for instructors)."""
    lessons = catalog().lessons()
    who = learner.current(create=False)
    summary = {lesson.id: lesson_summary(lesson, who) for lesson in lessons}
    titles = {lesson.id: lesson.title for lesson in lessons}
    return render("index.html", lessons=lessons, summary=summary, titles=titles)


def lesson_summary(lesson: Lesson, who: str | None) -> dict[str, object]:
    """A learner's progress in a topic: steps reached (of all its step-throughs) and quiz score."""
    reached = progress.store().steps(who, lesson.id) if who else {}
    total = sum(len(walk.steps) for walk in lesson.step_throughs)
    done = sum(min(reached[w.slug].furthest, len(w.steps)) for w in lesson.step_throughs if w.slug in reached)
    answers = progress.store().answers(who, lesson.id) if who else []
    hints = progress.store().hints(who, lesson.id) if who else set()
    score = quiz.topic_score(lesson, answers, hints)
    return {"steps_total": total, "steps_done": done, "score": str(score) if score else None}


def get_lesson(lesson_id: str) -> Lesson:
    """The lesson, or a 404 that says which lessons exist."""
    lesson = catalog().get(lesson_id)
    if lesson is None:
        fail(404, messages.LEARNER_UNKNOWN_LESSON.format(id=lesson_id))
    return lesson


def get_walk(lesson: Lesson, slug: str | None) -> StepThrough:
    """The lesson's step-through with this slug (the first by default), or a 404."""
    walk = lesson.step_through(slug)
    if walk is None:
        fail(404, messages.LEARNER_UNKNOWN_MODE.format(id=lesson.id, mode=f"step-through '{slug}'"))
    return walk


@bp.get("/lessons/<lesson_id>/")
def topic(lesson_id: str) -> ResponseReturnValue:
    """A topic with its modes ("Choose your learning style")."""
    lesson = get_lesson(lesson_id)
    who = learner.current(create=False)
    reached = progress.store().steps(who, lesson.id) if who else {}
    return render("topic.html", lesson=lesson, reached=reached, quiz_score=quiz_views.topic_score(lesson))


@bp.get("/lessons/<lesson_id>/performance")
def performance(lesson_id: str) -> ResponseReturnValue:
    """The performance & optimisation mode: bad vs good, comparison, pipeline, tips, check."""
    lesson = get_lesson(lesson_id)
    if lesson.performance is None:
        fail(404, messages.LEARNER_UNKNOWN_MODE.format(id=lesson.id, mode="performance page"))
    perf = lesson.performance
    bad_lines, good_lines = changed_lines(perf.bad.code, perf.good.code)
    return render(
        "performance.html",
        lesson=lesson,
        perf=perf,
        bad_code=code_lines(perf.bad.code, perf.bad.language),
        good_code=code_lines(perf.good.code, perf.good.language),
        bad_lines=bad_lines,
        good_lines=good_lines,
        quizview=quiz_views.quiz_section(lesson, quiz.PERFORMANCE),
    )


@bp.get("/lessons/<lesson_id>/step-through", defaults={"slug": None})
@bp.get("/lessons/<lesson_id>/step-through/<slug>")
def step_through(lesson_id: str, slug: str | None) -> ResponseReturnValue:
    """The step-through at step k: the lesson's one run (or the learner's own run) sliced at step k.

    A click of a learner with nothing of their own in the stepper (no prediction held or graded at
    this step, no own run) is served from bytes kept per (lesson version, step-through, step); a full
    page from pieces kept the same way, around the learner's CSRF token and quiz section.
    """
    lesson = get_lesson(lesson_id)
    walk = get_walk(lesson, slug)
    who = learner.current()
    assert who is not None
    step, beyond = _requested_step(walk, lesson.id, who)
    fragment = is_fragment_request()
    if beyond and not fragment:
        return redirect(step_url(lesson, walk, step), 302)  # ?step=99 of 5: the last step, at its own address
    # At step N-1 of an unanswered prediction (ask_before_step: N), its question replaces Next.
    _, prediction = quiz_views.predictions(lesson, walk, who, step)  # a store read only at steps N-1 and N
    # The quiz section is on the page; a fragment carries it (out of band) only when it changed: a
    # prediction was just graded, or one opened because its step has now run.
    asked = asked_steps(walk)
    opened = fragment and _opens_a_prediction(lesson, walk, who, step, asked)
    graded = prediction.get("prediction_result")
    needs_quiz = not fragment or opened or (graded is not None and graded.focus)
    # The quiz section reads the learner's progress: on PostgreSQL it comes with the step upsert.
    progress.store().record_step(who, lesson.id, walk.slug, step, read=needs_quiz and bool(walk.quiz))
    # A click takes the cookie's word on the learner's own run (no store read); a page asks the store
    # (read already with the quiz) and puts the cookie right if a request from another tab made it stale.
    own = console_views.has_own_run(lesson, walk, who) if fragment else console_views.settle_own_run(lesson, walk, who)
    console: dict[str, Any] | None = None  # the lesson's run: its console (the same for everyone) is kept
    if own:
        trace, console = console_views.own_run(lesson, walk, who, step)
        if not console["active"] and console["output"] is None:  # the cookie said so, but the run is gone
            console = None
    else:
        trace = tracecache.trace(walk, backend(), lesson.id, upto=step)
    # Past every prediction's step (now recorded), none is locked: no need to read how far the learner got.
    known = {walk.slug: step} if all(asked_at <= step for asked_at in asked) else None
    quizview = quiz_views.quiz_section(lesson, quiz.quiz_name(walk), known) if needs_quiz else None
    response = _kept_response(lesson, walk, trace, step, quizview, prediction, fragment) if console is None else None
    if response is None:  # the learner's own run (or text that cannot be kept): rendered for this request only
        if console is None:
            trace, console = console_views.own_run(lesson, walk, who, step, entries=[])
        held_for = prediction["prediction"].step if "prediction" in prediction else None
        context = stepper_context(
            lesson, walk, trace, step, step_url(lesson, walk), partial(step_url, lesson, walk), held_for=held_for
        )
        response = render(
            "step_through.html", "_stepper.html", **context, **prediction, console=console, quizview=quizview
        )
    if beyond:
        response.headers["HX-Push-Url"] = step_url(lesson, walk, step)
    if g.get("varies_on_locked") and LOCKED_HEADER not in response.headers.get("Vary", ""):  # kept: already there
        response.vary.add(LOCKED_HEADER)
    return response


def _kept_response(
    lesson: Lesson,
    walk: StepThrough,
    trace: dict[str, Any],
    step: int,
    quizview: dict[str, Any] | None,
    prediction: dict[str, Any],
    fragment: bool,
) -> Response | None:
    """The click or page from kept bytes (tutor/stepcache.py), with the learner's own parts put in; None if not kept.

    The kept render sees no learner (`kept_step`): their token, quiz section, held prediction and its
    grade are slots, filled here.
    """
    held: PredictionView | None = prediction.get("prediction")
    result: PredictionResult | None = prediction.get("prediction_result")
    has_quiz = quizview is not None  # a page's quiz section (None: this step-through has no quiz), or a fragment's
    kept = kept_step(lesson, walk, trace, step, fragment, held, result is not None, has_quiz)
    if kept is None:
        return None
    filled: dict[str, str] = {}
    if "csrf" in kept.slots:
        filled["csrf"] = learner.csrf_token()
    ready: dict[str, list[gzsplice.Piece]] = {}
    if quizview is not None:  # kept text, as deflated pieces too when gzipped (see stepcache.kept_quiz)
        template = "_quiz_oob.html" if fragment else "_quiz.html"
        filled["quiz"], pieces = stepcache.kept_quiz(
            template, quizview, partial(render_template, template, quizview=quizview), accepts_gzip()
        )
        if pieces is not None:
            ready["quiz"] = pieces
    prediction_filled, prediction_ready = prediction_fills(held, result)
    filled.update(prediction_filled)
    ready.update(prediction_ready)
    return send_kept(kept, filled, (LOCKED_HEADER,) if g.get("varies_on_locked") else (), ready)


def prediction_fills(
    held: PredictionView | None, result: PredictionResult | None
) -> tuple[dict[str, str], dict[str, list[gzsplice.Piece]]]:
    """A kept click's prediction slots: the held question's form, the graded prediction's outcome (also deflated).

    The form needs the request (its address, the learner's token); the outcome only the app's
    templates, so tutor/clickpath.py fills it under an app context alone.
    """
    filled: dict[str, str] = {}
    ready: dict[str, list[gzsplice.Piece]] = {}
    if held is not None:
        filled["prediction"] = get_template_attribute("_quiz.html", "prediction_form")(held)
    if result is not None:
        filled["outcome"], piece = _outcome(result)
        ready["outcome"] = [piece]
    return filled, ready


# (id(question), choices, right, step, focus) -> (question, the outcome's text, its deflated piece): the question
# is held, so its id is not reused while listed.
_OUTCOMES = tracecache._Lru(1024)


def _outcome(result: PredictionResult) -> tuple[str, gzsplice.Piece]:
    """A graded prediction's outcome, rendered and deflated once per question, answer, step and focus.

    Of the learner it shows only their answer (the choices, right or not, skipped), which is in the key.
    """
    key = (id(result.question), result.answer.choices, result.answer.correct, result.step, result.focus)
    known = _OUTCOMES.get(key)
    if known is None or known[0] is not result.question:
        text = get_template_attribute("_quiz.html", "prediction_outcome")(result)
        known = (result.question, text, gzsplice.deflate(text.encode(), gzsplice.OWN_LEVEL))
        _OUTCOMES.put(key, known)
    return known[1], known[2]


def kept_step(
    lesson: Lesson,
    walk: StepThrough,
    trace: dict[str, Any],
    step: int,
    fragment: bool,
    held: PredictionView | None = None,
    graded: bool = False,
    has_quiz: bool = False,
) -> stepcache.Kept | None:
    """The kept click or page of a step (rendered the first time), with slots for the learner's own parts.

    Only what is the same for every learner decides which kept response it is: the step, page or
    fragment, and which slots it has (a held prediction: which question it is; a grade; a quiz
    section). The warm-up (tutor/warmup.py) calls it too, so what it keeps is what a request uses.
    """

    def learner_free() -> str:
        _, console = console_views.own_run(lesson, walk, "", step, entries=[])  # nobody's: the lesson's run
        context = stepper_context(
            lesson,
            walk,
            trace,
            step,
            step_url(lesson, walk),
            partial(step_url, lesson, walk),
            held_for=held.step if held else None,
        )
        return render_template(
            "_stepper.html" if fragment else "step_through.html",
            as_fragment=fragment,
            **context,
            console=console,
            quizview=None,
            quiz_slot=stepcache.slot("quiz") if has_quiz else None,
            prediction=replace(held, order=[]) if held else None,  # its place and its id, not its order
            prediction_slot=stepcache.slot("prediction") if held else None,
            prediction_result=graded,
            outcome_slot=stepcache.slot("outcome") if graded else None,
            csrf_token=lambda: stepcache.CSRF_SLOT,
        )

    shape = (held.question.number if held else None, graded, has_quiz)
    return stepcache.kept(lesson, trace, kept_key(walk, step, request.script_root, fragment, shape), learner_free)


def kept_key(
    walk: StepThrough, step: int, script_root: str, fragment: bool, shape: tuple[int | None, bool, bool]
) -> tuple[Any, ...]:
    """Which kept response a step is (`kept_step`; tutor/clickpath.py looks a plain click up by it).

    The addresses in it follow from the lesson id (in `kept`'s key), the slug and where the app is
    mounted; `shape` is (held prediction's number, graded, has a quiz section).
    """
    return (walk.slug, step, script_root, fragment, shape)


PLAIN = (None, False, False)  # the shape of a click with nothing of the learner's in it


_LOCKED = re.compile(r"[0-9]{1,6}(?: [0-9]{1,6}){0,63}|")
LOCKED_HEADER = "X-Tutor-Locked"


def asked_steps(walk: StepThrough) -> list[int]:
    """The steps before which the step-through's predictions are asked (their ask_before_step)."""
    return [q.ask_before_step for q in walk.quiz if q.ask_before_step]


def consults_locked(asked: list[int], step: int) -> bool:
    """Whether a click at `step` may open a prediction (one is asked at or before it): the answer then varies on it."""
    return any(asked_at <= step for asked_at in asked)


def opens_by_header(asked: list[int], step: int, header: str | None) -> bool | None:
    """Whether `step` opens a prediction the page says it shows locked (X-Tutor-Locked); None without a valid header."""
    if header is None or not _LOCKED.fullmatch(header):
        return None
    locked = {int(number) for number in header.split()}
    return any(asked_at <= step for asked_at in asked if asked_at in locked)


def _opens_a_prediction(lesson: Lesson, walk: StepThrough, who: str, step: int, asked: list[int]) -> bool:
    """Whether this step opens a prediction the learner's page still shows locked (before recording the step).

    The page's script sends the steps of the predictions it shows locked (X-Tutor-Locked, see
    static/stepper.js), so most clicks read nothing; without the header (or with a malformed one) the
    learner's furthest step is read from the store. A wrong header only makes the quiz section come
    along with the step, rendered from the store as always.
    """
    if not consults_locked(asked, step):
        return False
    g.varies_on_locked = True
    opens = opens_by_header(asked, step, request.headers.get(LOCKED_HEADER))
    if opens is not None:
        return opens
    reached_before = _furthest(lesson, walk, who)
    return any(reached_before < asked_at <= step for asked_at in asked)


def _furthest(lesson: Lesson, walk: StepThrough, who: str) -> int:
    """The furthest step this learner has reached in this step-through (0 if never opened)."""
    saved = progress.store().steps(who, lesson.id).get(walk.slug)
    return saved.furthest if saved else 0


_STEP = re.compile(r"[0-9]{1,6}")


def _requested_step(walk: StepThrough, lesson_id: str, who: str) -> tuple[int, bool]:
    """The step asked for (the saved one without ?step=), and whether it was past the last step."""
    raw = request.args.get("step")
    count = len(walk.steps)
    if raw is None:
        saved = progress.store().steps(who, lesson_id).get(walk.slug)
        return (min(saved.current, count) if saved else 0), False
    asked = parse_step(raw, count)
    if asked is None:
        fail(400, messages.LEARNER_BAD_STEP.format(count=count))
    return asked


def parse_step(raw: str, count: int) -> tuple[int, bool] | None:
    """?step= of a walk of `count` steps: the step shown and whether it was past the last; None if malformed."""
    if not _STEP.fullmatch(raw):
        return None
    return min(int(raw), count), int(raw) > count
