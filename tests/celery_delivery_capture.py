"""Kill a real Celery worker mid-task and record every command Redis saw (MONITOR).

Shared by the delivery fidelity test (tests/test_celery_delivery_fidelity.py) and its bench
(bench/celery_delivery_monitor.py). The app is a step-through's own sample code, pointed at the
given server, with a task that writes its process id to a marker file before it sleeps: the capture
knows a task is running (and in which process) without guessing from timing.

What one run does, on an empty server: start MONITOR and a worker (its own process group); post
to the sample's view once the worker waits in BRPOP; wait for the task to start; then, as asked,

- kill="worker": SIGKILL the worker's whole process group (the main process and its pool
  children: what `kill -9` of a container, the out-of-memory killer or a machine going down does);
  with restart=True start a second worker once the visibility timeout has passed since the first
  delivery (by the server's clock), and wait until its restore has put the message back and the
  task has started again, or (early ack) until it waits in BRPOP with nothing to run;
- kill="child": SIGKILL only the pool child that runs the task (prefork), and wait until the
  main process has either requeued the message (task_reject_on_worker_lost) or acknowledged it.

What was seen with Celery 5.7 / kombu 5.7 on redis-server 7.0 (concurrency 1, `-Q celery`):

- prefork, default settings: the worker records the delivery (MULTI ZADD unacked_index, HSET
  unacked EXEC) and acknowledges it (MULTI ZREM unacked_index, HDEL unacked EXEC) about 3 ms later,
  as soon as a pool child accepts the task, while the task still runs. Killed then, nothing is
  left in Redis: the next worker's start-up restore (SET unacked_mutex <token> NX PX 300000, then
  ZRANGE unacked_index <now - visibility_timeout> 0 BYSCORE REV WITHSCORES) finds nothing.
- prefork with task_acks_late=True, and the solo pool with or without it: the record stays in
  unacked/unacked_index while the task runs. Killed then, it stays there. A worker started after
  the visibility timeout restores it at start-up: SET unacked_mutex NX PX 300000, the same ZRANGE
  (which now returns the tag and its score), WATCH unacked, HGET unacked <tag>, MULTI, ZREM
  unacked_index <tag>, HDEL unacked <tag>, RPUSH celery <message with "redelivered": true>, EXEC,
  then EVALSHA of redis-py's lock-release script on unacked_mutex. Its BRPOP then takes the
  message (same delivery tag) and the task runs a second time.
- prefork with task_acks_late=True and task_reject_on_worker_lost=True, only the child killed:
  the main process notices (about 5 s later: billiard's pool maintenance) and requeues with WATCH
  unacked, HGET, MULTI, ZREM, HDEL, LPUSH celery <message>, EXEC (LPUSH: the far end from BRPOP,
  behind anything queued), and a new child runs the task again. Without task_reject_on_worker_lost
  it acknowledges instead (ZREM, HDEL): the task is marked failed with WorkerLostError.

kombu's code for all of this: kombu/transport/redis.py, `QoS.append`, `QoS.ack`, `QoS.reject`,
`QoS.restore_visible`, `QoS.restore_by_tag`, `Channel._do_restore_message`.

Every wait polls a condition with a deadline; every process started here is stopped in `finally`
(a whole worker by its process group, which is its own pid).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from captures import flushall as _flushall
from captures import wait_for
from redis_monitor import Command, Monitor

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "lessons" / "celery-delivery.yaml"
QUEUE = "celery"
URL_IN_SAMPLE = '"redis://localhost:6379/0"'
SLEEP_IN_SAMPLE = "time.sleep(30)"
TIMEOUT_IN_SAMPLE = '{"visibility_timeout": 3600}'
REJECT_IN_SAMPLE = "task_reject_on_worker_lost=True"

CLIENT_SCRIPT = """\
import json

import app as sample

web = sample.app.test_client()
response = web.post("/orders/42/receipt")
print(json.dumps({"event": "sent", "status": response.status_code}), flush=True)
sample.celery_app.close()
"""


@dataclass
class Capture:
    """What one real run produced."""

    commands: list[Command]
    pool: str
    runs: list[int]  # the pid of each process that started the task, in order
    killed_at: int | None  # index of the first command after the kill
    restarted_at: int | None  # index of the first command after the second worker started
    left: dict[str, Any]  # what Redis held at the end: queue length, unacked tags
    log: str
    roles: dict[str, str] = field(default_factory=dict)


def sample_app(code: str, url: str, marker: Path, task_seconds: float, visibility_timeout: float | None) -> str:
    """The sample code pointed at `url`, its task announcing itself in `marker` and sleeping less."""
    announce = f"open({str(marker)!r}, 'a').write(str(__import__('os').getpid()) + '\\n')"
    swaps = [(URL_IN_SAMPLE, repr(url), 2), (SLEEP_IN_SAMPLE, f"{announce}; time.sleep({task_seconds})", 1)]
    if visibility_timeout is not None:
        swaps.append((TIMEOUT_IN_SAMPLE, f'{{"visibility_timeout": {visibility_timeout}}}', 1))
    for old, new, count in swaps:
        assert code.count(old) == count, f"the lesson's sample code changed: expected {count} x {old}"
        code = code.replace(old, new)
    return code


def roles(commands: list[Command]) -> dict[str, str]:
    """Which side each connection belongs to: "web" sent the task (LPUSH celery outside a
    restore), "worker" is every connection of a worker (anything else but MONITOR's own), "lua"
    stays "lua"."""
    found: dict[str, str] = {}
    restoring: set[str] = {c.client for c in commands if c.argv[:2] == ("WATCH", "unacked")}
    for command in commands:
        if command.client == "lua":
            found[command.client] = "lua"
        elif command.argv[:2] == ("LPUSH", QUEUE) and command.client not in restoring:
            found[command.client] = "web"
    for command in commands:
        found.setdefault(command.client, "worker")
    return found


def _query(host: str, port: int) -> dict[str, Any]:
    """LLEN celery and HKEYS unacked, read on a plain socket after the run."""
    import redis  # the test extras install it with celery[redis]

    with redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=5) as probe:
        return {"queue": probe.llen(QUEUE), "unacked": sorted(probe.hkeys("unacked"))}


def _kill_group(process: subprocess.Popen[Any] | None) -> None:
    """SIGKILL a worker we started, with its pool children: its process group is its own pid."""
    if process is None:
        return
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


def run(
    code: str,
    host: str,
    port: int,
    workdir: Path,
    *,
    pool: str,
    kill: str,
    restart: bool,
    visibility_timeout: float | None = 2.0,
    early_ack: bool = False,
    task_seconds: float = 30.0,
    timeout: float = 30.0,
) -> Capture:
    """One run (see the module docstring) of `code` on an empty server; return what Redis saw.

    early_ack=True: the caller expects the worker to acknowledge while the task runs (prefork's
    default); the kill then waits for that ack (HDEL unacked), and its absence fails the run at the
    deadline. Otherwise the kill comes once the task has started and its delivery is recorded.
    """
    url = f"redis://{host}:{port}/0"
    marker = workdir / "runs.txt"
    marker.unlink(missing_ok=True)
    (workdir / "app.py").write_text(sample_app(code, url, marker, task_seconds, visibility_timeout), encoding="utf-8")
    (workdir / "client.py").write_text(CLIENT_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_CONFIG_MODULE"):
        env.pop(name, None)  # the sample's own configuration, nothing from the environment
    logs = [workdir / "worker-1.log", workdir / "worker-2.log"]

    def log() -> str:
        return "".join(f"--- {p.name} ---\n{p.read_text(errors='replace')}" for p in logs if p.exists())

    def runs() -> list[int]:
        return [int(line) for line in marker.read_text().split()] if marker.exists() else []

    def start(log_path: Path) -> subprocess.Popen[bytes]:
        with log_path.open("w") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "app.celery_app", "worker", f"--pool={pool}",
                 "--concurrency=1", "-Q", QUEUE, "--loglevel=INFO", f"--hostname={log_path.stem}@%h"],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    _flushall(host, port)
    monitor: Monitor | None = None
    first = second = None
    killed_at = restarted_at = None
    try:
        monitor = Monitor(host, port)
        wait_for(lambda: monitor is not None and monitor.started, "MONITOR to start", timeout)

        def commands() -> list[Command]:
            assert monitor is not None
            return monitor.commands()

        def brpops() -> int:
            return sum(c.argv[:2] == ("BRPOP", QUEUE) for c in commands())

        first = start(logs[0])
        wait_for(lambda: brpops() >= 1 or first.poll() is not None, "the worker's first BRPOP", timeout)
        assert first.poll() is None, f"the worker exited with {first.returncode}\n{log()}"
        client = subprocess.run(
            [sys.executable, str(workdir / "client.py")],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        assert client.returncode == 0, f"the client failed:\n{client.stdout}{client.stderr}\n{log()}"
        assert json.loads(client.stdout.splitlines()[-1]) == {"event": "sent", "status": 202}
        wait_for(lambda: len(runs()) >= 1, "the task to start", timeout)
        # The delivery record (and an early ack) may land just after the task starts: wait for
        # them, so the run shows what the settings do rather than who was faster.
        wait_for(lambda: _recorded_again(commands()), "the delivery record (HSET unacked)", timeout)
        if early_ack:
            wait_for(lambda: _acked(commands()), "the early ack (HDEL unacked) while the task runs", timeout)
        if kill == "worker":
            killed_at = len(commands())
            _kill_group(first)
        elif kill == "child":
            killed_at = len(commands())
            os.kill(runs()[0], signal.SIGKILL)
            wait_for(lambda: _after_child_lost(commands()[killed_at:]) is not None, "the worker lost", timeout)
            if _after_child_lost(commands()[killed_at:]) == "requeued":
                wait_for(lambda: len(runs()) >= 2, "the requeued task to start again", timeout)
        else:
            raise ValueError(f"kill must be 'worker' or 'child', not {kill!r}")

        if restart:
            delivered = next(float(c.argv[2]) for c in commands() if c.argv[:2] == ("ZADD", "unacked_index"))
            if visibility_timeout is not None:
                # The restore compares the delivery time with the server's clock: wait for it.
                wait_for(lambda: _server_time(host, port) > delivered + visibility_timeout, "the timeout", timeout)
            restarted_at = len(commands())
            waits = brpops()
            second = start(logs[1])
            wait_for(lambda: brpops() > waits or second.poll() is not None, "the new worker's BRPOP", timeout)
            assert second.poll() is None, f"the second worker exited with {second.returncode}\n{log()}"
            if any(c.argv[:2] == ("WATCH", "unacked") for c in commands()[restarted_at:]):
                wait_for(lambda: len(runs()) >= 2, "the restored task to start again", timeout)
                wait_for(lambda: _recorded_again(commands()[restarted_at:]), "the new delivery record", timeout)
        found = commands()
        left = _query(host, port)
        return Capture(found, pool, runs(), killed_at, restarted_at, left, log(), roles(found))
    finally:
        _kill_group(first)
        _kill_group(second)
        if monitor is not None:
            monitor.stop()


def _acked(commands: list[Command]) -> bool:
    return any(c.argv[:2] == ("HDEL", "unacked") for c in commands)


def _after_child_lost(commands: list[Command]) -> str | None:
    """What the main process did with the message whose child died: requeued, acked, or nothing yet."""
    if any(c.argv[:2] == ("WATCH", "unacked") for c in commands):  # restore_by_tag's transaction
        return "requeued" if any(c.argv[:2] == ("LPUSH", QUEUE) for c in commands) else None
    return "acked" if _acked(commands) else None


def _recorded_again(commands: list[Command]) -> bool:
    return any(c.argv[:2] == ("HSET", "unacked") for c in commands)


def _server_time(host: str, port: int) -> float:
    import redis

    with redis.Redis(host=host, port=port, socket_timeout=5) as probe:
        seconds, micro = probe.time()
        return float(seconds) + float(micro) / 1e6
