"""Checks that tie one field of a lesson to another: sample lines, watched keys, predictions.

Each one catches a mistake that loads and runs fine but tells learners something false: a
highlighted line that is not the one the step runs, a column for a key nobody touches, a
prediction whose "Step N shows it" shows something else.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from tutor import messages
from tutor.commands import CommandError, spec_for
from tutor.model import Code, Step
from tutor.yamlpos import Path

Report = Callable[[Path, str], None]
"""Records a problem at a field path (Loaded.problem)."""


def sample_line(raw: Any, sample: Code | None, path: Path, report: Report) -> int | None:
    """The sample line a step's `line:` names: a number, or text found on exactly one line.

    A number is only range-checked by position, so it must at least land on code: a blank or
    comment-only line is almost always a line number gone stale after the sample was edited.
    """
    if raw is None or not isinstance(raw, int | str):
        return None
    if sample is None:
        report(path, messages.LINE_WITHOUT_SAMPLE)
        return None
    lines = sample.code.splitlines()
    if isinstance(raw, str):
        found = [number for number, text in enumerate(lines, 1) if raw in text]
        if not found:
            report(path, messages.LINE_TEXT_NOT_FOUND.format(text=raw))
            return None
        if len(found) > 1:
            listed = ", ".join(map(str, found))
            report(path, messages.LINE_TEXT_AMBIGUOUS.format(text=raw, count=len(found), lines=listed))
            return None
        return found[0]
    if raw > len(lines):
        report(path, messages.LINE_OUT_OF_RANGE.format(line=raw, count=len(lines)))
        return None
    text = lines[raw - 1].strip()
    if not text:
        report(path, messages.LINE_BLANK.format(line=raw))
    elif text.startswith(_COMMENTS):
        report(path, messages.LINE_COMMENT.format(line=raw, text=text))
    return raw


_COMMENTS = ("#", "//", "--")


def check_watch(watch: tuple[str, ...], steps: list[Step], path: Path, report: Report) -> None:
    """A watched key that no step's command names is a typo, or a column that never changes."""
    used: dict[str, None] = {}
    for step in steps:
        if step.argv is None:
            continue
        try:
            positions = spec_for(step.argv).keys(list(step.argv))
        except CommandError:
            positions = list(range(len(step.argv)))  # already reported; any argument may be the key
        used.update((step.argv[i], None) for i in positions if i < len(step.argv))
    for index, key in enumerate(watch):
        if key not in used:
            close = difflib.get_close_matches(key, list(used), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            known = ", ".join(used) or "none"
            report((*path, index), messages.WATCH_UNUSED.format(name=key, hint=hint, known=known))


def check_prediction(q: dict[str, Any], spec: dict[str, Any], path: Path, slug: str | None, report: Report) -> None:
    """A prediction asked before step N is answered by step N: the page then says "Step N shows it".

    An earlier step would show the answer before the question is asked; a later one, or another
    step-through, is not what the learner sees when the page says so.
    """
    ask = q.get("ask_before_step")
    if ask is None:
        return
    other = spec.get("walkthrough")
    if other is not None and other != slug:
        report((*path, "walkthrough"), messages.PREDICTION_OTHER_WALK.format(ask=ask, other=other))
    elif spec["step"] != ask:
        report((*path, "step"), messages.PREDICTION_ANSWER_STEP.format(ask=ask, step=spec["step"]))
