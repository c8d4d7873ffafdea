"""Rendering helpers: the served code stylesheet, table cells, changed lines."""

from __future__ import annotations

from pathlib import Path

from tutor.render import _luminance, cell, changed_lines, pygments_css
from tutor.stateview import actor_views, key_views

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


# --- the step view's drawing of one trace point (tutor/stateview.py) ----------------------------------


def _state(kind: str, value: object, py: str = "") -> dict[str, object]:
    return {"type": kind, "value": value, "py": py or repr(value)}


def test_a_push_at_the_head_marks_the_new_cell_and_names_the_end() -> None:
    (view,) = key_views(["q"], {"q": _state("list", ["b", "a"])}, {"q": _state("list", ["a"])})
    assert [(c.text, c.mark) for c in view.cells] == [("'b'", "new"), ("'a'", "")]
    assert view.changed and view.change == "pushed at the head"


def test_a_pop_from_the_tail_lists_what_left_and_an_emptied_list_is_deleted() -> None:
    (view,) = key_views(["q"], {"q": _state("list", ["b"])}, {"q": _state("list", ["b", "a"])})
    assert view.removed == ["'a'"] and view.change == "popped from the tail"
    (gone,) = key_views(["q"], {"q": _state("none", None, "(none)")}, {"q": _state("list", ["b"])})
    assert gone.type == "none" and gone.changed and "deleted" in gone.change


def test_hash_set_and_sorted_set_mark_only_what_the_step_changed() -> None:
    before = {
        "h": _state("hash", {"a": "1", "b": "2"}),
        "s": _state("set", ["x"]),
        "z": _state("zset", [["m", 1.0], ["n", 2.0]]),
    }
    now = {
        "h": _state("hash", {"a": "1", "b": "3", "c": "4"}),
        "s": _state("set", ["x", "y"]),
        "z": _state("zset", [["n", 2.0], ["m", 5.0]]),
    }
    h, s, z = key_views(["h", "s", "z"], now, before)
    assert [(c.label, c.text, c.mark) for c in h.cells] == [
        ("'a'", "'1'", ""),
        ("'b'", "'3'", "changed"),
        ("'c'", "'4'", "new"),
    ]
    assert [(c.text, c.mark) for c in s.cells] == [("'x'", ""), ("'y'", "new")]
    assert [(c.text, c.label, c.mark) for c in z.cells] == [("'n'", "2.0", ""), ("'m'", "5.0", "changed")]


def test_a_long_value_is_cut_in_its_cell_and_opens_whole_with_json_indented() -> None:
    body = '{"status": "SUCCESS", "result": "done", "traceback": null, "children": [], "task_id": "3f2b"}'
    (view,) = key_views(["k"], {"k": _state("string", body)}, None)
    assert view.cells[0].text.endswith("…") and len(view.cells[0].text) <= 72
    assert view.whole is not None and '"status": "SUCCESS",\n' in view.whole
    assert not view.changed  # step 0: nothing is marked


def test_actors_say_running_blocked_on_which_keys_since_when_or_woken_with_what() -> None:
    point = {
        "actor": "producer",
        "events": [
            {
                "kind": "unblocked",
                "actor": "consumer",
                "by": "producer",
                "since": 4,
                "reply": {"py": "('queue', 'world')"},
            }
        ],
        "blocked": {"late": {"since": 2, "command": "BRPOP jobs 5", "keys": ["jobs"], "deadline": 7.0}},
        "processes": {},
    }
    producer, consumer, late = actor_views(point, ["producer", "consumer", "late"], {}, None)
    assert (producer.status, producer.text, producer.ran) == ("running", "running", True)
    assert (consumer.status, consumer.text) == ("woken", "woken with ('queue', 'world')")
    assert (late.status, late.text) == ("blocked", "blocked on jobs since step 2")
    assert "times out at t = 7 s" in late.detail
