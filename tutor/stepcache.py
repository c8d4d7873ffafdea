"""What the step-through page shows at step k that is the same for every learner, kept per (version, step).

Four things are kept, all derived from the lesson alone, never from a learner:
- whole responses (`kept`): the stepper fragment of a step click, as bytes and gzipped, and the full
  page, as pieces around slots where each request puts the learner's own parts (their CSRF token,
  their quiz section, a prediction held or graded at this step); never for a learner's own run;
- the stepper's template context (rows, lanes, tracker, highlighted code) for a cached trace at step k;
- quiz questions, per choice order and standing on the question (last answer, attempts, points, hint
  used): the same for everyone with that order and standing, with the token put back per request
  (`kept_question`);
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

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, g, request
from markupsafe import Markup

from tutor import gzsplice, learner, stepper, tracecache
from tutor.model import Lesson, StepThrough

FRAGMENTS_KEPT = 4096
CONTEXTS_KEPT = 1024
RESPONSES_KEPT = 1024  # the whole curriculum (every step, page and click) needs about 340, 15 MB
QUESTIONS_KEPT = 4096

_FRAGMENTS = tracecache._Lru(FRAGMENTS_KEPT)
_CONTEXTS = tracecache._Lru(CONTEXTS_KEPT)
_RESPONSES = tracecache._Lru(RESPONSES_KEPT)
_QUESTIONS = tracecache._Lru(QUESTIONS_KEPT)

# Where a kept response has a learner's own part: private-use characters, which escaping leaves as they
# are and which no lesson text carries (a render that contains one otherwise is not kept).
_MARK = "\ue000"
SLOTS = ("csrf", "quiz", "prediction", "outcome")  # the token, the quiz section, a held prediction, its grade


def slot(name: str) -> Markup:
    """Where a kept response takes the learner's own `name` (one of SLOTS)."""
    assert name in SLOTS
    return Markup(f"{_MARK}{name}{_MARK}")


CSRF_SLOT = str(slot("csrf"))


@dataclass(frozen=True)
class Kept:
    """A response body kept for every learner: fixed text, with named slots between the pieces.

    `texts` has one piece more than `slots`; `deflated` holds each piece compressed once, so that a
    gzipped response costs only the compression of what is put in the slots (tutor/gzsplice.py). A
    response without slots keeps its whole gzipped body instead.
    `lesson` is held so that the lesson object (part of the key, by identity) outlives the entry.
    """

    lesson: Lesson
    texts: tuple[bytes, ...]
    slots: tuple[str, ...]
    deflated: tuple[gzsplice.Piece, ...]
    gzipped: bytes | None  # the whole response gzipped, when it has no slot

    def body(self, filled: Mapping[str, str]) -> bytes:
        """The response with each slot filled."""
        parts = [self.texts[0]]
        for name, text in zip(self.slots, self.texts[1:], strict=True):
            parts.append(filled[name].encode())
            parts.append(text)
        return b"".join(parts)

    def gzip(self, filled: Mapping[str, str], ready: Mapping[str, list[gzsplice.Piece]] | None = None) -> bytes:
        """The response gzipped: the kept pieces as compressed once, the slots compressed now.

        `ready` gives a slot's text already as pieces (a kept quiz section: see `spliced`).
        """
        if self.gzipped is not None:
            return self.gzipped
        ready = ready or {}
        pieces = [self.deflated[0]]
        for name, piece in zip(self.slots, self.deflated[1:], strict=True):
            if name in ready:
                pieces.extend(ready[name])
            else:
                pieces.append(gzsplice.deflate(filled[name].encode(), gzsplice.OWN_LEVEL))
            pieces.append(piece)
        return gzsplice.join(pieces)


def kept(lesson: Lesson, trace: dict[str, Any], key: Hashable, render: Callable[[], str]) -> Kept | None:
    """The response kept for (lesson, trace version, key), rendered by `render` the first time.

    `render` renders the learner-free response, with `slot(name)` where the learner's own parts go.
    None for a learner's own run (a trace this cache did not serve), and for a page whose lesson text
    itself holds the slot mark: those are rendered every time.
    """
    if not isinstance(trace, tracecache.SharedTrace):
        return None
    known = kept_already(lesson, trace.key, key)
    if known is not None:
        return known
    known = _split(lesson, render())
    if known is not None:
        _RESPONSES.put((id(lesson), trace.key, key), known)
    return known


def kept_already(lesson: Lesson, version: tuple[str, ...], key: Hashable) -> Kept | None:
    """The response `kept` keeps for (lesson, trace version, key), if it is kept already; nothing is rendered."""
    known: Kept | None = _RESPONSES.get((id(lesson), version, key))
    return known if known is not None and known.lesson is lesson else None


def _split(lesson: Lesson, text: str) -> Kept | None:
    texts, slots = [], []
    rest = text
    while _MARK in rest:
        before, _, after = rest.partition(_MARK)
        name, mark, rest = after.partition(_MARK)
        if not mark or name not in SLOTS:
            return None
        texts.append(before.encode())
        slots.append(name)
    texts.append(rest.encode())
    deflated = tuple(gzsplice.deflate(piece) for piece in texts)
    if slots:
        return Kept(lesson, tuple(texts), tuple(slots), deflated, None)
    return Kept(lesson, tuple(texts), (), (), gzsplice.join(deflated))  # no slot: only the whole is needed


def init_app(app: Flask) -> None:
    """Make `cached_fragment`, `kept_question` and `kept_section` available to templates."""
    app.jinja_env.globals["cached_fragment"] = cached_fragment
    app.jinja_env.globals["kept_question"] = kept_question
    app.jinja_env.globals["kept_section"] = kept_section


def _question_key(view: Any) -> tuple[Hashable, ...]:
    """Everything a rendered quiz question shows but the learner's CSRF token (see _quiz.html question_block)."""
    state = view.state
    last = state.last
    return (
        id(view.question),
        view.lesson_id,
        view.quiz,
        view.place,
        tuple(view.order),
        view.dom_id,
        view.hint_url,
        view.where,
        view.locked,
        view.open_url,
        view.notice,
        view.focus,
        state.worth,
        state.right,
        state.hinted,
        state.attempts,
        state.points,
        (last.choices, last.correct) if last is not None else None,
    )


def _kept_with_token(key: Hashable, held: tuple[Any, ...], caller: Callable[[], str], pieces: bool = False) -> Markup:
    """The render kept under `key`, with this request's CSRF token put back where the render had one.

    `held` are the lesson objects the key names by id: held with the text, and checked to be the same
    objects, so that an id reused by another object never serves an old render. With `pieces`, the
    text between the tokens is also kept deflated, and this request notes what it served (see `spliced`).
    """
    token = learner.csrf_token()
    known = _QUESTIONS.get(key)
    if known is None or len(known[0]) != len(held) or any(a is not b for a, b in zip(known[0], held, strict=True)):
        text = str(caller())
        if _MARK in text:  # the lesson's text holds the slot mark: rendered every time
            return Markup(text)
        kept_text = text.replace(token, CSRF_SLOT)
        parts = tuple(gzsplice.deflate(part.encode()) for part in kept_text.split(CSRF_SLOT)) if pieces else ()
        known = (held, kept_text, parts)
        _QUESTIONS.put(key, known)
    if pieces and known[2]:
        g.setdefault("kept_sections", []).append((known[2], token))
    return Markup(known[1].replace(CSRF_SLOT, token))


def spliced(text: str) -> list[gzsplice.Piece] | None:
    """`text` (a render that used kept sections) as pieces: the kept ones deflated already, the rest now.

    Each section this request was served since `start_splice` is looked up in the text in order; the
    bytes around them (a few newlines) and the tokens go as stored blocks. None when nothing was noted
    or a section is not found as served: the caller then deflates the whole text.
    """
    served: list[tuple[tuple[gzsplice.Piece, ...], str]] = g.pop("kept_sections", [])
    if not served:
        return None
    encoded = text.encode()
    pieces: list[gzsplice.Piece] = []
    at = 0
    for parts, token in served:
        own = gzsplice.deflate(token.encode(), gzsplice.OWN_LEVEL)
        whole = own.raw.join(part.raw for part in parts)
        found = encoded.find(whole, at)
        if found < 0:
            return None
        pieces.append(gzsplice.deflate(encoded[at:found], gzsplice.OWN_LEVEL))
        for index, part in enumerate(parts):
            if index:
                pieces.append(own)
            pieces.append(part)
        at = found + len(whole)
    pieces.append(gzsplice.deflate(encoded[at:], gzsplice.OWN_LEVEL))
    return pieces


def start_splice() -> None:
    """Forget the sections noted so far in this request: `spliced` looks for the ones rendered from now on."""
    g.pop("kept_sections", None)


def kept_question(view: Any, caller: Callable[[], str]) -> Markup:
    """A quiz question as rendered once for everyone who sees the same thing, with the token put back.

    A question shows nothing of the learner's but the order of its choices (a shuffle seeded by
    their id), their standing on it (last answer, attempts, points, hint used), a notice or focus
    after a form, and their CSRF token. It is kept per everything it shows but the token, which is
    taken out and put back per request: two learners get the same bytes only where the render is
    the same by construction (same question, order, standing), and never each other's token.
    """
    return _kept_with_token(("question", request.script_root, _question_key(view)), (view.question,), caller)


def kept_section(section: Any, place: str, oob: bool, caller: Callable[[], str]) -> Markup:
    """A whole quiz section (its score line and every question), kept as kept_question keeps one question."""
    key = (
        "section",
        request.script_root,
        section.name,
        section.title,
        section.dom_id,
        section.score,
        place,
        oob,
        tuple(_question_key(view) for view in section.questions),
    )
    return _kept_with_token(key, tuple(view.question for view in section.questions), caller, pieces=True)


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
    # A copy the view adds to; the lesson is this request's (an edit of its title keeps the walk's version).
    return {**known, "lesson": lesson}


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
    _RESPONSES.clear()
    _QUESTIONS.clear()
