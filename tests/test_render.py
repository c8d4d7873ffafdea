"""Rendering helpers: the served code stylesheet, table cells, changed lines."""

from __future__ import annotations

from pathlib import Path

from tutor.render import _luminance, cell, changed_lines, pygments_css

ROOT = Path(__file__).resolve().parent.parent


def test_served_code_stylesheet_is_the_generated_one() -> None:
    served = (ROOT / "static" / "pygments.css").read_text()
    assert served == pygments_css() + "\n", "regenerate static/pygments.css from tutor.render.pygments_css()"


def test_every_code_colour_reaches_aa_contrast_on_the_highlighted_line() -> None:
    import re

    background = _luminance("fff4c2")
    for colour in re.findall(r"color: #([0-9a-f]{6})", pygments_css()):
        assert (background + 0.05) / (_luminance(colour) + 0.05) >= 4.5, colour


def test_long_cells_are_cut_at_80_characters_with_an_ellipsis() -> None:
    assert cell("x" * 80) == "x" * 80
    assert cell("x" * 81) == "x" * 79 + "…"


def test_changed_lines_marks_only_the_lines_that_differ() -> None:
    bad, good = changed_lines("a\nb\nc\n", "a\nB\nc\nd\n")
    assert bad == {2}
    assert good == {2, 4}
