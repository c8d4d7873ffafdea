"""Real Redis judges the engine: every step-through, run with truly blocked clients, must give the trace.

Each case is one step-through: every one in lessons/, and every scenario in tests/reference/scenarios/
(taken from Redis 7.0's own blocking tests; each step-through's title names the tcl test). The
reference run (tests/reference/runner.py) executes it on the real server with one connection and
one thread per actor; the engine then runs it on the same server and on the embedded fakeredis, and
every step must agree: reply, who was answered with what, watched keys, who is still blocked,
variables and process memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tutor import engine
from tutor.backend import Backend
from tutor.checker import lesson_files
from tutor.loader import load_file
from tutor.model import StepThrough

from .compare import differences
from .runner import reference_run

pytestmark = pytest.mark.real_redis

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
SOURCE = re.compile(r"^(list|zset|stream|stream-cgroups|multi|pubsub)\.tcl: \S.*")


@dataclass(frozen=True)
class Case:
    """One step-through to judge, or a file that does not load (it fails with its problems)."""

    file: str
    lesson_id: str
    walk: StepThrough | None
    problems: str = ""

    @property
    def id(self) -> str:
        return f"{self.file}:{self.walk.slug if self.walk else 'does-not-load'}"


def cases(folder: Path) -> list[Case]:
    found: list[Case] = []
    for file in lesson_files([folder]):
        loaded = load_file(file)
        label = f"{folder.name}/{file.name}"
        if loaded.lesson is None:
            found.append(Case(label, file.stem, None, "\n".join(str(p) for p in loaded.problems)))
            continue
        found.extend(Case(label, loaded.lesson.id, walk) for walk in loaded.lesson.step_throughs)
    return found


LESSON_CASES = cases(LESSONS)
SCENARIO_CASES = cases(SCENARIOS)
CASES = LESSON_CASES + SCENARIO_CASES

_reference_runs: dict[str, list[dict[str, Any]]] = {}


def reference_for(case: Case, url: str) -> list[dict[str, Any]]:
    """The real run of a case, made once per session (on a flushed database) and shared by both engines."""
    if case.id not in _reference_runs:
        assert case.walk is not None
        flush(url)
        _reference_runs[case.id] = reference_run(case.walk, url)
        flush(url)
    return _reference_runs[case.id]


def flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.mark.parametrize("engine_name", ["redis", "fakeredis"])
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_engine_gives_every_step_what_real_blocked_clients_get(
    case: Case, engine_name: str, real_redis: str
) -> None:
    assert case.walk is not None, f"{case.file} does not load:\n{case.problems}"
    reference = reference_for(case, real_redis)
    backend = Backend(real_redis) if engine_name == "redis" else Backend()
    try:
        trace = engine.run(case.walk, backend, case.lesson_id)
    finally:
        backend.close()
    problems = differences(reference, trace, engine_name)
    assert not problems, f"{case.id} ({case.walk.title}):\n" + "\n".join(problems)


def test_the_corpus_has_at_least_60_scenarios_each_naming_its_redis_test() -> None:
    # Read as plain YAML, so a file the loader refuses still counts (and fails its own cases).
    titles = [
        walk.get("title", "")
        for file in sorted(SCENARIOS.glob("*.yaml"))
        for walk in yaml.safe_load(file.read_text(encoding="utf-8"))["step_through"]
    ]
    assert len(titles) >= 60
    unnamed = [title for title in titles if not SOURCE.fullmatch(title)]
    assert unnamed == [], "every scenario's title must start with '<file>.tcl: <Redis test name>'"
