"""What one progress write costs: the step-reached upsert a click makes, on SQLite and (if given) PostgreSQL.

    .venv/bin/python bench/progress_write.py [--postgres postgresql+psycopg://...] [--writes 2000]

Prints the mean and p99 wall time and the mean CPU time of the calling thread per write, through
one kept connection in autocommit (as a request holds it: one statement, no BEGIN or COMMIT). For
comparison it also times the old ways: a new SQLite connection per call (default synchronous=FULL),
and on PostgreSQL what a click did before this store (a pool checkout with pre-ping, BEGIN, the
upsert, COMMIT). A PostgreSQL started by tests/pg_cluster.py runs with fsync off: its wall times
include no disk flush and are not production ones; the CPU times are.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import case, create_engine
from sqlalchemy.dialects import postgresql

from tutor import db
from tutor.progress import SqlStore


def _time(write: object, count: int) -> tuple[list[float], float]:
    """Wall time of each write, and the mean CPU time of this thread per write."""
    times = []
    cpu = time.thread_time()
    for step in range(count):
        start = time.perf_counter()
        write(step)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return times, (time.thread_time() - cpu) / count


def _show(label: str, measured: tuple[list[float], float]) -> None:
    times, cpu = measured
    ordered = sorted(times)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"{label:52s} mean {statistics.mean(times) * 1e3:6.3f} ms   p99 {p99 * 1e3:6.3f} ms   "
        f"CPU {cpu * 1e3:6.3f} ms   ({len(times)} writes)"
    )


def _old_postgres(url: str) -> Callable[[int], None]:
    """A click's write as it was: a pre-pinged checkout, then the Core upsert in a transaction."""
    engine = create_engine(db.normalise_url(url), pool_pre_ping=True)
    t = db.steps
    statement = postgresql.insert(t)
    statement = statement.on_conflict_do_update(
        index_elements=["learner", "lesson", "walkthrough"],
        set_={
            "current": statement.excluded.current,
            "furthest": case(
                (statement.excluded.furthest > t.c.furthest, statement.excluded.furthest), else_=t.c.furthest
            ),
            "updated": statement.excluded.updated,
        },
    )

    def write(step: int) -> None:
        with engine.connect() as connection, connection.begin():
            values = {"learner": "bench-old", "lesson": "redis-broker", "walkthrough": "main", "updated": time.time()}
            connection.execute(statement, {**values, "current": step % 7, "furthest": step % 7})

    return write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL URL to time as well")
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tutor-bench-"))
    urls = [("SQLite (WAL, synchronous=NORMAL), one connection", db.sqlite_url(folder / "new.sqlite3"))]
    if args.postgres:
        urls.append(("PostgreSQL, one connection", args.postgres))
    for label, url in urls:
        engine = db.make_engine(url)
        db.upgrade(engine)
        store = SqlStore(engine, keep=True)
        _show(label, _time(partial(store.record_step, "bench-learner", "redis-broker", "main"), args.writes))
        store.close()
        engine.dispose()
    if args.postgres:
        _show("before: PostgreSQL, pre-ping, BEGIN, upsert, COMMIT", _time(_old_postgres(args.postgres), args.writes))

    old = folder / "old.sqlite3"
    with sqlite3.connect(old) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(
            "CREATE TABLE steps (learner TEXT, lesson TEXT, walkthrough TEXT, current INTEGER, furthest INTEGER,"
            " updated REAL, PRIMARY KEY (learner, lesson, walkthrough))"
        )

    def old_write(step: int) -> None:
        connection = sqlite3.connect(old, timeout=10)
        try:
            with connection:
                connection.execute(
                    "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (learner, lesson, walkthrough) DO UPDATE"
                    " SET current = excluded.current, furthest = max(furthest, excluded.furthest)",
                    ("bench-learner", "redis-broker", "main", step % 7, step % 7, time.time()),
                )
        finally:
            connection.close()

    _show("before: SQLite, a new connection per write", _time(old_write, args.writes))


if __name__ == "__main__":
    main()
