"""Lesson prose as HTML: `backticks` become <code>, web addresses become links, everything else is escaped.

Lesson authors write plain text with Markdown's inline code spans, and name their sources by address;
this is all the markup lesson text gets, so a page never shows raw backticks or a dead address, and
no author text can inject HTML (each piece is escaped before it is wrapped). No Flask here: web.py
registers `inline` as a Jinja filter.
"""

from __future__ import annotations

import functools
import re

from markupsafe import Markup, escape

_CODE = re.compile(r"`([^`\n]+)`")
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_TRAILING = ".,;:!?"  # punctuation after an address ends the sentence, not the address


def inline(text: object) -> Markup:
    """Escape `text`, then mark up its `code spans` and its http(s) addresses."""
    if text is None:
        return Markup("")
    if isinstance(text, Markup):
        return text
    return _inline(str(text))


@functools.lru_cache(maxsize=4096)
def _inline(value: str) -> Markup:
    """The markup of one text, kept: the same prompts and choices are shown on every page view."""
    parts: list[Markup] = []
    at = 0
    for match in _CODE.finditer(value):
        parts.append(_linked(value[at : match.start()]))
        parts.append(Markup("<code>{}</code>").format(match.group(1)))
        at = match.end()
    parts.append(_linked(value[at:]))
    return Markup("").join(parts)


def _linked(text: str) -> Markup:
    """Escaped text whose addresses are links (a code span's text never gets here)."""
    parts: list[Markup] = []
    at = 0
    for match in _URL.finditer(text):
        url = _trimmed(match.group(0))
        parts.append(escape(text[at : match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        at = match.start() + len(url)
    parts.append(escape(text[at:]))
    return Markup("").join(parts)


def _trimmed(url: str) -> str:
    """The address without the sentence's closing punctuation or an unmatched closing parenthesis."""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))):
        url = url[:-1]
    return url
