"""How RQ and Celery really delay and retry jobs on Redis: the commands, seen with MONITOR.

Starts a throw-away `redis-server` on a free loopback port and a MONITOR connection, then:

1. RQ: `queue.enqueue_in(timedelta(seconds=2), ok)` and `queue.enqueue(flaky, retry=Retry(max=2,
   interval=[1, 2]))`, run by `rq worker --with-scheduler`; prints the commands on the scheduled and
   failed registries and the queue (ZADD rq:scheduled:default <due>, the scheduler's ZRANGEBYSCORE
   ... LIMIT 0 1000, RPUSH + ZREM, and the final ZADD rq:failed:default).
2. Celery: `hello.apply_async(countdown=5)` with a solo worker; prints when the message was pushed,
   when the worker recorded it as unacknowledged, and when the result was stored.

    .venv/bin/python bench/delayed_monitor.py

Nothing is left behind: the server, the monitor and the workers are stopped, and every wait has a
deadline.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from rq_capture import Command, Monitor, wait_for  # noqa: E402  (shared with the RQ fidelity test)

JOBS = """\
def flaky():
    raise RuntimeError("the mail server does not answer")


def ok():
    return 1
"""

RQ_CLIENT = """\
import sys
from datetime import timedelta

from redis import Redis
from rq import Queue, Retry

import jobs

queue = Queue("default", connection=Redis.from_url(sys.argv[1]))
queue.enqueue_in(timedelta(seconds=2), jobs.ok)
queue.enqueue(jobs.flaky, retry=Retry(max=2, interval=[1, 2]))
"""

CELERY_APP = """\
import os

from celery import Celery

url = os.environ["BENCH_REDIS_URL"]
app = Celery("capp", broker=url, backend=url)


@app.task
def hello():
    return "hi"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[Any] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def show(commands: list[Command], start: float) -> None:
    for c in commands:
        print(f"  +{c.stamp - start:7.3f} s  " + " ".join(a[:60] for a in c.argv))


def rq_part(url: str, port: int, workdir: Path, env: dict[str, str]) -> None:
    connection = redis.Redis.from_url(url)
    connection.flushall()
    monitor = Monitor("127.0.0.1", port)
    worker = None
    try:
        wait_for(lambda: monitor.started, "MONITOR to start", 10)
        subprocess.run([sys.executable, str(workdir / "rq_client.py"), url], env=env, check=True, timeout=30)
        worker = subprocess.Popen(
            [sys.executable, "-m", "rq.cli", "worker", "--with-scheduler", "--url", url, "default"],
            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: connection.zcard("rq:failed:default") == 1, "the flaky job in the failed registry", 60)
    finally:
        stop(worker)
        monitor.stop()
        connection.close()
    keys = ("rq:scheduled:default", "rq:failed:default", "rq:queue:default")
    relevant = [c for c in monitor.commands() if c.key in keys and c.name not in ("BLMOVE", "ZCARD")]
    print("# RQ 3: enqueue_in(2 s) and Retry(max=2, interval=[1, 2]) (times from the first command shown)")
    show(relevant, relevant[0].stamp)


def celery_part(url: str, port: int, workdir: Path, env: dict[str, str]) -> None:
    connection = redis.Redis.from_url(url)
    connection.flushall()
    monitor = Monitor("127.0.0.1", port)
    worker = None
    try:
        wait_for(lambda: monitor.started, "MONITOR to start", 10)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "capp", "worker", "--pool=solo", "-Q", "celery",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: any(c.argv[:2] == ("BRPOP", "celery") for c in monitor.commands()), "the worker's BRPOP", 60)
        sys.path.insert(0, str(workdir))
        os.environ["BENCH_REDIS_URL"] = url
        import capp

        value = capp.hello.apply_async(countdown=5).get(timeout=30)
        capp.app.close()
    finally:
        stop(worker)
        monitor.stop()
        connection.close()
    relevant = [
        c
        for c in monitor.commands()
        if (c.argv[:2] == ("LPUSH", "celery"))
        or (c.name in ("ZADD", "ZREM") and c.key == "unacked_index")
        or (c.name == "SETEX" and (c.key or "").startswith("celery-task-meta-"))
    ]
    print(f"# Celery: apply_async(countdown=5) -> {value!r} (times from the LPUSH)")
    show(relevant, relevant[0].stamp)


def main() -> int:
    if shutil.which("redis-server") is None:
        print("redis-server not found", file=sys.stderr)
        return 2
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    workdir = Path(tempfile.mkdtemp(prefix="delayed-monitor-"))
    (workdir / "jobs.py").write_text(JOBS, encoding="utf-8")
    (workdir / "rq_client.py").write_text(RQ_CLIENT, encoding="utf-8")
    (workdir / "capp.py").write_text(CELERY_APP, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(workdir), "BENCH_REDIS_URL": url}
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

        wait_for(pong, "redis-server to answer PING", 10)
        probe.close()
        rq_part(url, port, workdir, env)
        celery_part(url, port, workdir, env)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
