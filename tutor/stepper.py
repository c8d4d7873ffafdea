"""Everything the step-through page shows at step k, computed from the trace (no Flask, no Redis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tutor import messages
from tutor.model import KeyMoment, Lesson, StepThrough
from tutor.render import code_lines, lanes, result_text, tracker_rows
from tutor.stateview import actor_views, key_views, printable, variable_views


def stepper_context(
    lesson: Lesson,
    walk: StepThrough,
    trace: dict[str, Any],
    step: int,
    base_url: str,
    url: Callable[[int], str],
    held_for: int | None = None,
) -> dict[str, Any]:
    """The template context of the step-through page (and of its htmx fragment).

    `held_for` is the step a pending prediction asks about: Next waits for it, and the live
    region says so.
    """
    count = len(walk.steps)
    current = trace["steps"][step - 1] if step else None
    point = current or trace["start"]
    before = (trace["steps"][step - 2] if step > 1 else trace["start"]) if step else None
    # While a prediction holds Next, the moments of this very step wait too: they could answer it.
    revealed = _revealed(walk, step - 1 if held_for else step)
    moments_by_step: dict[int, list[int]] = {}
    for index, moment in revealed:
        for number in moment.steps:
            moments_by_step.setdefault(number, []).append(index)
    sample = walk.sample
    line = current["line"] if current else None
    return {
        "lesson": lesson,
        "walk": walk,
        "trace": trace,
        "step": step,
        "count": count,
        "current": current,
        "rows": trace["steps"][:step],
        "tracker": tracker_rows(trace, step),
        "lanes": lanes(trace, step),
        "lane_names": [*walk.actors, "Redis"],
        "code": code_lines(sample.code, sample.language) if sample else (),
        "current_line": line,
        "line_text": sample.code.splitlines()[line - 1].strip() if sample and line else None,
        "current_stage": _stage(walk, step),
        "moments_by_step": moments_by_step,
        "revealed_moments": revealed,
        "moments_now": [(i, m) for i, m in revealed if step in m.steps],
        "moments_hidden": len(walk.key_moments) - len(revealed),
        "keys": key_views(list(walk.watch), point["state"], before["state"] if before else None),
        "actors": actor_views(point, list(walk.actors), trace["processes"], before),
        "variables": variable_views(point, list(walk.variables), first=not step),
        "printable": printable,
        "result_text": result_text,
        "url": url,
        "nav": {
            "first": url(0),
            "back": url(max(step - 1, 0)),
            "next": url(min(step + 1, count)),
            "last": url(count),
        },
        "announcement": _announcement(current, step, count, held_for),
        "base_url": base_url,
    }


def _revealed(walk: StepThrough, step: int) -> list[tuple[int, KeyMoment]]:
    """The key moments a learner at `step` may read: those whose every step has run (numbered from 1).

    A moment explains what its steps show, so before the last of them it would answer ahead.
    """
    return [(i, m) for i, m in enumerate(walk.key_moments, 1) if not m.steps or max(m.steps) <= step]


def _stage(walk: StepThrough, step: int) -> int | None:
    """The concept-flow stage of the current step (or of the nearest earlier step that names one)."""
    for number in range(step, 0, -1):
        stage = walk.steps[number - 1].stage
        if stage:
            return stage
    return None


def _announcement(current: dict[str, Any] | None, step: int, count: int, held_for: int | None) -> str:
    """What the aria-live region says after a step: the row that just ran, in words."""
    held = f" {messages.STEP_HELD.format(step=held_for)}" if held_for else ""
    if current is None:
        return f"Step 0 of {count}: nothing has run yet.{held}"
    parts = [f"Step {step} of {count}: {current['actor']}: {current['action']}."]
    if current["command"]:
        parts.append(f"Command {current['command']['cli']}.")
    parts.append(f"Result: {result_text(current)}.")
    for event in current["events"]:
        if event["kind"] == "unblocked":
            parts.append(f"{event['actor']} is unblocked and receives {event['reply']['py']}.")
        elif event["kind"] == "received":
            parts.append(f"{event['actor']}, subscribed, receives {event['reply']['py']}.")
        else:
            parts.append(f"{event['actor']} timed out and receives None.")
    return " ".join(parts) + held
