"""Every class of lesson problem, with its exact `file:line:col: path: message`."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tutor.backend import Backend
from tutor.checker import check_paths
from tutor.loader import Problem, load_file, load_text

ROOT = Path(__file__).resolve().parent.parent


def problems(text: str, source: str = "lessons/x.yaml") -> list[str]:
    """The problems of a lesson text, as `tutor check` prints them."""
    loaded = load_text(textwrap.dedent(text), source, default_id="x")
    assert loaded.lesson is None or not loaded.problems
    return [str(p) for p in loaded.problems]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- loading -------------------------------------------------------------------------------------------


def test_a_sound_lesson_loads_without_problems() -> None:
    loaded = load_file(ROOT / "lessons" / "redis-broker.yaml", display="lessons/redis-broker.yaml")
    assert loaded.problems == []
    assert loaded.lesson is not None
    assert loaded.lesson.id == "redis-broker"
    assert loaded.lesson.title == "Redis as message broker in Flask"
    assert [s.argv for s in loaded.lesson.step_throughs[0].steps][:2] == [
        ("LPUSH", "queue", "hello"),
        ("BRPOP", "queue", "0"),
    ]


def test_problem_prints_as_file_line_col_path_message() -> None:
    problem = Problem("lessons/x.yaml", 14, 7, "step_through.steps[2].redis (step 3)", "boom")
    assert str(problem) == "lessons/x.yaml:14:7: step_through.steps[2].redis (step 3): boom"
    assert str(Problem("lessons/x.yaml", 1, 1, "", "boom")) == "lessons/x.yaml:1:1: boom"


def test_an_unclosed_bracket_is_reported_where_it_opened_in_plain_words() -> None:
    text = """\
        title: T
        step_through:
          actors: [a
          steps: []
        """
    assert problems(text) == [
        "lessons/x.yaml:3:11: YAML syntax error: the '[' opened here is not closed with ']' before line 4; "
        "close it, and quote items that contain ':', ',', '[', ']', '{' or '}'"
    ]


def test_a_line_indented_too_deep_is_reported_at_its_start_in_plain_words() -> None:
    assert problems("title: T\n  bad: indent\n") == [
        "lessons/x.yaml:2:3: YAML syntax error: this line is indented deeper (column 3) than the field above it "
        "(line 1, column 1), so YAML reads it as part of that field's value; align it with the field above"
    ]


def test_a_file_that_is_not_a_mapping() -> None:
    assert problems("- just\n- a list\n") == [
        "lessons/x.yaml:1:1: a lesson file must be a mapping of fields (title:, step_through: ...)"
    ]


def test_unknown_field_points_at_the_key_and_suggests_the_close_one() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - actor: a
              action: x
              redsi: GET k
        """
    assert problems(text) == [
        "lessons/x.yaml:7:7: step_through.steps[0].redsi (step 1): unknown field 'redsi'; did you mean "
        "'redis'? (allowed: actor, action, redis, python, note, assign, expect, wait, line, stage, crash, restart)"
    ]


def test_unknown_field_far_from_every_allowed_name_has_no_suggestion() -> None:
    [problem] = problems("title: T\nzzzzzz: 1\nstep_through: {actors: [a], steps: [{actor: a, action: x, note: n}]}\n")
    assert problem.startswith("lessons/x.yaml:2:1: zzzzzz: unknown field 'zzzzzz' (allowed: id, title, ")
    assert "did you mean" not in problem


def test_missing_required_field_points_at_the_mapping_that_lacks_it() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - actor: a
              note: n
        """
    assert problems(text) == ["lessons/x.yaml:5:7: step_through.steps[0] (step 1): missing required field 'action'"]


def test_missing_title_is_reported_at_the_top_of_the_file() -> None:
    text = """\
        step_through:
          actors: [a]
          steps:
            - {actor: a, action: x, note: n}
        """
    assert problems(text) == ["lessons/x.yaml:1:1: missing required field 'title'"]


def test_wrong_type_says_what_was_expected_and_what_was_given() -> None:
    text = """\
        title: T
        minutes: ten
        step_through:
          actors: a
          steps:
            - {actor: a, action: x, note: n, wait: soon}
        """
    assert problems(text) == [
        "lessons/x.yaml:2:1: minutes: expected a whole number, got the text 'ten'",
        "lessons/x.yaml:4:3: step_through.actors: expected a list, got the text 'a'",
        "lessons/x.yaml:6:38: step_through.steps[0].wait (step 1): expected a number, got the text 'soon'",
    ]


def test_unknown_actor_lists_the_declared_ones() -> None:
    text = """\
        title: T
        step_through:
          actors: [producer, consumer]
          steps:
            - actor: worker
              action: x
              note: n
        """
    assert problems(text) == [
        "lessons/x.yaml:5:7: step_through.steps[0].actor (step 1): unknown actor 'worker' "
        "(declared actors: producer, consumer)"
    ]


def test_unknown_variable_in_assign_lists_the_declared_ones() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          variables: [msg]
          steps:
            - actor: a
              action: x
              redis: GET k
              assign: mgs
        """
    assert problems(text) == [
        "lessons/x.yaml:9:7: step_through.steps[0].assign (step 1): unknown variable 'mgs' (declared variables: msg)"
    ]


def test_unknown_redis_command_is_reported_at_the_redis_field() -> None:
    text = """\
        # a comment line, so positions are not all at the top
        title: T
        step_through:
          actors: [a]
          steps:
            - actor: a
              action: one
              redis: LPUSH queue hi
            - actor: a
              action: two
              redis: BRPOP queue 0
            - actor: a
              action: three
              redis: LPUHS queue hi
        """
    assert problems(text) == [
        "lessons/x.yaml:14:7: step_through.steps[2].redis (step 3): unknown Redis command 'LPUHS' (did you mean LPUSH?)"
    ]


def test_forbidden_command_and_bad_quoting_are_loader_problems() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - {actor: a, action: wipe, redis: FLUSHALL}
            - {actor: a, action: quote, redis: 'SET k "unclosed'}
            - {actor: a, action: clock, redis: [XADD, s, "*", f, v]}
        """
    assert problems(text) == [
        "lessons/x.yaml:5:32: step_through.steps[0].redis (step 1): 'FLUSHALL' is not available in "
        "lessons: it reaches beyond the lesson's own keys or the server",
        "lessons/x.yaml:6:33: step_through.steps[1].redis (step 2): unbalanced quotes in the command; "
        "close every \" or ' you open",
        "lessons/x.yaml:7:33: step_through.steps[2].redis (step 3): XADD with '*' makes an ID from the "
        "wall clock, so the trace would differ between runs; give an explicit ID such as 1-0",
    ]


def test_duplicate_field_is_reported_at_its_second_occurrence() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          steps:
            - actor: a
              action: x
              redis: GET a
              redis: GET b
        """
    assert problems(text) == ["lessons/x.yaml:8:7: step_through.steps[0].redis (step 1): field 'redis' appears twice"]


def test_several_problems_in_one_file_are_all_reported_in_file_order() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          variables: [v]
          steps:
            - actor: b
              action: x
              redis: LPUHS q
            - actor: a
              action: y
              redis: GET k
              assign: w
            - actor: a
              action: z
        """
    assert problems(text) == [
        "lessons/x.yaml:6:7: step_through.steps[0].actor (step 1): unknown actor 'b' (declared actors: a)",
        "lessons/x.yaml:8:7: step_through.steps[0].redis (step 1): unknown Redis command 'LPUHS' (did you mean LPUSH?)",
        "lessons/x.yaml:12:7: step_through.steps[1].assign (step 2): unknown variable 'w' (declared variables: v)",
        "lessons/x.yaml:13:7: step_through.steps[2] (step 3): a step needs redis:, python: or note:",
    ]


def test_stage_and_line_out_of_range() -> None:
    text = """\
        title: T
        step_through:
          actors: [a]
          concept_flow: [send, store]
          sample:
            code: |
              r.lpush('queue', 'hello')
              r.brpop('queue')
          steps:
            - actor: a
              action: x
              note: n
              stage: 3
              line: 5
        """
    assert problems(text) == [
        "lessons/x.yaml:13:7: step_through.steps[0].stage (step 1): stage 3 does not exist "
        "(concept_flow has stages 1 to 2)",
        "lessons/x.yaml:14:7: step_through.steps[0].line (step 1): line 5 does not exist (the sample has lines 1 to 2)",
    ]


KEY_MOMENT_AND_QUIZ_STEPS = """\
    title: T
    step_through:
      actors: [a]
      steps:
        - {actor: a, action: x, note: n}
      key_moments:
        - {question: q, answer: a, steps: [2]}
      quiz:
        - prompt: p
          hint_step: 9
          choices: [{text: right, correct: true}, wrong]
    """


def test_step_numbers_in_key_moments_and_quiz_must_exist() -> None:
    loaded = load_text(textwrap.dedent(KEY_MOMENT_AND_QUIZ_STEPS), "lessons/x.yaml", "x")
    assert [(p.line, p.col, p.message) for p in loaded.problems] == [
        (7, 40, "step 2 does not exist (the steps are numbered 1 to 1)"),
        (10, 7, "step 9 does not exist (the steps are numbered 1 to 1)"),
    ]
    assert loaded.problems[1].path == "step_through.quiz[0].hint_step"


def test_a_key_moment_step_reference_is_not_labelled_as_a_step() -> None:
    loaded = load_text(textwrap.dedent(KEY_MOMENT_AND_QUIZ_STEPS), "lessons/x.yaml", "x")
    assert loaded.problems[0].path == "step_through.key_moments[0].steps[0]"


def test_a_file_that_cannot_be_read_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"title: caf\xe9\n")
    loaded = load_file(path)
    assert loaded.lesson is None
    [problem] = loaded.problems
    assert str(problem).startswith(f"{path}:1:1: cannot read the file: ")


# --- tutor check: execution-level problems -------------------------------------------------------------


@pytest.fixture
def backend() -> Backend:
    return Backend()


EXECUTION = """\
    title: Execution problems
    step_through:
      actors: [p, c]
      watch: [q]
      steps:
        - actor: p
          action: push
          redis: LPUSH q hello
          expect: 2
        - actor: p
          action: make it a string
          redis: SET q x
        - actor: p
          action: push onto a string
          redis: LPUSH q y
        - actor: c
          action: pop a list nobody fills
          redis: BRPOP q2 0
          expect: [q2, x]
        - actor: p
          action: read
          redis: GET q
          expect: blocked
      quiz:
        - prompt: What is in q after step 1?
          choices:
            - {text: "['hello']"}
            - {text: "[]", correct: true}
          answer_from: {step: 1, key: q}
        - prompt: What is in q after step 2?
          choices:
            - {text: "a"}
            - {text: "b", correct: true}
          answer_from: {step: 2, key: q}
    """


def test_check_reports_every_execution_problem_with_its_position(tmp_path: Path, backend: Backend) -> None:
    file = write(tmp_path, "exec.yaml", EXECUTION)
    assert [str(p) for p in check_paths([file], backend)] == [
        f"{file}:9:7: step_through.steps[0].expect (step 1): expected 2, but Redis replied 1",
        f"{file}:15:7: step_through.steps[2].redis (step 3): Redis rejected the command: WRONGTYPE "
        "Operation against a key holding the wrong kind of value",
        f"{file}:19:7: step_through.steps[3].expect (step 4): expected ['q2', 'x'], but the command "
        "blocked (the keys it waits on are empty)",
        f"{file}:23:7: step_through.steps[4].expect (step 5): expected the command to block, but it returned 'x'",
        f"{file}:28:11: step_through.quiz[0].choices[1]: the choice marked correct is [], but the "
        "execution gives ['hello'] (state of 'q' after step 1)",
        f"{file}:31:7: step_through.quiz[1].choices: the execution gives 'x' (state of 'q' after step 2), "
        "and no choice says so",
    ]


def test_failed_expectation_names_both_values(tmp_path: Path, backend: Backend) -> None:
    file = write(
        tmp_path,
        "expect.yaml",
        """\
        title: T
        step_through:
          actors: [a]
          steps:
            - {actor: a, action: push, redis: RPUSH q a b c}
            - {actor: a, action: pop, redis: LPOP q, expect: c}
        """,
    )
    [problem] = check_paths([file], backend)
    assert (problem.line, problem.col, problem.path) == (6, 46, "step_through.steps[1].expect (step 2)")
    assert problem.message == "expected 'c', but Redis replied 'a'"


def test_an_expected_error_is_not_a_problem(tmp_path: Path, backend: Backend) -> None:
    file = write(
        tmp_path,
        "errors.yaml",
        """\
        title: T
        step_through:
          actors: [a]
          processes: {a: {m: []}}
          steps:
            - {actor: a, action: string, redis: SET k v}
            - {actor: a, action: push, redis: LPUSH k x, expect: WRONGTYPE}
            - {actor: a, action: pop, python: "m.pop()", expect: "IndexError: pop from empty list"}
        """,
    )
    assert check_paths([file], backend) == []


def test_an_unexpected_python_exception_is_reported_at_the_python_field(tmp_path: Path, backend: Backend) -> None:
    file = write(
        tmp_path,
        "python.yaml",
        """\
        title: T
        step_through:
          actors: [a]
          processes: {a: {m: []}}
          steps:
            - actor: a
              action: pop
              python: m.pop(0)
        """,
    )
    assert [str(p) for p in check_paths([file], backend)] == [
        f"{file}:8:7: step_through.steps[0].python (step 1): Python raised IndexError: pop from empty "
        'list; add expect: "IndexError: pop from empty list" if this is what the step teaches'
    ]


def test_quiz_answer_from_a_variable_names_both_values(tmp_path: Path, backend: Backend) -> None:
    file = write(
        tmp_path,
        "quiz.yaml",
        """\
        title: T
        step_through:
          actors: [p, c]
          variables: [msg]
          steps:
            - {actor: p, action: push, redis: LPUSH queue hello}
            - {actor: c, action: pop, redis: BRPOP queue 0, assign: msg}
          quiz:
            - prompt: What does msg hold after step 2?
              choices:
                - "'hello'"
                - {text: "None", correct: true}
                - "('queue', 'hello')"
              answer_from: {step: 2, variable: msg}
        """,
    )
    [problem] = check_paths([file], backend)
    assert (problem.line, problem.col) == (12, 11)
    assert problem.path == "step_through.quiz[0].choices[1]"
    assert problem.message == (
        "the choice marked correct is None, but the execution gives ('queue', 'hello') (variable msg after step 2)"
    )


def test_the_lessons_folder_checks_clean(backend: Backend) -> None:
    assert check_paths([ROOT / "lessons"], backend) == []


def test_all_problems_in_all_files_are_reported_and_a_broken_file_does_not_stop_the_others(
    tmp_path: Path, backend: Backend
) -> None:
    shutil.copy(ROOT / "lessons" / "redis-broker.yaml", tmp_path / "a-good.yaml")
    broken = write(
        tmp_path,
        "b-broken.yaml",
        """\
        title: Broken
        step_through:
          actors: [p]
          steps:
            - {actor: q, action: push, redis: LPUHS q hello}
        """,
    )
    syntax = write(tmp_path, "c-syntax.yaml", "title: [unclosed\n")
    failing = write(
        tmp_path,
        "d-failing.yaml",
        """\
        title: Runs but fails its expectation
        step_through:
          actors: [p]
          steps:
            - {actor: p, action: push, redis: LPUSH q hello, expect: 3}
        """,
    )
    assert [str(p) for p in check_paths([tmp_path], backend)] == [
        f"{broken}:5:8: step_through.steps[0].actor (step 1): unknown actor 'q' (declared actors: p)",
        f"{broken}:5:32: step_through.steps[0].redis (step 1): unknown Redis command 'LPUHS' (did you mean LPUSH?)",
        f"{syntax}:1:8: YAML syntax error: the '[' opened here is not closed with ']' before line 2; close it, "
        "and quote items that contain ':', ',', '[', ']', '{' or '}'",
        f"{failing}:5:54: step_through.steps[0].expect (step 1): expected 3, but Redis replied 1",
    ]


def test_a_missing_path_is_a_problem(tmp_path: Path, backend: Backend) -> None:
    missing = tmp_path / "nope.yaml"
    assert [str(p) for p in check_paths([missing], backend)] == [f"{missing}:1:1: no such file or folder"]


def test_two_files_with_the_same_lesson_id_are_a_problem(tmp_path: Path, backend: Backend) -> None:
    body = "step_through:\n  actors: [a]\n  steps:\n    - {actor: a, action: x, note: n}\n"
    first = write(tmp_path, "one.yaml", "id: same\ntitle: One\n" + body)
    second = write(tmp_path, "two.yaml", "id: same\ntitle: Two\n" + body)
    assert [str(p) for p in check_paths([tmp_path], backend)] == [
        f"{second}:1:1: id: lesson id 'same' is already used by {first}"
    ]


def test_structure_and_reference_problems_are_reported_together() -> None:
    found = problems(
        """\
title: X
step_through:
  actors: [a]
  steps:
    - {actor: a, action: push, redis: LPUSH q x, wait: first}
    - {actor: b, action: pop, redis: LPUHS q}
"""
    )
    assert found == [
        "lessons/x.yaml:5:50: step_through.steps[0].wait (step 1): expected a number, got the text 'first'",
        "lessons/x.yaml:6:8: step_through.steps[1].actor (step 2): unknown actor 'b' (declared actors: a)",
        "lessons/x.yaml:6:31: step_through.steps[1].redis (step 2): "
        "unknown Redis command 'LPUHS' (did you mean LPUSH?)",
    ]
