"""Crash and restart, as actions and as lesson steps: the engine must end where real Redis ends.

The reference side kills a real client with CLIENT KILL while it is truly blocked (its thread is
inside BRPOP/BLMOVE, and CLIENT LIST shows it with flag `b`), then compares the key states and
who received what with the engine's trace of the same scenario, on fakeredis and on redis-server.
"""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tutor import engine
from tutor.backend import Backend
from tutor.loader import load_file
from tutor.model import Step, StepThrough
from tutor.stateview import actor_views

WATCH = ("queue", "processing")


def walk(*steps: Step) -> StepThrough:
    return StepThrough(
        slug="t", title="t", path=(), actors=("producer", "worker"), steps=steps, watch=WATCH, variables=("job",)
    )


def cmd(actor: str, line: str, assign: str | None = None) -> Step:
    return Step(actor=actor, action=line, path=(), argv=tuple(line.split()), assign=assign)


def crash(actor: str) -> Step:
    return Step(actor=actor, action="crash", path=(), crash=actor)


def restart(actor: str) -> Step:
    return Step(actor=actor, action="restart", path=(), restart=actor)


def states(trace: dict[str, Any]) -> dict[str, Any]:
    last = trace["steps"][-1]["state"]
    return {key: last[key]["value"] for key in WATCH}


class RealClient:
    """One real connection driven from its own thread, so a blocking command really blocks."""

    def __init__(self, url: str, name: str) -> None:
        self.conn = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
        self.conn.client_setname(name)
        self.id = int(self.conn.client_id())
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def start(self, *argv: str) -> None:
        def target() -> None:
            try:
                self.result = self.conn.execute_command(*argv)
            except BaseException as error:  # the kill surfaces here as a connection error
                self.error = error

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def wait_blocked(admin: redis.Redis, client_id: int) -> None:
    """Poll CLIENT LIST until the client has flag b (blocked), with a deadline."""
    deadline = time.monotonic() + 10
    while True:
        for info in admin.client_list():
            if int(info["id"]) == client_id and "b" in info["flags"]:
                return
        assert time.monotonic() < deadline, "the client never blocked"
        time.sleep(0.01)  # polling for readiness with a deadline, not racing


def real_keys(admin: redis.Redis) -> dict[str, Any]:
    return {key: (admin.lrange(key, 0, -1) if admin.exists(key) else None) for key in WATCH}


@pytest.fixture(params=["fakeredis", "redis"])
def backend(request: pytest.FixtureRequest) -> Any:
    url = request.getfixturevalue("real_redis") if request.param == "redis" else None
    backend = Backend(url)
    yield backend
    backend.close()


@pytest.mark.real_redis
def test_a_killed_blocked_worker_receives_nothing_and_the_push_stays_in_the_queue(
    real_redis: str, backend: Backend
) -> None:
    admin = redis.Redis.from_url(real_redis, decode_responses=True)
    worker = RealClient(real_redis, "worker")
    worker.start("BRPOP", "queue", "0")
    wait_blocked(admin, worker.id)
    admin.client_kill_filter(_id=worker.id)
    worker.join()
    admin.lpush("queue", "job")
    reference = real_keys(admin)
    assert isinstance(worker.error, redis.ConnectionError) and worker.result is None

    trace = engine.run(
        walk(cmd("worker", "BRPOP queue 0", "job"), crash("worker"), cmd("producer", "LPUSH queue job")),
        backend,
        "t",
    )
    assert states(trace) == reference == {"queue": ["job"], "processing": None}
    assert all(not step["events"] for step in trace["steps"])  # nobody was woken
    assert trace["steps"][1]["variables"]["job"]["waiting"] is False


@pytest.mark.real_redis
@pytest.mark.parametrize(
    ("pop", "expected"),
    [
        ("BRPOP queue 0", {"queue": None, "processing": None}),  # popped and never handed on: lost
        ("BLMOVE queue processing RIGHT LEFT 0", {"queue": None, "processing": ["job"]}),  # kept for recovery
    ],
)
def test_a_worker_killed_after_popping_loses_the_job_unless_blmove_kept_it(
    real_redis: str, backend: Backend, pop: str, expected: dict[str, Any]
) -> None:
    admin = redis.Redis.from_url(real_redis, decode_responses=True)
    worker = RealClient(real_redis, "worker")
    worker.start(*pop.split())
    wait_blocked(admin, worker.id)
    admin.lpush("queue", "job")
    worker.join()
    assert worker.result in (("queue", "job"), "job")
    admin.client_kill_filter(_id=worker.id)
    reference = real_keys(admin)

    trace = engine.run(
        walk(cmd("worker", pop, "job"), cmd("producer", "LPUSH queue job"), crash("worker")), backend, "t"
    )
    assert states(trace) == reference == expected
    assert trace["steps"][1]["events"][0]["actor"] == "worker"


@pytest.mark.real_redis
def test_a_killed_client_in_multi_leaves_nothing_of_its_transaction(real_redis: str, backend: Backend) -> None:
    admin = redis.Redis.from_url(real_redis, decode_responses=True)
    worker = RealClient(real_redis, "worker")
    worker.conn.execute_command("MULTI")
    assert worker.conn.execute_command("LPUSH", "queue", "x") == "QUEUED"
    admin.client_kill_filter(_id=worker.id)
    reference = real_keys(admin)

    trace = engine.run(
        walk(
            cmd("worker", "MULTI"),
            cmd("worker", "LPUSH queue x"),
            crash("worker"),
            restart("worker"),
            cmd("worker", "LLEN queue"),
        ),
        backend,
        "t",
    )
    assert states(trace) == reference == {"queue": None, "processing": None}
    assert trace["steps"][-1]["reply"]["py"] == "0"  # a new connection: no transaction left open


def test_a_crashed_actor_cannot_run_commands_until_restarted(backend: Backend) -> None:
    trace = engine.run(
        walk(crash("worker"), cmd("worker", "LLEN queue"), restart("worker"), cmd("worker", "LLEN queue")), backend, "t"
    )
    steps = trace["steps"]
    assert steps[0]["status"] == "note" and "killed" in steps[0]["note"]
    assert steps[1]["status"] == "error" and "restart worker first" in steps[1]["reply"]["py"]
    assert steps[2]["status"] == "note" and steps[3]["reply"]["py"] == "0"


def test_the_trace_and_the_step_view_say_an_actor_is_down_from_its_crash_to_its_restart(backend: Backend) -> None:
    trace = engine.run(walk(crash("worker"), cmd("producer", "LLEN queue"), restart("worker")), backend, "t")
    assert [point["crashed"] for point in [trace["start"], *trace["steps"]]] == [{}, {"worker": 1}, {"worker": 1}, {}]
    down = {a.name: a for a in actor_views(trace["steps"][1], ["producer", "worker"], {}, trace["steps"][0])}
    assert (down["worker"].status, down["worker"].text) == ("crashed", "crashed at step 1")
    assert down["producer"].status == "running"
    back = {a.name: a for a in actor_views(trace["steps"][2], ["producer", "worker"], {}, trace["steps"][1])}
    assert back["worker"].status == "running"


def test_crash_and_restart_are_lesson_steps_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "crashy.yaml"
    path.write_text(
        textwrap.dedent(
            """
            title: Crash
            step_through:
              actors: [producer, worker]
              watch: [queue]
              steps:
                - {actor: worker, action: Worker waits, redis: BRPOP queue 0}
                - {actor: worker, action: The worker's process is killed, crash: worker}
                - {actor: producer, action: A job arrives, redis: LPUSH queue job}
                - {actor: worker, action: The worker starts again, restart: worker}
                - {actor: worker, action: It finds the job, redis: BRPOP queue 0}
            """
        )
    )
    loaded = load_file(path)
    assert loaded.lesson is not None, loaded.problems
    steps = loaded.lesson.step_throughs[0].steps
    assert (steps[1].kind, steps[1].crash, steps[3].kind, steps[3].restart) == ("crash", "worker", "restart", "worker")
    trace = engine.run(loaded.lesson.step_throughs[0], Backend(), "crashy")
    assert trace["steps"][2]["state"]["queue"]["value"] == ["job"]
    assert trace["steps"][4]["reply"]["py"] == "('queue', 'job')"


def test_a_crash_step_naming_an_unknown_actor_is_a_problem_at_its_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "title: Bad\nstep_through:\n  actors: [worker]\n  steps:\n"
        "    - {actor: worker, action: Kill, crash: nobody}\n"
        "    - {actor: worker, action: Both, crash: worker, redis: PING}\n"
    )
    loaded = load_file(path)
    texts = [str(p) for p in loaded.problems]
    assert any("unknown actor 'nobody'" in t for t in texts), texts
    assert any("crash: or restart: step does only that" in t for t in texts), texts
