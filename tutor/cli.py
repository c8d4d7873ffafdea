"""The `tutor` command: check lessons, print a trace, print the lesson schema, see quiz results, migrate."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import redis

from tutor import engine, instructor_cli, messages
from tutor.backend import Backend
from tutor.checker import PARALLEL_FROM, check_paths, lesson_files
from tutor.loader import load_file
from tutor.paths import data_dir
from tutor.render import text_table
from tutor.schema import LESSON_SCHEMA


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of `python -m tutor`."""
    parser = argparse.ArgumentParser(prog="tutor", description=__doc__)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"), help="run on this Redis")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="load, validate and execute lessons")
    check.add_argument("paths", nargs="*", default=[_lessons_folder()])
    check.add_argument(
        "--both", action="store_true", help="run on the embedded fakeredis and on the real Redis, and compare"
    )
    check.add_argument("--redis-url", default=argparse.SUPPRESS, help="the real Redis (default: REDIS_URL)")
    check.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        help=f"processes to check in, from {PARALLEL_FROM} files on (default 0: one per core; 1: this one only)",
    )
    trace = sub.add_parser("trace", help="print a lesson's executed table, or its trace as JSON")
    trace.add_argument("lesson_id")
    trace.add_argument("--json", action="store_true", help="print the trace as JSON")
    trace.add_argument("--walkthrough", help="slug of the step-through (default: the first)")
    trace.add_argument("--lessons", default=_lessons_folder())
    sub.add_parser("schema", help="print the lesson JSON Schema")
    results = sub.add_parser("results", help="quiz results per question and per learner")
    results.add_argument("--lesson", help="only this lesson id")
    results.add_argument("--csv", help="also write the per-learner scores to this CSV file")
    results.add_argument("--lessons", default=_lessons_folder())
    results.add_argument("--database-url", help="progress database (default: DATABASE_URL, else TUTOR_DATABASE)")
    database = sub.add_parser("db", help="the progress database's schema")
    database.add_argument("action", choices=["upgrade", "current"], help="migrate to the newest schema, or show it")
    database.add_argument("--database-url", help="progress database (default: DATABASE_URL, else TUTOR_DATABASE)")
    instructor_cli.add_parser(sub)
    args = parser.parse_args(argv)

    if args.command == "schema":
        print(json.dumps(LESSON_SCHEMA, indent=2))
        return 0
    if args.command == "db":
        return _db(args.action, args.database_url)
    if args.command == "instructor":
        return instructor_cli.run(args)
    if args.command == "check" and args.both:
        if not args.redis_url:
            print(messages.BOTH_NEEDS_REDIS, file=sys.stderr)
            return 2
        try:
            return _check_both(args.paths, args.redis_url)
        except redis.exceptions.ConnectionError:
            return _unreachable(args.redis_url)
    backend = Backend(args.redis_url)
    try:
        if args.command == "check":
            return _check(args.paths, backend, jobs=args.jobs if args.jobs > 0 else os.cpu_count() or 1)
        if args.command == "trace":
            return _trace(args, backend)
        from tutor.results import report

        return report(args)
    except redis.exceptions.ConnectionError:
        return _unreachable(args.redis_url)
    finally:
        backend.close()


def _unreachable(url: str) -> int:
    """No traceback for a Redis that is not there: say which, and exit 2."""
    print(messages.CLI_REDIS_UNREACHABLE.format(url=url), file=sys.stderr)
    return 2


def _lessons_folder() -> str:
    return os.environ.get("TUTOR_LESSONS") or str(data_dir("lessons"))


def _db(action: str, url: str | None) -> int:
    """`tutor db upgrade`: bring the schema to the newest revision; `tutor db current`: say where it is."""
    from tutor import db
    from tutor.results import database_url
    from tutor.urls import mask

    target = database_url(url)
    engine = db.make_engine(target)
    try:
        before = db.current(engine)
        if action == "current":
            print(f"{mask(target)}: revision {before or 'none'} (newest: {db.head()})")
            return 0
        after = db.upgrade(engine)
        print(f"{mask(target)}: revision {before or 'none'} -> {after}")
        return 0
    finally:
        engine.dispose()


def _check_both(paths: list[str], url: str) -> int:
    embedded, real = Backend(), Backend(url)
    try:
        return _check(paths, embedded, real)
    finally:
        embedded.close()
        real.close()


def _check(paths: list[str], backend: Backend, other: Backend | None = None, jobs: int = 1) -> int:
    problems = check_paths(paths, backend, other, jobs)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


def _trace(args: argparse.Namespace, backend: Backend) -> int:
    """Trace the lesson file as it is now (not the version the site serves): the instructor's view."""
    loaded = [load_file(file) for file in lesson_files([args.lessons])] if Path(args.lessons).is_dir() else []
    lesson = next((item.lesson for item in loaded if item.lesson and item.lesson.id == args.lesson_id), None)
    if lesson is None:
        found = sorted((item.lesson for item in loaded if item.lesson), key=lambda item: (item.order, item.title))
        known = ", ".join(item.id for item in found) or "none"
        print(f"no lesson '{args.lesson_id}' (lessons: {known})", file=sys.stderr)
        for item in loaded:
            for problem in item.problems:
                print(problem, file=sys.stderr)
        return 1
    walk = lesson.step_through(args.walkthrough)
    if walk is None:
        print(f"lesson '{lesson.id}' has no step-through '{args.walkthrough}'", file=sys.stderr)
        return 1
    trace = engine.run(walk, backend, lesson.id)
    print(json.dumps(trace, indent=2, ensure_ascii=False) if args.json else text_table(trace))
    return 0
