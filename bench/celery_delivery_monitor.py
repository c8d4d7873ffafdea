"""Kill real Celery workers mid-task and print what Redis saw; measure what prefetch takes.

Starts a throw-away `redis-server` on a free loopback port and runs the delivery lesson's own sample
apps (lessons/celery-delivery.yaml) through tests/celery_delivery_capture.py, which the fidelity
test uses too: MONITOR, a real worker, a view that sends send_receipt(42), SIGKILL mid-task, and a
second worker where the scenario has one. Prints the commands that carry the task (the remote
control, events, heartbeats, connection set-up and MULTI/EXEC are left out unless --all).

    .venv/bin/python bench/celery_delivery_monitor.py early           # prefork, defaults: lost
    .venv/bin/python bench/celery_delivery_monitor.py late            # acks_late, prefork: restored
    .venv/bin/python bench/celery_delivery_monitor.py late --pool solo
    .venv/bin/python bench/celery_delivery_monitor.py child           # only the pool process killed
    .venv/bin/python bench/celery_delivery_monitor.py child-noreject  # ... without reject_on_worker_lost
    .venv/bin/python bench/celery_delivery_monitor.py prefetch        # what a worker takes ahead

`prefetch` starts one prefork worker with concurrency 2, queues ten 1.5 s tasks, and once two
tasks run and the keys stop changing, prints how many messages are in 'unacked' (reserved by the
worker, or running under acks_late) and how many are still in 'celery', for early ack and acks_late
with worker_prefetch_multiplier 1 and 4.

Nothing is left behind: the server, the monitor and the workers are stopped, and every wait has a
deadline. What the captures showed is in the docstring of tests/celery_delivery_capture.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
import celery_delivery_capture as capture_module  # noqa: E402  (shared with the fidelity test)
from servers import redis_server  # noqa: E402

from tutor.loader import load_file  # noqa: E402

NOISE = ("pidbox", "celeryev", "_kombu.binding")


def sample(slug: str) -> str:
    loaded = load_file(capture_module.LESSON)
    assert loaded.lesson is not None, loaded.problems
    walk = loaded.lesson.step_through(slug)
    assert walk is not None and walk.sample is not None
    return walk.sample.code


def short(arg: str, width: int = 90) -> str:
    text = arg.encode("unicode_escape").decode("ascii")
    return text if len(text) <= width else text[: width - 1] + "…"


def show(capture: capture_module.Capture, everything: bool) -> None:
    print(f"pool={capture.pool} task started by pids {capture.runs}; left in Redis: {capture.left}")
    marks = {capture.killed_at: "----- SIGKILL -----", capture.restarted_at: "----- a new worker starts -----"}
    for command in capture.commands:
        for at in [at for at in marks if at is not None and command.index >= at]:
            print(marks.pop(at))
        text = " ".join(command.argv)
        quiet = command.client == "lua" or command.name in ("PING", "HELLO", "SCRIPT", "EVALSHA", "MULTI", "EXEC")
        quiet = quiet or any(word in text for word in NOISE) or (command.name == "LLEN" and command.key != "celery")
        if not everything and quiet:
            continue
        role = capture.roles.get(command.client, "?")
        print(f"{command.index:5} {command.stamp:.3f} {role:6} {' '.join(short(a) for a in command.argv)}")


def prefetch(url: str, workdir: Path, timeout: float = 30.0) -> None:
    parts = urlparse(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    base = sample("acks-late")
    probe = redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=5)
    print("concurrency 2, ten 1.5 s tasks queued; read once two run and the keys are still for 0.5 s")
    for acks_late in (False, True):
        for multiplier in (1, 4):
            code = base.replace("task_acks_late=True", f"task_acks_late={acks_late}")
            code = code.replace("worker_prefetch_multiplier=1", f"worker_prefetch_multiplier={multiplier}")
            marker = workdir / f"runs-{acks_late}-{multiplier}.txt"
            (workdir / "app.py").write_text(capture_module.sample_app(code, url, marker, 1.5, None), encoding="utf-8")
            probe.flushall()
            env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
            with (workdir / "worker.log").open("w") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "app.celery_app", "worker", "--pool=prefork",
                     "--concurrency=2", "-Q", "celery", "--loglevel=INFO"],
                    cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            try:
                capture_module.wait_for(lambda: "ready." in (workdir / "worker.log").read_text(), "ready", timeout)
                subprocess.run(
                    [sys.executable, "-c", "import app\nweb = app.app.test_client()\n"
                     "for i in range(10): web.post(f'/orders/{i}/receipt')\napp.celery_app.close()"],
                    cwd=workdir, env=env, check=True, timeout=timeout,
                )  # fmt: skip

                def started(marker: Path = marker) -> int:
                    return len(marker.read_text().split()) if marker.exists() else 0

                capture_module.wait_for(lambda: started() >= 2, "two tasks running", timeout)
                last: tuple[int, int] = (-1, -1)
                still_since = time.monotonic()
                deadline = time.monotonic() + timeout
                while time.monotonic() - still_since < 0.5 and time.monotonic() < deadline:
                    now = (probe.hlen("unacked"), probe.llen("celery"))
                    if now != last:
                        last, still_since = now, time.monotonic()
                    time.sleep(0.05)
                unacked, queued = last
                print(
                    f"acks_late={acks_late!s:5} multiplier={multiplier}: running {started()}, "
                    f"in 'unacked' {unacked}, still in 'celery' {queued}, taken by the worker {10 - queued}"
                )
            finally:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
    probe.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("scenario", choices=["early", "late", "child", "child-noreject", "prefetch"])
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo"], help="for 'late'")
    parser.add_argument("--all", action="store_true", help="print every command")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="celery-delivery-"))
    with redis_server() as url:
        parts = urlparse(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 6379
        if args.scenario == "prefetch":
            prefetch(url, workdir)
            return 0
        late = sample("acks-late")
        if args.scenario == "early":
            options = {"pool": "prefork", "kill": "worker", "restart": True, "visibility_timeout": None}
            capture = capture_module.run(sample("main"), host, port, workdir, early_ack=True, **options)
        elif args.scenario == "late":
            capture = capture_module.run(late, host, port, workdir, pool=args.pool, kill="worker", restart=True)
        else:
            if args.scenario == "child-noreject":
                late = late.replace(capture_module.REJECT_IN_SAMPLE, "task_reject_on_worker_lost=False")
            capture = capture_module.run(late, host, port, workdir, pool="prefork", kill="child", restart=False)
        show(capture, args.all)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
