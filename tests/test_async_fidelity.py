"""The async-flask lesson sends its commands in an order a real run of its own sample produces.

Each request runs the lesson's sample view (tests/async_capture.py) against a real redis-server
under MONITOR. The order in which two gathered tasks' commands reach Redis is not fixed: every
redis.asyncio await yields to the event loop (the connection's HELLO, the LPUSH's reply), so the
network decides which task goes on first. These tests are honest about that: they hold what the
code forces (each task's LPUSH before its BRPOP, each task on its own connection, awaited calls
strictly in turn), and for the gathered part they check that the lesson's order is one that real
runs produce, and that its shape (both requests sent before either wait) is what most runs do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlparse

import pytest
from async_capture import Run, Sent, capture, load_sample_app

from tutor.loader import load_file
from tutor.model import StepThrough

pytestmark = pytest.mark.real_redis

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "lessons" / "async-flask.yaml"
RUNS = 25  # gathered requests; each takes a few milliseconds

# The walk's three parts (1-based, inclusive), each one request.
PARTS = {"gathered": (1, 10), "in_turn": (11, 19), "service_down": (20, 26)}


@pytest.fixture(scope="module")
def walk() -> StepThrough:
    loaded = load_file(LESSON)
    assert loaded.lesson is not None, loaded.problems
    walk = loaded.lesson.step_throughs[0]
    assert len(walk.steps) == PARTS["service_down"][1], "the walk's parts moved: update PARTS"
    return walk


@pytest.fixture(scope="module")
def server(redis_server_url: str) -> tuple[str, int]:
    url = urlparse(redis_server_url)
    assert url.hostname is not None and url.port is not None
    return url.hostname, url.port


@pytest.fixture(scope="module")
def sample(walk: StepThrough, server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    assert walk.sample is not None
    return load_sample_app(walk.sample.code, *server, tmp_path_factory.mktemp("async-sample"))


@pytest.fixture(scope="module")
def gathered(sample: ModuleType, server: tuple[str, int]) -> Iterator[list[Run]]:
    yield [capture(sample.app, *server, "/product/p1") for _ in range(RUNS)]


def _lesson(walk: StepThrough, part: str) -> list[tuple[str, str, str]]:
    """(side, command, key) of the part's Redis steps, in the lesson's order."""
    first, last = PARTS[part]
    rows = []
    for step in walk.steps[first - 1 : last]:
        if step.argv is None:
            continue
        side = "service" if step.actor.endswith("_service") else "view"
        rows.append((side, step.argv[0].upper(), step.argv[1]))
    return rows


def _view_order(walk: StepThrough, part: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, key) for side, name, key in _lesson(walk, part) if side == "view")


def _shape(order: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(name for name, _ in order)


def test_gathered_view_answers_with_both_replies(gathered: list[Run]) -> None:
    assert all(run.answer == {"price": "9.99", "stock": "12"} for run in gathered)


def test_each_gathered_task_sends_its_lpush_then_its_brpop_on_its_own_connection(gathered: list[Run]) -> None:
    for run in gathered:
        by_service: dict[str, list[Sent]] = {}
        for sent in run.sent:
            if sent.side == "view":
                by_service.setdefault(sent.key.split(":")[0], []).append(sent)
        for service, sent in by_service.items():
            assert [s.name for s in sent] == ["LPUSH", "BRPOP"], (service, run.sent)
            assert sent[0].client == sent[1].client, f"{service}'s task changed connection: {run.sent}"
        assert by_service["price"][0].client != by_service["stock"][0].client, run.sent


def test_the_lessons_gathered_order_is_one_real_runs_produce(walk: StepThrough, gathered: list[Run]) -> None:
    seen = Counter(run.view_order() for run in gathered)
    for part in ("gathered", "service_down"):
        assert _view_order(walk, part) in seen, f"part {part}: the lesson's order was never seen in {RUNS} runs: {seen}"


def test_most_gathered_runs_send_both_requests_before_either_wait(walk: StepThrough, gathered: list[Run]) -> None:
    """The lesson's shape (LPUSH, LPUSH, BRPOP, BRPOP) is the majority; others happen and are allowed."""
    shapes = Counter(_shape(run.view_order()) for run in gathered)
    lesson_shape = _shape(_view_order(walk, "gathered"))
    assert lesson_shape == ("LPUSH", "LPUSH", "BRPOP", "BRPOP")
    assert shapes[lesson_shape] > RUNS / 2, f"shapes over {RUNS} runs: {shapes}"


def test_gathered_part_matches_a_real_run_step_for_step(walk: StepThrough, gathered: list[Run]) -> None:
    """Services' BRPOPs, the view's four commands, the replies: the whole part, in order."""
    lesson = _lesson(walk, "gathered")
    matching = [run for run in gathered if run.view_order() == _view_order(walk, "gathered")]
    assert matching
    for run in matching:
        assert [(s.side, s.name, s.key) for s in run.sent] == lesson


def test_awaited_in_turn_the_order_is_forced(walk: StepThrough, sample: ModuleType, server: tuple[str, int]) -> None:
    for _ in range(3):
        run = capture(sample.app, *server, "/product-slow/p1")
        assert run.answer == {"price": "9.99", "stock": "12"}
        assert [(s.side, s.name, s.key) for s in run.sent] == _lesson(walk, "in_turn")


def test_with_the_stock_service_down_the_timeout_ends_the_wait(
    walk: StepThrough, sample: ModuleType, server: tuple[str, int]
) -> None:
    """Part 3 (takes the sample's 3 s timeout once): price answered, stock None, 'p1' left queued."""
    run = capture(sample.app, *server, "/product/p1", services=("price",))
    assert run.answer == {"price": "9.99", "stock": None}
    assert run.left["stock:requests"] == ["p1"]
    assert _shape(run.view_order()) in {("LPUSH", "LPUSH", "BRPOP", "BRPOP"), ("LPUSH", "BRPOP", "LPUSH", "BRPOP")}
    services = [row for row in _lesson(walk, "service_down") if row[0] == "service"]
    assert [(s.side, s.name, s.key) for s in run.sent if s.side == "service"] == services
