"""What `SETRANGE queue 536870911 x` costs the app (and Redis) through the console: it must be ~nothing.

    .venv/bin/python bench/setrange_memory.py [--redis-url redis://127.0.0.1:6379/0] [--times 20]

Sends the command through the console form (Flask test client) --times times on the embedded
default, or on REDIS_URL, and prints: the HTTP status of each answer, the app's resident memory
(RSS, from /proc/self/statm) and its peak (ru_maxrss) before and after, the server time per request,
and, on a real Redis, used_memory before and after. Before the limits, one such command took the
app to 3.2 GB and Redis to 1.1 GiB; the target is under 50 MB of growth for the app.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

import redis

from tutor import create_app

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = "/lessons/redis-broker/step-through/console"
PAGE = "/lessons/redis-broker/step-through?step=3"


def rss_mb() -> float:
    """The process's resident memory now, in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TUTOR_LESSONS": str(ROOT / "lessons"),
                "TUTOR_DATABASE": str(Path(tmp) / "bench.sqlite3"),
                "SECRET_KEY": "bench",
                "REDIS_URL": args.redis_url,
            }
        )
        client = app.test_client()
        match = re.search(r'name="csrf" value="([^"]+)"', client.get(PAGE).get_data(as_text=True))
        assert match, "no console form on the step page"
        data = {"csrf": match.group(1), "step": "3", "actor": "producer", "command": "SETRANGE queue 536870911 x"}
        server = redis.Redis.from_url(args.redis_url) if args.redis_url else None
        redis_before = int(server.info("memory")["used_memory"]) if server else None
        rss_before, peak_before = rss_mb(), peak_mb()
        statuses: collections.Counter[int] = collections.Counter()
        times_ms = []
        for _ in range(args.times):
            start = time.perf_counter()
            response = client.post(CONSOLE, data=data, headers={"HX-Request": "true"})
            times_ms.append((time.perf_counter() - start) * 1000)
            statuses[response.status_code] += 1
        rss_after, peak_after = rss_mb(), peak_mb()
        print(f"backend: {'redis ' + args.redis_url if args.redis_url else 'embedded fakeredis'}")
        print(f"answers: {dict(statuses)} over {args.times} requests")
        print(f"app RSS: {rss_before:.1f} MB -> {rss_after:.1f} MB (growth {rss_after - rss_before:+.1f} MB)")
        print(f"app peak RSS: {peak_before:.1f} MB -> {peak_after:.1f} MB (growth {peak_after - peak_before:+.1f} MB)")
        print(f"server time per request: median {statistics.median(times_ms):.1f} ms, max {max(times_ms):.1f} ms")
        if server is not None and redis_before is not None:
            redis_after = int(server.info("memory")["used_memory"])
            print(f"Redis used_memory: {redis_before / 1e6:.2f} MB -> {redis_after / 1e6:.2f} MB")
        app.extensions["tutor.backend"].close()


if __name__ == "__main__":
    main()
