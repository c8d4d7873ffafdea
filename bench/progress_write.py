"""What one progress write costs: the step-reached upsert a click makes, on SQLite and (if given) PostgreSQL.

    .venv/bin/python bench/progress_write.py [--postgres postgresql+psycopg://...] [--writes 2000]

Prints the mean and p99 per write through one kept connection (as a request holds it). For
comparison it also times the old way (a new SQLite connection per call, default synchronous=FULL).
A PostgreSQL started by tests/pg_cluster.py runs with fsync off: its figure is not a production one.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from tutor import db
from tutor.progress import SqlStore


def _time(write: object, count: int) -> list[float]:
    times = []
    for step in range(count):
        start = time.perf_counter()
        write(step)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return times


def _show(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(f"{label:48s} mean {statistics.mean(times) * 1e3:6.3f} ms   p99 {p99 * 1e3:6.3f} ms   ({len(times)} writes)")


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
