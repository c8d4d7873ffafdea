"""The common step click answered without entering Flask: the same bytes and the same progress write, less CPU.

Why: a step click is 82% of bench/load.py's load (100 learners, each a page, 6 clicks forward, 3
back, a quiz answer, under gunicorn with real Redis and PostgreSQL), and issue 12 asks for at least
half of a Flask hello-world's throughput. Such a click was already served from kept, pre-gzipped
bytes, yet the worker spent about 0.67 ms of CPU per request against hello-world's 0.20 ms: py-spy
showed Flask's own machinery (request context, session interface, URL routing, werkzeug's Headers
and Response, the after_request hooks, teardown) at about 23% of the worker's CPU and the view's
decisions at 41%. Here the click is decided from what the process already holds, and the kept
bytes go straight to the WSGI server. Measured (2026-12-01, the shared 2-core machine): a click
called as WSGI costs 0.037 ms of CPU instead of 0.129 ms through Flask (SQLite upsert included);
bench/step_vs_hello.py's click went from 2.04x to 1.19x a hello-world request (test client); under
bench/load.py, in four pairs of runs with it on and off in turn, the server's CPU per request (every
kind) was 0.62, 0.64, 0.55, 0.53 ms against 0.76, 0.78, 0.64, 0.66 ms. The full page and the quiz
answer, which still go through Flask, now take most of the worker's CPU.

It is an optimisation only: a request is answered here only when every condition below plainly
holds, and is otherwise handed to Flask unchanged (which then answers, verifies, renders and keeps
as always). The answer is what Flask answers for the same request, byte for byte (status, headers
in order, body; tests/test_clickpath.py compares both on every step of every lesson), and the
progress written is the same one upsert.

Answered here only when all of these hold:
- GET, and the path is one Flask routes to the step-through view (`lessons.step_through`, the short
  form for the first step-through too: Flask's own URL map decides, once per path), naming a lesson
  the catalog serves and a step-through it has (`Lesson.step_through`, as `views.get_walk`);
- the query is exactly `step=<1-6 digits>` (`views.parse_step`), not past the last step (beyond it,
  Flask redirects or pushes the last step's address);
- an htmx click that wants a fragment (`web.wants_fragment`: HX-Request, no history restore);
- the Cookie header is one the session interface has verified already and would use unchanged, with
  a well-formed learner id (`_LearnerSessions.verified`: not expired, not due to be signed again);
  a cookie never seen goes to Flask, which verifies it (and remembers it);
- the cookie lists the learner's own runs and not this step-through (`console_views.cookie_lists_run`);
- where a prediction asked at or before the step could open (`views.consults_locked`), the page's
  X-Tutor-Locked header is present, valid, and says none opens here (`views.opens_by_header`), and
  the answer then varies on it, as Flask's does (so the quiz section never comes along);
- at step N-1 or N of a prediction asked before step N (`quiz_views.reads_predictions`, where the
  view reads the learner's answers): the cookie has no mark of a prediction just committed (the view
  takes it out, a new cookie, and focuses the verdict); the answers are read with the step upsert
  (`_at_prediction`) and decided by the view's `quiz_views.prediction_context`; no question is held
  in place of Next (its form carries an address and the learner's token: Flask renders it, its
  store starting from the step written and the lesson read here, `progress.HANDED_OVER`); a
  prediction graded here fills the kept click's outcome slot (`views.prediction_fills`, under an
  app context; the outcome's text and deflated piece are kept per question and answer). Measured
  (2026-12-01, bench/step_vs_hello.py --rounds 30, async-flask, embedded): steps 8 and 9 (a
  prediction skipped) went from 3.24x and 3.72x a hello-world request to 1.79x and 1.98x;
- the click is kept already: the step-through's trace has run in this process
  (`tracecache.kept_version`) and the learner-free fragment of this step is kept
  (`stepcache.kept_already`, under `views.kept_key` with the address the app is mounted at), with no
  slot to fill but a graded prediction's outcome. Nothing else is rendered, nothing is run here;
- the step upsert succeeds (`SqlStore.record_step`, on a store of its own, with the same one retry
  of a dead pooled connection); if it raises, Flask serves the click (the upsert is idempotent) and
  answers the error as it always has.

No learner state is kept here: the learner is whoever the signed cookie says, and their progress is
written to the store before the answer goes out. Turned off with TUTOR_HOT_CLICKS=0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException

from tutor import console_views, gzsplice, progress, quiz_views, stepcache, tracecache, views, web

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

    from tutor.model import Lesson, StepThrough

# Only these paths are looked up in Flask's URL map (a cheap first look); the map has the last word.
_CANDIDATE = re.compile(r"/lessons/[^/]+/step-through(?:/[^/]+)?")
_ENDPOINT = f"{views.bp.name}.{views.step_through.__name__}"
_Fill = tuple[stepcache.Kept, dict[str, str], dict[str, list[gzsplice.Piece]]]  # the kept click, its slots' text
_ROUTES_KEPT = 4096  # paths remembered with their route: every step-through's two addresses, with room


def init_app(app: Flask) -> None:
    """Put the click path in front of Flask, unless TUTOR_HOT_CLICKS is off or routing depends on the host."""
    if not app.config["TUTOR_HOT_CLICKS"] or not isinstance(app.session_interface, web._LearnerSessions):
        return
    if app.config["TRUSTED_HOSTS"] is not None or app.url_map.host_matching or app.subdomain_matching:
        return  # Flask would refuse or route some hosts differently: not worth mirroring
    path = ClickPath(app, app.wsgi_app)
    app.extensions["tutor.clickpath"] = path
    app.wsgi_app = path  # type: ignore[method-assign]


class ClickPath:
    """WSGI middleware: a plain step click from kept bytes, everything else to `flask` (the app's wsgi_app)."""

    def __init__(self, app: Flask, flask: WSGIApplication) -> None:
        self.app = app
        self.flask = flask
        self.served = 0  # clicks answered here (the tests check that the path is taken)
        self._sessions: web._LearnerSessions = app.session_interface  # type: ignore[assignment]
        self._adapter = app.url_map.bind("localhost")
        self._routes: dict[str, tuple[str, str | None] | None] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(environ)
        if answer is None:
            return self.flask(environ, start_response)
        headers, body = answer
        start_response("200 OK", headers)
        self.served += 1
        return [body]

    def _answer(self, environ: WSGIEnvironment) -> tuple[list[tuple[str, str]], bytes] | None:
        """The headers and body Flask would send for this click, with the step recorded; None: ask Flask."""
        query = environ.get("QUERY_STRING", "")
        if environ.get("REQUEST_METHOD") != "GET" or not query.startswith("step="):
            return None
        route = self._route(environ.get("PATH_INFO", ""))
        if route is None:
            return None
        headers = EnvironHeaders(environ)
        if not web.wants_fragment(headers):
            return None
        payload = self._sessions.verified(self.app, environ.get("HTTP_COOKIE"))
        if payload is None:
            return None
        lesson = self.app.extensions["tutor.catalog"].get(route[0])
        walk = lesson.step_through(route[1]) if lesson is not None else None
        if lesson is None or walk is None:
            return None
        asked = views.parse_step(query[len("step=") :], len(walk.steps))
        if asked is None or asked[1]:
            return None
        step = asked[0]
        if console_views.cookie_lists_run(payload, lesson, walk) is not False:
            return None
        at_prediction = quiz_views.reads_predictions(walk, step)
        if at_prediction and quiz_views.JUST_PREDICTED in payload:
            return None  # the view takes the one-shot mark out of the session (a new cookie) and focuses the verdict
        also_vary: tuple[str, ...] = ()
        prediction_steps = views.asked_steps(walk)
        if views.consults_locked(prediction_steps, step):
            if views.opens_by_header(prediction_steps, step, headers.get(views.LOCKED_HEADER)) is not False:
                return None
            also_vary = (views.LOCKED_HEADER,)
        script_name = environ.get("SCRIPT_NAME", "")
        version = tracecache.kept_version(walk, self.app.extensions["tutor.backend"], lesson.id)
        if version is None or not script_name.isascii():
            return None
        script_root = script_name.rstrip("/")  # as werkzeug's
        who = payload["learner"]  # well-formed: `verified` checked it
        if at_prediction:
            at = self._at_prediction(lesson, walk, step, who, script_root, version, environ)
        else:
            at = self._plain(lesson, walk, step, who, script_root, version)
        if at is None:
            return None
        kept, filled, ready = at
        gzipped = web.takes_gzip(headers)
        body = kept.gzip(filled, ready) if gzipped else kept.body(filled)
        return [*web.kept_headers(gzipped, also_vary), ("Content-Length", str(len(body)))], body

    def _plain(
        self, lesson: Lesson, walk: StepThrough, step: int, who: str, script_root: str, version: tuple[str, ...]
    ) -> _Fill | None:
        """Any other step: the kept click, with no slot, and the step recorded; None: Flask."""
        kept = stepcache.kept_already(lesson, version, views.kept_key(walk, step, script_root, True, views.PLAIN))
        if kept is None or kept.slots:
            return None
        try:
            progress.SqlStore(self.app.extensions["tutor.db"], keep=False).record_step(who, lesson.id, walk.slug, step)
        except Exception:  # noqa: BLE001 - Flask writes it again and answers the error as it always does
            return None
        return kept, {}, {}

    def _at_prediction(
        self,
        lesson: Lesson,
        walk: StepThrough,
        step: int,
        who: str,
        script_root: str,
        version: tuple[str, ...],
        environ: WSGIEnvironment,
    ) -> _Fill | None:
        """At step N-1 or N of a prediction: the kept click and its slots filled, with the step recorded; None: Flask.

        The learner's answers decide it, by the view's own `quiz_views.prediction_context`, read with
        the step upsert (one statement on PostgreSQL, as `record_step(read=True)` does; the upsert
        and then the read elsewhere). Served: nothing held and, if a prediction shows graded here,
        its outcome (filled by `views.prediction_fills` under an app context). A held question's
        form needs the request (its address, the learner's token): Flask renders it, starting from
        the step recorded and the lesson read here (`progress.HANDED_OVER`), so it neither writes
        the step again nor reads the lesson again. The verdict's focus and the quiz section never come
        here: the caller sends a cookie with the one-shot mark to Flask, and a click that may open a
        prediction without the page's header saying it does not.
        """
        store = progress.SqlStore(self.app.extensions["tutor.db"])  # one connection for both statements
        try:
            store.record_step(who, lesson.id, walk.slug, step, read=True)
            answers = store.answers(who, lesson.id)
            read = store.read_of(who, lesson.id)
        except Exception:  # noqa: BLE001 - Flask reads and writes again and answers the error as it always does
            return None
        finally:
            store.close()
        if read is not None:  # if Flask answers after all, its store starts from here: no second write or read
            environ[progress.HANDED_OVER] = (who, lesson.id, walk.slug, step, read)
        _, context = quiz_views.prediction_context(lesson, walk, who, step, answers, _not_just_predicted)
        if "prediction" in context:
            return None
        result: quiz_views.PredictionResult | None = context.get("prediction_result")
        shape = (None, result is not None, False)  # nothing held, graded or not, no quiz section (see the view)
        kept = stepcache.kept_already(lesson, version, views.kept_key(walk, step, script_root, True, shape))
        if kept is None or not set(kept.slots) <= {"outcome"}:
            return None
        if not kept.slots:
            return kept, {}, {}
        with self.app.app_context():  # the outcome's macro, the first time: the app's templates, no request
            return kept, *views.prediction_fills(None, result)

    def _route(self, path: str) -> tuple[str, str | None] | None:
        """(lesson id, slug or None) when Flask routes a GET of `path` to the step-through view; else None."""
        if path in self._routes:
            return self._routes[path]
        if not (path.isascii() and _CANDIDATE.fullmatch(path)):  # ASCII: werkzeug decodes it to the same text
            return None
        route = None
        try:
            endpoint, args = self._adapter.match(path, method="GET")
        except HTTPException:  # not found, not a GET route, or a redirect (a slash added or merged)
            endpoint, args = None, {}
        if endpoint == _ENDPOINT:
            route = (str(args["lesson_id"]), args["slug"])
        if len(self._routes) >= _ROUTES_KEPT:
            self._routes.clear()
        self._routes[path] = route
        return route


def _not_just_predicted(_key: str) -> bool:
    """The cookie has no one-shot mark of a prediction just committed (the caller checked): no verdict takes focus."""
    return False
