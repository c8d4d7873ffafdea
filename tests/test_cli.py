"""The `tutor` command: check, trace, schema, and `python -m tutor`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tutor.cli import main

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"


@pytest.fixture(autouse=True)
def no_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads REDIS_URL and TUTOR_LESSONS; these tests run on the embedded default."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("TUTOR_LESSONS", raising=False)


def test_check_of_the_lessons_folder_exits_0_and_prints_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(LESSONS)]) == 0
    out, err = capsys.readouterr()
    assert out == "ok\n"
    assert err == ""


def test_check_of_a_broken_file_exits_1_with_file_line_col_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "title: Broken\n"
        "step_through:\n"
        "  actors: [producer]\n"
        "  steps:\n"
        "    - actor: producer\n"
        "      action: push\n"
        "      redis: LPUHS queue hello\n"
        "    - actor: consumer\n"
        "      action: pop\n"
        "      redis: BRPOP queue 0\n"
    )
    assert main(["check", str(broken)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{broken}:7:7: step_through.steps[0].redis (step 1): unknown Redis command 'LPUHS' (did you mean LPUSH?)",
        f"{broken}:8:7: step_through.steps[1].actor (step 2): unknown actor 'consumer' (declared actors: producer)",
    ]
    assert err == "2 problem(s)\n"
    assert "ok" not in out.splitlines()


def test_check_of_a_folder_with_one_broken_file_still_checks_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.yaml").write_text((LESSONS / "redis-broker.yaml").read_text())
    (tmp_path / "bad.yaml").write_text("title: Bad\nstep_through: {actors: [a], steps: [{actor: a, action: x}]}\n")
    assert main(["check", str(tmp_path)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        f"{tmp_path / 'bad.yaml'}:2:37: step_through.steps[0] (step 1): a step needs redis:, python: or note:"
    ]


def test_trace_prints_the_executed_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "redis-broker", "--lessons", str(LESSONS)]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["Step", "Actor", "Action", "Command", "Result", "State", "of", "'queue'"]
    row2 = next(line for line in lines if line.startswith("2 "))
    assert "BRPOP queue 0" in row2
    assert "('queue', 'hello')" in row2
    row4 = next(line for line in lines if line.startswith("4 "))
    assert "Blocks waiting" in row4
    row5 = next(line for line in lines if line.startswith("5 "))
    assert "consumer (blocked since step 4) received ('queue', 'world')" in row5
    tracker = next(line for line in lines if line.startswith("msg "))
    assert tracker.split("  ")[0] == "msg"
    assert "None (waiting)" in tracker


def test_trace_json_is_the_trace_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "redis-broker", "--json", "--lessons", str(LESSONS)]) == 0
    out, _ = capsys.readouterr()
    trace = json.loads(out)
    assert trace["format"] == "tutor-trace/1"
    assert trace["lesson"] == "redis-broker"
    assert trace["step_count"] == trace["executed"] == 5
    assert trace["steps"][1]["reply"]["py"] == "('queue', 'hello')"
    assert trace["steps"][3]["status"] == "blocked"


def test_trace_reads_the_lessons_folder_from_tutor_lessons(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TUTOR_LESSONS", str(LESSONS))
    assert main(["trace", "redis-broker", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lesson"] == "redis-broker"


def test_trace_of_an_unknown_lesson_exits_1_and_names_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["trace", "nope", "--lessons", str(LESSONS)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "no lesson 'nope' (lessons: redis-broker" in err


def test_trace_of_an_unknown_walkthrough_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "redis-broker", "--walkthrough", "nope", "--lessons", str(LESSONS)]) == 1
    assert "has no step-through 'nope'" in capsys.readouterr().err


def test_schema_is_json_that_validates_the_shipped_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    lesson = yaml.safe_load((LESSONS / "redis-broker.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(lesson, schema)


def test_schema_rejects_what_the_loader_rejects(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    lesson = yaml.safe_load((LESSONS / "redis-broker.yaml").read_text(encoding="utf-8"))
    walks = lesson["step_through"]
    first = walks[0] if isinstance(walks, list) else walks
    first["steps"][0]["redsi"] = "GET k"
    with pytest.raises(jsonschema.ValidationError, match="redsi"):
        jsonschema.validate(lesson, schema)


def test_python_dash_m_tutor_check_works() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TUTOR_LESSONS")}
    done = subprocess.run(
        [sys.executable, "-m", "tutor", "check", "lessons/"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


def test_python_dash_m_tutor_check_fails_on_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: T\nstep_through:\n  actors: [a]\n  steps:\n    - {actor: a, action: x, redis: TIME}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TUTOR_LESSONS")}
    done = subprocess.run(
        [sys.executable, "-m", "tutor", "check", str(broken)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout.startswith(f"{broken}:5:29: step_through.steps[0].redis (step 1): 'TIME' is not available")
    assert done.stderr == "1 problem(s)\n"


def test_check_reports_a_stream_read_of_a_list_as_redis_does_not_as_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lesson = tmp_path / "xread.yaml"
    lesson.write_text(
        "title: XREAD on a list\n"
        "step_through:\n"
        "  actors: [producer]\n"
        "  steps:\n"
        "    - {actor: producer, action: push, redis: LPUSH queue hello}\n"
        "    - {actor: producer, action: read, redis: XREAD STREAMS queue 0-0}\n"
    )
    assert main(["check", str(lesson)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "Redis rejected the command: WRONGTYPE Operation against a key holding the wrong kind of value" in out


def test_check_on_a_redis_nobody_listens_on_says_so_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    assert main(["--redis-url", url, "check", str(LESSONS)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.startswith(f"Redis ({url}) is not reachable")


def test_check_both_on_a_redis_nobody_listens_on_says_so_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from conftest import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    assert main(["--redis-url", url, "check", "--both", str(LESSONS)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.startswith(f"Redis ({url}) is not reachable")
