"""What the step-through page shows at step k that is the same for every learner, kept per (version, step).

Four things are kept, all derived from the lesson alone, never from a learner:
- whole responses (`kept`): the stepper fragment of a step click, as bytes and gzipped, and the full
  page, as pieces around slots where each request puts the learner's own parts (their CSRF token,
  their quiz section, a prediction held or graded at this step); never for a learner's own run;
- the stepper's template context (rows, lanes, tracker, highlighted code) for a cached trace at step k;
- quiz questions and sections, per standing on each question (last answer, attempts, points, hint
  used): the same for everyone with that standing, with the token and the learner's choice order put
  in per request (`kept_question`, `kept_section`); so are a kept page's whole quiz slot and the htmx
  answer to a quiz form, without rendering their template (`kept_quiz`, `kept_answer`). Their texts
  are kept deflated too, each with what precedes it as a preset dictionary (a learner's bytes as
  NULs), so a gzipped page or answer deflates nothing of them per request;
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

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask import Flask, g, get_template_attribute, request
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
    """Everything a rendered quiz question shows but the learner's CSRF token and the order of its choices.

    The order (a shuffle seeded by the learner's id) is put in per request (`_Shape.fill`), so that
    learners of the same standing share one kept question whatever their order.
    """
    state = view.state
    last = state.last
    return (
        id(view.question),
        view.lesson_id,
        view.quiz,
        view.place,
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


_CSRF = "csrf"
_ORDERS = tracecache._Lru(QUESTIONS_KEPT)  # (kept shape, question, order) -> its choices deflated in that order
_WINDOW = 32768  # how far back a deflate match may reach


@dataclass(frozen=True, eq=False)
class _Shape:
    """A quiz question or section as rendered once for everyone, with slots for what differs per learner.

    `parts` alternates text and slots: "csrf" (the learner's token) or the number k of a question
    whose choices go there in the learner's order (`items[k]`: each choice's text by its original
    index). A question has one such question, itself (k = 0); a section has each of its questions'
    texts and slots in its own parts, so that its text is one run of kept pieces.
    `deflated` holds each text compressed once, with the bytes before it in the shape as a preset
    dictionary (tokens and choices as NULs: their length is the same for every learner, their bytes
    are not), so that a gzipped page deflates nothing of them per request and the pieces compress
    as one text would.
    `held` are the lesson objects the key names by id: held here, and checked to be the same objects,
    so that an id reused by another object never serves an old render.
    """

    held: tuple[Any, ...]
    parts: tuple[str | int, ...]  # text at even places, a slot at odd places
    items: tuple[tuple[str, ...], ...]
    owners: tuple[int, ...]  # per choices slot: which of the views its order comes from
    deflated: tuple[gzsplice.Piece, ...]
    token_length: int  # the length of a CSRF token in the preset dictionaries: a token of another length is not spliced

    def fill(
        self, token: str, views: Sequence[Any], own: gzsplice.Piece | None
    ) -> tuple[list[str], list[gzsplice.Piece]]:
        """This learner's text (as strings to join), and as pieces when `own` (the token, deflated) is given.

        `views`: the question views whose order fills each choices slot.
        """
        texts: list[str] = []
        pieces: list[gzsplice.Piece] = []
        for index, part in enumerate(self.parts):
            if not index % 2:
                texts.append(part)  # type: ignore[arg-type]
                if own is not None:
                    pieces.append(self.deflated[index // 2])
            elif part == _CSRF:
                texts.append(token)
                if own is not None:
                    pieces.append(own)
            else:
                number = int(part)
                order = tuple(views[self.owners[number]].order)
                texts.append("".join([self.items[number][i] for i in order]))
                if own is not None:
                    pieces.append(self._choices_deflated(index, number, order, texts[-1]))
        return texts, pieces

    def _choices_deflated(self, index: int, number: int, order: tuple[int, ...], text: str) -> gzsplice.Piece:
        """A question's choices in this order, deflated once per order (a permutation, shared by many learners)."""
        key = (id(self), number, order)
        known = _ORDERS.get(key)
        if known is None or known[0] is not self:
            known = (
                self,
                gzsplice.deflate(text.encode(), zdict=_layout(self.parts, self.items, self.token_length, index)),
            )
            _ORDERS.put(key, known)
        return known[1]  # type: ignore[no-any-return]


def _shape(
    held: tuple[Any, ...],
    token: str,
    parts: list[str | int],
    items: tuple[tuple[str, ...], ...],
    owners: tuple[int, ...],
) -> _Shape | None:
    """A shape from texts and choices slots, each CSRF slot in a text made a slot of its own, adjacent texts joined.

    None if a text holds the slot mark (lesson text that would be taken for a slot) or a NUL (the
    preset dictionaries stand for a learner's bytes with NULs).
    """
    if any("\0" in item for choices in items for item in choices):
        return None
    flat: list[str | int] = [""]
    for index, part in enumerate(parts):
        if index % 2:
            flat += [part, ""]
            continue
        assert isinstance(part, str)
        if _MARK in part.replace(CSRF_SLOT, "") or "\0" in part:
            return None
        for number, text in enumerate(part.split(CSRF_SLOT)):
            if number:
                flat += [_CSRF, ""]
            flat[-1] = str(flat[-1]) + text
    length = len(token.encode())
    deflated = tuple(
        gzsplice.deflate(str(part).encode(), zdict=_layout(flat, items, length, index))
        for index, part in enumerate(flat)
        if not index % 2
    )
    return _Shape(held, tuple(flat), items, owners, deflated, length)


def _layout(parts: Sequence[str | int], items: tuple[tuple[str, ...], ...], token_length: int, upto: int) -> bytes:
    """The preset dictionary of part `upto`: the last 32 KB of the shape before it, a NUL for each learner's byte.

    Computed when a piece is deflated (a text once, a choices slot once per order), not kept.
    """
    layout: list[bytes] = []
    for index, part in enumerate(parts[:upto]):
        if not index % 2:
            layout.append(str(part).encode())
        elif part == _CSRF:
            layout.append(bytes(token_length))
        else:
            layout.append(bytes(sum(len(item.encode()) for item in items[int(part)])))
    return b"".join(layout)[-_WINDOW:]


def _question_shape(view: Any, token: str, caller: Callable[[], str]) -> _Shape | None:
    """A question rendered once, cut where its choices go; None when it cannot be cut (then rendered every time).

    The choices are found in a render in original order, each as the template's `choice_input`
    renders it; the cut is checked against two other renders (the learner's order, the template
    render itself, and the reverse order) before it is kept.
    """
    count = len(view.question.choices)
    if count == 0:
        return None
    block = get_template_attribute("_quiz.html", "question_block")
    choice = get_template_attribute("_quiz.html", "choice_input")
    identity = list(range(count))
    backwards = identity[::-1]
    full = str(block(replace(view, order=identity)))
    reverse = str(block(replace(view, order=backwards)))
    if full == reverse:  # the choices are not shown (a locked prediction), or there is one: no order to put in
        if full != str(caller()):
            return None
        return _shape((view.question,), token, [full.replace(token, CSRF_SLOT)], (), ())
    lis = [str(choice(view, i, view.question.multiple)) for i in identity]
    starts, at = [], 0
    for li in lis:
        found = full.find(li, at)
        if found < 0:
            return None
        starts.append(found)
        at = found + len(li)
    sep = full[starts[0] + len(lis[0]) : starts[1]] if count > 1 else ""
    for number in range(count - 1):
        if full[starts[number] + len(lis[number]) : starts[number + 1]] != sep:
            return None
    if not full.startswith(sep, at):
        return None
    head, tail = full[: starts[0]], full[at + len(sep) :]
    items = tuple(li + sep for li in lis)
    if any(token in item or _MARK in item for item in items):
        return None

    def assembled(order: list[int]) -> str:
        return head + "".join(items[i] for i in order) + tail

    if assembled(list(view.order)) != str(caller()) or assembled(backwards) != reverse:
        return None
    return _shape(
        (view.question,), token, [head.replace(token, CSRF_SLOT), 0, tail.replace(token, CSRF_SLOT)], (items,), (0,)
    )


def _known(key: Hashable, held: tuple[Any, ...]) -> _Shape | None:
    known: _Shape | None = _QUESTIONS.get(key)
    if known is None or len(known.held) != len(held) or any(a is not b for a, b in zip(known.held, held, strict=True)):
        return None
    return known


def _question_kept(view: Any, token: str, caller: Callable[[], str]) -> _Shape | None:
    key = ("question", request.script_root, _question_key(view))
    known = _known(key, (view.question,))
    if known is None:
        known = _question_shape(view, token, caller)
        if known is not None:
            _QUESTIONS.put(key, known)
    return known


def spliced(text: str) -> list[gzsplice.Piece] | None:
    """`text` (a render that used kept sections) as pieces: the kept ones deflated already, the rest now.

    Each section this request was served since `start_splice` is looked up in the text in order; the
    bytes around them (a few newlines) go as stored blocks. None when nothing was noted or a section
    is not found as served: the caller then deflates the whole text.
    """
    served: list[list[gzsplice.Piece]] = g.pop("kept_sections", [])
    if not served:
        return None
    encoded = text.encode()
    pieces: list[gzsplice.Piece] = []
    at = 0
    for parts in served:
        whole = b"".join(part.raw for part in parts)
        found = encoded.find(whole, at)
        if found < 0:
            return None
        pieces.append(gzsplice.deflate(encoded[at:found], gzsplice.OWN_LEVEL))
        pieces.extend(parts)
        at = found + len(whole)
    pieces.append(gzsplice.deflate(encoded[at:], gzsplice.OWN_LEVEL))
    return pieces


def start_splice() -> None:
    """Forget the sections noted so far in this request: `spliced` looks for the ones rendered from now on."""
    g.pop("kept_sections", None)


def kept_question(view: Any, caller: Callable[[], str]) -> Markup:
    """A quiz question as rendered once for everyone who sees the same thing, with the token and order put back.

    A question shows nothing of the learner's but the order of its choices (a shuffle seeded by
    their id), their standing on it (last answer, attempts, points, hint used), a notice or focus
    after a form, and their CSRF token. It is kept per everything it shows but the token and the
    order, which are put in per request: two learners get the same bytes only where the render is
    the same by construction (same question, standing, order), and never each other's token.
    Inside a section being kept (`kept_section`), it stands for a slot of that section.
    """
    token = learner.csrf_token()
    known = _question_kept(view, token, caller)
    if _keeping(known):
        return Markup(f"{_MARK}{len(g.keeping) - 1}{_MARK}")
    if known is None:
        return Markup(caller())
    return Markup("".join(known.fill(token, [view], None)[0]))


def _section_key(section: Any) -> tuple[Hashable, ...]:
    """Everything a quiz section shows but the learner's token and choice orders (the template adds place and oob)."""
    return (
        section.name,
        section.title,
        section.dom_id,
        section.score,
        tuple(_question_key(view) for view in section.questions),
    )


def kept_section(section: Any, place: str, oob: bool, caller: Callable[[], str]) -> Markup:
    """A whole quiz section (its score line and every question), kept as kept_question keeps one question.

    Its questions are slots, filled per request from their own kept questions (token and order);
    the request notes the section's pieces, deflated already, for `spliced`. Inside a quiz slot
    being kept (`kept_quiz`), it stands for a slot of that.
    """
    key = ("section", request.script_root, place, oob, _section_key(section))
    held = tuple(view.question for view in section.questions)
    token = learner.csrf_token()
    known = _known(key, held)
    if known is None:
        text, shapes = _render_keeping(caller)
        known = _nested(held, token, text, shapes, [1] * len(section.questions))
        if known is not None:
            _QUESTIONS.put(key, known)
    if _keeping(known):
        return Markup(f"{_MARK}{len(g.keeping) - 1}{_MARK}")
    if known is None:
        return Markup(caller())
    spliceable = len(token.encode()) == known.token_length
    texts, pieces = known.fill(token, section.questions, gzsplice.deflate(token.encode()) if spliceable else None)
    if spliceable:
        g.setdefault("kept_sections", []).append(pieces)
    return Markup("".join(texts))


def kept_quiz(
    template: str, quizview: Mapping[str, Any], render: Callable[[], str], gzipped: bool
) -> tuple[str, list[gzsplice.Piece] | None]:
    """The quiz slot of a kept page or click: `render()` (the template with `quizview`) kept as its sections are.

    Kept per template, place and its sections' keys, so a request fills the learner's token and
    choice orders into kept text without rendering the template.
    """
    sections = quizview["sections"]
    key: tuple[Hashable, ...] = ("quiz", request.script_root, template, quizview["place"], quizview.get("topic_score"))
    key += tuple(_section_key(section) for section in sections)
    views = [view for section in sections for view in section.questions]
    counts = [len(section.questions) for section in sections]
    return _kept_render(key, views, counts, render, gzipped)


def kept_answer(
    view: Any, score: Any, topic: Any, render: Callable[[], str], gzipped: bool
) -> tuple[str, list[gzsplice.Piece] | None]:
    """The htmx answer to a quiz form (`render()`: the question and its scores out of band), kept the same way.

    Kept per the question's key, its section's id and the two scores.
    """
    key = ("answer", request.script_root, _question_key(view), view.section_id, score, topic)
    return _kept_render(key, [view], [1], render, gzipped)


def _kept_render(
    key: Hashable, views: list[Any], counts: list[int], render: Callable[[], str], gzipped: bool
) -> tuple[str, list[gzsplice.Piece] | None]:
    """`render()`, made of kept questions or sections (`counts`: the views each fills its choices from), kept whole.

    The text with this learner's token and choice orders, and with `gzipped` also as pieces (None:
    deflate the text). A render that cannot be kept is rendered every time, as before.
    """
    held = tuple(view.question for view in views)
    token = learner.csrf_token()
    known = _known(key, held)
    if known is None:
        text, shapes = _render_keeping(render)
        known = _nested(held, token, text, shapes, counts)
        if known is None:
            start_splice()
            text = render()
            return text, spliced(text) if gzipped else None
        _QUESTIONS.put(key, known)
    own = gzsplice.deflate(token.encode()) if gzipped and len(token.encode()) == known.token_length else None
    texts, pieces = known.fill(token, views, own)
    return "".join(texts), pieces if own is not None else None


def _keeping(shape: _Shape | None) -> bool:
    """Inside a render being kept (`_render_keeping`): note this part's shape; True if it is to stand as a slot."""
    keeping: list[_Shape | None] | None = g.get("keeping")
    if keeping is None:
        return False
    keeping.append(shape)
    return shape is not None


def _render_keeping(caller: Callable[[], str]) -> tuple[str, list[_Shape | None]]:
    """`caller()` with each kept question or section in it as a numbered mark, and their shapes in order."""
    outer = g.get("keeping")
    shapes: list[_Shape | None] = []
    g.keeping = shapes
    try:
        text = str(caller())
    finally:
        g.keeping = outer
    return text, shapes


def _nested(
    held: tuple[Any, ...], token: str, text: str, shapes: list[_Shape | None], counts: list[int]
) -> _Shape | None:
    """A shape with the marked shapes' texts and slots in its own; None when one of them cannot be kept.

    `counts`: how many question views each marked shape fills its choices from, in order.
    """
    kept = [shape for shape in shapes if shape is not None]
    if len(kept) != len(shapes) or len(kept) != len(counts):
        return None
    parts: list[str | int] = [""]
    items: list[tuple[str, ...]] = []
    owners: list[int] = []
    rest = text.replace(token, CSRF_SLOT)
    offset = 0
    for number, (shape, count) in enumerate(zip(kept, counts, strict=True)):
        before, mark, rest = rest.partition(f"{_MARK}{number}{_MARK}")
        if not mark:
            return None
        parts[-1] = str(parts[-1]) + before
        for index, part in enumerate(shape.parts):
            if not index % 2 or part == _CSRF:
                parts[-1] = str(parts[-1]) + (CSRF_SLOT if index % 2 else str(part))
            else:
                parts += [len(items), ""]
                items.append(shape.items[int(part)])
                owners.append(offset + shape.owners[int(part)])
        offset += count
    parts[-1] = str(parts[-1]) + rest
    return _shape(held, token, parts, tuple(items), tuple(owners))


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
    _ORDERS.clear()
