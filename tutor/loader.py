"""Read a lesson file into a validated `Lesson`, or into precise `file:line:col` problems.

A broken file must never stop the site, so loading never raises: it returns the problems, all of
them, each tied to the position of the field it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from tutor import messages
from tutor.commands import CommandError, parse_cli, spec_for
from tutor.crossrefs import check_prediction, check_watch, sample_line
from tutor.limits import LIMITS
from tutor.model import (
    AnswerFrom,
    Choice,
    Code,
    Correction,
    KeyMoment,
    Lesson,
    Performance,
    Question,
    Side,
    Step,
    StepThrough,
)
from tutor.pysteps import PythonStepError, compile_step, initial_value
from tutor.schema import LESSON_SCHEMA
from tutor.validation import schema_problems
from tutor.yamlpos import Located, Path, Position, YamlSyntaxError, format_path, load

_ID = re.compile(LESSON_SCHEMA["properties"]["id"]["pattern"])


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lesson file, where it is and what to do."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.col}: {where}{self.message}"


@dataclass
class Loaded:
    """The result of loading one file: a lesson when it is sound, and every problem found."""

    source: str
    lesson: Lesson | None
    problems: list[Problem]
    located: Located | None = None

    def problem(self, path: Path, message: str) -> None:
        """Record a problem at the position of `path` in this file."""
        position = self.located.key_at(path) if self.located else Position(1, 1)
        self.problems.append(Problem(self.source, position.line, position.col, _label(path), message))


def _label(path: Path) -> str:
    """The field path, with '(step N)' for steps so authors need not count from zero."""
    text = format_path(path) if path else ""
    if "key_moments" in path or "quiz" in path:
        return text
    if len(path) >= 2 and path[-2] == "steps" and isinstance(path[-1], int):
        text += f" (step {path[-1] + 1})"
    elif len(path) >= 3 and path[-3] == "steps" and isinstance(path[-2], int):
        text += f" (step {path[-2] + 1})"
    return text


def read_bounded(file: FsPath) -> bytes:
    """The file's bytes, at most one byte more than a lesson may have (so a huge file is never read whole)."""
    with file.open("rb") as handle:
        return handle.read(LIMITS.file_bytes + 1)


def load_file(file: FsPath, display: str | None = None) -> Loaded:
    """Load and validate one lesson file."""
    source = display or str(file)
    try:
        size = file.stat().st_size
        if size > LIMITS.file_bytes:
            message = messages.FILE_TOO_LARGE.format(size=f"{size:,}", limit=f"{LIMITS.file_bytes:,}")
            return Loaded(source, None, [Problem(source, 1, 1, "", message)])
        data = read_bounded(file)
    except OSError as error:
        return Loaded(source, None, [Problem(source, 1, 1, "", f"cannot read the file: {error}")])
    return load_bytes(data, source, default_id=file.stem)


def load_bytes(data: bytes, source: str, default_id: str) -> Loaded:
    """Load and validate a lesson from the bytes of its file."""
    if len(data) > LIMITS.file_bytes:
        message = messages.FILE_TOO_LARGE.format(
            size=f"more than {LIMITS.file_bytes:,}", limit=f"{LIMITS.file_bytes:,}"
        )
        return Loaded(source, None, [Problem(source, 1, 1, "", message)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Loaded(source, None, [Problem(source, 1, 1, "", f"cannot read the file: {error}")])
    return load_text(text, source, default_id)


def load_text(text: str, source: str, default_id: str) -> Loaded:
    """Load and validate a lesson from its YAML text."""
    result = _load_text(text, source, default_id)
    if len(result.problems) > LIMITS.problems_per_file:
        rest = len(result.problems) - LIMITS.problems_per_file
        last = result.problems[LIMITS.problems_per_file - 1]
        result.problems = result.problems[: LIMITS.problems_per_file]
        result.problems.append(Problem(source, last.line, last.col, "", messages.TOO_MANY_PROBLEMS.format(count=rest)))
    return result


def _load_text(text: str, source: str, default_id: str) -> Loaded:
    if len(text.encode("utf-8")) > LIMITS.file_bytes:
        size = f"{len(text.encode('utf-8')):,}"
        message = messages.FILE_TOO_LARGE.format(size=size, limit=f"{LIMITS.file_bytes:,}")
        return Loaded(source, None, [Problem(source, 1, 1, "", message)])
    try:
        located = load(text)
    except YamlSyntaxError as error:
        position = error.position
        return Loaded(source, None, [Problem(source, position.line, position.col, "", str(error))])
    result = Loaded(source, None, [], located)
    for path, position, message in located.problems:
        result.problems.append(Problem(source, position.line, position.col, _label(path), message))
    for path, position in located.duplicates:
        result.problems.append(
            Problem(
                source,
                position.line,
                position.col,
                _label(path),
                messages.DUPLICATE_FIELD.format(name=path[-1]),
            )
        )
    if not isinstance(located.value, dict):
        result.problem((), messages.NOT_A_MAPPING)
        return result
    read_differently = {path for path, _, _ in located.problems}
    for path, message in schema_problems(located.value):
        if path in read_differently:
            continue  # already reported: the value's YAML reading, the cause of this schema problem
        position = located.key_at(path)
        result.problems.append(Problem(source, position.line, position.col, _label(path), message))
    if result.problems:
        _best_effort_checks(located.value, source, default_id, result)
        result.problems.sort(key=lambda p: (p.line, p.col))
        return result
    lesson = _build(located.value, source, default_id, result)
    if not result.problems:
        result.lesson = lesson
    result.problems.sort(key=lambda p: (p.line, p.col))
    return result


def _best_effort_checks(data: dict[str, Any], source: str, default_id: str, result: Loaded) -> None:
    """Report the reference problems (unknown actor, bad command...) of a file that also has
    structure problems, so an author sees all of them in one run. Parts whose structure is wrong
    are skipped: their problems are already reported and anything said about them would be noise.
    """
    reported = [p.path.split(" (step")[0] for p in result.problems]
    scratch = Loaded(source, None, [], result.located)
    try:
        _build(data, source, default_id, scratch)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        return  # the structure is too broken to say more than the schema did
    for problem in scratch.problems:
        path = problem.path.split(" (step")[0]
        if not any(path.startswith(bad) or bad.startswith(path) for bad in reported if bad):
            result.problems.append(problem)


def _build(data: dict[str, Any], source: str, default_id: str, result: Loaded) -> Lesson:
    raw_walks = data.get("step_through")
    walk_paths: list[tuple[Path, dict[str, Any]]] = []
    if isinstance(raw_walks, dict):
        walk_paths = [(("step_through",), raw_walks)]
    elif isinstance(raw_walks, list):
        walk_paths = [(("step_through", i), w) for i, w in enumerate(raw_walks)]
    walks = []
    slugs: set[str] = set()
    for index, (path, raw) in enumerate(walk_paths):
        slug = raw.get("slug") or ("main" if index == 0 else "")
        if slug in slugs:
            result.problem((*path, "slug"), messages.DUPLICATE_SLUG.format(slug=slug))
        slugs.add(slug)
        walks.append(_step_through(raw, path, slug, data["title"], result))
    performance = None
    if "performance" in data:
        performance = _performance(data["performance"], ("performance",), result)
    lesson_id = data.get("id", default_id)
    if "id" not in data and not _ID.fullmatch(default_id):
        result.problem((), messages.BAD_FILE_ID.format(stem=default_id))
    return Lesson(
        id=lesson_id,
        title=data["title"],
        source=source,
        framework=data.get("framework"),
        minutes=data.get("minutes"),
        summary=data.get("summary"),
        order=data.get("order", 0),
        builds_on=tuple(data.get("builds_on", ())),
        teaches=data.get("teaches"),
        step_throughs=tuple(walks),
        performance=performance,
    )


def _argv(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list):
        return tuple(_arg_text(a) for a in raw)
    return tuple(parse_cli(str(raw)))


def _arg_text(value: Any) -> str:
    """A YAML argument as Redis receives it: numbers written as redis-cli would type them."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _step_through(raw: dict[str, Any], path: Path, slug: str, title: str, result: Loaded) -> StepThrough:
    actors = tuple(raw["actors"])
    watch = tuple(raw.get("watch", ()))
    variables = tuple(raw.get("variables", ()))
    flow = tuple(raw.get("concept_flow", ()))
    sample = Code(**raw["sample"]) if "sample" in raw else None

    processes: dict[str, dict[str, Any]] = {}
    for actor, memory in raw.get("processes", {}).items():
        if actor not in actors:
            result.problem((*path, "processes", actor), _unknown_actor(actor, actors))
        processes[actor] = {}
        for name, value in memory.items():
            try:
                initial_value(value)
            except PythonStepError as error:
                result.problem((*path, "processes", actor, name), str(error))
            processes[actor][name] = value

    steps = []
    count = len(raw["steps"])
    for index, step_raw in enumerate(raw["steps"]):
        spath = (*path, "steps", index)
        line = sample_line(step_raw.get("line"), sample, (*spath, "line"), result.problem)
        steps.append(_step(step_raw, spath, actors, variables, processes, result, line))
        if isinstance(step_raw.get("stage"), int) and step_raw["stage"] > len(flow):
            result.problem(
                (*spath, "stage"),
                messages.STAGE_OUT_OF_RANGE.format(stage=step_raw["stage"], count=len(flow)),
            )
    check_watch(watch, steps, (*path, "watch"), result.problem)

    moments = []
    for index, moment in enumerate(raw.get("key_moments", ())):
        for j, step in enumerate(moment.get("steps", ())):
            _check_step_number(result, (*path, "key_moments", index, "steps", j), step, count)
        moments.append(KeyMoment(moment["question"], moment["answer"], tuple(moment.get("steps", ()))))

    quiz = _quiz(raw.get("quiz", ()), (*path, "quiz"), result, count, watch, variables, slug)
    return StepThrough(
        slug=slug,
        title=raw.get("title", title),
        path=path,
        actors=actors,
        steps=tuple(steps),
        minutes=raw.get("minutes"),
        summary=raw.get("summary"),
        concept_flow=flow,
        concept_note=raw.get("concept_note"),
        sample=sample,
        processes=processes,
        watch=watch,
        variables=variables,
        exit_note=raw.get("exit_note"),
        key_moments=tuple(moments),
        snapshot=raw.get("snapshot"),
        transcript=raw.get("transcript"),
        quiz=quiz,
    )


def _unknown_actor(name: str, actors: tuple[str, ...]) -> str:
    return messages.UNKNOWN_ACTOR.format(name=name, known=", ".join(actors))


def _check_step_number(result: Loaded, path: Path, step: int, count: int, allow_zero: bool = False) -> None:
    if not isinstance(step, int):
        return  # a structure problem, already reported
    if step > count or (step == 0 and not allow_zero):
        result.problem(path, messages.STEP_OUT_OF_RANGE.format(step=step, count=count))


def _step(
    raw: dict[str, Any],
    path: Path,
    actors: tuple[str, ...],
    variables: tuple[str, ...],
    processes: dict[str, dict[str, Any]],
    result: Loaded,
    line: int | None = None,
) -> Step:
    actor = raw["actor"]
    if actor not in actors:
        result.problem((*path, "actor"), _unknown_actor(actor, actors))
    argv = None
    if "redis" in raw:
        try:
            argv = _argv(raw["redis"])
            spec_for(argv)
        except CommandError as error:
            result.problem((*path, "redis"), str(error))
    python = raw.get("python")
    if python is not None:
        memory = processes.get(actor)
        if memory is None:
            result.problem((*path, "python"), messages.PYTHON_WITHOUT_PROCESS.format(name=actor))
        else:
            try:
                compile_step(python, set(memory))
            except PythonStepError as error:
                result.problem((*path, "python"), str(error))
    for name in ("crash", "restart"):
        if name in raw and raw[name] not in actors:
            result.problem((*path, name), _unknown_actor(raw[name], actors))
    assign = raw.get("assign")
    if assign is not None and assign not in variables:
        known = ", ".join(variables) or "none"
        result.problem((*path, "assign"), messages.UNKNOWN_VARIABLE.format(name=assign, known=known))
    return Step(
        actor=actor,
        action=raw["action"],
        path=path,
        argv=argv,
        python=python,
        note=raw.get("note"),
        assign=assign,
        expect=raw.get("expect"),
        has_expect="expect" in raw,
        wait=float(raw["wait"]) if isinstance(raw.get("wait"), int | float) else 0.0,
        line=line,
        stage=raw.get("stage"),
        crash=raw.get("crash"),
        restart=raw.get("restart"),
    )


def _quiz(
    raw: Any,
    path: Path,
    result: Loaded,
    step_count: int | None,
    watch: tuple[str, ...] = (),
    variables: tuple[str, ...] = (),
    slug: str | None = None,
) -> tuple[Question, ...]:
    questions = []
    for index, q in enumerate(raw):
        qpath = (*path, index)
        choices = tuple(
            Choice(text=str(c))
            if not isinstance(c, dict)
            else Choice(str(c["text"]), c.get("correct", False), c.get("feedback"))
            for c in q["choices"]
        )
        texts = [c.text for c in choices]
        for j, text in enumerate(texts):
            if text in texts[:j]:
                result.problem((*qpath, "choices", j), messages.QUIZ_DUPLICATE_CHOICE.format(text=text))
        if not any(c.correct for c in choices):
            result.problem((*qpath, "choices"), messages.QUIZ_NO_CORRECT)
        answer = None
        if "answer_from" in q:
            spec = q["answer_from"]
            apath = (*qpath, "answer_from")
            check_prediction(q, spec, apath, slug, result.problem)
            if step_count is not None and "walkthrough" not in spec:
                _check_step_number(result, (*apath, "step"), spec["step"], step_count, allow_zero=True)
                if "key" in spec and spec["key"] not in watch:
                    known = ", ".join(watch) or "none"
                    result.problem((*apath, "key"), messages.UNKNOWN_WATCH.format(name=spec["key"], known=known))
                if "variable" in spec and spec["variable"] not in variables:
                    known = ", ".join(variables) or "none"
                    result.problem(
                        (*apath, "variable"),
                        messages.UNKNOWN_VARIABLE.format(name=spec["variable"], known=known),
                    )
            answer = AnswerFrom(
                step=spec["step"],
                key=spec.get("key"),
                variable=spec.get("variable"),
                reply=spec.get("reply", False),
                walkthrough=spec.get("walkthrough"),
            )
        for field_name in ("hint_step", "ask_before_step"):
            if field_name in q and step_count is not None:
                _check_step_number(result, (*qpath, field_name), q[field_name], step_count)
        ask, hint_step = q.get("ask_before_step"), q.get("hint_step")
        if isinstance(ask, int) and isinstance(hint_step, int) and hint_step >= ask:
            result.problem((*qpath, "hint_step"), messages.PREDICTION_HINT_SHOWS_ANSWER.format(step=hint_step, ask=ask))
        questions.append(
            Question(
                prompt=q["prompt"],
                choices=choices,
                path=qpath,
                number=index + 1,
                hint=q.get("hint"),
                hint_step=q.get("hint_step"),
                explanation=q.get("explanation"),
                ask_before_step=q.get("ask_before_step"),
                answer_from=answer,
            )
        )
    return tuple(questions)


_LINK = re.compile(r"https?://\S")  # a correction's source must hold an address the learner can open


def _performance(raw: dict[str, Any], path: Path, result: Loaded) -> Performance:
    comparison = raw.get("comparison", {})
    columns = tuple(comparison.get("columns", ()))
    for index, row in enumerate(comparison.get("rows", ())):
        if len(row) != len(columns):
            result.problem(
                (*path, "comparison", "rows", index),
                f"a row needs {len(columns)} cells (one per column), got {len(row)}",
            )
    stage = raw.get("bottleneck_stage")
    stages = len(raw.get("pipeline", ()))
    if isinstance(stage, int) and stage > stages:
        result.problem(
            (*path, "bottleneck_stage"), messages.PIPELINE_STAGE_OUT_OF_RANGE.format(stage=stage, count=stages)
        )
    for index, correction in enumerate(raw.get("corrections", ())):
        if not _LINK.search(str(correction.get("source") or "")):
            result.problem((*path, "corrections", index, "source"), messages.CORRECTION_SOURCE_NO_LINK)
    check = raw.get("check", {})
    return Performance(
        impact=raw["impact"],
        scenario=raw["scenario"],
        bad=Side(**raw["bad"]),
        good=Side(**raw["good"]),
        path=path,
        minutes=raw.get("minutes"),
        affects=raw.get("affects"),
        columns=columns,
        rows=tuple(tuple(str(c) for c in row) for row in comparison.get("rows", ())),
        pipeline=tuple(raw.get("pipeline", ())),
        pipeline_note=raw.get("pipeline_note"),
        bottleneck=raw.get("bottleneck"),
        bottleneck_stage=raw.get("bottleneck_stage"),
        metric=raw.get("metric"),
        tips=tuple(raw.get("tips", ())),
        check_tool=check.get("tool"),
        check_how=check.get("how"),
        check_look_for=check.get("look_for"),
        corrections=tuple(Correction(**c) for c in raw.get("corrections", ())),
        quiz=_quiz(raw.get("quiz", ()), (*path, "quiz"), result, None),
    )
