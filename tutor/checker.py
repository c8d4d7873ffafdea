"""`tutor check`: load, validate and execute lessons, and report every problem as file:line:col.

An expectation is checked against the real reply, never shown in its place; a quiz bound to the
trace with answer_from must name the value the execution produced, so a quiz cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path as FsPath
from typing import Any

from tutor import engine, messages
from tutor.backend import Backend
from tutor.loader import Loaded, Problem, load_file
from tutor.model import BLOCKED, AnswerFrom, Lesson, Question, Step
from tutor.replies import py_repr, to_json


def lesson_files(paths: Iterable[str | FsPath]) -> list[FsPath]:
    """Every lesson file under the given files and folders, in a stable order."""
    found: list[FsPath] = []
    for raw in paths:
        path = FsPath(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            found.append(path)
    return found


def check_paths(paths: Iterable[str | FsPath], backend: Backend) -> list[Problem]:
    """Every problem in every lesson file under `paths`."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    sound: list[tuple[FsPath, Loaded]] = []
    for file in lesson_files(paths):
        if not file.exists():
            problems.append(Problem(str(file), 1, 1, "", "no such file or folder"))
            continue
        loaded = load_file(file)
        problems.extend(loaded.problems)
        if loaded.lesson is None:
            continue
        lesson = loaded.lesson
        if lesson.id in seen:
            loaded.problem(("id",), messages.DUPLICATE_ID.format(id=lesson.id, other=seen[lesson.id]))
            problems.append(loaded.problems[-1])
        seen.setdefault(lesson.id, str(file))
        sound.append((file, loaded))
        problems.extend(check_lesson(lesson, loaded, backend))
    problems.extend(_builds_on_problems(sound, seen))
    return problems


def _builds_on_problems(sound: list[tuple[FsPath, Loaded]], seen: dict[str, str]) -> list[Problem]:
    """A lesson may build only on lessons that exist: checked ones, or ones in its own folder.

    The folder counts so that checking one file alone (`tutor check lessons/rq.yaml`) still finds the
    lessons it builds on; those are loaded, not executed.
    """
    found: list[Problem] = []
    folders: dict[FsPath, set[str]] = {}
    for file, loaded in sound:
        assert loaded.lesson is not None
        if loaded.lesson.builds_on and file.parent not in folders:
            others = (load_file(other).lesson for other in lesson_files([file.parent]))
            folders[file.parent] = {lesson.id for lesson in others if lesson is not None}
        known = set(seen) | folders.get(file.parent, set())
        for index, other in enumerate(loaded.lesson.builds_on):
            if other not in known:
                message = messages.UNKNOWN_BUILDS_ON.format(id=other, known=", ".join(sorted(known)))
                loaded.problem(("builds_on", index), message)
                found.append(loaded.problems[-1])
    return found


def check_lesson(lesson: Lesson, loaded: Loaded, backend: Backend) -> list[Problem]:
    """Execute every step-through of a loaded lesson and compare expectations and quiz answers."""
    before = len(loaded.problems)
    traces = {walk.slug: engine.run(walk, backend, lesson.id) for walk in lesson.step_throughs}
    for walk in lesson.step_throughs:
        for step, record in zip(walk.steps, traces[walk.slug]["steps"], strict=True):
            message = step_problem(step, record)
            if message:
                where = (*step.path, "expect") if step.has_expect and record["status"] != "error" else step.path
                if record["status"] == "error" and step.argv is not None:
                    where = (*step.path, "redis")
                elif record["status"] == "error" and step.python is not None and not step.has_expect:
                    where = (*step.path, "python")
                loaded.problem(where, message)
        for question in walk.quiz:
            _check_answer(question, walk.slug, traces, loaded)
    if lesson.performance:
        for question in lesson.performance.quiz:
            _check_answer(question, None, traces, loaded)
    return loaded.problems[before:]


def step_problem(step: Step, record: dict[str, Any]) -> str | None:
    """What is wrong with one executed step, or None when it did what the author said."""
    status = record["status"]
    reply = record["reply"]
    if status == "error":
        error = reply["value"]
        if step.has_expect and _error_matches(step.expect, error):
            return None
        if record.get("error_source") == "redis":
            return messages.REDIS_ERROR.format(error=error)
        if record.get("error_source") == "python":
            return messages.PYTHON_ERROR.format(error=error)
        return str(error)
    if not step.has_expect:
        return None
    if step.expect == BLOCKED:
        if status == "blocked":
            return None
        return messages.EXPECT_BLOCKED.format(actual=reply["py"] if reply else "nothing")
    if status == "blocked":
        return messages.EXPECT_NOT_BLOCKED.format(expected=py_repr(step.expect))
    if reply is None:
        return None
    if _reply_matches(step.expect, reply):
        return None
    template = messages.EXPECT_MISMATCH_PYTHON if step.python is not None else messages.EXPECT_MISMATCH
    return template.format(expected=py_repr(step.expect), actual=reply["py"])


def _error_matches(expect: Any, error: str) -> bool:
    if isinstance(expect, dict) and isinstance(expect.get("error"), str):
        return error.startswith(expect["error"])
    return isinstance(expect, str) and (error == expect or error.startswith(expect))


def _reply_matches(expect: Any, reply: dict[str, Any]) -> bool:
    if to_json(expect) == reply["value"]:
        return True
    if isinstance(expect, str):
        return expect in (reply["cli"], reply["py"])
    if isinstance(expect, int | float) and not isinstance(expect, bool):
        return str(reply["value"]) == str(expect)
    return False


def trace_answer(trace: dict[str, Any], answer: AnswerFrom) -> tuple[str, str]:
    """The value an answer_from points at, as the table shows it, and a label for messages."""
    point = trace["start"] if answer.step == 0 else trace["steps"][answer.step - 1]
    if answer.key is not None:
        return point["state"][answer.key]["py"], f"state of '{answer.key}'"
    if answer.variable is not None:
        return point["variables"][answer.variable]["py"], f"variable {answer.variable}"
    reply = point.get("reply")
    if point.get("status") == "blocked":
        return "blocked", "reply"
    return (reply["py"] if reply else "None"), "reply"


def _check_answer(question: Question, slug: str | None, traces: dict[str, dict[str, Any]], loaded: Loaded) -> None:
    answer = question.answer_from
    if answer is None:
        return
    chosen = answer.walkthrough or slug or (next(iter(traces)) if traces else None)
    trace = traces.get(chosen) if chosen else None
    path = (*question.path, "answer_from")
    if trace is None:
        loaded.problem(path, f"no step-through '{chosen}' to take the answer from")
        return
    if answer.step > trace["step_count"]:
        loaded.problem((*path, "step"), messages.STEP_OUT_OF_RANGE.format(step=answer.step, count=trace["step_count"]))
        return
    point = trace["start"] if answer.step == 0 else trace["steps"][answer.step - 1]
    if (answer.key and answer.key not in point["state"]) or (
        answer.variable and answer.variable not in point["variables"]
    ):
        loaded.problem(path, f"step-through '{chosen}' does not track {answer.key or answer.variable}")
        return
    actual, source = trace_answer(trace, answer)
    marked = [i for i, c in enumerate(question.choices) if c.correct]
    if any(question.choices[i].text == actual for i in marked):
        return
    if any(c.text == actual for c in question.choices):
        wrong = marked[0] if marked else 0
        loaded.problem(
            (*question.path, "choices", wrong),
            messages.ANSWER_MISMATCH.format(
                marked=question.choices[wrong].text if marked else "nothing",
                actual=actual,
                source=source,
                step=answer.step,
            ),
        )
        return
    loaded.problem(
        (*question.path, "choices"),
        messages.ANSWER_NOT_AMONG_CHOICES.format(actual=actual, source=source, step=answer.step),
    )
