"""How long a step click takes, and how big its fragment is, on the embedded default or REDIS_URL.

    .venv/bin/python bench/step_click.py [--lesson redis-broker] [--clicks 300]

Prints median and 95th percentile server time per htmx step click (Flask test client: the whole
request, including executing the lesson's first k steps in a fresh isolated run), the fragment
size, and the peak Python memory a click allocates. Target: a click in a few milliseconds, a
fragment of a few kilobytes.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from tutor import create_app

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 10.0
TARGET_WIRE_BYTES = 8 * 1024
TARGET_PEAK_BYTES = 2 * 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lesson", default="redis-broker")
    parser.add_argument("--walkthrough", default=None)
    parser.add_argument("--clicks", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TUTOR_LESSONS": str(ROOT / "lessons"),
                "TUTOR_DATABASE": str(Path(tmp) / "bench.sqlite3"),
                "SECRET_KEY": "bench",
                "REDIS_URL": os.environ.get("REDIS_URL") or None,
            }
        )
        client = app.test_client()
        base = f"/lessons/{args.lesson}/step-through" + (f"/{args.walkthrough}" if args.walkthrough else "")
        lesson = app.extensions["tutor.catalog"].get(args.lesson)
        count = len(lesson.step_through(args.walkthrough).steps)
        headers = {"HX-Request": "true", "Accept-Encoding": "gzip"}
        client.get(base)  # warm up: lesson parsed, templates compiled, learner cookie set
        times, sizes, raw_sizes = [], [], []
        for i in range(args.clicks):
            step = i % (count + 1)
            start = time.perf_counter()
            response = client.get(f"{base}?step={step}", headers=headers)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
            sizes.append(len(response.data))
            raw_sizes.append(len(gzip.decompress(response.data)))
        tracemalloc.start()
        client.get(f"{base}?step={count}", headers=headers)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    times.sort()
    backend = "redis " + os.environ["REDIS_URL"] if os.environ.get("REDIS_URL") else "fakeredis (embedded)"
    print(f"backend: {backend}; lesson {args.lesson}, {count} steps, {args.clicks} clicks")
    print(f"step click: median {statistics.median(times):.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms")
    print(
        f"fragment on the wire (gzip): median {statistics.median(sizes) / 1024:.1f} KiB, "
        f"max {max(sizes) / 1024:.1f} KiB; uncompressed max {max(raw_sizes) / 1024:.1f} KiB"
    )
    print(f"peak Python memory for one click at the last step: {peak / 1024:.0f} KiB")
    verdicts = [
        ("median click under 10 ms", statistics.median(times) < TARGET_MS),
        ("fragment on the wire under 8 KiB", max(sizes) < TARGET_WIRE_BYTES),
        ("peak memory per click under 2 MiB", peak < TARGET_PEAK_BYTES),
    ]
    for name, ok in verdicts:
        print(f"target {name}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
