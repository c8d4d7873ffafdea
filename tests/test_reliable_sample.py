"""The reliable-queues lesson's own sample code, run for real: a worker process killed with SIGKILL mid-job.

The view of the BRPOP step-through pushes the job through Flask's test client; each worker.py and
reaper.py of the samples runs as its own Python process against a real redis-server, with a stand-in
`mailer.send_email` that records the job and then hangs (so the kill lands inside the work) or
returns (so the job is done). What the lesson's check section says must hold: after the kill the
BRPOP job is in no list, the BLMOVE job is in 'processing'; the reaper moves it back, and a new
worker sends it a second time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis

from tutor.loader import load_file
from tutor.model import StepThrough

pytestmark = pytest.mark.real_redis

LESSON = Path(__file__).resolve().parent.parent / "lessons" / "reliable-queues.yaml"
CLIENT = "redis.Redis(decode_responses=True"
MAILER = """\
import os
import time


def send_email(job):
    with open(os.environ["SENT_LOG"], "a", encoding="utf-8") as log:
        log.write(job + "\\n")
    if os.environ.get("HANG"):
        time.sleep(60)  # the worker is killed long before this ends
"""
DEADLINE = 15.0


def walk(slug: str) -> StepThrough:
    lesson = load_file(LESSON).lesson
    assert lesson is not None
    found = lesson.step_through(slug)
    assert found is not None and found.sample is not None
    return found


def part(code: str, header: str, port: int) -> str:
    """One file of the sample (they follow each other, each after its '# name.py' comment), on our port."""
    start = code.index(header)
    ends = [at for name in ("# app.py", "# worker.py", "# reaper.py") if (at := code.find(name, start + 1)) > 0]
    text = code[start : min(ends, default=len(code))]
    assert CLIENT in text, f"the sample's {header} no longer makes its client with {CLIENT!r}"
    return text.replace(CLIENT, f"redis.Redis(port={port}, decode_responses=True")


def poll(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():
        assert time.monotonic() < deadline, f"{what} did not happen within {DEADLINE} s"
        time.sleep(0.02)  # polling for readiness with a deadline, not racing


@pytest.fixture
def server(real_redis: str) -> Iterator[tuple[redis.Redis, int]]:
    port = urlparse(real_redis).port
    assert port is not None
    client = redis.Redis(port=port, decode_responses=True)
    yield client, port
    client.close()


class Processes:
    """The sample's processes, each killed in teardown if still running."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[subprocess.Popen[bytes]] = []
        (folder / "mailer.py").write_text(MAILER, encoding="utf-8")
        self.log = folder / "sent.log"

    def start(self, name: str, code: str, hang: bool) -> subprocess.Popen[bytes]:
        (self.folder / name).write_text(code, encoding="utf-8")
        env = {"SENT_LOG": str(self.log), "PYTHONPATH": str(self.folder)} | ({"HANG": "1"} if hang else {})
        process = subprocess.Popen([sys.executable, name], cwd=self.folder, env=env, stderr=subprocess.PIPE)
        self.running.append(process)
        return process

    def sent(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").split() if self.log.exists() else []

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    found = Processes(tmp_path)
    yield found
    found.stop_all()


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def test_a_brpop_worker_killed_mid_job_leaves_the_job_in_no_list(
    server: tuple[redis.Redis, int], processes: Processes
) -> None:
    r, port = server
    code = walk("main").sample.code  # type: ignore[union-attr]
    namespace: dict[str, object] = {"__name__": "sample_app"}
    exec(compile(part(code, "# app.py", port), "app.py", "exec"), namespace)  # the view, in this process
    response = namespace["app"].test_client().post("/users/42/welcome")  # type: ignore[attr-defined]
    assert (response.status_code, r.lrange("queue", 0, -1)) == (202, ["email:42"])

    worker = processes.start("worker.py", part(code, "# worker.py", port), hang=True)
    poll("the worker taking email:42", lambda: processes.sent() == ["email:42"])
    kill(worker)
    assert (r.exists("queue"), r.exists("processing")) == (0, 0)  # in no list: lost


def test_a_blmove_worker_killed_mid_job_leaves_it_in_processing_and_the_reaper_brings_it_back(
    server: tuple[redis.Redis, int], processes: Processes
) -> None:
    r, port = server
    code = walk("reliable").sample.code  # type: ignore[union-attr]
    r.lpush("queue", "email:43")
    worker = processes.start("worker.py", part(code, "# worker.py", port), hang=True)
    poll("the worker taking email:43", lambda: processes.sent() == ["email:43"])
    kill(worker)
    assert (r.exists("queue"), r.lrange("processing", 0, -1)) == (0, ["email:43"])

    r.lpush("queue", "email:44")  # a newer job, so the requeued one must go to the end workers take from
    reaper = processes.start("reaper.py", part(code, "# reaper.py", port), hang=False)
    assert reaper.wait(timeout=DEADLINE) == 0
    assert (r.lrange("queue", 0, -1), r.exists("processing")) == (["email:44", "email:43"], 0)

    processes.start("worker.py", part(code, "# worker.py", port), hang=False)
    poll("the new worker finishing both jobs", lambda: len(processes.sent()) == 3 and not r.exists("processing"))
    assert processes.sent() == ["email:43", "email:43", "email:44"]  # the requeued job first, and twice in all
    assert (r.exists("queue"), r.exists("processing")) == (0, 0)
