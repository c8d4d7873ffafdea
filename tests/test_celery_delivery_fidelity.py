"""The delivery lesson shows what real Celery workers send to Redis when they are killed mid-task.

Each capture (tests/celery_delivery_capture.py) runs a step-through's own sample code with real
worker processes on a real redis-server under MONITOR, and kills them with SIGKILL while the task
runs: the whole worker for the early-ack walk (prefork), the whole worker for the acks_late walk
(once with the prefork pool, once with the solo pool), and only the pool process for the
reject-on-worker-lost walk. The tests check that every Redis command of each step-through appears in
its capture in the same order, for the same key, from the same side (web or worker), before or
after the kill as the crash step says; that the arguments are the real ones (ids, times and the
lock token aside); that the MULTI/EXEC groups the texts name are real; and the facts the lesson
teaches: what is lost, what comes back, and that a task may run twice.

Runtime: about 30 s (a 2 s visibility timeout in the acks_late runs; every wait polls with a
deadline).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import celery_delivery_capture as capture_module
import pytest
from captures import masked, normal
from celery_delivery_capture import Capture, Command

from tutor.loader import load_file
from tutor.model import StepThrough

pytestmark = pytest.mark.real_redis

SIDES = {"web": "web", "worker": "worker", "child": "worker"}
VISIBILITY_TIMEOUT = 2.0


def _missing(what: str) -> None:
    """Fail in CI (CI=true), skip elsewhere: the same rule as conftest's need()."""
    message = f"{what}; the Celery delivery fidelity test needs it (.ci/run installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _walks() -> dict[str, StepThrough]:
    loaded = load_file(capture_module.LESSON)
    assert loaded.lesson is not None, "\n".join(map(str, loaded.problems))
    return {walk.slug: walk for walk in loaded.lesson.step_throughs}


@dataclass
class Run:
    walk: StepThrough
    capture: Capture


Runner = Callable[..., Run]


def _code(slug: str) -> str:
    sample = _walks()[slug].sample
    assert sample is not None, f"the {slug} step-through needs its sample code"
    return sample.code


@pytest.fixture(scope="module")
def runner(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """Run a step-through's sample (or a variant of it) through capture_module.run on the test server."""
    if importlib.util.find_spec("celery") is None:
        _missing('celery is not installed (pip install "celery[redis]")')
    parts = urlparse(redis_server_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    walks = _walks()

    def run(slug: str, code: str, **options: Any) -> Run:
        workdir = tmp_path_factory.mktemp(f"celery-delivery-{slug}")
        return Run(walks[slug], capture_module.run(code, host, port, workdir, **options))

    return run


@pytest.fixture(scope="module")
def early(runner: Runner) -> Run:
    """Prefork, default settings, the whole worker killed mid-task, then a new worker."""
    options = {"pool": "prefork", "kill": "worker", "restart": True, "visibility_timeout": None, "early_ack": True}
    return runner("main", _code("main"), **options)


@pytest.fixture(scope="module", params=["prefork", "solo"])
def late(runner: Runner, request: pytest.FixtureRequest) -> Run:
    """acks_late, the whole worker killed mid-task, a new worker after the visibility timeout."""
    options = {"pool": request.param, "kill": "worker", "restart": True, "visibility_timeout": VISIBILITY_TIMEOUT}
    return runner("acks-late", _code("acks-late"), **options)


@pytest.fixture(scope="module")
def child_lost(runner: Runner) -> Run:
    """acks_late and task_reject_on_worker_lost (the acks_late sample), only the pool process killed."""
    return runner("child-lost", _code("acks-late"), pool="prefork", kill="child", restart=False)


@pytest.fixture(scope="module")
def child_lost_without_reject(runner: Runner) -> Capture:
    """The same, task_reject_on_worker_lost=False: the message is acknowledged."""
    code = _code("acks-late")
    assert code.count(capture_module.REJECT_IN_SAMPLE) == 1
    code = code.replace(capture_module.REJECT_IN_SAMPLE, "task_reject_on_worker_lost=False")
    return runner("child-lost", code, pool="prefork", kill="child", restart=False).capture


# --- comparing a step-through with its capture -----------------------------------------------------


def _ids(capture: Capture) -> dict[str, str]:
    message = json.loads(next(c.argv[2] for c in capture.commands if c.argv[:2] == ("LPUSH", "celery")))
    return {message["headers"]["id"]: "<task-id>", message["properties"]["delivery_tag"]: "<tag>"}


def _lesson_ids(walk: StepThrough) -> dict[str, str]:
    argv = next(s.argv for s in walk.steps if s.argv is not None and s.argv[:2] == ("LPUSH", "celery"))
    message = json.loads(argv[2])
    return {message["headers"]["id"]: "<task-id>", message["properties"]["delivery_tag"]: "<tag>"}


def _argument_problem(name: str, position: int, ours: str, real: str) -> str | None:
    """Why one argument of the lesson differs from the real one, or None when they agree."""
    if (name, position) in (("ZADD", 2), ("ZRANGE", 2)):  # a time: of the delivery, or now minus the timeout
        return None if re.fullmatch(r"\d+\.\d+", ours) and re.fullmatch(r"\d+\.\d+", real) else f"{ours!r} / {real!r}"
    if (name, position) == ("SET", 2):  # the lock's random token
        return None if re.fullmatch(r"[0-9a-f]{32}", ours) and re.fullmatch(r"[0-9a-f]{32}", real) else f"{ours!r}"
    if ours[:1] in "[{" or real[:1] in "[{":
        mine, theirs = masked(json.loads(ours)), masked(json.loads(real))
        return None if mine == theirs else f"lesson {json.dumps(mine)}\n  real   {json.dumps(theirs)}"
    return None if ours == real else f"lesson {ours!r}, real {real!r}"


@dataclass(frozen=True)
class Match:
    step: int
    argv: tuple[str, ...]
    command: Command


def _match(run: Run) -> list[Match]:
    """The step-through's commands, in order, in the capture: same name, key and side, on the right
    side of the kill (and of the restart)."""
    capture = run.capture
    ours, real_ids = _lesson_ids(run.walk), _ids(capture)
    assert capture.killed_at is not None
    after_crash = capture.restarted_at if capture.restarted_at is not None else capture.killed_at
    crashed = False
    at = 0
    matches: list[Match] = []
    for number, step in enumerate(run.walk.steps, 1):
        if step.crash:
            crashed = True
            at = max(at, after_crash)
            continue
        if step.argv is None:
            continue
        argv = tuple(normal(a, ours) for a in step.argv)
        side = SIDES[step.actor]
        found = next(
            (
                c
                for c in capture.commands[at:]
                if c.name == argv[0].upper()
                and (normal(c.key or "", real_ids) == argv[1])
                and capture.roles[c.client] == side
                and (crashed or c.index < capture.killed_at)
            ),
            None,
        )
        if found is None:
            raise AssertionError(
                f"step {number} ({step.actor}: {' '.join(argv[:2])}) is not in the {capture.pool} capture "
                f"after index {at}{' and before the kill' if not crashed else ''}.\n{_describe(capture, at)}"
            )
        real = Command(found.index, found.stamp, found.client, tuple(normal(a, real_ids) for a in found.argv))
        matches.append(Match(number, argv, real))
        at = found.index + 1
    return matches


def _describe(capture: Capture, start: int) -> str:
    rows = [
        f"  {c.index:4} {capture.roles[c.client]:6} {' '.join(a[:50] for a in c.argv)!r}"
        for c in capture.commands[start:]
        if "pidbox" not in " ".join(c.argv) and "celeryev" not in " ".join(c.argv)
    ]
    return "the capture from there on (remote control and events left out):\n" + "\n".join(rows[:120])


def _arguments_problems(run: Run) -> list[str]:
    problems = []
    for match in _match(run):
        real = match.command.argv
        if len(real) != len(match.argv):
            problems.append(f"step {match.step}: lesson {len(match.argv)} arguments, real {len(real)}: {real!r}")
            continue
        for position in range(2, len(real)):
            problem = _argument_problem(real[0].upper(), position, match.argv[position], real[position])
            if problem:
                problems.append(f"step {match.step} ({real[0]} {real[1]}), argument {position}: {problem}")
    return problems


def _transaction(commands: list[Command], command: Command) -> list[tuple[str, ...]]:
    """The commands (name, key) of the MULTI/EXEC block `command` was sent in, with what came just
    before MULTI on that connection; [] outside a transaction."""
    mine = [c for c in commands if c.client == command.client]
    at = next(i for i, c in enumerate(mine) if c.index == command.index)
    start = next((i for i in range(at - 1, -1, -1) if mine[i].name in ("MULTI", "EXEC")), None)
    if start is None or mine[start].name != "MULTI":
        return []
    end = next((i for i in range(at + 1, len(mine)) if mine[i].name == "EXEC"), len(mine))
    return [c.argv[:2] for c in mine[max(0, start - 2) : end]]


def _restores(capture: Capture, push: str) -> list[list[tuple[str, ...]]]:
    """Every requeue transaction: WATCH unacked, HGET, MULTI, ZREM, HDEL, <push> celery, EXEC."""
    found = []
    for command in capture.commands:
        if command.argv[:2] == (push, "celery") and capture.roles[command.client] == "worker":
            block = _transaction(capture.commands, command)
            found.append([argv[:1] + (argv[1] if len(argv) > 1 else "",) for argv in block])
    return found


def _redelivered(argv: tuple[str, ...]) -> tuple[bool, bool]:
    message = json.loads(argv[2])
    info = message["properties"]["delivery_info"]
    return message["headers"].get("redelivered", False), info.get("redelivered", False)


# --- early acknowledgement (prefork, default settings) ---------------------------------------------


def test_early_ack_lesson_commands_appear_in_the_real_order(early: Run) -> None:
    matches = _match(early)
    assert [m.step for m in matches] == [n for n, s in enumerate(early.walk.steps, 1) if s.argv is not None]


def test_early_ack_lesson_arguments_match_the_real_ones(early: Run) -> None:
    assert not _arguments_problems(early)


def test_prefork_acknowledges_while_the_task_runs_and_a_kill_loses_it(early: Run) -> None:
    capture = early.capture
    assert capture.killed_at is not None and capture.restarted_at is not None
    before = capture.commands[: capture.killed_at]
    assert any(c.argv[:2] == ("HDEL", "unacked") for c in before), "no ack before the kill"
    assert len(capture.runs) == 1, "the task started once before the kill, and never again"
    after = capture.commands[capture.restarted_at :]
    assert not any(c.argv[:2] in (("WATCH", "unacked"), ("RPUSH", "celery")) for c in after)
    assert capture.left == {"queue": 0, "unacked": []}


def test_the_start_up_look_asks_for_deliveries_older_than_the_visibility_timeout(early: Run) -> None:
    """Step 11: ZRANGE unacked_index <now - 3600> 0 BYSCORE REV WITHSCORES (the default timeout)."""
    capture = early.capture
    assert capture.restarted_at is not None
    look = next(c for c in capture.commands[capture.restarted_at :] if c.argv[:2] == ("ZRANGE", "unacked_index"))
    assert look.argv[3:] == ("0", "BYSCORE", "REV", "WITHSCORES")
    assert abs(look.stamp - 3600 - float(look.argv[2])) < 1.0


def test_delivery_record_and_ack_are_each_one_transaction(early: Run) -> None:
    by_name = {m.argv[:2]: m for m in _match(early)}
    pairs = [(("ZADD", "unacked_index"), ("HSET", "unacked")), (("ZREM", "unacked_index"), ("HDEL", "unacked"))]
    for first, second in pairs:
        assert second in _transaction(early.capture.commands, by_name[first].command), f"{first} and {second}"


# --- acks_late: the whole worker killed, restored after the visibility timeout (both pools) -------


def test_acks_late_lesson_commands_appear_in_the_real_order(late: Run) -> None:
    matches = _match(late)
    assert [m.step for m in matches] == [n for n, s in enumerate(late.walk.steps, 1) if s.argv is not None]


def test_acks_late_lesson_arguments_match_the_real_ones(late: Run) -> None:
    assert not _arguments_problems(late)


def test_acks_late_keeps_the_record_and_a_later_worker_restores_it(late: Run) -> None:
    capture = late.capture
    assert capture.killed_at is not None and capture.restarted_at is not None
    before = capture.commands[: capture.killed_at]
    assert not any(c.argv[:2] == ("HDEL", "unacked") for c in before), "acknowledged before the task ended"
    restores = _restores(capture, "RPUSH")
    assert restores == [
        [("WATCH", "unacked"), ("HGET", "unacked"), ("MULTI", ""), ("ZREM", "unacked_index"),
         ("HDEL", "unacked"), ("RPUSH", "celery")]
    ]  # fmt: skip
    assert len(capture.runs) == 2, "the task ran a second time"
    assert len(capture.left["unacked"]) == 1, "the second run holds its own record while it runs"


def test_the_restore_needs_the_visibility_timeout_to_have_passed(late: Run) -> None:
    capture = late.capture
    delivered = next(float(c.argv[2]) for c in capture.commands if c.argv[:2] == ("ZADD", "unacked_index"))
    assert capture.restarted_at is not None
    look = next(c for c in capture.commands[capture.restarted_at :] if c.argv[:2] == ("ZRANGE", "unacked_index"))
    assert abs(look.stamp - VISIBILITY_TIMEOUT - float(look.argv[2])) < 1.0
    assert float(look.argv[2]) > delivered


def test_the_restored_message_is_marked_redelivered_with_the_same_ids(late: Run) -> None:
    capture = late.capture
    first = next(c.argv for c in capture.commands if c.argv[:2] == ("LPUSH", "celery"))
    again = next(c.argv for c in capture.commands if c.argv[:2] == ("RPUSH", "celery"))
    assert _redelivered(first) == (False, False) and _redelivered(again) == (True, True)
    ids = _ids(capture)
    assert all(value in again[2] for value in ids)


# --- task_reject_on_worker_lost: only the pool process killed --------------------------------------


def test_child_lost_lesson_commands_appear_in_the_real_order(child_lost: Run) -> None:
    matches = _match(child_lost)
    assert [m.step for m in matches] == [n for n, s in enumerate(child_lost.walk.steps, 1) if s.argv is not None]


def test_child_lost_lesson_arguments_match_the_real_ones(child_lost: Run) -> None:
    assert not _arguments_problems(child_lost)


def test_reject_on_worker_lost_requeues_at_once_with_lpush(child_lost: Run) -> None:
    capture = child_lost.capture
    assert _restores(capture, "LPUSH")[-1:] == [
        [("WATCH", "unacked"), ("HGET", "unacked"), ("MULTI", ""), ("ZREM", "unacked_index"),
         ("HDEL", "unacked"), ("LPUSH", "celery")]
    ]  # fmt: skip
    assert len(capture.runs) == 2 and capture.runs[0] != capture.runs[1], "a new pool process ran it again"
    assert capture.restarted_at is None, "the same worker, no restart and no visibility timeout"


def test_without_reject_on_worker_lost_the_message_is_acknowledged(child_lost_without_reject: Capture) -> None:
    capture = child_lost_without_reject
    assert capture.killed_at is not None
    after = capture.commands[capture.killed_at :]
    assert [c.argv[:2] for c in after if c.key in ("unacked", "unacked_index", "celery") and c.name != "BRPOP"] == [
        ("ZREM", "unacked_index"),
        ("HDEL", "unacked"),
    ]
    assert len(capture.runs) == 1
    assert capture.left == {"queue": 0, "unacked": []}
    assert "WorkerLostError" in capture.log


def test_the_lesson_names_the_capture_module_stand_ins() -> None:
    """The samples keep what the capture swaps: the URL twice, the sleep, the timeout, the reject flag."""
    for slug in ("main", "acks-late"):
        code = _code(slug)
        assert code.count(capture_module.URL_IN_SAMPLE) == 2 and code.count(capture_module.SLEEP_IN_SAMPLE) == 1
    late_code = _code("acks-late")
    assert late_code.count(capture_module.TIMEOUT_IN_SAMPLE) == 1
    assert late_code.count(capture_module.REJECT_IN_SAMPLE) == 1
    assert Path(capture_module.LESSON).exists()
