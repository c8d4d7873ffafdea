"""What learners read: no word about our own files or drafts, sources they can open, code shown as code.

Every string of every lesson file is learner-visible (titles, steps, notes, quizzes, corrections),
and so is every template. None may speak of "the seed" (our name for the source pages), cite a
file of ours (FACTS.md, bench/, tests/) or tell the history of our drafts. Every correction names
a source by an address the page renders as a link; lesson prose shows `backticks` as <code>, with
everything else still escaped; key names with control bytes show them as redis-cli does.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from markupsafe import Markup

from tutor.inline import inline
from tutor.loader import load_file, load_text
from tutor.render import visible

ROOT = Path(__file__).resolve().parent.parent
LESSON_FILES = sorted((ROOT / "lessons").glob("*.yaml"))
TEMPLATES = sorted((ROOT / "templates").glob("*.html"))

# Words that belong to our workshop, not to the learner's page.
FORBIDDEN = [
    (re.compile(r"\bseeds?\b", re.IGNORECASE), "'seed' (say 'a common claim', or name the claim)"),
    (re.compile(r"FACTS(\.md)?\b"), "a file of ours (FACTS.md)"),
    (re.compile(r"\b(bench|tests|lessons|tutor)/[\w./-]*"), "a path in our repository"),
    (re.compile(r"\b[\w-]+\.(yaml|yml)\b"), "a lesson file name"),
    (re.compile(r"\bdrafts?\b|\bnow with feedback\b|\bare now about\b", re.IGNORECASE), "the history of our drafts"),
]


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed YAML value, with where it sits."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def _offences(text: str, rules: list[tuple[re.Pattern[str], str]] = FORBIDDEN) -> list[str]:
    return [f"{why}: {m.group(0)!r}" for pattern, why in rules for m in pattern.finditer(text)]


def test_the_checks_catch_what_they_are_for() -> None:
    assert _offences("The seed's answer is wrong (FACTS.md)") and _offences("see bench/celery_monitor.py")
    assert _offences("Quiz distractors, now with feedback that says why, replace the first draft")
    assert not _offences("Seeding a queue: a common claim says BRPOP spins; Redis docs: https://redis.io/")


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.name)
def test_no_lesson_string_names_our_workshop(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = [f"{where}: {o}" for where, text in _strings(data, path.stem) for o in _offences(text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_template_names_our_workshop(path: Path) -> None:
    """Paths may appear here: the index tells instructors to run `tutor check lessons/` on broken files."""
    text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)  # comments never render
    assert not _offences(text, [rule for rule in FORBIDDEN if "path" not in rule[1] and "file name" not in rule[1]])


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.name)
def test_every_correction_links_to_a_source(path: Path, client: FlaskClient) -> None:
    lesson = load_file(path).lesson
    assert lesson is not None
    if lesson.performance is None or not lesson.performance.corrections:
        pytest.skip(f"{path.name} has no corrections")
    page = client.get(f"/lessons/{lesson.id}/performance").get_data(as_text=True)
    for correction in lesson.performance.corrections:
        assert correction.source, correction.claim
        urls = re.findall(r"https?://[^\s\"'<>]+[^\s\"'<>.,;:)]", correction.source)
        assert urls, f"no address in the source of {correction.claim!r}"
        for url in urls:
            assert f'<a href="{Markup.escape(url)}">' in page, f"{url} is not a link on the page"


def _performance_lesson(corrections: str) -> str:
    return textwrap.dedent(
        """\
        title: T
        performance:
          impact: low
          scenario: S
          bad: {title: B, language: python, code: "x = 1", why: W}
          good: {title: G, language: python, code: "x = 2", why: W}
          corrections:
        """
    ) + textwrap.indent(textwrap.dedent(corrections), "    ")


def test_a_correction_without_an_address_is_a_lesson_problem() -> None:
    loaded = load_text(_performance_lesson("- {claim: C, truth: T, source: a common belief}\n"), "x.yaml", "x")
    assert [p.message for p in loaded.problems] == [
        "a correction's source must be a page the learner can open: give its address (https://...), such as "
        "the official documentation page, and the experiment with its figures if you measured it"
    ]
    assert loaded.problems[0].path == "performance.corrections[0].source"
    missing = load_text(_performance_lesson("- {claim: C, truth: T}\n"), "x.yaml", "x")
    assert any("source" in str(p) for p in missing.problems)
    good = load_text(_performance_lesson("- {claim: C, truth: T, source: 'Docs: https://redis.io/'}\n"), "x.yaml", "x")
    assert good.problems == []


def test_a_prediction_hint_may_not_open_the_step_that_answers_it() -> None:
    text = textwrap.dedent(
        """\
        title: T
        step_through:
          actors: [a]
          watch: [q]
          steps:
            - {actor: a, action: push, redis: LPUSH q x}
            - {actor: a, action: pop, redis: RPOP q}
          quiz:
            - prompt: What does RPOP give?
              ask_before_step: 2
              choices: [{text: "'x'", correct: true}, {text: "None"}]
              hint_step: {hint}
        """
    )
    shows = load_text(text.replace("{hint}", "2"), "x.yaml", "x")
    assert [p.path for p in shows.problems] == ["step_through.quiz[0].hint_step"]
    assert "shows the answer" in shows.problems[0].message
    assert load_text(text.replace("{hint}", "1"), "x.yaml", "x").problems == []


# --- inline code and links -----------------------------------------------------------------------------


def test_backticks_become_code_and_everything_stays_escaped() -> None:
    html = inline("Run `LPUSH q <b>` then <script>alert(1)</script> & `x`")
    assert html == Markup(
        "Run <code>LPUSH q &lt;b&gt;</code> then &lt;script&gt;alert(1)&lt;/script&gt; &amp; <code>x</code>"
    )


def test_addresses_become_links_without_the_sentences_punctuation() -> None:
    html = inline("Flask docs (https://flask.palletsprojects.com/en/stable/async-await/). See `https://x.invalid/`")
    assert '<a href="https://flask.palletsprojects.com/en/stable/async-await/">' in html
    assert "async-await/</a>)." in html
    assert "<code>https://x.invalid/</code>" in html  # an address in a code span stays code
    assert str(inline('https://a.invalid/?q="><script>')).count("<script>") == 0


def test_lesson_prose_renders_backticks_as_code(client: FlaskClient) -> None:
    page = client.get("/lessons/async-flask/performance").get_data(as_text=True)
    assert "<code>time (seq 5 | xargs -P5 -I{} curl -s -o /dev/null http://127.0.0.1:8000/)</code>" in page
    quiz = client.get("/lessons/async-flask/quiz").get_data(as_text=True)
    assert "<code>a, b = await asyncio.gather(f(), g())</code>" in quiz
    for url in ("/lessons/async-flask/", "/", "/lessons/redis-broker/performance", "/lessons/celery/quiz"):
        text = re.sub(r"<pre.*?</pre>", "", client.get(url).get_data(as_text=True), flags=re.DOTALL)
        assert "`" not in text, f"a raw backtick on {url}"


# --- control bytes in key names ------------------------------------------------------------------------


def test_control_bytes_show_as_redis_cli_shows_them() -> None:
    assert visible("celery\x06\x163") == "celery\\x06\\x163"
    assert visible("a\nb\t\x7f") == "a\\nb\\t\\x7f"
    assert visible("price:reply") == "price:reply"


def test_the_celery_diagram_shows_priority_list_names_readably(client: FlaskClient) -> None:
    page = client.get("/lessons/celery/step-through?step=2").get_data(as_text=True)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page), "a raw control byte reached the page"
    assert "waiting on celery, celery\\x06\\x163, celery\\x06\\x166, celery\\x06\\x169" in page
