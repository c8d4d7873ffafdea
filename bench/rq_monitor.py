"""Watch what a real `rq worker` and a Flask view that enqueues a job send to Redis.

Starts a throw-away `redis-server` on a free loopback port, a MONITOR connection on it, and a real
`rq worker` for the RQ lesson's own sample app (the Queue made in the app factory). The view enqueues
one job; once the worker waits again, a second request reads the result. Prints every command the
server saw, in order, with the side that sent it (worker, horse, web).

    .venv/bin/python bench/rq_monitor.py              # the capture
    .venv/bin/python bench/rq_monitor.py --jobs 200   # also: jobs/s for tiny jobs, forking or not

`--jobs N` enqueues N jobs that do nothing and times `rq worker --burst` draining them, with the
default Worker (a fork per job) and with SimpleWorker (no fork), and counts the commands per job.
Nothing is left behind: the server, the monitor and the workers are stopped, and every wait has a
deadline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
import rq_capture  # noqa: E402  (shared with the fidelity test)

from tutor.loader import load_file  # noqa: E402

NOOP_MODULE = """\
def nothing(n):
    return n
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def short(arg: str, width: int = 60) -> str:
    text = arg.encode("unicode_escape").decode("ascii")
    return text if len(text) <= width else text[: width - 1] + "…"


def print_capture(capture: rq_capture.Capture) -> None:
    first = next(c.index for c in capture.commands if c.argv[:2] == ("BLMOVE", rq_capture.QUEUE))
    print(f"# job {capture.job_id}; result view -> {capture.polled}")
    print("# (>> marks commands after the worker's first BLMOVE)")
    for c in capture.commands:
        marker = ">>" if c.index > first else "  "
        who = f"{capture.roles[c.client]}({c.client})"
        print(f"{marker} {c.stamp:.6f} {who:<24} " + " ".join(short(a) for a in c.argv))
    per_side: dict[str, int] = {}
    for c in capture.commands[first + 1 :]:
        if c.argv[:2] == ("BLMOVE", rq_capture.QUEUE):
            break
        per_side[capture.roles[c.client]] = per_side.get(capture.roles[c.client], 0) + 1
    print("# commands from the first BLMOVE to the next, by side:", per_side)


def throughput(url: str, workdir: Path, jobs: int, worker_class: str, timeout: float) -> tuple[float, int]:
    """Seconds for `rq worker --burst` to drain `jobs` no-op jobs, and the commands Redis processed."""
    from rq import Queue

    (workdir / "noop.py").write_text(NOOP_MODULE, encoding="utf-8")
    sys.path.insert(0, str(workdir))
    import noop

    connection = redis.Redis.from_url(url)
    connection.flushall()
    queue = Queue("default", connection=connection)
    for n in range(jobs):
        queue.enqueue(noop.nothing, n)
    before = int(connection.info("stats")["total_commands_processed"])
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", url, "-w", worker_class, "default"],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    after = int(connection.info("stats")["total_commands_processed"])
    left = queue.count
    connection.close()
    assert left == 0, f"{left} jobs left in the queue"
    return elapsed, after - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--jobs", type=int, default=0, help="also time N no-op jobs (bounded to 5000)")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server not found", file=sys.stderr)
        return 2
    loaded = load_file(rq_capture.LESSON)
    assert loaded.lesson is not None, loaded.problems
    walk = loaded.lesson.step_through()
    assert walk is not None and walk.sample is not None

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    workdir = Path(tempfile.mkdtemp(prefix="rq-monitor-"))
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        probe = redis.Redis.from_url(url, socket_timeout=2)

        def pong() -> bool:
            try:
                return bool(probe.ping())
            except redis.ConnectionError:
                return False

        rq_capture.wait_for(pong, "redis-server to answer PING", 10)
        probe.close()
        capture = rq_capture.run(walk.sample.code, "127.0.0.1", port, workdir, timeout=args.timeout)
        print_capture(capture)
        jobs = min(args.jobs, 5000)
        if jobs:
            for worker_class in ("rq.Worker", "rq.SimpleWorker"):
                seconds, commands = throughput(url, workdir, jobs, worker_class, args.timeout * 10)
                print(
                    f"# {worker_class}: {jobs} no-op jobs in {seconds:.2f} s = {jobs / seconds:.0f} jobs/s, "
                    f"{commands / jobs:.1f} commands per job (worker start-up included)"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
