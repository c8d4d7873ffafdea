"""Hostile lesson files harm nothing but themselves: each is one clear problem, and the rest works."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor import create_app
from tutor.backend import Backend
from tutor.catalog import Catalog
from tutor.checker import check_paths
from tutor.loader import load_file

GOOD = """\
title: A good lesson
step_through:
  actors: [app]
  watch: [q]
  steps:
    - {actor: app, action: Push, redis: LPUSH q a, expect: 1}
"""


def billion_laughs() -> str:
    lines = ["title: Laughs", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def deep(levels: int) -> str:
    return "title: Deep\nstep_through: " + "[" * levels + "]" * levels + "\n"


HOSTILE = {
    "laughs.yaml": billion_laughs(),
    "bigint.yaml": GOOD + "order: " + "7" * 4301 + "\n",
    "deep.yaml": deep(500),
    "recursive.yaml": "title: Loop\nstep_through: &loop {steps: [*loop]}\n",
}


def problems_of(path: Path) -> list[str]:
    loaded = load_file(path)
    assert loaded.lesson is None
    return [str(problem) for problem in loaded.problems]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "lessons"
    path.mkdir()
    return path


def test_a_billion_laughs_stops_at_the_alias_that_passes_the_limit(folder: Path) -> None:
    file = folder / "laughs.yaml"
    file.write_text(HOSTILE["laughs.yaml"])
    [problem] = problems_of(file)
    # Each *a3 expands to 11,111 values: the fourth on line 6 (a4's list) takes the total past 50,000.
    assert problem == (
        f"{file}:6:25: the file expands to more than 50000 values (counting every use of an alias in full); "
        "a lesson never needs that many, so this file is not loaded"
    )


def test_a_4301_digit_integer_is_a_problem_not_a_crash(folder: Path) -> None:
    file = folder / "bigint.yaml"
    file.write_text(HOSTILE["bigint.yaml"])
    assert problems_of(file) == [
        f"{file}:7:8: order: a number written with 4301 characters; lesson numbers have at most 40 "
        "(quote it if it is text)"
    ]


def test_500_levels_of_nesting_stop_at_level_51(folder: Path) -> None:
    file = folder / "deep.yaml"
    file.write_text(HOSTILE["deep.yaml"])
    assert problems_of(file) == [
        f"{file}:2:64: nested more than 50 levels deep; a lesson never needs that, so this file is not loaded"
    ]


def test_an_alias_inside_its_own_anchor_is_a_problem(folder: Path) -> None:
    file = folder / "recursive.yaml"
    file.write_text(HOSTILE["recursive.yaml"])
    assert problems_of(file) == [f"{file}:2:30: *loop is inside the value it refers to (&loop), which would never end"]


def test_a_50_mb_file_is_refused_without_being_read(folder: Path) -> None:
    file = folder / "huge.yaml"
    with file.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB by size, nothing written
    assert problems_of(file) == [f"{file}:1:1: the file has 52,428,800 bytes; a lesson file may have at most 1,048,576"]


def test_too_many_steps_questions_and_step_throughs_are_schema_problems(folder: Path) -> None:
    steps = "".join(f"    - {{actor: a, action: s{i}, note: n}}\n" for i in range(201))
    questions = "".join(f"    - {{prompt: q{i}, choices: [{{text: x, correct: true}}, y]}}\n" for i in range(51))
    file = folder / "many.yaml"
    file.write_text(f"title: Many\nstep_through:\n  actors: [a]\n  steps:\n{steps}  quiz:\n{questions}")
    assert problems_of(file) == [
        f"{file}:4:3: step_through.steps: steps: at most 200 allowed, got 201",
        f"{file}:206:3: step_through.quiz: quiz: at most 50 allowed, got 51",
    ]
    walks = "".join(f"  - {{slug: w{i}, actors: [a], steps: [{{actor: a, action: x, note: n}}]}}\n" for i in range(51))
    many_walks = folder / "walks.yaml"
    many_walks.write_text(f"title: Walks\nstep_through:\n{walks}")
    assert problems_of(many_walks) == [f"{many_walks}:2:1: step_through: step_through: at most 50 allowed, got 51"]


def test_thousands_of_problems_are_cut_to_the_first_hundred(folder: Path) -> None:
    file = folder / "noisy.yaml"
    fields = "".join(f"  bad{i}: 1\n" for i in range(1000))
    file.write_text(
        f"title: Noisy\nstep_through:\n  actors: [a]\n  steps: [{{actor: a, action: x, note: n}}]\n{fields}"
    )
    found = problems_of(file)
    assert len(found) == 101
    assert found[-1] == f"{file}:104:3: and 900 more problem(s) in this file; fix the ones above first"


def test_hostile_files_leave_the_other_lessons_served_and_checked(folder: Path, tmp_path: Path) -> None:
    (folder / "good.yaml").write_text(GOOD)
    for name, text in HOSTILE.items():
        (folder / name).write_text(text)
    with (folder / "huge.yaml").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    catalog = Catalog(folder, rescan_seconds=0)
    assert [lesson.id for lesson in catalog.lessons()] == ["good"]
    broken = {Path(status.source).name for status in catalog.status() if status.problems}
    assert broken == {*HOSTILE, "huge.yaml"}
    found = check_paths([folder], Backend())
    assert sorted({Path(p.file).name for p in found}) == sorted({*HOSTILE, "huge.yaml"})
    client = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(folder),
            "TUTOR_DATABASE": str(tmp_path / "db.sqlite3"),
            "SECRET_KEY": "test",
            "REDIS_URL": None,
        }
    ).test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert "A good lesson" in page.get_data(as_text=True)
    assert client.get("/lessons/good/step-through?step=1").status_code == 200
    assert client.get("/lessons/laughs/").status_code == 404
