"""In which order do two gathered redis.asyncio tasks' commands reach Redis? Count it.

Runs the async-flask lesson's own sample view (`/product/p1`, two tasks gathered, each an LPUSH
then a BRPOP) against a throw-away `redis-server` on a free loopback port, under MONITOR, with
the two services of the sample as threads (tests/async_capture.py), and prints how often each
order of the view's four commands was seen, with the time one request took.

    .venv/bin/python bench/async_gather_order.py           # 100 requests
    .venv/bin/python bench/async_gather_order.py -n 300

Nothing is left behind: the server is stopped in `finally`, and every wait has a deadline.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from async_capture import capture, load_sample_app, wait_for  # noqa: E402  (shared with the fidelity test)

from tutor.loader import load_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="how many gathered requests (default 100)")
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        probe = redis.Redis(port=port)

        def up() -> bool:
            try:
                return bool(probe.ping())
            except redis.ConnectionError:
                return False

        wait_for(up, "redis-server to start")
        lesson = load_file(ROOT / "lessons" / "async-flask.yaml").lesson
        assert lesson is not None and lesson.step_throughs[0].sample is not None
        with tempfile.TemporaryDirectory() as workdir:
            app = load_sample_app(lesson.step_throughs[0].sample.code, "127.0.0.1", port, Path(workdir)).app
            orders: Counter[str] = Counter()
            took = []
            for _ in range(max(1, args.n)):
                start = time.perf_counter()
                run = capture(app, "127.0.0.1", port, "/product/p1")
                took.append(time.perf_counter() - start)
                orders[", ".join(f"{name} {key}" for name, key in run.view_order())] += 1
        print(f"redis-py {redis.__version__}, redis-server on port {port}, {args.n} gathered requests:")
        for order, count in orders.most_common():
            print(f"  {count:4} ({100 * count / args.n:3.0f} %)  {order}")
        took.sort()
        print(f"one request with its MONITOR bookkeeping: median {1000 * took[len(took) // 2]:.1f} ms")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
