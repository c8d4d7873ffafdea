"""Issue 8's "done when" with XREADGROUP BLOCK: XAUTOCLAIM, XINFO and blocked group reads agree.

This needs XREADGROUP BLOCK in lessons, which the `engine` branch brings; until that branch is merged
these tests fail at the fixture's step 2 ("XREADGROUP with BLOCK is not supported in lessons").
Idle times count from the moment a blocked read is served, in lesson time (tutor/streamclock.py sees
that delivery because the engine sends the served command through the same chokepoint, `_send`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor import engine
from tutor.backend import Backend
from tutor.checker import check_paths
from tutor.loader import load_file

BLOCKING = Path(__file__).resolve().parent / "fixtures" / "dead-consumer-block.yaml"


@pytest.fixture
def real_backend(real_redis: str) -> Iterator[Backend]:
    backend = Backend(real_redis)
    yield backend
    backend.close()


def test_blocking_dead_consumer_fixture_checks_clean_on_fakeredis() -> None:
    assert check_paths([BLOCKING], Backend()) == []


@pytest.mark.real_redis
def test_blocking_dead_consumer_fixture_checks_clean_on_real_redis(real_backend: Backend) -> None:
    assert check_paths([BLOCKING], real_backend) == []
    assert real_backend.shared().keys("*") == []


@pytest.mark.real_redis
def test_blocking_dead_consumer_traces_are_identical_run_after_run_on_both_backends(real_backend: Backend) -> None:
    loaded = load_file(BLOCKING)
    assert loaded.lesson is not None, loaded.problems
    walk = loaded.lesson.step_throughs[0]
    traces = [engine.run(walk, Backend(), "block") for _ in range(2)]
    traces += [engine.run(walk, real_backend, "block") for _ in range(2)]
    for other in traces[1:]:
        for ours, theirs in zip(traces[0]["steps"], other["steps"], strict=True):
            assert ours == theirs, f"step {ours['step']} differs: {ours['reply']} != {theirs['reply']}"
    steps = traces[0]["steps"]
    assert [e["actor"] for e in steps[4]["events"]] == ["alice"]
    assert steps[8]["reply"]["value"][0]["time_since_delivered"] == 30000  # served at 10 s, read at 40 s
    assert steps[11]["reply"]["value"] == ["0-0", [["1-0", {"task": "resize"}]], []]
