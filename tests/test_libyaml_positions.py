"""libyaml's parser (used when PyYAML has it) reports every position exactly as the Python parser does,
so file:line:col in `tutor check` and on the site stays the same whichever parser ran."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tutor import yamlpos

ROOT = Path(__file__).resolve().parent.parent

TRICKY = [
    "title: café ☕ 😀 naïve\nsteps:\n  - {a: 'é😀', b: \"x\\u00e9\"}\n  - ｆｕｌｌ: 全角\n",
    "- |\n  blöck 😀\n  two\n- key: >-\n    folded 😀\n    more\n",
    "\ufeffa: 1\r\nb: [1, 2]\r\nc: &x {d: 1}\r\ne: *x\r\n",
    "a:\n\t- tab\n",  # not YAML: both parsers stop, at the same place
    "k: 'unterminated\n",
]


def _events(text: str, loader: type) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    try:
        for event in yaml.parse(text, Loader=loader):
            start, end = event.start_mark, event.end_mark
            found.append(
                (type(event).__name__, start.line, start.column, end.line, end.column, getattr(event, "value", None))
            )
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        found.append(("error", mark.line if mark else None))
    return found


@pytest.mark.parametrize(
    "text",
    [path.read_text(encoding="utf-8") for path in sorted((ROOT / "lessons").glob("*.yaml"))] + TRICKY,
    ids=[path.name for path in sorted((ROOT / "lessons").glob("*.yaml"))] + [f"tricky-{i}" for i in range(len(TRICKY))],
)
def test_libyaml_events_have_the_python_parsers_positions(text: str) -> None:
    assert yaml.__with_libyaml__, "PyYAML without libyaml: the site parses lessons about 30 times slower"
    assert _events(text, yaml.CSafeLoader) == _events(text, yaml.SafeLoader)


def test_lessons_are_parsed_with_libyaml_when_pyyaml_has_it() -> None:
    assert yamlpos._FAST_LOADER is yaml.CSafeLoader
