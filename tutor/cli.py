"""The `tutor` command: check lessons, print a trace, print the lesson schema, see quiz results, migrate."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import redis

from tutor import engine, messages
from tutor.backend import Backend
from tutor.checker import check_paths
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
    args = parser.parse_args(argv)

    if args.command == "schema":
        print(json.dumps(LESSON_SCHEMA, indent=2))
        return 0
    if args.command == "db":
        return _db(args.action, args.database_url)
    backend = Backend(args.redis_url)
    try:
        if args.command == "check":
            return _check(args.paths, backend)
        if args.command == "trace":
            return _trace(args, backend)
        from tutor.results import report

        return report(args)
    except redis.exceptions.ConnectionError:
        print(messages.CLI_REDIS_UNREACHABLE.format(url=args.redis_url), file=sys.stderr)
        return 2
    finally:
        backend.close()


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


def _check(paths: list[str], backend: Backend) -> int:
    problems = check_paths(paths, backend)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


def _trace(args: argparse.Namespace, backend: Backend) -> int:
    from tutor.catalog import Catalog

    catalog = Catalog(args.lessons)
    lesson = catalog.get(args.lesson_id)
    if lesson is None:
        lessons, broken = catalog.state()
        known = ", ".join(item.id for item in lessons) or "none"
        print(f"no lesson '{args.lesson_id}' (lessons: {known})", file=sys.stderr)
        for item in broken:
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
