"""What the reliable-queue pattern costs on a real redis-server: LREM on long lists, and time per job.

Prints, for the reliable-queues lesson's pitfalls page:
- LREM key 1 <element> on lists of 1,000 / 100,000 / 1,000,000 elements, for the element at the far
  end from where the scan starts (count 1 scans from the head) and at the near end (median of a few
  runs each; Redis runs nothing else while one LREM scans);
- the time per job for one worker draining N queued jobs with BRPOP, and with BLMOVE into a
  processing list followed by LREM (one round trip per job, against two).

    .venv/bin/python bench/lrem_cost.py             # 10,000 jobs
    .venv/bin/python bench/lrem_cost.py -n 50000

A throw-away `redis-server` runs on a free loopback port and is stopped in `finally`; every wait has
a deadline.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import tempfile
import time

import redis

SIZES = (1_000, 100_000, 1_000_000)
REPEATS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, folder: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return server
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)  # polling for readiness, with a deadline


def fill(r: redis.Redis, key: str, n: int) -> None:
    r.delete(key)
    pipe = r.pipeline(transaction=False)
    for start in range(0, n, 10_000):
        pipe.lpush(key, *[f"email:{i}" for i in range(start, min(n, start + 10_000))])
    pipe.execute()


def lrem_ms(r: redis.Redis, n: int, far: bool) -> float:
    """Median ms of LREM processing 1 <element>, the element put back after each run."""
    times = []
    for _ in range(REPEATS):
        fill(r, "processing", n)
        element = "email:0" if far else f"email:{n - 1}"  # LPUSH put email:0 at the tail, the last one at the head
        started = time.perf_counter()
        removed = r.lrem("processing", 1, element)
        times.append((time.perf_counter() - started) * 1000)
        assert removed == 1
    r.delete("processing")
    return statistics.median(times)


def drain_ms_per_job(r: redis.Redis, jobs: int, reliable: bool) -> float:
    r.delete("queue", "processing")
    fill(r, "queue", jobs)
    started = time.perf_counter()
    for _ in range(jobs):
        if reliable:
            job = r.blmove("queue", "processing", 1, "RIGHT", "LEFT")
            r.lrem("processing", 1, job)
        else:
            r.brpop("queue", 1)
    elapsed = time.perf_counter() - started
    assert r.exists("queue", "processing") == 0
    return elapsed * 1000 / jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="jobs to drain per pattern (default 10,000)")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(port, folder)
        try:
            r = redis.Redis(port=port, decode_responses=True, socket_timeout=30)
            print(f"redis-server {r.info('server')['redis_version']} on 127.0.0.1:{port}")
            for n in SIZES:
                far, near = lrem_ms(r, n, far=True), lrem_ms(r, n, far=False)
                print(f"LREM processing 1 on {n:>9,} elements: far end {far:8.3f} ms, near end {near:6.3f} ms")
            brpop = drain_ms_per_job(r, args.n, reliable=False)
            blmove = drain_ms_per_job(r, args.n, reliable=True)
            print(f"{args.n:,} jobs, one worker: BRPOP {brpop:.3f} ms per job, BLMOVE + LREM {blmove:.3f} ms per job")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
