"""The console of the step-through page: a learner's own run, typed as in redis-cli. Thin views.

A POST adds one entry to the learner's run log (tutor/ownrun.py), replays the lesson with the log
inserted, checks the limits (tutor/guard.py), and saves the log only if all is well. Every refusal
is a 4xx that shows the page again with the message in the console, where the learner typed; with
JavaScript (htmx) only the stepper fragment comes back, without it a success redirects (PRG).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import select

from tutor import db, engine, learner, messages, ownrun, progress, quiz_views, runstore, tracecache, views
from tutor.cli_help import help_text
from tutor.commands import CommandError, parse_cli
from tutor.guard import LimitExceeded, RunGuard, RunLimits, check_stated_sizes
from tutor.model import Lesson, StepThrough
from tutor.stepper import stepper_context
from tutor.web import backend, is_fragment_request, render, step_url

bp = Blueprint("console", __name__)

LINE_LIMIT = 512
_STEP = re.compile(r"[0-9]{1,6}")
_SECONDS = re.compile(r"[0-9]{1,4}")


def init_app(app: Flask) -> None:
    """Register the console's views and its store (on the progress database)."""
    runstore.init_app(app)
    app.config.setdefault("TUTOR_RUN_LIMITS", RunLimits())
    app.config.setdefault("TUTOR_RUN_KEY_TTL", None)
    app.register_blueprint(bp)


def limits() -> RunLimits:
    """The app's limits on one learner's run."""
    return current_app.config["TUTOR_RUN_LIMITS"]  # type: ignore[no-any-return]


RUNS = "runs"  # in the signed session cookie: the step-throughs ("lesson/slug") where the learner has a run


def has_own_run(lesson: Lesson, walk: StepThrough, who: str) -> bool:
    """Whether the learner may have a run of this step-through, without a store read on a step click.

    The store holds the run; the signed cookie says which step-throughs have one, so a click of a
    learner without a run (nearly every click) reads nothing. The cookie travels with the learner,
    so every process knows it (no learner state in process memory). The console's and the shared
    link's views keep it in step with the store; a cookie from before the list (or without it) is
    filled once from the store. A stale "yes" only costs a read that finds nothing.
    """
    return _run_name(lesson, walk) in _known_runs(who)


def settle_own_run(lesson: Lesson, walk: StepThrough, who: str) -> bool:
    """Whether the learner has a run of this step-through, from the store; the cookie's list made to agree.

    Two requests of one learner at once (two tabs) each answer with the whole signed cookie, so the
    one answered last can drop a run the other just made from the list, or list one it just
    deleted. Clicks trust the list (a stale "no" hides the run, a stale "yes" costs a read); a full
    page, which reads the learner's progress in the lesson for its quiz section anyway (one query,
    runs included, kept for the request), settles it, so a reload always shows the run the store holds.
    """
    present = runstore.store().get(who, lesson.id, walk.slug) is not None
    if present != (_run_name(lesson, walk) in _known_runs(who)):
        _mark_run(lesson, walk, who, present)
    return present


def cookie_lists_run(cookie: Mapping[str, Any], lesson: Lesson, walk: StepThrough) -> bool | None:
    """`has_own_run` from a session cookie's payload alone; None for a cookie without the list (the store decides)."""
    known = _listed(cookie)
    return None if known is None else _run_name(lesson, walk) in known


def _listed(cookie: Mapping[str, Any]) -> list[str] | None:
    known = cookie.get(RUNS)
    return [str(name) for name in known] if isinstance(known, list) else None


def _known_runs(who: str) -> list[str]:
    """The cookie's list of step-throughs with a run; from the store (once) for a cookie without it."""
    known = _listed(session)
    if known is None and who == learner.made_now():
        known = session[RUNS] = []  # an id made in this request has no run
    if known is None:
        t = db.own_runs.c
        rows = progress.store().execute(select(t.lesson, t.walkthrough).where(t.learner == who))
        known = sorted(f"{lesson_id}/{slug}" for lesson_id, slug in rows)
        session[RUNS] = known
    return known


def _run_name(lesson: Lesson, walk: StepThrough) -> str:
    return f"{lesson.id}/{walk.slug}"


def _mark_run(lesson: Lesson, walk: StepThrough, who: str, present: bool) -> None:
    """Keep the cookie's list of step-throughs with a run in step with the store (see has_own_run)."""
    names = set(_known_runs(who))
    names.discard(_run_name(lesson, walk))
    if present:
        names.add(_run_name(lesson, walk))
    session[RUNS] = sorted(names)


def _put(lesson: Lesson, walk: StepThrough, who: str, entries: list[ownrun.Entry]) -> None:
    runstore.store().put(who, lesson.id, walk.slug, ownrun.dumps(entries))
    _mark_run(lesson, walk, who, True)


def _delete(lesson: Lesson, walk: StepThrough, who: str) -> None:
    runstore.store().delete(who, lesson.id, walk.slug)
    _mark_run(lesson, walk, who, False)


def saved(lesson: Lesson, walk: StepThrough, who: str) -> list[ownrun.Entry]:
    """The learner's run of this step-through from the store, validated again (a bad one is dropped)."""
    text = runstore.store().get(who, lesson.id, walk.slug)
    if text is None:
        return []
    try:
        return ownrun.loads(text, walk)
    except ownrun.RunError:
        _delete(lesson, walk, who)
        return []


def own_run(
    lesson: Lesson, walk: StepThrough, who: str, step: int, entries: list[ownrun.Entry] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trace the page shows at `step` (the learner's run if they have one) and the console's context."""
    entries = saved(lesson, walk, who) if entries is None else entries
    ttl = current_app.config.get("TUTOR_RUN_KEY_TTL")
    # One run per lesson version, shared by all; no own run, so no lease (cleanup deletes its keys).
    lesson_trace = tracecache.trace(walk, backend(), lesson.id, upto=step)
    if not entries:
        return lesson_trace, _console(lesson, walk, step, [], lesson_trace, lesson_trace)
    active = ownrun.upto(entries, step)
    try:
        yours = engine.run(walk, backend(), lesson.id, upto=step, inserts=ownrun.inserts(active), key_ttl=ttl)
    except Exception as error:  # a later lesson step the engine cannot run on this state: show the lesson's
        current_app.logger.exception("a saved run could not be replayed")
        console = _console(lesson, walk, step, [], lesson_trace, lesson_trace)
        console["output"] = {
            "kind": "error",
            "text": "(error) " + messages.RUN_CANNOT_CONTINUE.format(error=_said(error)),
        }
        return lesson_trace, console
    return yours, _console(lesson, walk, step, entries, yours, lesson_trace)


def _said(error: Exception) -> str:
    """What to tell the learner about a fault: Redis's own words, or only what kind of fault it was."""
    if isinstance(error, RedisError):
        return str(error)
    return messages.RUN_ENGINE_FAULT.format(kind=type(error).__name__)


def _console(
    lesson: Lesson,
    walk: StepThrough,
    step: int,
    entries: list[ownrun.Entry],
    trace: dict[str, Any],
    lesson_trace: dict[str, Any],
) -> dict[str, Any]:
    last = _last_snapshot(trace)
    active = ownrun.upto(entries, step)
    lines = [
        {"entry": entry, "label": entry.label(), "record": record}
        for entry, record in zip(active, trace.get("yours", []), strict=True)
    ]
    return {
        "url": _console_url(lesson, walk),
        "active": bool(entries),
        "lines": lines,
        "later": len(entries) - len(active),
        "differences": ownrun.differences(lesson_trace, trace, step) if entries else [],
        "share_url": _share_url(lesson, walk, entries, step) if entries else None,
        "blocked": last.get("blocked", {}),
        "crashed": _crashed(active),
        "output": None,
        "line": "",
        "actor": active[-1].actor if active else walk.actors[0],
        "status": 200,
    }


def _last_snapshot(trace: dict[str, Any]) -> dict[str, Any]:
    """The state after everything that ran: the last record in execution order, or the start."""
    executed = trace["steps"]
    yours = trace.get("yours", [])
    if yours and (not executed or yours[-1]["after"] >= executed[-1]["step"]):
        return dict(yours[-1])
    return dict(executed[-1]) if executed else dict(trace["start"])


def _crashed(entries: list[ownrun.Entry]) -> list[str]:
    down: list[str] = []
    for entry in entries:
        if entry.action == "crash" and entry.actor not in down:
            down.append(entry.actor)
        elif entry.action == "restart" and entry.actor in down:
            down.remove(entry.actor)
    return down


def _console_url(lesson: Lesson, walk: StepThrough) -> str:
    slug = None if lesson.step_throughs[0].slug == walk.slug else walk.slug
    return url_for("console.command", lesson_id=lesson.id, slug=slug)


def _share_url(lesson: Lesson, walk: StepThrough, entries: list[ownrun.Entry], step: int) -> str:
    slug = None if lesson.step_throughs[0].slug == walk.slug else walk.slug
    token = ownrun.to_token(entries)
    return url_for("console.shared", lesson_id=lesson.id, slug=slug, token=token, step=step, _external=True)


@bp.post("/lessons/<lesson_id>/step-through/console", defaults={"slug": None})
@bp.post("/lessons/<lesson_id>/step-through/<slug>/console")
def command(lesson_id: str, slug: str | None) -> ResponseReturnValue:
    """One console action: run a command, crash or restart an actor, let time pass, HELP, or leave the run."""
    lesson = views.get_lesson(lesson_id)
    walk = views.get_walk(lesson, slug)
    who = learner.current()
    assert who is not None
    body_limit = limits().body_bytes
    if (request.content_length or 0) > body_limit:
        return _refuse(lesson, walk, who, 0, 413, messages.RUN_BODY_TOO_LARGE.format(limit=body_limit))
    request.max_content_length = body_limit  # a chunked body without a length is cut off too
    form = request.form
    raw_step = form.get("step", "")
    if not _STEP.fullmatch(raw_step) or int(raw_step) > len(walk.steps):
        return _refuse(lesson, walk, who, 0, 400, messages.LEARNER_BAD_STEP.format(count=len(walk.steps)))
    step = int(raw_step)
    line = form.get("command", "")
    if not learner.csrf_ok(form.get("csrf")):
        return _refuse(lesson, walk, who, step, 400, messages.LEARNER_BAD_CSRF, line)
    do, _, named = form.get("do", "run").partition(":")
    entries = saved(lesson, walk, who)
    if do == "back":
        _delete(lesson, walk, who)
        return _done(lesson, walk, who, step, [])
    actor = named if do in ("crash", "restart") else form.get("actor", "")
    if actor not in walk.actors:
        return _refuse(lesson, walk, who, step, 400, messages.TRY_UNKNOWN_ACTOR.format(known=", ".join(walk.actors)))
    try:
        entry = _entry(do, step, actor, line, form.get("seconds", ""))
        ownrun.check_entry(entry, walk)
        check_stated_sizes(limits(), entry.argv)  # SETRANGE k 536870911 x: refused before any replay
    except _Help as help_:
        return _answer(lesson, walk, who, step, entries, 200, help_.text, "help", line)
    except ownrun.RunError as error:
        return _refuse(lesson, walk, who, step, 422, str(error), line, entries)
    except LimitExceeded as limit:
        return _refuse(lesson, walk, who, step, limit.status, str(limit), line, entries)
    if len(entries) >= limits().commands_per_run:
        return _refuse(lesson, walk, who, step, 429, messages.RUN_TOO_MANY_COMMANDS.format(limit=len(entries)), line)
    per_minute = limits().commands_per_minute
    if runstore.store().count_command(who) > per_minute:
        return _refuse(lesson, walk, who, step, 429, messages.RUN_RATE_LIMITED.format(limit=per_minute), line, entries)
    # Inserted after the learner's earlier entries at this step, before any they made at later steps.
    position = sum(1 for e in entries if e.after_step <= step)
    candidate = [*entries[:position], entry, *entries[position:]]
    try:
        refusal = _replay_check(lesson, walk, candidate, step, position)
    except LimitExceeded as limit:
        return _refuse(lesson, walk, who, step, limit.status, str(limit), line, entries)
    except ownrun.RunError as error:
        return _refuse(lesson, walk, who, step, 422, str(error), line, entries)
    except Exception as error:  # a backend fault on an odd command: the learner gets a 4xx, the log the rest
        current_app.logger.exception("console command failed")
        return _refuse(lesson, walk, who, step, 422, messages.RUN_FAILED.format(error=_said(error)), line, entries)
    if refusal is not None:
        return _refuse(lesson, walk, who, step, 409, refusal, line, entries)
    _put(lesson, walk, who, candidate)
    return _done(lesson, walk, who, step, candidate)


class _Help(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _entry(do: str, step: int, actor: str, line: str, seconds: str) -> ownrun.Entry:
    """The entry a form asks for; HELP raises _Help; anything malformed raises RunError."""
    if do in ("crash", "restart"):
        return ownrun.Entry(step, actor, do)
    if do == "wait":
        if not _SECONDS.fullmatch(seconds):
            raise ownrun.RunError(messages.RUN_BAD_SECONDS.format(limit=ownrun.MAX_WAIT_SECONDS))
        entry = ownrun.Entry(step, actor, "wait", seconds=int(seconds))
    elif do == "run":
        text = line.strip()
        if not text:
            raise ownrun.RunError(messages.TRY_EMPTY)
        if len(text) > LINE_LIMIT:
            raise ownrun.RunError(messages.TRY_TOO_LONG.format(limit=LINE_LIMIT))
        try:
            argv = parse_cli(text)
        except CommandError as error:
            raise ownrun.RunError(str(error)) from None
        if argv and argv[0].upper() == "HELP":
            raise _Help(help_text(argv))
        entry = ownrun.Entry(step, actor, "run", argv=tuple(argv))
    else:
        raise ownrun.RunError(messages.RUN_UNKNOWN_DO)
    return entry


def _replay_check(
    lesson: Lesson, walk: StepThrough, candidate: list[ownrun.Entry], step: int, position: int
) -> str | None:
    """Replay the run with the new entry under the limits; the engine's refusal of it, if any."""
    ownrun.validate(candidate, walk)
    active = ownrun.upto(candidate, step)
    guard = RunGuard(limits(), real_redis=backend().name == "redis")
    trace = engine.run(
        walk,
        backend(),
        lesson.id,
        upto=step,
        inserts=ownrun.inserts(active),
        guard=guard,
        key_ttl=current_app.config.get("TUTOR_RUN_KEY_TTL"),
    )
    records = trace["yours"]
    record = records[position]
    before = records[position - 1] if position else (trace["steps"][step - 1] if step else trace["start"])
    entry = candidate[position]
    if entry.action == "run" and entry.actor in before.get("blocked", {}):
        command = before["blocked"][entry.actor]["command"]
        return messages.RUN_BLOCKED_ACTOR.format(actor=entry.actor, command=command)
    if record["status"] == "error" and record.get("error_source") == "engine":
        return str(record["reply"]["py"])
    return None


def _page_context(
    lesson: Lesson, walk: StepThrough, who: str, step: int, entries: list[ownrun.Entry] | None
) -> dict[str, Any]:
    _, prediction = quiz_views.predictions(lesson, walk, who, step)
    trace, console = own_run(lesson, walk, who, step, entries)
    context = stepper_context(lesson, walk, trace, step, step_url(lesson, walk), partial(step_url, lesson, walk))
    return {**context, **prediction, "console": console}


def _done(lesson: Lesson, walk: StepThrough, who: str, step: int, entries: list[ownrun.Entry]) -> ResponseReturnValue:
    """After a change: htmx gets the new stepper; a plain form is redirected to the step page (PRG)."""
    if not is_fragment_request():
        return redirect(step_url(lesson, walk, step) + "#console", code=303)
    context = _page_context(lesson, walk, who, step, entries)
    return render("step_through.html", "_stepper.html", **context)


def _answer(
    lesson: Lesson,
    walk: StepThrough,
    who: str,
    step: int,
    entries: list[ownrun.Entry] | None,
    status: int,
    text: str,
    kind: str,
    line: str,
) -> ResponseReturnValue:
    """The page (or fragment) with a message in the console, where the learner typed."""
    context = _page_context(lesson, walk, who, step, entries)
    console = context["console"]
    console.update(output={"kind": kind, "text": text}, line=line, status=status)
    if request.form.get("actor") in walk.actors and request.form.get("do", "run") == "run":
        console["actor"] = request.form["actor"]
    return render("step_through.html", "_stepper.html", **context), status


def _refuse(
    lesson: Lesson,
    walk: StepThrough,
    who: str,
    step: int,
    status: int,
    message: str,
    line: str = "",
    entries: list[ownrun.Entry] | None = None,
) -> ResponseReturnValue:
    return _answer(lesson, walk, who, step, entries, status, f"(error) {message}", "error", line)


@bp.get("/lessons/<lesson_id>/step-through/shared/<token>", defaults={"slug": None})
@bp.get("/lessons/<lesson_id>/step-through/<slug>/shared/<token>")
def shared(lesson_id: str, slug: str | None, token: str) -> ResponseReturnValue:
    """Open someone's shared run: its commands come from the link, are validated, and become yours."""
    lesson = views.get_lesson(lesson_id)
    walk = views.get_walk(lesson, slug)
    who = learner.current()
    assert who is not None
    raw_step = request.args.get("step", "")
    step = int(raw_step) if _STEP.fullmatch(raw_step) and int(raw_step) <= len(walk.steps) else 0
    try:
        entries = ownrun.from_token(token, walk)
    except ownrun.RunError as error:
        return _refuse(lesson, walk, who, step, 400, str(error))
    try:
        guard = RunGuard(limits(), real_redis=backend().name == "redis")
        engine.run(walk, backend(), lesson.id, inserts=ownrun.inserts(entries), guard=guard)
    except LimitExceeded as limit:
        return _refuse(lesson, walk, who, step, limit.status, str(limit))
    _put(lesson, walk, who, entries)
    return redirect(step_url(lesson, walk, step) + "#console", code=303)
