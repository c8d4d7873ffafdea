"""Where a step click's CPU goes: the click timed as served, then with parts switched off in turn.

    .venv/bin/python bench/click_parts.py [--step 20] [--clicks 300]

In one process (test client, embedded default, SQLite progress), on async-flask. Each line switches
one more part off (cumulatively), so the difference between two lines is what that part costs.
Median CPU time of the thread per request, beside a Flask hello-world. It also counts the SQL
statements a click sends to the progress database (what the store costs besides CPU here), and
prints a full page the same way. Figures only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from step_vs_hello import CLICK, PAGE, hello_app, skip_predictions, tutor_app

from tutor import progress

BASE = "/lessons/async-flask/step-through"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=300)
    args = parser.parse_args()
    app = tutor_app(Path(tempfile.mkdtemp(prefix="tutor-bench-")), None)
    client, hello = app.test_client(), hello_app().test_client()
    skip_predictions(client, BASE, 26)
    statements = _count_statements(app)

    def run(label: str, headers: dict[str, str]) -> None:
        for _ in range(30):
            client.get(f"{BASE}?step={args.step}", headers=headers)
        clicks, hellos = [], []
        before = len(statements)
        for i in range(args.clicks):
            start = time.thread_time()
            client.get(f"{BASE}?step={args.step - i % 3}", headers=headers)
            clicks.append(time.thread_time() - start)
            start = time.thread_time()
            hello.get("/")
            hellos.append(time.thread_time() - start)
        sent = (len(statements) - before) / args.clicks
        click, base = statistics.median(clicks) * 1000, statistics.median(hellos) * 1000
        print(
            f"{label:44s} {click:.3f} ms CPU   hello-world {base:.3f} ms   ratio {click / base:.1f}x"
            f"   SQL statements per request {sent:.1f}"
        )

    run("full page (gzip accepted)", PAGE)
    run("click as served (gzip accepted)", CLICK)
    run("click without gzip", {k: v for k, v in CLICK.items() if k != "Accept-Encoding"})
    progress.SqlStore.record_step = lambda self, *a, **k: None  # type: ignore[method-assign]
    run("  and without the step upsert", {k: v for k, v in CLICK.items() if k != "Accept-Encoding"})


def _count_statements(app: Flask) -> list[str]:
    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement.split(None, 1)[0])

    event.listen(app.extensions["tutor.db"], "before_cursor_execute", note)
    return sent


if __name__ == "__main__":
    main()
