"""`tutor check`: load, validate and execute lessons, and report every problem as file:line:col.

An expectation is checked against the real reply, never shown in its place; a quiz bound to the
trace with answer_from must name the value the execution produced, so a quiz cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path as FsPath
from typing import Any

from tutor import engine, messages
from tutor.backend import Backend
from tutor.loader import Loaded, Problem, load_bytes, load_file
from tutor.model import BLOCKED, AnswerFrom, Lesson, Question, Step
from tutor.replies import py_repr, to_json
from tutor.yamlpos import Located


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


# From this many files on, `tutor check` spreads them over processes (below, starting them costs more).
PARALLEL_FROM = 40


def check_paths(
    paths: Iterable[str | FsPath], backend: Backend, other: Backend | None = None, jobs: int = 1
) -> list[Problem]:
    """Every problem in every lesson file under `paths`; with `other`, run on both backends and compare.

    `jobs` above 1 (and PARALLEL_FROM files or more, one backend): the files are loaded and executed in
    that many processes, each with a backend of its own on the same Redis (every run has a key
    namespace of its own), and their findings are put together here in file order, so the output is
    the same as from one process. Each file is checked on its own; only duplicate ids and builds_on
    need every file, and are decided here.
    """
    files = lesson_files(paths)
    if jobs > 1 and other is None and len(files) >= PARALLEL_FROM:
        checked = _in_processes(files, backend.url, jobs)
    else:
        checked = [_check_file(file, backend, other) for file in files]
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    sound: list[tuple[FsPath, Loaded, tuple[str, ...]]] = []
    for one in checked:
        problems.extend(one.loading)
        if one.lesson_id is None or one.part is None:
            continue
        if one.lesson_id in seen:
            one.part.problem(("id",), messages.DUPLICATE_ID.format(id=one.lesson_id, other=seen[one.lesson_id]))
            problems.append(one.part.problems[-1])
        seen.setdefault(one.lesson_id, str(one.file))
        if one.builds_on:
            sound.append((one.file, one.part, one.builds_on))
        problems.extend(one.running)
    problems.extend(_builds_on_problems(sound, seen))
    return problems


@dataclass(frozen=True)
class _Checked:
    """What checking one file found, and what the checks across files need of it: small, to cross processes."""

    file: FsPath
    loading: list[Problem]  # the file's problems as it loaded
    running: list[Problem]  # found by executing it
    lesson_id: str | None  # None: it did not load
    builds_on: tuple[str, ...]
    part: Loaded | None  # the positions of its id and builds_on (`_id_part`)


def _check_file(file: FsPath, backend: Backend, other: Backend | None = None) -> _Checked:
    if not file.exists():
        return _Checked(file, [Problem(str(file), 1, 1, "", "no such file or folder")], [], None, (), None)
    loaded = load_file(file)
    loading = list(loaded.problems)
    lesson = loaded.lesson
    if lesson is None:
        return _Checked(file, loading, [], None, (), None)
    running = check_lesson(lesson, loaded, backend) if other is None else _check_on_both(lesson, loaded, backend, other)
    return _Checked(file, loading, running, lesson.id, lesson.builds_on, _id_part(loaded))


_WORKER_BACKEND: list[Backend] = []  # a worker process's own backend (`_in_processes`)


def _start_worker(url: str | None) -> None:
    _WORKER_BACKEND.append(Backend(url))


def _check_in_worker(file: FsPath) -> _Checked:
    return _check_file(file, _WORKER_BACKEND[0])


def _in_processes(files: list[FsPath], url: str | None, jobs: int) -> list[_Checked]:
    """`_check_file` of every file, spread over `jobs` processes, in the order of `files`."""
    chunk = max(1, min(16, len(files) // (jobs * 4)))
    with ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(url,)) as pool:
        return list(pool.map(_check_in_worker, files, chunksize=chunk))


def verify_bytes(data: bytes, source: str, default_id: str, backend: Backend) -> Loaded:
    """Everything `tutor check` says about one file's content: loaded, then (if it loads) executed.

    The site serves a version of a lesson only when this finds no problem.
    """
    loaded = load_bytes(data, source, default_id)
    if loaded.lesson is not None:
        check_lesson(loaded.lesson, loaded, backend)
    return loaded


def _id_part(loaded: Loaded) -> Loaded:
    """A loaded lesson cut to the positions of its id and builds_on, all that the checks across files read.

    Checking a thousand files must not hold a thousand parse trees until the end: the garbage
    collector walks all of them again and again (a third of the time, measured).
    """
    located = loaded.located
    if located is None:
        return Loaded(loaded.source, None, [])
    kept = {path: at for path, at in located.values.items() if not path or path[0] in ("id", "builds_on")}
    keys = {path: at for path, at in located.keys.items() if path[0] in ("id", "builds_on")}
    return Loaded(loaded.source, None, [], Located(None, kept, keys))


def _builds_on_problems(sound: list[tuple[FsPath, Loaded, tuple[str, ...]]], seen: dict[str, str]) -> list[Problem]:
    """A lesson may build only on lessons that exist: checked ones, or ones in its own folder.

    The folder counts so that checking one file alone (`tutor check lessons/rq.yaml`) still finds the
    lessons it builds on; those are loaded, not executed.
    """
    found: list[Problem] = []
    folders: dict[FsPath, set[str]] = {}
    for file, loaded, builds_on in sound:
        if file.parent not in folders:
            others = (load_file(path).lesson for path in lesson_files([file.parent]))
            folders[file.parent] = {lesson.id for lesson in others if lesson is not None}
        known = set(seen) | folders.get(file.parent, set())
        for index, other in enumerate(builds_on):
            if other not in known:
                message = messages.UNKNOWN_BUILDS_ON.format(id=other, known=", ".join(sorted(known)))
                loaded.problem(("builds_on", index), message)
                found.append(loaded.problems[-1])
    return found


def check_lesson(lesson: Lesson, loaded: Loaded, backend: Backend) -> list[Problem]:
    """Execute every step-through of a loaded lesson and compare expectations and quiz answers."""
    return _judge(lesson, loaded, _run_all(lesson, backend))


def _run_all(lesson: Lesson, backend: Backend) -> dict[str, dict[str, Any]]:
    return {walk.slug: engine.run(walk, backend, lesson.id) for walk in lesson.step_throughs}


def _check_on_both(lesson: Lesson, loaded: Loaded, first: Backend, second: Backend) -> list[Problem]:
    """Check on two backends: problems found on one only say so, and where the traces part, the
    backend that disagrees with real Redis (the judge) is named with both values."""
    traces = [_run_all(lesson, first), _run_all(lesson, second)]
    found = [_judge(lesson, Loaded(loaded.source, lesson, [], loaded.located), t) for t in traces]
    names = [_label_of(first), _label_of(second)]
    out = [p for p in found[0] if p in found[1]]
    for mine, theirs, name in ((found[0], found[1], names[0]), (found[1], found[0], names[1])):
        out.extend(
            replace(p, message=messages.ONLY_ON.format(message=p.message, name=name)) for p in mine if p not in theirs
        )
    real = 0 if first.url else 1
    for walk in lesson.step_throughs:
        difference = _first_difference(traces[real][walk.slug], traces[1 - real][walk.slug])
        if difference is not None:
            index, what, judged, other = difference
            loaded.problem(
                walk.steps[index].path,
                messages.BACKENDS_DISAGREE.format(
                    step=index + 1,
                    what=what,
                    real=names[real],
                    real_value=judged,
                    other=names[1 - real],
                    other_value=other,
                ),
            )
            out.append(loaded.problems[-1])
    return out


def _label_of(backend: Backend) -> str:
    return "Redis" if backend.url else "fakeredis"


def _first_difference(judge: dict[str, Any], other: dict[str, Any]) -> tuple[int, str, str, str] | None:
    """The first step where two traces of one step-through differ: (index, what, judge's, other's)."""
    for index, (mine, theirs) in enumerate(zip(judge["steps"], other["steps"], strict=True)):
        reply_a, reply_b = _shown_reply(mine), _shown_reply(theirs)
        if reply_a != reply_b:
            return index, "the reply", reply_a, reply_b
        for key, state in mine["state"].items():
            if state["py"] != theirs["state"].get(key, {}).get("py"):
                return index, f"the state of '{key}'", state["py"], theirs["state"].get(key, {}).get("py", "?")
        for name, value in mine["variables"].items():
            if value["py"] != theirs["variables"].get(name, {}).get("py"):
                return index, f"variable {name}", value["py"], theirs["variables"].get(name, {}).get("py", "?")
        events_a = [(e.get("actor"), (e.get("reply") or {}).get("py")) for e in mine.get("events", [])]
        events_b = [(e.get("actor"), (e.get("reply") or {}).get("py")) for e in theirs.get("events", [])]
        if events_a != events_b:
            return index, "what blocked actors received", repr(events_a), repr(events_b)
    return None


def _shown_reply(record: dict[str, Any]) -> str:
    """A step's outcome in words: blocked, the error 'X', or the reply as the table shows it."""
    if record["status"] == "blocked":
        return "blocked"
    reply = record["reply"] or {}
    if record["status"] == "error":
        return f"the error {reply.get('py', '')!r}"
    return str(reply.get("py", "None"))


def _judge(lesson: Lesson, loaded: Loaded, traces: dict[str, dict[str, Any]]) -> list[Problem]:
    """Compare a lesson's expectations and quiz answers with its executed traces."""
    before = len(loaded.problems)
    for walk in lesson.step_throughs:
        for step, record in zip(walk.steps, traces[walk.slug]["steps"], strict=True):
            message = step_problem(step, record)
            if message:
                where = (*step.path, "expect") if step.has_expect else step.path
                if record["status"] == "error" and not step.has_expect:
                    where = (*step.path, "redis" if step.argv is not None else "python")
                loaded.problem(where, message)
        for question in walk.quiz:
            _check_answer(question, walk.slug, traces, loaded)
    if lesson.performance:
        for question in lesson.performance.quiz:
            _check_answer(question, None, traces, loaded)
    return loaded.problems[before:]


def step_problem(step: Step, record: dict[str, Any]) -> str | None:
    """What is wrong with one executed step, or None when it did what the author said.

    Every mismatch names the expectation as well as what happened, so the fix is obvious.
    """
    status = record["status"]
    reply = record["reply"]
    python = step.python is not None
    if status == "error":
        error = reply["value"]
        if step.has_expect and _error_matches(step.expect, error):
            return None
        if step.has_expect and record.get("error_source") in ("redis", "python"):
            wanted = _expected_error(step.expect)
            if wanted is not None:
                template = messages.EXPECT_ERROR_OTHER_PYTHON if python else messages.EXPECT_ERROR_OTHER
                return template.format(expected=wanted, actual=error)
            template = messages.EXPECT_VALUE_GOT_ERROR_PYTHON if python else messages.EXPECT_VALUE_GOT_ERROR
            return template.format(expected=py_repr(step.expect), actual=error)
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
    wanted = _expected_error(step.expect)
    expected = f"error {wanted!r}" if wanted is not None else py_repr(step.expect)
    if status == "blocked":
        return messages.EXPECT_NOT_BLOCKED.format(expected=expected)
    if reply is None:
        return None
    if wanted is None and _reply_matches(step.expect, reply):
        return None
    template = messages.EXPECT_MISMATCH_PYTHON if python else messages.EXPECT_MISMATCH
    return template.format(expected=expected, actual=reply["py"])


def _expected_error(expect: Any) -> str | None:
    """The error text an `{error: TEXT}` expectation names, else None."""
    if isinstance(expect, dict) and isinstance(expect.get("error"), str):
        return str(expect["error"])
    return None


_ERR = ("(error) ", "ERR ")


def _error_matches(expect: Any, error: str) -> bool:
    """An error matches an expectation that is its start, with or without redis-cli's "(error) ERR ".

    redis-py drops the generic "ERR " code from Redis's message ("ERR value is not an integer..."
    reaches the lesson as "value is not an integer..."), and redis-cli shows "(error) " before it,
    so an author may copy the message from either.
    """
    wanted = _expected_error(expect)
    if wanted is None:
        if not isinstance(expect, str):
            return False
        wanted = expect
    for prefix in _ERR:
        if wanted.startswith(prefix) and not error.startswith(prefix):
            wanted = wanted[len(prefix) :]
    return bool(wanted) and error.startswith(wanted)


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
