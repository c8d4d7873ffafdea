"""Where a step click's CPU goes: the click timed as served, then with each part switched off in turn.

    .venv/bin/python bench/click_parts.py [--step 20] [--clicks 300]

In one process (test client, embedded default, SQLite progress), on async-flask. Each line switches
one more part off (cumulatively), so the difference between two lines is what that part costs.
Median CPU time of the thread per request, beside a Flask hello-world. Figures only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from step_vs_hello import CLICK, hello_app, skip_predictions, tutor_app

from tutor import console_views, progress, quiz_views
from tutor.quiz import Hold

BASE = "/lessons/async-flask/step-through"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=300)
    args = parser.parse_args()
    app = tutor_app(Path(tempfile.mkdtemp(prefix="tutor-bench-")), None)
    client, hello = app.test_client(), hello_app().test_client()
    skip_predictions(client, BASE, 26)

    def run(label: str, headers: dict[str, str]) -> None:
        for _ in range(30):
            client.get(f"{BASE}?step={args.step}", headers=headers)
        clicks, hellos = [], []
        for i in range(args.clicks):
            start = time.thread_time()
            client.get(f"{BASE}?step={args.step - i % 3}", headers=headers)
            clicks.append(time.thread_time() - start)
            start = time.thread_time()
            hello.get("/")
            hellos.append(time.thread_time() - start)
        click, base = statistics.median(clicks) * 1000, statistics.median(hellos) * 1000
        print(f"{label:40s} click {click:.3f} ms CPU   hello-world {base:.3f} ms   ratio {click / base:.1f}x")

    plain = {"HX-Request": "true"}
    run("as served (gzip accepted)", CLICK)
    run("without gzip", plain)
    progress.SqlStore.record_step = lambda self, *a: None  # type: ignore[method-assign]
    run("  and without the step upsert", plain)

    def no_prediction(lesson: Any, walk: Any, who: str, step: int) -> tuple[Hold, dict[str, Any]]:
        return Hold(step=step), {}

    quiz_views.predictions = no_prediction
    run("  and without reading answers", plain)
    console_views.saved = lambda *args: []
    run("  and without reading the own run", plain)


if __name__ == "__main__":
    main()
