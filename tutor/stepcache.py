"""What the step-through page shows at step k that is the same for every learner, kept per (version, step).

Two things are kept, both derived from the lesson alone, never from a learner:
- the stepper's template context (rows, lanes, tracker, highlighted code) for a cached trace at step k;
- rendered pieces of the page, marked in the template with
  `{% call cached_fragment("name", trace, step, base_url) %}...{% endcall %}`.
  A piece may use only what its key determines: the lesson version, the step, the page address.
  What is a learner's own (the CSRF token, a prediction and its outcome, their own run, their quiz)
  stays outside such a block and is rendered on every request.

Only a trace the cache served (tracecache.SharedTrace) is keyed: by its version (the step-through's
content hash, lesson id and server), so an edited lesson never shows an old piece. A learner's own run
is a plain dict, and everything about it is computed afresh. The memory is bounded by an LRU.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask
from markupsafe import Markup

from tutor import stepper, tracecache
from tutor.model import Lesson, StepThrough

FRAGMENTS_KEPT = 4096
CONTEXTS_KEPT = 1024

_FRAGMENTS = tracecache._Lru(FRAGMENTS_KEPT)
_CONTEXTS = tracecache._Lru(CONTEXTS_KEPT)


def init_app(app: Flask) -> None:
    """Make `cached_fragment` available to templates."""
    app.jinja_env.globals["cached_fragment"] = cached_fragment


def stepper_context(
    lesson: Lesson,
    walk: StepThrough,
    trace: dict[str, Any],
    step: int,
    base_url: str,
    url: Callable[[int], str],
    held_for: int | None = None,
) -> dict[str, Any]:
    """stepper.stepper_context, computed once per (version, step, address, held prediction) for a shared trace.

    A learner's own run (any trace the cache did not serve) is computed every time, never kept.
    """
    if not isinstance(trace, tracecache.SharedTrace):
        return stepper.stepper_context(lesson, walk, trace, step, base_url, url, held_for)
    key = (trace.key, walk.slug, step, base_url, held_for)
    known = _CONTEXTS.get(key)
    if known is None:
        known = stepper.stepper_context(lesson, walk, trace, step, base_url, url, held_for)
        _CONTEXTS.put(key, known)
    return dict(known)  # the view adds the learner's own parts to its copy


def cached_fragment(name: str, trace: dict[str, Any], step: int, base: str, caller: Callable[[], str]) -> Markup:
    """The rendered body of a `{% call %}` block, once per (name, version, step, address).

    Rendered afresh, and not kept, for a learner's own run.
    """
    if not isinstance(trace, tracecache.SharedTrace):
        return Markup(caller())
    key: Hashable = (name, trace.key, step, base)
    known = _FRAGMENTS.get(key)
    if known is None:
        known = str(caller())
        _FRAGMENTS.put(key, known)
    return Markup(known)


def clear() -> None:
    """Forget every kept piece (tests)."""
    _FRAGMENTS.clear()
    _CONTEXTS.clear()
