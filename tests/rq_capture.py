"""Run one job through a real `rq worker` and record every command Redis saw (MONITOR).

Shared by the RQ fidelity test and its bench (bench/rq_monitor.py). The app is the RQ lesson's own
sample code, pointed at the given server, with a short job. The client process posts to the view
that enqueues, then, once the worker is idle again (its second BLMOVE), asks the result view.

Every wait polls a condition with a deadline; the worker, the client and the MONITOR connection are
always stopped.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captures import flushall as _flushall
from captures import stop as _stop
from captures import wait_for
from redis_monitor import Command, Monitor

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "lessons" / "rq.yaml"
QUEUE = "rq:queue:default"
INTERMEDIATE = "rq:queue:default:intermediate"

CLIENT_SCRIPT = """\
import json
import sys

import app as sample

web = sample.app.test_client()
job_id = web.post("/count").get_json()["job_id"]
print(json.dumps({"event": "sent", "job_id": job_id}), flush=True)
if sys.stdin.readline().strip() == "poll":
    print(json.dumps({"event": "polled", "body": web.get(f"/result/{job_id}").get_json()}), flush=True)
"""


@dataclass
class Capture:
    """What one real run produced."""

    commands: list[Command]
    job_id: str
    polled: dict[str, Any]
    log: str
    roles: dict[str, str]


def sample_app(code: str, url: str, job_seconds: float) -> str:
    """The lesson's sample code, pointed at the given server, with a short job."""
    for old, new in (('"redis://localhost:6379/0"', repr(url)), ("time.sleep(10)", f"time.sleep({job_seconds})")):
        assert code.count(old) == 1, f"the lesson's sample code changed: expected one {old}"
        code = code.replace(old, new)
    return code


def roles(commands: list[Command]) -> dict[str, str]:
    """Which side each connection belongs to, from what it does.

    "worker": every connection seen before the worker's first BLMOVE (the client starts only after
    it). "horse": the connections that take the id out of the intermediate list (the forked work
    horse's own). "web": the other connections. "lua" stays "lua".
    """
    waiting = next(c.index for c in commands if c.argv[:2] == ("BLMOVE", QUEUE))
    horse = {c.client for c in commands if c.argv[:2] == ("LREM", INTERMEDIATE)}
    first: dict[str, int] = {}
    for command in commands:
        first.setdefault(command.client, command.index)
    found = {}
    for client, index in first.items():
        if client == "lua":
            found[client] = "lua"
        elif index <= waiting:
            found[client] = "worker"
        elif client in horse:
            found[client] = "horse"
        else:
            found[client] = "web"
    return found


def _next_event(lines: queue.Queue[str | None], event: str, log: Callable[[], str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the client printed no '{event}' within {timeout:.0f} s\n{log()}") from None
        if line is None:
            raise AssertionError(f"the client exited before '{event}'\n{log()}")
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            if data.get("event") == event:
                return data


def run(code: str, host: str, port: int, workdir: Path, job_seconds: float = 0.2, timeout: float = 30.0) -> Capture:
    """Start MONITOR, a real `rq worker` and a client on an empty server; return what Redis saw."""
    url = f"redis://{host}:{port}/0"
    (workdir / "app.py").write_text(sample_app(code, url, job_seconds), encoding="utf-8")
    (workdir / "client.py").write_text(CLIENT_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("RQ_REDIS_URL", "RQ_CONFIG", "RQ_WORKER_CLASS"):
        env.pop(name, None)  # the sample's own configuration, nothing from the environment
    log_path = workdir / "worker.log"
    client_output: list[str] = []

    def log() -> str:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        return f"--- worker log ---\n{text}--- client output ---\n{''.join(client_output)}"

    _flushall(host, port)
    monitor: Monitor | None = None
    worker = client = None
    try:
        monitor = Monitor(host, port)
        wait_for(lambda: monitor is not None and monitor.started, "MONITOR to start", timeout)
        with log_path.open("w") as out:
            worker = subprocess.Popen(
                # A fixed worker name (default: a random hex id) so the fidelity test can find it in keys.
                [sys.executable, "-m", "rq.cli", "worker", "--url", url, "--name", "fidelity", "default"],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

        def blmoves() -> int:
            assert worker is not None and monitor is not None
            if worker.poll() is not None:
                raise AssertionError(f"the rq worker exited with {worker.returncode}\n{log()}")
            return sum(c.argv[:2] == ("BLMOVE", QUEUE) for c in monitor.commands())

        wait_for(lambda: blmoves() >= 1, "the worker's first BLMOVE", timeout)
        client = subprocess.Popen(
            [sys.executable, str(workdir / "client.py")],
            cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert client is not None and client.stdout is not None
            for line in client.stdout:
                client_output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, name="client-stdout", daemon=True).start()
        sent = _next_event(lines, "sent", log, timeout)
        # The result is read by a later request: send it once the worker waits again, so the order
        # does not depend on who is faster.
        wait_for(lambda: blmoves() >= 2, "the worker's next BLMOVE after the job", timeout)
        assert client.stdin is not None
        client.stdin.write("poll\n")
        client.stdin.flush()
        polled = _next_event(lines, "polled", log, timeout)
        client.stdin.close()
        client.wait(timeout=timeout)
        assert client.returncode == 0, f"the client exited with {client.returncode}\n{log()}"
        commands = monitor.commands()
        return Capture(commands, sent["job_id"], polled["body"], log(), roles(commands))
    finally:
        _stop(client, grace=5)
        _stop(worker)
        if monitor is not None:
            monitor.stop()
