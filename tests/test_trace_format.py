"""docs/trace-format.md and the API's JSON list the same fields, both ways.

The document's field tables are parsed (the first column's `names`); a lesson that produces every
kind of object (blocked, served and timed-out actors, an error, a Python step) is traced through
/api/lessons/<id>/trace; every object of each kind must have every documented field (those
"Present only when ..." or "Absent otherwise" may be missing) and no field the document does not list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tutor import create_app

DOC = Path(__file__).resolve().parent.parent / "docs" / "trace-format.md"

LESSON = """\
title: Every field
step_through:
  actors: [producer, consumer, worker, listener]
  watch: [queue, text]
  variables: [msg]
  processes: {worker: {seen: []}}
  steps:
    - {actor: consumer, action: wait, redis: BRPOP queue 0, assign: msg}
    - {actor: worker, action: wait briefly, redis: BRPOP other 1}
    - {actor: producer, action: push, redis: LPUSH queue hello}
    - {actor: producer, action: later, note: time passes, wait: 1}
    - {actor: producer, action: a string, redis: SET text hi}
    - {actor: producer, action: wrong type, redis: LPUSH text x, expect: WRONGTYPE}
    - {actor: worker, action: remember, python: "seen.append('x')"}
    - {actor: listener, action: listen, redis: SUBSCRIBE news}
    - {actor: producer, action: announce, redis: PUBLISH news hi}
"""


def doc_fields() -> dict[str, tuple[set[str], set[str]]]:
    """{object kind: (every documented field, the optional ones)} from the document's tables."""
    sections: dict[str, list[list[list[str]]]] = {}
    heading = ""
    table: list[list[str]] | None = None
    for line in DOC.read_text().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            table = None
        elif line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if table is None:
                table = []
                sections.setdefault(heading, []).append(table)
            if not set(cells[0]) <= set("-"):
                table.append(cells)
        else:
            table = None

    def fields(section: str, index: int = 0) -> tuple[set[str], set[str]]:
        rows = sections[section][index]
        assert rows[0][0] == "field", f"{section}: table {index} is not a field table"
        names: set[str] = set()
        optional: set[str] = set()
        for row in rows[1:]:
            found = set(re.findall(r"`([a-z_]+)`", row[0]))
            names |= found
            if any(marker in row[-1] for marker in ("Present only when", "Absent otherwise")):
                optional |= found
        return names, optional

    state_header = sections["`state`: watched keys"][0][0]
    step_rows = sections["Step records"][0]
    [command_row] = [row for row in step_rows if row[0] == "`command`"]
    command = set(re.search(r"`\{([a-z_, ]+)\}`", command_row[-1]).group(1).split(", "))  # type: ignore[union-attr]
    return {
        "trace": fields("Top level"),
        "key state": ({name for cell in state_header for name in re.findall(r"`([a-z_]+)`", cell)}, set()),
        "variable": fields("`variables`: tracked variables"),
        "process value": fields("`processes`: process memory"),
        "blocked": fields("`blocked`: actors waiting on a blocking command"),
        "subscribed": fields("`subscribed`: actors whose connection subscribed"),
        "step": fields("Step records"),
        "command": (command, set()),
        "reply": fields("Replies"),
        "unblocked": fields("Events", 0),
        "timeout": fields("Events", 1),
        "received": fields("Events", 2),
    }


def api_objects(trace: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every object of the trace, by the kind the document names it."""
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in doc_fields()}
    found["trace"].append(trace)
    for point in [trace["start"], *trace["steps"]]:
        found["key state"].extend(point["state"].values())
        found["variable"].extend(point["variables"].values())
        found["process value"].extend(v for values in point["processes"].values() for v in values.values())
        found["blocked"].extend(point["blocked"].values())
        found["subscribed"].extend(point["subscribed"].values())
    for record in trace["steps"]:
        found["step"].append(record)
        if record["command"] is not None:
            found["command"].append(record["command"])
        if record["reply"] is not None:
            found["reply"].append(record["reply"])
        for event in record["events"]:
            found[event["kind"]].append(event)
            if "command" in event:
                found["command"].append(event["command"])
            found["reply"].append(event["reply"])
    return found


@pytest.fixture
def lessons_app(tmp_path: Path) -> Iterator[Flask]:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "every-field.yaml").write_text(LESSON)
    yield create_app(
        {
            "TESTING": True,
            "TUTOR_LESSONS": str(folder),
            "TUTOR_DATABASE": str(tmp_path / "tutor.sqlite3"),
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
        }
    )


def test_the_document_lists_every_field_the_api_returns_and_the_api_returns_every_field_listed(
    lessons_app: Flask,
) -> None:
    response = lessons_app.test_client().get("/api/lessons/every-field/trace")
    assert response.status_code == 200
    found = api_objects(response.get_json())
    for kind, (documented, optional) in doc_fields().items():
        assert found[kind], f"the test lesson produced no {kind} object"
        for obj in found[kind]:
            assert set(obj) - documented == set(), f"{kind}: fields the document does not list"
            assert documented - optional - set(obj) == set(), f"{kind}: documented fields the API left out"
    assert any("error_source" in step for step in found["step"])  # the optional field is produced too


def test_the_parsed_document_is_not_empty() -> None:
    fields = doc_fields()
    assert {"format", "steps", "start"} <= fields["trace"][0]
    assert fields["step"][1] == {"error_source"}
    assert fields["unblocked"][0] - fields["timeout"][0] == {"by"}
