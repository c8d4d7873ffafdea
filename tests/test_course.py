"""The catalog reads as a course: lessons in learning order, each saying what it builds on and teaches."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient

from tutor.backend import Backend
from tutor.checker import check_paths

PING = "step_through:\n  actors: [a]\n  steps: [{actor: a, action: Ping, redis: PING}]\n"


def test_builds_on_must_name_a_lesson_that_exists(tmp_path: Path) -> None:
    (tmp_path / "first.yaml").write_text("title: First\n" + PING, encoding="utf-8")
    (tmp_path / "second.yaml").write_text("title: Second\nbuilds_on: [first, nope]\n" + PING, encoding="utf-8")
    problems = [str(p) for p in check_paths([tmp_path], Backend())]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{tmp_path / 'second.yaml'}:2:20: builds_on[1]: ")
    assert "'nope', which does not exist (lesson ids: first, second)" in problems[0]


def test_a_file_checked_alone_finds_the_lessons_it_builds_on_in_its_folder(tmp_path: Path) -> None:
    (tmp_path / "first.yaml").write_text("title: First\n" + PING, encoding="utf-8")
    (tmp_path / "second.yaml").write_text("title: Second\nbuilds_on: [first]\n" + PING, encoding="utf-8")
    assert check_paths([tmp_path / "second.yaml"], Backend()) == []
    (tmp_path / "first.yaml").unlink()
    assert len(check_paths([tmp_path / "second.yaml"], Backend())) == 1


def test_teaches_must_be_text(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("title: One\nteaches: [a, b]\n" + PING, encoding="utf-8")
    problems = [str(p) for p in check_paths([tmp_path], Backend())]
    assert problems and "teaches" in problems[0]


def test_the_catalog_lists_the_topics_in_learning_order(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    links = re.findall(r'<h2><a href="/lessons/([\w-]+)/"', page)
    order = ["redis-broker", "reliable-queues", "celery", "celery-delivery", "delayed-jobs", "rq", "async-flask"]
    assert [lesson for lesson in links if lesson in order] == order


def test_each_card_says_what_it_teaches_and_builds_on(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    rq_card = page[page.index('href="/lessons/rq/"') :]
    rq_card = rq_card[: rq_card.index("</li>")]
    assert 'class="teaches"' in rq_card and "BLMOVE" in rq_card
    assert re.search(r'Builds on: <a href="/lessons/redis-broker/">[^<]+</a>, <a href="/lessons/celery/">', rq_card)
