"""Watch what Celery really sends to Redis when a Flask view calls `long_task.delay()`.

Starts a throw-away `redis-server` on a free loopback port, `redis-cli MONITOR` on it, and a real
Celery worker (solo pool) for a tiny Flask app wired up the way Flask's own `examples/celery` does
it (`celery_init_app`, a Task subclass that runs inside `app.app_context()`). Then it calls the
view that sends `long_task.delay()`, waits with `AsyncResult.get(timeout=...)`, and prints every
command the server saw, in order, with the client that sent it.

    .venv/bin/python bench/celery_monitor.py            # the commands that matter for the lesson
    .venv/bin/python bench/celery_monitor.py --all      # every command, the worker's idle loop too
    .venv/bin/python bench/celery_monitor.py --quiet-worker   # add --without-gossip/mingle/heartbeat
    .venv/bin/python bench/celery_monitor.py --pool prefork   # see the ack move before the task
    .venv/bin/python bench/celery_monitor.py --keep           # keep the temp folder (worker log)

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
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_monitor import parse_monitor_line  # noqa: E402  (shared with the fidelity test)

APP_MODULE = """\
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
"""


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


def stop(proc: subprocess.Popen[Any] | None) -> None:
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
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (worker log)")
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
    probe = None
    worker_log = workdir / "worker.log"
    try:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

        probe = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

        def pong() -> bool:
            try:
                return bool(probe.ping())
            except redis.ConnectionError:
                return False

        wait_for(pong, 10, "redis-server to answer PING")
        monitor = Monitor(port)
        wait_for(lambda: "OK" in monitor.snapshot(), 10, "MONITOR to start")

        command = [
            str(celery_bin),
            "-A",
            "task_app",
            "worker",
            f"--pool={args.pool}",
            "--concurrency=1",
            "-Q",
            "celery",
        ]
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
        import task_app
        from celery.result import AsyncResult

        client = task_app.flask_app.test_client()
        started = time.perf_counter()
        response = client.post("/process")
        answered = time.perf_counter() - started
        task_id = response.get_json()["task_id"]
        # delay()'s AsyncResult subscribed to the result channel; the view has returned, so it has
        # been collected: does anyone still listen? (PUBLISH's reply in the lesson depends on it.)
        channel = f"celery-task-meta-{task_id}"
        listeners = -1

        def nobody_listens() -> bool:
            nonlocal listeners
            listeners = int(probe.pubsub_numsub(channel)[0][1])
            return listeners == 0

        try:
            wait_for(nobody_listens, 5, "the view's AsyncResult to unsubscribe")
        except TimeoutError:
            pass
        value = AsyncResult(task_id, app=task_app.celery_app).get(timeout=args.timeout)
        done = time.perf_counter() - started

        # With the solo pool the ack comes after the result: wait until the worker has sent it, and
        # until it is back in BRPOP waiting for the next message.
        def back_to_waiting() -> bool:
            seen_ack = False
            for _, _, argv in monitor.commands():
                seen_ack = seen_ack or argv[:2] == ["HDEL", "unacked"]
                if seen_ack and argv[:2] == ["BRPOP", "celery"]:
                    return True
            return False

        wait_for(back_to_waiting, args.timeout, "the worker's ack and its next BRPOP")
        # A polling view, as in Flask's example (/tasks/result/<id>), asked once the worker
        # is idle again: AsyncResult(id).ready() is a GET.
        polled = client.get(f"/result/{task_id}").get_json()

        task_app.celery_app.close()
    finally:
        stop(worker)
        if monitor is not None:
            monitor.stop()
        stop(server)
        if probe is not None:
            probe.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    commands = monitor.commands()
    first = len(monitor.snapshot()) - len(commands)  # lines before the first command ("OK")
    mark -= first
    roles = client_roles(commands)
    print(
        f"# pool={args.pool}; view answered in {answered * 1000:.1f} ms; "
        f"AsyncResult.get() -> {value!r} after {done * 1000:.1f} ms; polling view -> {polled}"
    )
    print(f"# task id {task_id}; {len(commands)} commands, {len(commands) - mark} from the task on")
    print(f"# subscribers of celery-task-meta-<id> once the view had returned: {listeners}")
    if args.keep:
        print(f"# worker log: {worker_log}")
    print("#   (>> marks commands after the worker's first BRPOP on 'celery', i.e. caused by the task)")
    pending_multi: dict[str, tuple[int, float, list[str]]] = {}
    last_relevant: dict[str, bool] = {}
    idle_run = 0
    for index, (stamp, client, argv) in enumerate(commands):
        name = argv[0].upper()
        if not args.all and name == "MULTI":
            pending_multi[client] = (index, stamp, argv)
            continue
        if not args.all and name == "EXEC":
            if last_relevant.get(client):
                emit(index >= mark, stamp, roles.get(client, client), argv)
            last_relevant[client] = False
            continue
        show = args.all or relevant(argv)
        last_relevant[client] = show
        if not show:
            pending_multi.pop(client, None)
            continue
        is_idle = argv[:2] == ["BRPOP", "celery"]
        if is_idle and not args.all:
            idle_run += 1
            if idle_run > 1:
                continue
        else:
            if idle_run > 1:
                print(f"   ... the worker's BRPOP repeated {idle_run - 1} more time(s), 1 s timeout each")
            idle_run = 0
        if client in pending_multi:
            _, mstamp, margv = pending_multi.pop(client)
            emit(index >= mark, mstamp, roles.get(client, client), margv)
        emit(index >= mark, stamp, roles.get(client, client), argv)
    print("# connections:", ", ".join(sorted(set(roles.values()))))

    for _, _, argv in commands[mark:]:
        if argv[:2] == ["LPUSH", "celery"]:
            message = json.loads(argv[2])
            body = json.loads(base64.b64decode(message["body"]))
            print("# the message pushed on 'celery':")
            print(json.dumps(message, indent=2))
            print("# body decoded (base64 -> JSON [args, kwargs, embed]):", json.dumps(body))
        if argv[:2] == ["HSET", "unacked"]:
            print("# HSET unacked value (JSON [message, exchange, routing_key]), shortened:", short(argv[3], 120))
        if argv[0] in ("SETEX", "PUBLISH") and argv[1].startswith("celery-task-meta-"):
            print(f"# {argv[0]} payload:", argv[-1])
    return 0


_QUEUE_KEYS = {"celery", "celery\x06\x163", "celery\x06\x166", "celery\x06\x169"}
_TASK_KEYS = {
    "_kombu.binding.celery",
    "_kombu.binding_permanent.celery",
    "unacked",
    "unacked_index",
    "unacked_mutex",
}


def relevant(argv: list[str]) -> bool:
    """Commands on the task queue, its binding, the unacked records and the task's result."""
    if len(argv) < 2:
        return False
    key = argv[1]
    return key in _QUEUE_KEYS or key in _TASK_KEYS or key.startswith("celery-task-meta-")


def client_roles(commands: list[tuple[float, str, list[str]]]) -> dict[str, str]:
    """Name each connection by what it does."""
    roles: dict[str, str] = {}
    for _, client, argv in commands:
        if client in roles:
            continue
        head = argv[:2]
        if head == ["BRPOP", "celery"]:
            roles[client] = f"worker:consumer({client})"
        elif head in (["HSET", "unacked"], ["SET", "unacked_mutex"]):
            roles[client] = f"worker:channel({client})"
        elif argv[0] == "SETEX":
            roles[client] = f"worker:backend({client})"
        elif head == ["LPUSH", "celery"]:
            roles[client] = f"view:producer({client})"
        elif argv[0] == "SUBSCRIBE":
            roles[client] = f"caller:pubsub({client})"
        elif argv[0] == "lua" or client == "lua":
            roles[client] = "lua"
    for _, client, argv in commands:
        if client not in roles and argv[0] == "GET":
            roles[client] = f"caller:backend({client})"
    return roles


def emit(after: bool, stamp: float, who: str, argv: list[str]) -> None:
    marker = ">>" if after else "  "
    print(f"{marker} {stamp:.6f} {who:<32} " + " ".join(short(a) for a in argv))


if __name__ == "__main__":
    sys.exit(main())
