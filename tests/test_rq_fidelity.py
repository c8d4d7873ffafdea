"""The RQ lesson shows what a real `rq worker` and producer send to Redis, in the real order.

One capture per module (tests/rq_capture.py): a real redis-server, a MONITOR connection, a real
`rq worker` running the lesson's own sample code, and a client that posts to the enqueueing view and,
once the worker waits again, to the result view. The tests check that every Redis command of the
lesson's step-through appears in the capture in the same order, for the same key, from the same
side (worker, work horse, web); that the arguments are the real ones (ids, times and the pickled
call aside, which the step texts name as stand-ins); that the MULTI/EXEC groups the step texts name
are real; and that every real command the lesson leaves out is one its concept note names.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import pickle
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
import rq_capture
from rq_capture import Capture, Command

from tutor.loader import load_file
from tutor.model import StepThrough

pytestmark = pytest.mark.real_redis

SIDES = {"worker": "worker", "horse": "horse", "flask_view": "web"}
# Values that differ on every run; the lesson shows fixed stand-ins for them.
VOLATILE_FIELDS = {"created_at", "enqueued_at", "started_at", "ended_at", "last_heartbeat"}
VOLATILE_STREAM_FIELDS = {"execution_started_at", "execution_ended_at"}
# The job's pickled call is binary; the lesson shows this text and names the call in the step's action.
DATA_STAND_IN = "<zlib-compressed pickle of the call>"

# Real commands the lesson leaves out, as (command, key after ids are replaced by placeholders, a
# regular expression). The concept note must name every command of this list.
OMITTED = [
    ("HELLO", r".*"),
    ("MULTI", r".*"),
    ("EXEC", r".*"),
    ("EXISTS", r"rq:suspended|rq:worker:<worker>"),
    ("CLIENT", r"SETNAME|INFO"),
    ("INFO", r"server"),
    ("DEL", r"rq:worker:<worker>|rq:clean_registries:default|rq:execution:<job>:<execution>"),
    ("HSET", r"rq:worker:<worker>|rq:execution:<job>:<execution>|rq:job:<job>"),
    ("EXPIRE", r"rq:worker:<worker>(:executions)?|rq:execution:<job>:<execution>|rq:executions:<job>|rq:job:.*"),
    ("SUBSCRIBE", r"rq:pubsub:<worker>"),
    ("SET", r"rq:clean_registries:default|rq:clean_groups"),
    ("ZREMRANGEBYSCORE", r"rq:(finished|failed):default"),
    ("ZRANGEBYSCORE", r"rq:wip:default"),
    ("ZRANGE", r"rq:ready:default"),
    ("SMEMBERS", r"rq:rl-keys|rq:workers:default|rq:groups|rq:job:<job>:dependents"),
    ("ZADD", r"rq:executions:<job>"),
    ("ZREM", r"rq:executions:<job>"),
    ("SADD", r"rq:worker:<worker>:executions"),
    ("SREM", r"rq:worker:<worker>:executions"),
    ("PERSIST", r"rq:job:<job>"),
    ("WATCH", r"rq:job:<job>:dependents"),
    ("HINCRBY", r"rq:worker:<worker>"),
    ("HINCRBYFLOAT", r"rq:worker:<worker>"),
    ("HGET", r"rq:job:<job>"),
    ("BLMOVE", rf"{rq_capture.QUEUE}"),  # the idle worker's repeated wait, after the lesson's last
]


def _missing(what: str) -> None:
    """Fail in CI (CI=true), skip elsewhere: the same rule as conftest's need()."""
    message = f"{what}; the RQ fidelity test needs it (.ci/run installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Run:
    capture: Capture
    walk: StepThrough
    real: list[Command]  # the capture with ids replaced by placeholders


def _placeholders(capture: Capture) -> dict[str, str]:
    ids = {capture.job_id: "<job>", "fidelity": "<worker>"}
    for command in capture.commands:
        if command.name == "XADD" and "execution_id" in command.argv:
            ids[command.argv[command.argv.index("execution_id") + 1]] = "<execution>"
    return ids


def _lesson_placeholders() -> dict[str, str]:
    """The lesson's stand-ins for the job id, the worker's name and the execution id."""
    return {
        "5b9e3c1a-0000-4000-8000-000000000001": "<job>",
        "0f1e2d3c4b5a46978877665544332211": "<worker>",
        "e7c1d2f3a4b5460788990011aabbccdd": "<execution>",
    }


def _replace(text: str, ids: dict[str, str]) -> str:
    for value, placeholder in ids.items():
        text = text.replace(value, placeholder)
    return text


@pytest.fixture(scope="module")
def run(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Run one job through a real rq worker and record every command the server saw."""
    if importlib.util.find_spec("rq") is None:
        _missing("rq is not installed (pip install rq)")
    loaded = load_file(rq_capture.LESSON)
    assert loaded.lesson is not None, "\n".join(map(str, loaded.problems))
    walk = loaded.lesson.step_through()
    assert walk is not None and walk.sample is not None
    parts = urlparse(redis_server_url)
    capture = rq_capture.run(
        walk.sample.code, parts.hostname or "127.0.0.1", parts.port or 6379, tmp_path_factory.mktemp("rq-fidelity")
    )
    ids = _placeholders(capture)
    real = [Command(c.index, c.stamp, c.client, tuple(_replace(a, ids) for a in c.argv)) for c in capture.commands]
    yield Run(capture, walk, real)


def _lesson_commands(walk: StepThrough) -> list[tuple[int, str, tuple[str, ...]]]:
    ids = _lesson_placeholders()
    return [
        (n, s.actor, tuple(_replace(a, ids) for a in s.argv)) for n, s in enumerate(walk.steps, 1) if s.argv is not None
    ]


def _match(run: Run) -> list[tuple[int, tuple[str, ...], Command]]:
    """The lesson's commands found in order in the capture: same name, same key, same side."""
    found: list[tuple[int, tuple[str, ...], Command]] = []
    at = 0
    for step, actor, argv in _lesson_commands(run.walk):
        side = SIDES[actor]
        hit = next(
            (
                c
                for c in run.real[at:]
                if c.name == argv[0].upper()
                and c.key == argv[1]
                and run.capture.roles[c.client] == side
                and (c.name != "HSET" or c.argv[2::2] == argv[2::2])  # an HSET is known by its fields
            ),
            None,
        )
        if hit is None:
            rows = "\n".join(
                f"  {c.index:4} {run.capture.roles[c.client]:6} {' '.join(a[:50] for a in c.argv)}"
                for c in run.real[at:]
            )
            raise AssertionError(f"step {step} ({actor}: {' '.join(argv[:2])}) is not in the capture after:\n{rows}")
        found.append((step, argv, hit))
        at = hit.index + 1
    return found


def _pairs(argv: tuple[str, ...], start: int) -> list[tuple[str, str]]:
    return list(zip(argv[start::2], argv[start + 1 :: 2], strict=True))


def _argument_problems(step: int, ours: tuple[str, ...], real: tuple[str, ...], action: str) -> list[str]:
    name = real[0].upper()
    where = f"step {step} ({name} {real[1]})"
    if name == "HSET":
        mine, theirs = _pairs(ours, 2), _pairs(real, 2)
        if [f for f, _ in mine] != [f for f, _ in theirs]:
            return [f"{where}: fields {[f for f, _ in mine]} (lesson) != {[f for f, _ in theirs]} (real)"]
        problems = []
        for (field, mine_value), (_, real_value) in zip(mine, theirs, strict=True):
            if field == "data":
                call = pickle.loads(zlib.decompress(real_value.encode("latin-1")))
                if mine_value != DATA_STAND_IN or repr(call) not in action:
                    problems.append(
                        f"{where}: data is zlib(pickle({call!r})); the step must show {DATA_STAND_IN!r} and name it"
                    )
            elif field not in VOLATILE_FIELDS and mine_value != real_value:
                problems.append(f"{where}: {field} = {mine_value!r} (lesson), {real_value!r} (real)")
        return problems
    if name == "ZADD":
        float(real[2])
        float(ours[2])
        return [] if ours[3:] == real[3:] else [f"{where}: member {ours[3:]} (lesson), {real[3:]} (real)"]
    if name == "XADD":
        head, real_head = ours[2:6], real[2:6]
        if head[:3] != real_head[:3] or real_head[3] != "*":
            return [f"{where}: {head} (lesson), {real_head} (real)"]
        mine_fields = [(f, v) for f, v in _pairs(ours, 6) if f not in VOLATILE_STREAM_FIELDS]
        real_fields = [(f, v) for f, v in _pairs(real, 6) if f not in VOLATILE_STREAM_FIELDS]
        return [] if mine_fields == real_fields else [f"{where}: {mine_fields} (lesson), {real_fields} (real)"]
    return [] if ours == real else [f"{where}: {ours} (lesson), {real} (real)"]


def _transaction(run: Run, command: Command) -> list[Command]:
    """The commands of the MULTI/EXEC block `command` was sent in (empty outside one)."""
    mine = [c for c in run.real if c.client == command.client]
    at = mine.index(command)
    start = next((i for i in range(at - 1, -1, -1) if mine[i].name in ("MULTI", "EXEC")), None)
    if start is None or mine[start].name != "MULTI":
        return []
    end = next(i for i in range(at + 1, len(mine)) if mine[i].name == "EXEC")
    return mine[start + 1 : end]


def test_the_sample_app_ran_the_job(run: Run) -> None:
    assert run.capture.polled == {"status": "finished", "value": 6}, run.capture.log


def test_lesson_commands_appear_in_the_real_order(run: Run) -> None:
    assert [step for step, _, _ in _match(run)] == [n for n, _, _ in _lesson_commands(run.walk)]


def test_the_worker_waits_with_blmove_into_the_intermediate_list(run: Run) -> None:
    waits = [c.argv for c in run.real if c.name in ("BLMOVE", "BLPOP", "BRPOP")]
    assert waits and all(
        argv[:5] == ("BLMOVE", rq_capture.QUEUE, rq_capture.INTERMEDIATE, "LEFT", "RIGHT") for argv in waits
    )


def test_lesson_arguments_match_the_real_ones(run: Run) -> None:
    """Exact, except the ids (placeholders), the times, the scores and the stream entry's id."""
    actions = {n: " ".join(s.action.split()) for n, s in enumerate(run.walk.steps, 1)}
    problems = [p for step, ours, real in _match(run) for p in _argument_problems(step, ours, real.argv, actions[step])]
    assert not problems, "\n".join(problems)


def test_the_result_is_the_pickled_return_value(run: Run) -> None:
    xadd = next(c for c in run.real if c.name == "XADD")
    value = xadd.argv[xadd.argv.index("return_value") + 1]
    assert pickle.loads(base64.b64decode(value)) == 6


def test_transactions_are_as_the_steps_say(run: Run) -> None:
    """Steps 6-8, 10-11, 12-13 (with a PERSIST) and 15-20 each share one MULTI/EXEC."""
    by_step = {step: real for step, _, real in _match(run)}
    for group in ([6, 7, 8], [10, 11], [12, 13], [15, 16, 17, 18, 19, 20]):
        block = _transaction(run, by_step[group[0]])
        assert all(by_step[step] in block for step in group), f"steps {group} are not in one MULTI/EXEC"
    assert any(c.name == "PERSIST" for c in _transaction(run, by_step[12]))


def test_every_command_left_out_is_named_in_the_concept_note(run: Run) -> None:
    matched = {real.index for _, _, real in _match(run)}
    last = max(matched)
    note = run.walk.concept_note or ""
    unexplained = []
    for command in run.real[: last + 1]:
        if command.index in matched or run.capture.roles[command.client] == "lua":
            continue
        detail = command.argv[1] if len(command.argv) > 1 else ""
        if not any(command.name == name and re.fullmatch(pattern, detail) for name, pattern in OMITTED):
            unexplained.append(" ".join(command.argv)[:120])
    assert not unexplained, "real commands the lesson leaves out without a word:\n" + "\n".join(unexplained)
    named = {name for name, _ in OMITTED if name != "BLMOVE"}
    assert not [name for name in named if not re.search(rf"\b{name}\b", note)], note
