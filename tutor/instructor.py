"""The instructor area (/instructor): login, every lesson file's status, the live preview, quiz results.

Views stay thin: accounts and the rate limit are tutor.accounts, the session and CSRF are
tutor.instructor_session, what a file looks like now is tutor.preview, the numbers are tutor.results
(the very functions `tutor results` prints), the chart's geometry is tutor.charts.
"""

from __future__ import annotations

import io
import math
import os
import re
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Flask, Response, current_app, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from tutor import accounts, engine, messages, preview, progress, results
from tutor import instructor_session as auth
from tutor.charts import percent, share_chart
from tutor.loader import Problem
from tutor.model import Lesson, StepThrough
from tutor.stepper import stepper_context
from tutor.web import backend, catalog, fail, render

bp = Blueprint("instructor", __name__, url_prefix="/instructor")

_STEP = re.compile(r"[0-9]{1,6}")
# A path of this area to return to after the login: no host, no backslash, no control bytes.
_LOCAL = re.compile(r"/instructor(/[^\s\x00-\x1f\x7f\\?#]*)?(\?[^\s\x00-\x1f\x7f\\#]*)?")


def init_app(app: Flask) -> None:
    """Register the instructor area; its settings come from create_app()'s mapping, else the environment."""
    for key, default in (
        ("TUTOR_INSTRUCTOR_HOURS", "12"),
        ("TUTOR_LOGIN_FAILURES", "5"),
        ("TUTOR_LOGIN_WINDOW", "300"),
        ("TUTOR_PROXY_HOPS", "0"),
    ):
        app.config.setdefault(key, float(os.environ.get(key) or default))
    app.register_blueprint(bp)


# --- every page needs a login -----------------------------------------------------------------------


@bp.before_request
def _require_login() -> ResponseReturnValue | None:
    """Anyone not logged in goes to the login page; htmx and scripts get a 401 that says so."""
    if request.endpoint == "instructor.login":
        return None
    account = auth.current()
    if account is not None:
        g.instructor = account
        return None
    login = url_for("instructor.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true" or request.accept_mimetypes.best == "application/json":
        response = make_response(messages.INSTRUCTOR_LOGIN_NEEDED, 401)
        response.headers["HX-Redirect"] = login
        response.mimetype = "text/plain"
        return response
    return redirect(login, 303)


@bp.after_request
def _private(response: Response) -> Response:
    """Nothing of the instructor area is kept by a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path inside /instructor, never another site."""
    if target and _LOCAL.fullmatch(target):
        return target
    return url_for("instructor.index")


def _require_csrf() -> None:
    if not auth.csrf_ok(request.form.get("csrf")):
        fail(400, messages.INSTRUCTOR_BAD_CSRF)


def _throttle() -> accounts.Throttle:
    config = current_app.config
    return accounts.Throttle(failures=int(config["TUTOR_LOGIN_FAILURES"]), window=float(config["TUTOR_LOGIN_WINDOW"]))


def _client_address() -> str:
    """The address the login limit counts: behind TUTOR_PROXY_HOPS trusted proxies, the one they were sent by.

    Without it every login through a proxy would come from the proxy, and five failures by anyone
    would lock everyone out for the window.
    """
    hops = int(current_app.config["TUTOR_PROXY_HOPS"])
    if hops > 0:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; a wrong name and a wrong password get the same sentence."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if auth.current() is not None:
            return redirect(target, 303)
        notice = messages.INSTRUCTOR_LOGGED_OUT if request.args.get("out") else None
        return render_template("instructor/login.html", csrf=auth.csrf_token(), next=target, error=None, notice=notice)
    _require_csrf()
    name = request.form.get("name", "")
    outcome = accounts.login(progress.store(), name, request.form.get("password", ""), _client_address(), _throttle())
    if outcome.account is not None:
        auth.start(outcome.account)
        return redirect(target, 303)
    if outcome.retry_after is not None:
        minutes = math.ceil(outcome.retry_after / 60)
        error = messages.INSTRUCTOR_LOGIN_THROTTLED.format(minutes=f"{minutes} minute{'s' if minutes != 1 else ''}")
        code = 429
    else:
        error, code = messages.INSTRUCTOR_LOGIN_FAILED, 401
    page = render_template("instructor/login.html", csrf=auth.csrf_token(), next=target, error=error, name=name)
    return page, code


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Log out and go back to the login page."""
    _require_csrf()
    auth.end()
    return redirect(url_for("instructor.login", out=1), 303)


# --- the status of every lesson file -----------------------------------------------------------------


@bp.get("")
def index() -> ResponseReturnValue:
    """Every lesson file: the version served, its problems (file:line:col), when it was checked."""
    statuses = sorted(catalog().status(), key=lambda s: s.source)
    rows = []
    for status in statuses:
        served = status.served.lesson if status.served else None
        rows.append({"status": status, "name": _name(status.source), "lesson": served})
    return render_template("instructor/index.html", rows=rows, csrf=auth.csrf_token(), who=g.instructor)


def _name(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]


# --- the live preview --------------------------------------------------------------------------------


def _file(name: str) -> Any:
    file = preview.find_file(catalog().folder, name)
    if file is None:
        fail(404, messages.INSTRUCTOR_UNKNOWN_FILE.format(name=name))
    return file


def _step_from(raw: str | None, count: int) -> int:
    """The step asked for, within the step-through (all of it when not asked)."""
    if raw is None or not _STEP.fullmatch(raw):
        return count
    return min(int(raw), count)


def _preview_context(name: str, slug: str | None, raw_step: str | None) -> dict[str, Any]:
    """Everything the preview shows: the file's status and problems, and the learner's step view."""
    file = _file(name)
    shown = preview.build(file, preview.status_of(file, catalog().status()))
    context: dict[str, Any] = {
        "preview": shown,
        "name": name,
        "csrf": auth.csrf_token(),
        "who": g.instructor,
        "walk": None,
        "problems": list(shown.problems),
    }
    lesson = shown.lesson
    if lesson is None or not lesson.step_throughs:
        context["poll_url"] = url_for("instructor.poll", name=name, seen=shown.digest, walk=slug)
        return context
    walk = lesson.step_through(slug) or lesson.step_throughs[0]
    step = _step_from(raw_step, len(walk.steps))
    url = partial(_preview_url, name, lesson, walk)
    try:
        trace = engine.run(walk, backend(), lesson.id, upto=step)
    except Exception as error:  # a version that fails its checks may fail to run at all: say so, keep the page
        context["problems"].append(Problem(shown.source, 1, 1, "", f"the preview could not run it: {error}"))
        context["poll_url"] = url_for("instructor.poll", name=name, seen=shown.digest, walk=slug)
        return context
    context.update(stepper_context(lesson, walk, trace, step, _preview_url(name, lesson, walk), url))
    context["walks"] = [(w, _preview_url(name, lesson, w)) for w in lesson.step_throughs]
    context["poll_url"] = url_for("instructor.poll", name=name, seen=shown.digest, walk=walk.slug)
    return context


def _preview_url(name: str, lesson: Lesson, walk: StepThrough, step: int | None = None) -> str:
    slug = None if lesson.step_throughs[0].slug == walk.slug else walk.slug
    return url_for("instructor.preview", name=name, slug=slug, step=step)


@bp.get("/preview/<name>", defaults={"slug": None}, endpoint="preview")
@bp.get("/preview/<name>/<slug>", endpoint="preview")
def preview_page(name: str, slug: str | None) -> ResponseReturnValue:
    """The learner's step view of the file as it is now, its problems beside it, updating by itself."""
    raw = request.args.get("step")
    if raw is not None and not _STEP.fullmatch(raw):
        fail(400, messages.LEARNER_BAD_STEP.format(count="the last step"))
    context = _preview_context(name, slug, raw)
    if context["walk"] is None:
        return render("instructor/preview.html", **context)
    return render("instructor/preview.html", "_stepper.html", **context)


@bp.get("/poll/<name>")
def poll(name: str) -> ResponseReturnValue:
    """204 while the file's content hash is the one the page shows; the new preview once it changed.

    The step comes from the page's own address (htmx sends it as HX-Current-URL), so the preview
    stays where the instructor stepped to.
    """
    file = _file(name)
    if preview.digest_of(file) == request.args.get("seen"):
        return Response(status=204)
    current = parse_qs(urlsplit(request.headers.get("HX-Current-URL", "")).query)
    raw_step = current["step"][0] if current.get("step") else None
    context = _preview_context(name, request.args.get("walk") or None, raw_step)
    response = make_response(render_template("instructor/_preview.html", as_fragment=True, fresh=True, **context))
    response.vary.add("HX-Current-URL")
    return response


# --- results -----------------------------------------------------------------------------------------


def _lessons(lesson_id: str | None) -> list[Lesson]:
    lessons = catalog().lessons()
    if lesson_id is None:
        return lessons
    chosen = [lesson for lesson in lessons if lesson.id == lesson_id]
    if not chosen:
        fail(404, messages.INSTRUCTOR_UNKNOWN_LESSON.format(id=lesson_id))
    return chosen


@bp.get("/results", defaults={"lesson_id": None})
@bp.get("/results/<lesson_id>")
def results_page(lesson_id: str | None) -> ResponseReturnValue:
    """Per question and per learner, computed by tutor.results as `tutor results` computes them."""
    lessons = _lessons(lesson_id)
    store = progress.store()
    stats = results.question_stats(lessons, store, lesson_id)
    scores = results.learner_scores(lessons, store, lesson_id)
    titles = {lesson.id: lesson.title for lesson in lessons}
    labels = [f"Q{index}" for index in range(1, len(stats) + 1)]  # the table's first column names each bar
    chart = share_chart(
        [(label, s.share_first_try) for label, s in zip(labels, stats, strict=True)],
        title="Right on the first try, per question",
        desc="One bar per question (Q1, Q2, ... as in the table): the share of the learners who answered it "
        "who were right on their first attempt. The table beside the chart gives the same numbers.",
    )
    rows = [
        {"label": label, "stats": s, "share": percent(s.share_first_try), "quiz": _quiz_label(s.quiz)}
        for label, s in zip(labels, stats, strict=True)
    ]
    return render_template(
        "instructor/results.html",
        lessons=catalog().lessons(),
        lesson_id=lesson_id,
        title=titles.get(lesson_id or "", "All lessons"),
        rows=rows,
        chart=chart,
        scores=scores,
        columns=_columns(lessons, scores),
        no_answers=messages.RESULTS_NO_ANSWERS.capitalize() + ".",
        csv_url=url_for("instructor.results_csv", lesson_id=lesson_id),
        csrf=auth.csrf_token(),
        who=g.instructor,
    )


def _columns(lessons: list[Lesson], scores: dict[str, dict[str, Any]]) -> list[str]:
    """The lessons that have a score column: those someone has a score in, in catalog order."""
    scored = {lesson_id for per_lesson in scores.values() for lesson_id in per_lesson}
    return [lesson.id for lesson in lessons if lesson.id in scored]


def _quiz_label(name: str) -> str:
    """'step-through:main' -> 'step-through main'; 'performance' stays."""
    return name.replace(":", " ", 1)


@bp.get("/csv", defaults={"lesson_id": None})
@bp.get("/csv/<lesson_id>")
def results_csv(lesson_id: str | None) -> ResponseReturnValue:
    """The per-learner CSV, byte for byte what `tutor results --csv` writes."""
    if lesson_id is not None:
        _lessons(lesson_id)
    buffer = io.StringIO(newline="")
    results.write_rows(buffer, progress.store(), lesson_id)
    filename = f"tutor-results-{lesson_id}.csv" if lesson_id else "tutor-results.csv"
    response = make_response(buffer.getvalue().encode("utf-8"))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
