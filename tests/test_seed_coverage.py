"""Every section of every seed page has its place on a rendered page of the site.

Each entry pairs a heading as the seed page writes it (checked to really be in the seed file, so
this list cannot drift from the source) with what our page renders for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

# A copy of the four seed pages (../shared/seeds), so a clean checkout can run this test.
SEEDS = Path(__file__).resolve().parent / "seeds"

PERFORMANCE_SECTIONS = [
    ("IMPACT", "IMPACT"),
    ("Performance Cost", "Cost:"),
    ("Performance Gain", "Gain:"),
    ("Performance Comparison", "Performance comparison"),
    ("Rendering Pipeline", "Request pipeline"),
    ("Bottleneck", "Bottleneck:"),
    ("Core Web Vital Affected", "What a user feels:"),
    ("Optimization Tips", "Optimization tips"),
    ("How to check:", "How to check:"),
    ("What to look for:", "What to look for:"),
    ("Performance Quiz", "Quiz"),
]

STEP_THROUGH_SECTIONS = [
    ("Concept Flow", "Concept flow"),
    ("Execution Sample", "Execution sample"),
    ("Execution Table", "Execution table"),
    ("Variable Tracker", "Variable tracker"),
    ("Key Moments", "Key moments"),
    ("Visual Quiz", "Quiz"),
    ("Concept Snapshot", "Concept snapshot"),
    ("Full Transcript", "Full transcript"),
    ("Why does the consumer block at step 4?", "Why does the consumer block at step 4?"),
    (
        "What happens to the message after the consumer pops it?",
        "What happens to the message after the consumer pops it?",
    ),
    ("Consumer blocks waiting because queue is empty", "the consumer blocks because the queue is empty"),
]

PAGES = {
    "000_84cb9cac7429de56.txt": ("/lessons/redis-broker/performance", PERFORMANCE_SECTIONS),
    "001_9e9e05acb326f9d9.txt": ("/lessons/redis-broker/step-through?step=5", STEP_THROUGH_SECTIONS),
    "002_0f5f2aafcc5fa7e8.txt": ("/lessons/celery/performance", PERFORMANCE_SECTIONS),
    "003_f854eb9f32b7f752.txt": ("/lessons/async-flask/performance", PERFORMANCE_SECTIONS),
}

QUIZ_PROMPTS = {
    "000_84cb9cac7429de56.txt": [
        "What is a key performance benefit of using Redis as a message broker in a Flask app?"
    ],
    "001_9e9e05acb326f9d9.txt": [
        "what is the state of 'queue' after step 1?",
        "At which step does the consumer receive the message 'hello'?",
        "If the producer pushes another message after step 4, what happens to the consumer?",
    ],
    "002_0f5f2aafcc5fa7e8.txt": ["What is the main performance benefit of integrating Celery with Flask?"],
    "003_f854eb9f32b7f752.txt": ["What is the main performance benefit of migrating Flask routes to async functions?"],
}


def _seed(name: str) -> str:
    path = SEEDS / name
    if not path.exists():
        pytest.fail(f"seed page {path} is missing")
    return path.read_text(encoding="utf-8")


def _text(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")


@pytest.mark.parametrize("seed", sorted(PAGES))
def test_every_seed_section_is_rendered(client: FlaskClient, seed: str) -> None:
    source = _seed(seed)
    url, sections = PAGES[seed]
    page = _text(client, url)
    for in_seed, rendered in sections:
        assert in_seed in source, f"{seed} has no section {in_seed!r}: the coverage list is out of date"
        assert rendered in page, f"{seed}'s section {in_seed!r} is not on {url} (looked for {rendered!r})"


@pytest.mark.parametrize("seed", sorted(QUIZ_PROMPTS))
def test_every_seed_quiz_question_is_asked(client: FlaskClient, seed: str) -> None:
    source = _seed(seed)
    url, _ = PAGES[seed]
    page = _text(client, url)
    for prompt in QUIZ_PROMPTS[seed]:
        assert prompt in source, f"{seed} does not ask {prompt!r}"
        assert prompt in page, f"{seed}'s question {prompt!r} is not asked on {url}"


def test_every_topic_offers_each_of_its_modes(client: FlaskClient) -> None:
    for lesson_id in ("redis-broker", "celery", "async-flask"):
        page = _text(client, f"/lessons/{lesson_id}/")
        assert "Choose your learning style" in page
        assert "Step-by-Step Execution" in page and "Performance &amp; Optimization" not in page
        assert "Performance & Optimization" in page
