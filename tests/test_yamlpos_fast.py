"""The shortcuts that keep parsing cheap change no value and no problem, and parsing keeps nothing:
a plain value that starts with a letter is text unless it is one of the words YAML 1.1 or 1.2 types,
and reading a value the YAML 1.1 way leaves nothing behind in PyYAML's constructor."""

from __future__ import annotations

import re

import yaml

from tutor import yamlpos


def words_typed_by_yaml_11() -> tuple[set[str], set[str]]:
    """The first letters PyYAML's resolver looks at, and every word its regexes for them accept."""
    starts: set[str] = set()
    words: set[str] = set()
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        if not (first and first.isalpha()):
            continue
        starts.add(first)
        for _, regexp in resolvers:
            body = re.fullmatch(r"\^\(\?:(.*)\)\$", regexp.pattern, re.S)
            assert body is not None, regexp.pattern
            words.update(word.strip() for word in body.group(1).split("|") if word.strip() not in ("", "~"))
    return starts, words


def test_the_letter_shortcut_knows_every_word_yaml_11_types() -> None:
    starts, words = words_typed_by_yaml_11()
    assert starts == set(yamlpos._WORD_STARTS)
    assert words == set(yamlpos._TYPED_WORDS)
    assert {"no", "on", "null", "True"} <= words


def test_words_are_read_as_before_the_shortcut() -> None:
    text = "a: no\nb: nothing\nc: Null\nd: offset\ne: ON\nf: true\ng: yesterday\n"
    located = yamlpos.load(text)
    assert located.value == {
        "a": "no",
        "b": "nothing",
        "c": None,
        "d": "offset",
        "e": "ON",
        "f": True,
        "g": "yesterday",
    }
    assert [path for path, _, _ in located.problems] == [("a",), ("e",)]


def test_reading_values_the_yaml_11_way_keeps_nothing() -> None:
    yamlpos.load("a: no\nb: 1:30\nc: 010\nd: 2024-01-01\ne: ~\n")
    assert yamlpos._CONSTRUCTOR.constructed_objects == {}
