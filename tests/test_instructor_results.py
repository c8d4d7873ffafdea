"""The results page and its CSV say what `tutor results` says, on the same data (SQLite and PostgreSQL).

The dataset and lesson are test_results.py's, whose numbers are checked by hand there; here every
number of the page (table, chart, scores) and every byte of the CSV is compared with the command's
output on the same database.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from test_instructor import PASSWORD, log_in
from test_results import DATASET, LESSON

from tutor import accounts, create_app, db
from tutor.cli import main
from tutor.progress import SqlStore


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASH_METHOD", "scrypt:1024:8:1")
    accounts._decoy.cache_clear()


@pytest.fixture
def lessons_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "res.yaml").write_text(LESSON, encoding="utf-8")
    # a second lesson with a quiz nobody answered: the page and the command both list its question
    other = LESSON.replace("title: Results fixture", "title: Other\nid: other").split("performance:")[0]
    (folder / "other.yaml").write_text(other, encoding="utf-8")
    return folder


@pytest.fixture
def filled(database_url: str) -> str:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    store = SqlStore(engine, keep=False)
    for answer in DATASET:
        store.record_answer(answer)
    engine.dispose()
    return database_url


@pytest.fixture
def client(lessons_dir: Path, filled: str) -> Iterator[FlaskClient]:
    app: Flask = create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(lessons_dir),
            "DATABASE_URL": filled,
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
        }
    )
    accounts.add(SqlStore(app.extensions["tutor.db"], keep=False), "ada", PASSWORD)
    client = app.test_client()
    assert log_in(client)[0] == 303
    yield client
    app.extensions["tutor.db"].dispose()


def _cli(lessons_dir: Path, url: str, csv: Path, capsys: pytest.CaptureFixture[str], *lesson: str) -> str:
    args = ["results", "--lessons", str(lessons_dir), "--database-url", url, "--csv", str(csv)]
    assert main([*args, *(["--lesson", *lesson] if lesson else [])]) == 0
    return capsys.readouterr().out


_LINE = re.compile(
    r"  (?P<lesson>\S+) (?P<quiz>\S+) Q(?P<n>\d+): (?P<prompt>.*)\n"
    r"    answered by (?P<learners>\d+) · right on first attempt (?P<share>\S+)"
    r" · most chosen wrong choice: (?:(?P<wrong>.+?) \((?P<count>\d+)x\)|-) · hint used by (?P<hinted>\d+)"
)


def _cli_questions(out: str) -> list[tuple[str, ...]]:
    return [
        (m["lesson"], m["quiz"].replace(":", " ", 1), m["n"], m["prompt"], m["learners"], m["share"])
        + (m["wrong"] or "-", m["count"] or "", m["hinted"])
        for m in _LINE.finditer(out)
    ]


def _cli_scores(out: str) -> dict[str, str]:
    learners = out.split("Per learner\n", 1)[1]
    return {
        f"{who}:{lesson}": text
        for who, rest in re.findall(r"^  (\S+): (.+)$", learners, re.M)
        for lesson, text in re.findall(r"(\S+): (\d[\d.]* / \d+)", rest)
    }


def _text(cell: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell))).strip()


def _table(page: str, css: str) -> list[list[str]]:
    body = page.split(f'<table class="{css}">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _page_questions(page: str) -> list[tuple[str, ...]]:
    out = []
    for label, where, learners, share, wrong, hinted in _table(page, "questions"):
        meta, prompt = where.split(" · Q", 1)
        lesson, quiz = meta.split(" · ")
        number, prompt = prompt.split(" ", 1)
        match = re.fullmatch(r"(.+) \((\d+)×\)", wrong)
        out.append(
            (lesson, quiz, number, prompt, learners, share.split(" ")[0])
            + ((match[1], match[2]) if match else ("-", ""))
            + (hinted,)
        )
        assert label.startswith("Q")
    return out


def _page_scores(page: str) -> dict[str, str]:
    head = page.split('<table class="learners">', 1)[1].split("</thead>", 1)[0]
    columns = [_text(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", head)][1:]
    scores = {}
    for row in _table(page, "learners"):
        who, cells = row[0], row[1:]
        for lesson, cell in zip(columns, cells, strict=True):
            if cell != "-":
                scores[f"{who}:{lesson}"] = cell.split(" (")[0]
    return scores


@pytest.mark.parametrize("lesson", [None, "res"], ids=["all-lessons", "one-lesson"])
def test_the_results_page_and_csv_say_what_tutor_results_says(
    client: FlaskClient,
    lessons_dir: Path,
    filled: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    lesson: str | None,
) -> None:
    target = tmp_path / "cli.csv"
    out = _cli(lessons_dir, filled, target, capsys, *([lesson] if lesson else []))
    page = client.get(f"/instructor/results/{lesson}" if lesson else "/instructor/results").get_data(as_text=True)

    expected = _cli_questions(out)
    assert len(expected) == (3 if lesson else 5)  # every question, answered or not
    assert _page_questions(page) == expected
    assert ("res", "step-through main", "1", "State of q after step 1?", "3", "33%", "[]", "2", "1") in expected

    scores = _cli_scores(out)
    assert scores["alice:res"] == "2.75 / 3"  # the data is what test_results.py checked by hand
    assert _page_scores(page) == scores

    download = client.get(f"/instructor/csv/{lesson}" if lesson else "/instructor/csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    assert download.data == target.read_bytes()
    assert download.data.count(b"\n") == 7


def test_the_chart_draws_the_tables_numbers_and_names_itself(client: FlaskClient) -> None:
    page = client.get("/instructor/results/res").get_data(as_text=True)
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg and 'aria-labelledby="chart-title chart-desc"' in svg
    assert '<title id="chart-title">Right on the first try, per question</title>' in svg
    shares = [row[3].split(" ")[0] for row in _table(page, "questions")]
    assert shares == ["33%", "50%", "100%"]
    values = re.findall(r'<text class="bar-value[^"]*"[^>]*>([^<]+)</text>', svg)
    assert values == shares
    widths = [float(w) for w in re.findall(r'<rect class="bar"[^>]*width="([\d.]+)"', svg)]
    assert widths == [80.0, 120.0, 240.0]  # a third, a half and all of the 240-unit bar area
    assert "Q1: 33%. Q2: 50%. Q3: 100%." in svg  # the description carries the numbers too


def test_a_question_nobody_answered_has_no_bar_and_says_so(client: FlaskClient) -> None:
    page = client.get("/instructor/results/other").get_data(as_text=True)
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert '<rect class="bar"' not in svg and svg.count("no answers") >= 2
    assert "No quiz answers recorded yet." in page


def test_results_of_a_lesson_not_served_is_a_404(client: FlaskClient) -> None:
    assert client.get("/instructor/results/nope").status_code == 404
    assert client.get("/instructor/csv/nope").status_code == 404
