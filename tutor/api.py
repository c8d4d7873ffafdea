"""The JSON API: a lesson's executed trace, for other front ends (format in docs/trace-format.md)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from tutor import tracecache
from tutor.views import get_lesson, get_walk
from tutor.web import backend

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/lessons/<lesson_id>/trace")
def trace(lesson_id: str) -> ResponseReturnValue:
    """The whole trace of a step-through (?walkthrough=slug for another than the first)."""
    lesson = get_lesson(lesson_id)
    walk = get_walk(lesson, request.args.get("walkthrough"))
    return jsonify(tracecache.trace(walk, backend(), lesson.id))
