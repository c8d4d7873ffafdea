"""A process made ready before it serves: templates compiled, step-throughs executed, steps kept.

Why: a fresh process (a gunicorn worker after a start, a deploy or `max_requests`) otherwise pays
for all of it on its first requests: Jinja compiles each template, each step-through runs once on
Redis (tutor/tracecache.py), and each step's click and page are rendered once (tutor/stepcache.py).
Measured under gunicorn, a cold worker's first page took about 200 ms, and the learners queued
behind it waited up to 600 ms. Warming costs the process that time once, before its first request.

Only what is the same for every learner is warmed: a step's click and page without a held
prediction. A learner's quiz sections and predictions are still rendered on first use.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import Flask
from redis.exceptions import RedisError

from tutor import quiz, tracecache, views
from tutor.web import backend, catalog, step_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Warmed:
    """What a warm-up did: for a log line and the tests."""

    templates: int
    walks: int
    steps: int
    seconds: float
    failed: str | None = None  # why it stopped early (Redis unreachable): the process serves anyway, cold


def warm(app: Flask) -> Warmed:
    """Compile every template, run every served step-through, keep each step's click and page.

    A Redis that cannot be reached stops the warm-up, not the process: requests then warm it as
    they come, and answer 503 while Redis is down, as they would have.
    """
    start = time.perf_counter()
    templates = walks = steps = 0
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)
        templates += 1
    failed: str | None = None
    with app.test_request_context("/"):
        try:
            for lesson in catalog().lessons():
                quizzes = dict(lesson.quizzes())
                for walk in lesson.step_throughs:
                    walks += 1
                    with app.test_request_context(step_url(lesson, walk)):  # rendered as at its own address
                        for step in range(len(walk.steps) + 1):
                            trace = tracecache.trace(walk, backend(), lesson.id, upto=step)
                            views.kept_step(lesson, walk, trace, step, fragment=True)
                            has_quiz = quiz.quiz_name(walk) in quizzes  # as quiz_views.quiz_section decides
                            views.kept_step(lesson, walk, trace, step, fragment=False, has_quiz=has_quiz)
                            steps += 1
        except (RedisError, OSError) as error:
            failed = f"{type(error).__name__}: {error}"
    warmed = Warmed(templates, walks, steps, time.perf_counter() - start, failed)
    if failed:
        log.warning("warm-up stopped after %d steps (%s); the rest warms on first use", steps, failed)
    else:
        log.info("warmed %d templates, %d steps of %d step-throughs in %.2f s", templates, steps, walks, warmed.seconds)
    return warmed
