"""The learner's pages: catalog, topic, step-through. Thin: they pick the lesson, run, render."""

from __future__ import annotations

import re
from functools import partial

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue

from tutor import console_views, engine, learner, messages, progress, quiz, quiz_views
from tutor.commands import CommandError, parse_cli, spec_for
from tutor.model import Lesson, Step, StepThrough
from tutor.render import changed_lines, code_lines
from tutor.stepcache import stepper_context  # stepper.stepper_context, kept per (version, step)
from tutor.web import backend, catalog, fail, is_fragment_request, render, step_url

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
    """The step-through at step k: the first k steps executed now, in this learner's own run."""
    lesson = get_lesson(lesson_id)
    walk = get_walk(lesson, slug)
    who = learner.current()
    assert who is not None
    step, beyond = _requested_step(walk, lesson.id, who)
    if beyond and not is_fragment_request():
        return redirect(step_url(lesson, walk, step), 302)  # ?step=99 of 5: the last step, at its own address
    # At step N-1 of an unanswered prediction (ask_before_step: N), its question replaces Next.
    _, prediction = quiz_views.predictions(lesson, walk, who, step)
    trace, console = console_views.own_run(lesson, walk, who, step)  # the learner's own run, if they have one
    asked = [q.ask_before_step for q in walk.quiz if q.ask_before_step]
    reached_before = _furthest(lesson, walk, who) if asked else 0  # one store read, only where it matters
    progress.store().record_step(who, lesson.id, walk.slug, step)
    held_for = prediction["prediction"].step if "prediction" in prediction else None
    context = stepper_context(
        lesson, walk, trace, step, step_url(lesson, walk), partial(step_url, lesson, walk), held_for=held_for
    )
    # The quiz section is on the page; a fragment carries it (out of band) only when it changed: a
    # prediction was just graded, or one opened because its step has now run.
    graded = prediction.get("prediction_result")
    opened = any(reached_before < asked_at <= step for asked_at in asked)
    needs_quiz = not is_fragment_request() or opened or (graded is not None and graded.focus)
    context["quizview"] = quiz_views.quiz_section(lesson, quiz.quiz_name(walk)) if needs_quiz else None
    response = render("step_through.html", "_stepper.html", **context, **prediction, console=console)
    if beyond:
        response.headers["HX-Push-Url"] = step_url(lesson, walk, step)
    return response


def _furthest(lesson: Lesson, walk: StepThrough, who: str) -> int:
    """The furthest step this learner has reached in this step-through (0 if never opened)."""
    saved = progress.store().steps(who, lesson.id).get(walk.slug)
    return saved.furthest if saved else 0


@bp.post("/lessons/<lesson_id>/step-through/try", defaults={"slug": None})
@bp.post("/lessons/<lesson_id>/step-through/<slug>/try")
def try_command(lesson_id: str, slug: str | None) -> ResponseReturnValue:
    """Run the learner's own command as one of the actors, after step k of their own run."""
    lesson = get_lesson(lesson_id)
    walk = get_walk(lesson, slug)
    if not learner.csrf_ok(request.form.get("csrf")):
        fail(400, messages.LEARNER_BAD_CSRF)
    count = len(walk.steps)
    raw_step = request.form.get("step", "")
    if not _STEP.fullmatch(raw_step) or int(raw_step) > count:
        fail(400, messages.LEARNER_BAD_STEP.format(count=count))
    step = int(raw_step)
    actor = request.form.get("actor", "")
    if actor not in walk.actors:
        fail(400, messages.TRY_UNKNOWN_ACTOR.format(known=", ".join(walk.actors)))
    line = request.form.get("command", "").strip()
    if not line:
        fail(400, messages.TRY_EMPTY)
    if len(line) > TRY_LIMIT:
        fail(400, messages.TRY_TOO_LONG.format(limit=TRY_LIMIT))
    try:
        argv = tuple(parse_cli(line))
        spec_for(argv)
    except CommandError as error:
        fail(400, str(error))
    mine = Step(actor=actor, action="Your command", path=(), argv=argv)
    trace = engine.run(walk, backend(), lesson.id, upto=step, extra=[mine])
    context = stepper_context(lesson, walk, trace, step, step_url(lesson, walk), partial(step_url, lesson, walk))
    context["tried"] = {"actor": actor, "line": line, "record": trace["extra"][0]}
    context["quizview"] = quiz_views.quiz_section(lesson, quiz.quiz_name(walk))
    return render("step_through.html", "_try_result.html", **context)


TRY_LIMIT = 512
_STEP = re.compile(r"[0-9]{1,6}")


def _requested_step(walk: StepThrough, lesson_id: str, who: str) -> tuple[int, bool]:
    """The step asked for (the saved one without ?step=), and whether it was past the last step."""
    raw = request.args.get("step")
    count = len(walk.steps)
    if raw is None:
        saved = progress.store().steps(who, lesson_id).get(walk.slug)
        return (min(saved.current, count) if saved else 0), False
    if not _STEP.fullmatch(raw):
        fail(400, messages.LEARNER_BAD_STEP.format(count=count))
    return min(int(raw), count), int(raw) > count
