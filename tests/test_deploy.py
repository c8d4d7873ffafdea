"""Two gunicorn processes over one Redis and one PostgreSQL serve one learner consistently: the learner's
requests alternate between them (one cookie jar, two ports) and every page shows what the other
process recorded. Both start at once on an empty database, so they also race to migrate it."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import LESSONS, free_port

pytestmark = [pytest.mark.real_redis, pytest.mark.postgres]

STEPPER = "/lessons/redis-broker/step-through"


def _wait_until_serving(base: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/static/style.css", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start at {base}")
        time.sleep(0.1)  # polling for readiness with a deadline, not racing


@pytest.fixture
def two_servers(tmp_path: Path, real_redis: str, postgres_url: str) -> Iterator[list[str]]:
    """Two gunicorn processes (the README's command) on one Redis and one empty PostgreSQL database."""
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": real_redis,
        "TUTOR_SECRET_KEY": "one-secret-for-every-process",
        "TUTOR_LESSONS": str(LESSONS),
        "TUTOR_INSTANCE_PATH": str(tmp_path / "instance"),
        "TUTOR_WARM": "1",  # as deployed: each worker warms before it serves (tests/conftest.py turns it off)
    }
    ports = [free_port(), free_port()]
    logs = [(tmp_path / f"gunicorn-{port}.log").open("wb") for port in ports]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--reuse-port"]
            + ["--bind", f"127.0.0.1:{port}"]
            + ["tutor:create_app()"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base, process in zip(bases, processes, strict=True):
            _wait_until_serving(base, process)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        for log in logs:
            log.close()


class Learner:
    """One browser: one cookie jar, whichever server it talks to (cookies ignore the port)."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, url: str) -> str:
        with self.opener.open(url, timeout=30) as response:
            assert response.status == 200, url
            return str(response.read().decode())

    def post(self, url: str, data: dict[str, str]) -> str:
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(url, data=body, timeout=30) as response:  # follows the 303 back to the page
            assert response.status == 200, url
            return str(response.read().decode())


def _position(page: str) -> str:
    match = re.search(r"Step (\d+) of \d+", page)
    assert match, "no step position on the page"
    return match.group(1)


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


def test_two_gunicorn_processes_on_one_redis_and_one_postgres_serve_one_learner(
    two_servers: list[str], real_redis: str
) -> None:
    one, two = two_servers
    learner = Learner()
    assert _position(learner.get(f"{one}{STEPPER}?step=2")) == "2"
    assert _position(learner.get(f"{two}{STEPPER}")) == "2"  # where process one left them
    assert _position(learner.get(f"{two}{STEPPER}?step=3")) == "3"
    page = learner.get(f"{one}{STEPPER}")
    assert _position(page) == "3"
    token = _csrf(page)
    form = {"csrf": token, "quiz": "step-through:main", "question": "1", "choice": "1", "place": "quiz"}
    learner.post(f"{one}/lessons/redis-broker/quiz/answer", form)  # wrong first
    learner.post(f"{two}/lessons/redis-broker/quiz/answer", {**form, "choice": "0"})  # then right, elsewhere
    quiz_page = learner.get(f"{one}/lessons/redis-broker/quiz")
    assert "Attempts: 2 · Points: 0.75 of 1" in quiz_page
    exported = [json.loads(learner.get(f"{base}/progress.json")) for base in (one, two)]
    assert exported[0] == exported[1]
    kept = exported[0]["lessons"]["redis-broker"]
    assert (kept["steps"]["main"]["current"], kept["steps"]["main"]["furthest"]) == (3, 3)
    assert [a["correct"] for a in kept["answers"]] == [False, True]
    client = redis.Redis.from_url(real_redis)
    try:
        assert client.keys("*") == []  # runs cleaned up, and no progress in Redis
    finally:
        client.close()
