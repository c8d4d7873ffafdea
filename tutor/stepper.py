"""Everything the step-through page shows at step k, computed from the trace (no Flask, no Redis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tutor.model import Lesson, StepThrough
from tutor.render import code_lines, lanes, result_text, tracker_rows


def stepper_context(
    lesson: Lesson,
    walk: StepThrough,
    trace: dict[str, Any],
    step: int,
    base_url: str,
    url: Callable[[int], str],
) -> dict[str, Any]:
    """The template context of the step-through page (and of its htmx fragment)."""
    count = len(walk.steps)
    current = trace["steps"][step - 1] if step else None
    moments_by_step: dict[int, list[int]] = {}
    for index, moment in enumerate(walk.key_moments, 1):
        for number in moment.steps:
            moments_by_step.setdefault(number, []).append(index)
    sample = walk.sample
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
        "current_line": current["line"] if current else None,
        "current_stage": _stage(walk, step),
        "moments_by_step": moments_by_step,
        "result_text": result_text,
        "url": url,
        "nav": {
            "first": url(0),
            "back": url(max(step - 1, 0)),
            "next": url(min(step + 1, count)),
            "last": url(count),
        },
        "announcement": _announcement(current, step, count),
        "base_url": base_url,
        "try_url": base_url + "/try",
        "tried": None,
    }


def _stage(walk: StepThrough, step: int) -> int | None:
    """The concept-flow stage of the current step (or of the nearest earlier step that names one)."""
    for number in range(step, 0, -1):
        stage = walk.steps[number - 1].stage
        if stage:
            return stage
    return None


def _announcement(current: dict[str, Any] | None, step: int, count: int) -> str:
    """What the aria-live region says after a step: the row that just ran, in words."""
    if current is None:
        return f"Step 0 of {count}: nothing has run yet."
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
    return " ".join(parts)
