"""What `tutor check` catches beyond structure: each check with its exact message and position."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tutor import checker
from tutor.backend import Backend
from tutor.checker import check_paths
from tutor.cli import main
from tutor.loader import load_text


def problems(text: str) -> list[str]:
    """The load problems of a lesson text, as `tutor check` prints them."""
    return [str(p) for p in load_text(textwrap.dedent(text), "x.yaml", default_id="x").problems]


def checked(tmp_path: Path, text: str, backend: Backend | None = None) -> list[str]:
    """Every problem `tutor check` reports for a lesson text, execution included."""
    file = tmp_path / "x.yaml"
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return [str(p).removeprefix(f"{file}:") for p in check_paths([file], backend or Backend())]


# --- predictions ---------------------------------------------------------------------------------------

PREDICTION = """\
    title: T
    step_through:
      actors: [p, c]
      watch: [q]
      steps:
        - {actor: p, action: push, redis: LPUSH q a}
        - {actor: c, action: pop, redis: RPOP q}
      quiz:
        - prompt: What will step 2 reply?
          ask_before_step: 2
          choices: [{text: "'a'", correct: true}, None]
          answer_from: {step: STEP, reply: true}
    """


def test_a_prediction_answered_by_an_earlier_step_is_a_problem_at_answer_from_step() -> None:
    assert problems(PREDICTION.replace("STEP", "1")) == [
        "x.yaml:12:21: step_through.quiz[0].answer_from.step: a prediction asked before step 2 is answered by "
        "step 2 (the page says 'Step 2 shows it'), but answer_from reads step 1; use step: 2, or drop "
        "ask_before_step"
    ]


def test_a_prediction_answered_by_its_own_step_passes(tmp_path: Path) -> None:
    assert checked(tmp_path, PREDICTION.replace("STEP", "2")) == []


def test_a_prediction_answered_from_another_step_through_is_a_problem() -> None:
    text = PREDICTION.replace("{step: STEP, reply: true}", "{walkthrough: other, step: 2, reply: true}")
    assert problems(text) == [
        "x.yaml:12:21: step_through.quiz[0].answer_from.walkthrough: a prediction asked before step 2 is "
        "answered by step 2 of its own step-through, but answer_from reads step-through 'other'"
    ]


# --- line: --------------------------------------------------------------------------------------------

SAMPLE = """\
    title: T
    step_through:
      actors: [p]
      watch: [queue]
      sample:
        code: |
          import redis

          # Producer
          r.lpush('queue', 'hello')
          r.lpush('queue', 'world')
      steps:
        - {actor: p, action: push, redis: LPUSH queue hello, line: LINE}
    """


def test_line_as_text_names_the_one_sample_line_that_contains_it() -> None:
    loaded = load_text(textwrap.dedent(SAMPLE.replace("LINE", "\"'hello')\"")), "x.yaml", "x")
    assert loaded.problems == []
    assert loaded.lesson is not None
    assert loaded.lesson.step_throughs[0].steps[0].line == 4


def test_line_text_found_nowhere_or_on_several_lines_is_a_problem() -> None:
    assert problems(SAMPLE.replace("LINE", "r.rpush(")) == [
        "x.yaml:13:58: step_through.steps[0].line (step 1): no line of the sample contains 'r.rpush('"
    ]
    assert problems(SAMPLE.replace("LINE", "r.lpush(")) == [
        "x.yaml:13:58: step_through.steps[0].line (step 1): 'r.lpush(' is on 2 lines of the sample (4, 5); "
        "give more of the line so only one matches"
    ]


def test_a_line_number_on_a_blank_or_comment_line_is_a_problem() -> None:
    assert problems(SAMPLE.replace("LINE", "2")) == [
        "x.yaml:13:58: step_through.steps[0].line (step 1): line 2 of the sample is blank; point at the code the "
        "step runs (or write line: as text on that line)"
    ]
    assert problems(SAMPLE.replace("LINE", "3")) == [
        "x.yaml:13:58: step_through.steps[0].line (step 1): line 3 of the sample is a comment ('# Producer'); "
        "point at the code the step runs (or write line: as text on that line)"
    ]


def test_line_without_a_sample_is_a_problem() -> None:
    text = "title: T\nstep_through:\n  actors: [p]\n  steps:\n    - {actor: p, action: x, note: n, line: 1}\n"
    assert problems(text) == [
        "x.yaml:5:38: step_through.steps[0].line (step 1): line: needs a sample: in this step-through"
    ]


# --- watched keys ----------------------------------------------------------------------------------------


def test_a_watched_key_no_step_uses_is_a_problem_with_a_suggestion() -> None:
    text = """\
        title: T
        step_through:
          actors: [p]
          watch: [queue, qeueu]
          steps:
            - {actor: p, action: push, redis: LPUSH queue hello}
            - {actor: p, action: move, redis: LMOVE queue done LEFT RIGHT}
        """
    assert problems(text) == [
        "x.yaml:4:18: step_through.watch[1]: no step uses the key 'qeueu'; did you mean 'queue'? "
        "(keys the steps use: queue, done)"
    ]


# --- YAML in plain words ------------------------------------------------------------------------------------


def test_a_field_indented_less_than_its_neighbours_names_both_columns() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - actor: a
              action: b
             redis: PING
        """
    assert problems(text) == [
        "x.yaml:7:6: YAML syntax error: this line starts at column 6, but the one above it (line 6) at column 7: "
        "the fields of one mapping, and the items of one list, start in the same column; fix the indentation"
    ]


def test_an_unclosed_quote_is_reported_where_it_opens() -> None:
    text = 'title: T\nstep_through:\n  actors: [app]\n  steps:\n    - {actor: app, action: "Push, redis: PING}\n'
    assert problems(text) == [
        "x.yaml:5:28: YAML syntax error: the quote opened here (line 5, column 28) is never closed; close it, "
        "or quote the text with the other kind of quote if it contains this one"
    ]


def test_a_colon_inside_an_unquoted_value_says_to_quote_it() -> None:
    assert problems("title: Wait: then pop\n") == [
        "x.yaml:1:12: YAML syntax error: a colon followed by a space inside an unquoted value starts a new field; "
        'quote the whole value (action: "Wait: then pop")'
    ]


def test_a_tab_says_yaml_indents_with_spaces() -> None:
    assert problems("title: T\nstep_through:\n\tactors: [a]\n") == [
        "x.yaml:3:1: YAML syntax error: a tab character; YAML indents with spaces only, so replace the tab with spaces"
    ]


# --- YAML 1.1 and 1.2 ---------------------------------------------------------------------------------------


def test_values_yaml_versions_read_differently_must_be_quoted() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - {actor: a, action: x, note: n, wait: 1:30}
          quiz:
            - prompt: Is it there?
              choices: [{text: "yes", correct: true}, no]
        """
    assert problems(text) == [
        "x.yaml:5:44: step_through.steps[0].wait (step 1): 1:30 means the number 90 in YAML 1.1 (PyYAML) but the "
        "text '1:30' in YAML 1.2 (editors, and tutor); write 90 or \"1:30\" so every reader agrees",
        "x.yaml:8:47: step_through.quiz[0].choices[1]: no means false in YAML 1.1 (PyYAML) but the text 'no' in "
        'YAML 1.2 (editors, and tutor); write false or "no" so every reader agrees',
    ]


# --- expectations ------------------------------------------------------------------------------------------


def test_an_error_expectation_that_does_not_match_names_both_errors(tmp_path: Path) -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - {actor: a, action: string, redis: SET k v}
            - {actor: a, action: push, redis: LPUSH k x, expect: {error: NOSUCHKEY}}
            - {actor: a, action: incr, redis: INCR k, expect: 1}
            - {actor: a, action: get, redis: GET k, expect: {error: WRONGTYPE}}
        """
    assert checked(tmp_path, text) == [
        "6:50: step_through.steps[1].expect (step 2): expected error 'NOSUCHKEY', Redis answered 'WRONGTYPE "
        "Operation against a key holding the wrong kind of value'",
        "7:47: step_through.steps[2].expect (step 3): expected 1, but Redis answered the error 'value is not an "
        "integer or out of range'",
        "8:45: step_through.steps[3].expect (step 4): expected error 'WRONGTYPE', but Redis replied 'v'",
    ]


def test_an_error_expectation_may_keep_the_err_prefix_redis_py_drops(tmp_path: Path) -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - {actor: a, action: string, redis: SET k v}
            - {actor: a, action: incr, redis: INCR k, expect: {error: "ERR value is not an integer"}}
            - {actor: a, action: again, redis: INCR k, expect: "(error) ERR value is not an integer or out of range"}
            - {actor: a, action: plain, redis: INCR k, expect: {error: value is not an integer}}
        """
    assert checked(tmp_path, text) == []


# --- --both ------------------------------------------------------------------------------------------------

DISAGREE = """\
    title: T
    step_through:
      actors: [a]
      steps:
        - {actor: a, action: grow, redis: INCRBYFLOAT k 1e400}
    """


@pytest.mark.real_redis
def test_check_both_names_the_backend_that_disagrees(
    tmp_path: Path, real_redis: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "x.yaml"
    file.write_text(textwrap.dedent(DISAGREE), encoding="utf-8")
    assert main(["check", "--both", "--redis-url", real_redis, str(file)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{file}:5:32: step_through.steps[0].redis (step 1): Redis rejected the command: value is not a valid "
        "float (on fakeredis only)",
        f"{file}:5:7: step_through.steps[0] (step 1): fakeredis disagrees with Redis at step 1: the reply is inf on "
        "Redis but the error 'value is not a valid float' on fakeredis; Redis is the reference, so rewrite the step to "
        "avoid the difference",
    ]


@pytest.mark.real_redis
def test_check_both_passes_the_shipped_lessons(real_redis: str, capsys: pytest.CaptureFixture[str]) -> None:
    lessons = Path(__file__).resolve().parent.parent / "lessons"
    assert main(["check", "--both", "--redis-url", real_redis, str(lessons)]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_check_both_without_a_redis_url_says_how_to_give_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["check", "--both", "lessons"]) == 2
    assert capsys.readouterr().err == (
        "--both compares fakeredis with a real Redis: give its URL with --redis-url or REDIS_URL\n"
    )


# --- many files: checked in processes, the same findings -----------------------------------------------


def _many_lessons(folder: Path) -> list[Path]:
    """PARALLEL_FROM + 5 files: sound ones, one broken, a failing expectation, a duplicate id, an unknown builds_on."""
    sound = """\
        title: Lesson NUMBER
        step_through:
          actors: [p]
          steps:
            - {actor: p, action: push, redis: LPUSH q NUMBER, expect: 1}
        """
    files = []
    for number in range(checker.PARALLEL_FROM + 5):
        file = folder / f"lesson-{number:03d}.yaml"
        file.write_text(textwrap.dedent(sound).replace("NUMBER", str(number)), encoding="utf-8")
        files.append(file)
    files[3].write_text("title: [unclosed\n", encoding="utf-8")
    files[7].write_text(files[7].read_text().replace("expect: 1", "expect: 2"), encoding="utf-8")
    files[11].write_text("id: lesson-002\n" + files[11].read_text(), encoding="utf-8")
    files[19].write_text("builds_on: [no-such-lesson]\n" + files[19].read_text(), encoding="utf-8")
    return files


def test_many_files_checked_in_processes_give_the_findings_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_lessons(tmp_path)
    spread: list[int] = []
    in_processes = checker._in_processes

    def counted(files: list[Path], url: str | None, jobs: int) -> list[Any]:
        spread.append(jobs)
        return in_processes(files, url, jobs)

    monkeypatch.setattr(checker, "_in_processes", counted)
    missing = tmp_path / "gone.yaml"
    alone = check_paths([tmp_path, missing], Backend(), jobs=1)
    together = check_paths([tmp_path, missing], Backend(), jobs=2)
    assert spread == [2]  # the second call went to two processes, the first did not
    assert together == alone
    found = [str(problem).removeprefix(f"{tmp_path}/") for problem in alone]
    assert len(found) == 5, found
    assert found[0].startswith("lesson-003.yaml:1:")
    assert found[1].startswith("lesson-007.yaml:5:") and "expected 2" in found[1]
    assert found[2].startswith("lesson-011.yaml:1:") and "lesson-002" in found[2]
    assert found[3] == f"{missing}:1:1: no such file or folder".removeprefix(f"{tmp_path}/")
    assert found[4].startswith("lesson-019.yaml:1:") and "no-such-lesson" in found[4]


def test_tutor_check_jobs_prints_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _many_lessons(tmp_path)
    outputs = []
    for jobs in ("1", "2"):
        assert main(["check", str(tmp_path), "--jobs", jobs]) == 1
        outputs.append(capsys.readouterr())
    assert outputs[0] == outputs[1]
    assert outputs[0].err == "4 problem(s)\n"  # the five above but the missing file
