"""Watch what Celery really sends to Redis when a Flask view calls `long_task.delay()`.

Starts a throw-away `redis-server` on a free loopback port, `redis-cli MONITOR` on it, and a real
Celery worker (solo pool) for a tiny Flask app wired up the way Flask's own `examples/celery` does
it (`celery_init_app`, a Task subclass that runs inside `app.app_context()`). Then it calls the
view that sends `long_task.delay()`, waits with `AsyncResult.get(timeout=...)`, and prints every
command the server saw, in order, with the client that sent it.

    .venv/bin/python bench/celery_monitor.py            # the commands that matter for the lesson
    .venv/bin/python bench/celery_monitor.py --all      # every command, the worker's idle loop too
    .venv/bin/python bench/celery_monitor.py --quiet-worker   # add --without-gossip/mingle/heartbeat

Nothing is left behind: the server, the monitor and the worker are stopped in `finally`, and every
wait has a deadline.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

APP_MODULE = '''\
import os
import time

from celery import Celery, Task, shared_task
from celery.result import AsyncResult
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["BENCH_REDIS_URL"]
    app.config.from_mapping(
        CELERY=dict(broker_url=url, result_backend=url, task_ignore_result=True),
    )
    celery_init_app(app)

    @app.post("/process")
    def process() -> dict[str, object]:
        task = long_task.delay()
        return {"task_id": task.id}

    @app.get("/result/<task_id>")
    def result(task_id: str) -> dict[str, object]:
        res = AsyncResult(task_id)
        ready = res.ready()
        return {"ready": ready, "value": res.result if ready else None}

    return app


@shared_task(ignore_result=False)
def long_task() -> str:
    time.sleep(float(os.environ.get("BENCH_TASK_SECONDS", "0.2")))
    return "done"


flask_app = create_app()
celery_app = flask_app.extensions["celery"]
'''


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", '"': '"', "\\": "\\"}


def parse_monitor_line(line: str) -> tuple[float, str, list[str]] | None:
    """`1700000000.123 [0 127.0.0.1:5555] "LPUSH" "celery" "..."` -> (time, client, args).

    Redis quotes each argument with sdscatrepr: \\\\ \\" \\n \\r \\t \\a \\b and \\xHH.
    """
    if not line or line[0] not in "0123456789":
        return None
    stamp, _, rest = line.partition(" [")
    client, _, rest = rest.partition("] ")
    args: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        if rest[i] != '"':
            i += 1
            continue
        i += 1
        out: list[str] = []
        while i < n and rest[i] != '"':
            ch = rest[i]
            if ch == "\\" and i + 1 < n:
                nxt = rest[i + 1]
                if nxt == "x" and i + 3 < n:
                    out.append(chr(int(rest[i + 2 : i + 4], 16)))
                    i += 4
                    continue
                out.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            out.append(ch)
            i += 1
        args.append("".join(out))
        i += 1
    return float(stamp), client.split(" ", 1)[-1], args


class Monitor:
    """`redis-cli MONITOR` in a subprocess, its lines collected by a thread."""

    def __init__(self, port: int) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["redis-cli", "-p", str(port), "MONITOR"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="backslashreplace",
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def commands(self) -> list[tuple[float, str, list[str]]]:
        return [p for p in map(parse_monitor_line, self.snapshot()) if p]

    def stop(self) -> None:
        stop(self.proc)
        self._thread.join(timeout=5)


def stop(proc: subprocess.Popen[str] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def short(arg: str, width: int = 70) -> str:
    text = arg.encode("unicode_escape").decode("ascii")
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--all", action="store_true", help="print every command (idle BRPOP loop too)")
    parser.add_argument("--quiet-worker", action="store_true", help="worker without gossip/mingle/heartbeat")
    parser.add_argument("--pool", default="solo", help="worker pool: solo (default) or prefork")
    parser.add_argument("--task-seconds", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            print(f"{tool} not found", file=sys.stderr)
            return 2
    celery_bin = Path(sys.executable).with_name("celery")
    if not celery_bin.exists():
        print(f"celery not found next to {sys.executable}", file=sys.stderr)
        return 2

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    workdir = Path(tempfile.mkdtemp(prefix="celery-monitor-"))
    (workdir / "task_app.py").write_text(APP_MODULE, encoding="utf-8")
    env = {
        **os.environ,
        "BENCH_REDIS_URL": url,
        "BENCH_TASK_SECONDS": str(args.task_seconds),
        "PYTHONPATH": str(workdir),
    }
    server = monitor = worker = None
    worker_log = workdir / "worker.log"
    try:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        import redis

        probe = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

        def pong() -> bool:
            try:
                return bool(probe.ping())
            except redis.ConnectionError:
                return False

        wait_for(pong, 10, "redis-server to answer PING")
        monitor = Monitor(port)
        wait_for(lambda: "OK" in monitor.snapshot(), 10, "MONITOR to start")

        command = [str(celery_bin), "-A", "task_app", "worker", f"--pool={args.pool}", "--concurrency=1", "-Q", "celery"]
        command += ["--loglevel=INFO", "--hostname=bench@%h"]
        if args.quiet_worker:
            command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with worker_log.open("w") as log:
            worker = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: " ready." in worker_log.read_text(errors="replace"), args.timeout, "worker ready")
        # The worker's first BRPOP on the queue: from here on it is waiting for work.
        wait_for(
            lambda: any(c[2][:2] == ["BRPOP", "celery"] for c in monitor.commands()),
            args.timeout,
            "the worker's BRPOP",
        )
        mark = len(monitor.snapshot())

        sys.path.insert(0, str(workdir))
        os.environ["BENCH_REDIS_URL"] = url
        import task_app  # type: ignore[import-not-found]
        from celery.result import AsyncResult

        client = task_app.flask_app.test_client()
        started = time.perf_counter()
        response = client.post("/process")
        answered = time.perf_counter() - started
        task_id = response.get_json()["task_id"]
        value = AsyncResult(task_id, app=task_app.celery_app).get(timeout=args.timeout)
        done = time.perf_counter() - started
        # The ack comes after the result with the solo pool: wait until the worker has sent it.
        wait_for(
            lambda: any(c[2][:2] == ["HDEL", "unacked"] for c in monitor.commands()),
            args.timeout,
            "the worker's ack (HDEL unacked)",
        )
        task_app.celery_app.close()
    finally:
        stop(worker)
        if monitor is not None:
            monitor.stop()
        stop(server)

    lines = monitor.snapshot()
    print(f"# view answered in {answered * 1000:.1f} ms; result {value!r} after {done * 1000:.1f} ms")
    print(f"# task id {task_id}; MONITOR lines: {len(lines)} (from the task on: {len(lines) - mark})")
    print(f"# worker log: {worker_log}")
    clients: dict[str, str] = {}
    previous_idle = False
    for index, line in enumerate(lines):
        parsed = parse_monitor_line(line)
        if parsed is None:
            continue
        stamp, client, argv = parsed
        name = clients.setdefault(client, f"c{len(clients) + 1}")
        idle = argv[:2] == ["BRPOP", "celery"]
        if not args.all and index < mark and argv[0] not in ("SADD", "SMEMBERS", "BRPOP"):
            continue
        if not args.all and idle and previous_idle:
            continue
        previous_idle = idle
        marker = ">>" if index >= mark else "  "
        print(f"{marker} {stamp:.6f} {name:>4} " + " ".join(short(a) for a in argv))
    print("# clients:", ", ".join(f"{v}={k}" for k, v in clients.items()))
    for parsed in filter(None, map(parse_monitor_line, lines[mark:])):
        argv = parsed[2]
        if argv[:2] == ["LPUSH", "celery"]:
            message = json.loads(argv[2])
            body = json.loads(base64.b64decode(message["properties"]["body_encoding"] == "base64" and message["body"]))
            print("# the message pushed on 'celery':")
            print(json.dumps(message, indent=2))
            print("# body decoded (base64 -> JSON [args, kwargs, embed]):", json.dumps(body))
        if argv[0] in ("SETEX", "PUBLISH") and argv[1].startswith("celery-task-meta-"):
            print(f"# {argv[0]} payload:", argv[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
