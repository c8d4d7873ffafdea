"""bench/load.py's checks of what the server sent: the "no wrong page" verdict is only as good as they are;
and bench/check_instructions.py's arithmetic and the code it counts."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from tutor import create_app

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench_module(name: str) -> ModuleType:
    """bench/NAME.py as a module (bench_NAME)."""
    sys.path.insert(0, str(BENCH))  # bench scripts import their neighbour servers.py
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while being made
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def load() -> ModuleType:
    return _bench_module("load")


@pytest.fixture(scope="module")
def clicks(load: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[int, bytes]:
    """The load's step-through, steps 1 to 3, as gzipped htmx clicks of one learner."""
    folder = tmp_path_factory.mktemp("bench")
    app = create_app({"TESTING": True, "SECRET_KEY": "s", "TUTOR_DATABASE": str(folder / "p.sqlite3")})
    client = app.test_client()
    plan = load.plan()
    assert client.get(f"{plan.base}?step=0").status_code == 200
    headers = {"HX-Request": "true", "Accept-Encoding": "gzip"}
    sent = {step: client.get(f"{plan.base}?step={step}", headers=headers) for step in (1, 2, 3)}
    assert all(r.status_code == 200 and r.headers["Content-Encoding"] == "gzip" for r in sent.values())
    return {step: r.data for step, r in sent.items()}


def test_a_click_is_right_only_for_its_own_step(load: ModuleType, clicks: dict[int, bytes]) -> None:
    count = load.plan().count
    assert load._click_ok(clicks[2], True, 2, count)
    assert load._click_ok(clicks[2], True, 2, count)  # the remembered verdict, the same
    assert not load._click_ok(clicks[3], True, 2, count)  # shows row 3: a step too far
    assert not load._click_ok(clicks[1], True, 2, count)  # lacks row 2
    assert not load._click_ok(clicks[2], True, 3, count)  # the same bytes asked as another step
    plain = gzip.decompress(clicks[2])
    assert load._click_ok(plain, False, 2, count) and not load._click_ok(plain, False, 1, count)


def test_a_remembered_verdict_is_for_those_exact_bytes(load: ModuleType, clicks: dict[int, bytes]) -> None:
    count = load.plan().count
    assert load._click_ok(clicks[2], True, 2, count)
    broken = gzip.compress(gzip.decompress(clicks[2]).replace(b"Step 2 of", b"Step 9 of"))
    assert not load._click_ok(broken, True, 2, count)


def test_learners_start_up_to_a_session_apart_and_the_same_in_both_apps(load: ModuleType) -> None:
    """In step, 100 learners' full pages arrive as one burst every 11 requests: the start staggers them."""
    offsets = load.start_offsets(100, 11, seed=0)
    assert len(offsets) == 100 and all(0 <= extra < 11 for extra in offsets)
    assert len(set(offsets)) >= 8  # spread over the phases of a session, not bunched
    assert load.start_offsets(100, 11, seed=0) == offsets  # a round's hello-world learners get the same counts
    assert load.start_offsets(100, 11, seed=1) != offsets
    assert load.start_offsets(100, 11, seed=0, lockstep=True) == [0] * 100


def test_a_staggered_learner_clicks_step_1_first_then_runs_its_session_with_every_answer_checked(
    load: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One learner of the load, its connection replaced by Flask's test client: what it sends, and no error."""
    app = create_app({"TESTING": True, "SECRET_KEY": "s", "TUTOR_DATABASE": str(tmp_path / "p.sqlite3")})
    sent: list[tuple[str, str]] = []

    class ThroughTestClient:
        def __init__(self, port: int) -> None:
            self.client = app.test_client()  # keeps the learner's cookie, as the load's connection does
            self.retries = 0

        async def request(
            self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
        ) -> tuple[int, bytes, bool]:
            sent.append((method, path))
            answer = self.client.open(
                path, method=method, headers={**(headers or {}), "Accept-Encoding": "gzip"}, data=body
            )
            return answer.status_code, answer.data, answer.headers.get("Content-Encoding") == "gzip"

        async def close(self) -> None:
            return None

    monkeypatch.setattr(load, "Connection", ThroughTestClient)
    plan = load.plan()
    tally = load.Tally()
    learner = load.tutor_learner(0, plan, 1, time.monotonic() + 60, tally, offset=3)
    # An event loop of its own in a thread of its own, as bench/load.py has: the suite's browser tests
    # (Playwright's sync API) may leave one running in this thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, learner).result(timeout=120)
    assert tally.errors == []
    steps = [*range(1, load.FORWARD + 1), *range(load.FORWARD - 1, 2, -1)]
    assert sent == [
        *[("GET", f"{plan.base}?step=1")] * 3,
        ("GET", f"{plan.base}?step=0"),
        *[("GET", f"{plan.base}?step={step}") for step in steps],
        ("POST", f"/lessons/{load.LESSON}/quiz/answer"),
    ]
    assert tally.requests == len(sent) and sorted(tally.kinds) == ["full page", "quiz answer", "step click"]


SPINNER = """
import sys, threading, time

def spin(seconds=0.3):
    start = time.thread_time()
    while time.thread_time() - start < seconds:  # CPU time, not a pause: the thread is busy throughout
        pass

spin(0.6)  # the main thread's own work, as a worker's accept loop does
worker = threading.Thread(target=spin)
worker.start()
worker.join()  # ended: its time stays in the process's total only
worker = threading.Thread(target=lambda: (spin(), print("ready", flush=True), sys.stdin.read()))
worker.start()
worker.join()
"""


def test_the_server_cpu_split_counts_a_busy_thread_as_a_request_thread(load: ModuleType) -> None:
    """cpu_seconds on a small process of its own: a live thread other than the main one is a request thread.

    Its own process, not the test's: threads other tests started end at any time, taking their time
    out of the sum of live threads. Three spins: the main thread's (0.6 s), an ended thread's and a
    live thread's (0.3 s each); only the last is the request threads'.
    """
    child = subprocess.Popen([sys.executable, "-c", SPINNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"  # the second spinner, still alive
        total, threads = load.cpu_seconds(child.pid)
    finally:
        child.communicate("", timeout=30)
    # The clock tick is 10 ms, rounded per thread: 0.3 s of work shows as at least 0.25.
    assert 0.25 <= threads < 0.55  # the live spinner's, and not the main thread's too
    assert total - threads >= 0.8  # the main thread's and the ended spinner's (in the total only)


def test_a_paced_load_gives_no_throughput_verdict_and_a_closed_loop_does(load: ModuleType) -> None:
    """With --think the learners' pace sets both throughputs: the ratio then says nothing of capacity."""
    paced = dict(load.verdicts(1.5, 480.0, 478.0, 27.5, 0))
    throughput = "throughput at least half of hello-world's (medians)"
    assert paced[throughput].startswith("not measured")
    assert paced["p99 at most 50 ms (median of the rounds)"] == "met"
    assert paced["no error, no wrong page"] == "met"
    closed = dict(load.verdicts(0.0, 1094.0, 2889.0, 188.6, 2))
    assert closed[throughput] == "MISSED"
    assert closed["p99 at most 50 ms (median of the rounds)"] == "MISSED"
    assert closed["no error, no wrong page"] == "MISSED"
    assert dict(load.verdicts(0.0, 1500.0, 2900.0, 40.0, 0))[throughput] == "met"


def test_a_missed_p99_says_when_hello_world_misses_it_too(load: ModuleType) -> None:
    """In a closed loop the load sets the latency: the verdict stays MISSED and says hello-world's own p99."""
    p99 = "p99 at most 50 ms (median of the rounds)"
    both = dict(load.verdicts(0.0, 1283.0, 2755.0, 152.8, 0, 70.4))[p99]
    assert both == "MISSED (hello-world's own p99, 70 ms, misses it too under this load)"
    assert dict(load.verdicts(0.0, 1283.0, 2755.0, 152.8, 0, 31.0))[p99] == "MISSED"
    assert dict(load.verdicts(1.5, 480.0, 478.0, 41.4, 0, 9.0))[p99] == "met"


@pytest.mark.parametrize("what", ["check", "load"])
def test_the_instruction_count_child_checks_the_curriculum(what: str) -> None:
    """What bench/check_instructions.py runs under valgrind runs without it (valgrind is not in CI)."""
    counted = _bench_module("check_instructions")
    done = subprocess.run(
        [sys.executable, "-c", counted.CHILD, str(counted.ROOT / "lessons"), "1", what],
        capture_output=True,
        text=True,
        check=False,
        cwd=counted.ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_instructions_per_lesson_are_the_difference_of_three_passes_and_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    counted = _bench_module("check_instructions")
    lessons = len(list((counted.ROOT / "lessons").glob("*.yaml")))
    seen: list[list[str]] = []

    def valgrind(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        passes, what = int(argv[-2]), argv[-1]
        total = 5_000_000 + passes * lessons * (40_000_000 if what == "check" else 15_000_000)
        return subprocess.CompletedProcess(argv, 0, "", f"==1== Events    : Ir\n==1== Collected : {total}\n")

    monkeypatch.setattr(counted.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(counted.subprocess, "run", valgrind)
    counted.main()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("tutor check, whole: 40.0 million instructions per lesson")
    assert printed[1].startswith("loading alone (parse, schema, model): 15.0 million instructions per lesson")
    assert all(argv[:2] == ["valgrind", "--tool=callgrind"] for argv in seen) and len(seen) == 4
