"""N learners against tutor under gunicorn (real Redis, real PostgreSQL), beside a hello-world under the same.

    .venv/bin/python bench/load.py [--learners 100] [--sessions 3] [--rounds 3] [--seconds 120] \
        [--workers 3] [--threads 2] [--gunicorn ARG ...] [--think 0] [--lockstep] [--redis URL] [--database URL]

Each learner (one asyncio task, one keep-alive connection, its own cookie) opens a step-through as a
full page, steps forward and back with htmx clicks, and answers a quiz question, `--sessions` times.
Every response is checked: the status, and the content (the page or fragment shows "Step k of n"
with row k and without row k+1; the graded question says it is right). The hello-world run sends the
same number of requests per learner to Flask's hello-world (bench/hello_app.py) under the same gunicorn
command, and checks each body.

Both servers run side by side (idle when not loaded), and each is loaded `--rounds` times, in turn,
with new learners each round: a run disturbed by the machine (one hello-world run of a pair fell to
4,100 req/s against 7,700 in the other) then shows as one round, not as the verdict. The verdicts
take the medians of the rounds. For each round it prints throughput, p50/p95/p99 latency, errors,
and the gunicorn processes' CPU time per request (user + system, from /proc: what a request costs
the server whatever else the machine runs; in brackets the workers' request threads' part, which
parses the request, calls the app and sends the answer; the rest is gunicorn's accept and
keep-alive loop in each worker's main thread, and the master) of both, the CPU time per request of
PostgreSQL's processes and Redis (for tutor: what its store costs on the other side of the socket); then the
ratios. A throwaway redis-server and PostgreSQL (fsync off, tests/pg_cluster.py) are started on
free loopback ports unless --redis / --database name existing ones. The load generator runs on the
same machine as the servers and takes CPU from them (as it does from the hello-world): read the
ratio, not the absolute figures.

With the default --think 0 every learner sends its next request as soon as the last one is answered:
a closed loop that measures the most the server can serve, where any server's latency is about
learners / throughput (hello-world's too). --think T pauses each learner 0..2T seconds before each
request, as a reader does, and shows the latency at that pace; the learners' pace then sets both
servers' throughput, so no throughput verdict is given (`--learners 1000 --think 1.5 --rounds 1`:
a class of a thousand, each learner sending a request every 0 to 3 s).

The learners do not move in step: each starts with 0 to 10 clicks at step 1 before its first
session (checked as every click is; a seeded draw per round, the same counts for the hello-world's
learners, which send as many more requests). Started together with the same script and no pause,
100 learners otherwise stay in phase, so their full pages (the heaviest request) arrive as one burst
every 11 requests. Measured on the 2-core machine (2026-12-01, nine rounds in step, six staggered,
with 3 and 20 sessions): in step, a page's p50 was 106 to 193 ms against 38 to 59 ms for a click in
the same rounds, and tutor's p99 166 to 256 ms; staggered, a page's p50 was 60 to 80 ms (a click's
54 to 71 ms) and p99 138 to 197 ms. Real learners do not pace themselves in step. --lockstep keeps
them in step (no extra clicks), as this script did before.

The default gunicorn setting, 3 workers x 2 threads with --reuse-port (see SERVER_ARGS), served
tutor best of those tried on the 2-core machine (README, Deploying, has the others and their
ratios); --gunicorn adds arguments to both servers' command line (--gunicorn=--worker-class=sync
--threads 1 tries the sync worker). The load generator is one asyncio process; its CPU per request
is printed beside the server's: it takes its share of the same 2 cores, more of it beside tutor,
whose pages it decompresses and searches (a click's verdict is remembered by the body's exact bytes,
which every learner is sent).

Targets (issue 12): at least half of hello-world's throughput, p99 at most 50 ms, no error, no wrong page.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import html
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from servers import ROOT, free_port, postgres_server, redis_server, wait_for_port

from tutor.loader import load_file

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections
# over them. Without it the workers accept from one shared socket, and whichever is awake takes what
# is queued: in three hello-world runs of four, one worker took all 100 learners' connections and
# served alone (3,800 to 3,900 req/s, against 7,000 to 8,200 with both), so the ratio measured the
# accept race, not the apps.
SERVER_ARGS = ["--reuse-port"]
LESSON = "async-flask"
FORWARD = 6  # steps 1..6 forward, then back to 3: before the prediction that holds step 8 of async-flask


@dataclass
class Tally:
    """What one run saw."""

    latencies: list[float] = field(default_factory=list)
    kinds: dict[str, list[float]] = field(default_factory=dict)  # the same latencies by kind of request
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    think: float = 0.0  # mean pause before each request, seconds (0: as fast as the server answers)
    retries: int = 0  # requests resent on a fresh connection after a kept-alive one was closed under them


class Connection:
    """A minimal HTTP/1.1 keep-alive client: one learner's connection and cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.retries = 0
        self.answered = False  # whether any byte of the current answer has arrived

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes, bool]:
        """Send one request; the status, the body as sent, and whether it is gzipped.

        A kept-alive connection the server closed meanwhile is reopened once.

        As browsers and urllib3 do: gunicorn closes idle keep-alive connections (after 2 s), and a
        request sent at that moment is met by a reset before any byte of an answer.
        """
        reused = self.writer is not None
        try:
            return await self._request(method, path, headers, body)
        except (ConnectionError, asyncio.IncompleteReadError):
            if not reused or self.answered:
                raise
        await self.close()
        self.retries += 1
        return await self._request(method, path, headers, body)

    async def _request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes, bool]:
        self.answered = False
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        lines.append("Accept-Encoding: gzip")  # as every browser sends it
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")  # the whole head in one read: a lean client
        except asyncio.IncompleteReadError as error:
            if not error.partial:
                raise ConnectionError("the server closed the connection") from error
            raise
        self.answered = True
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        length, close, gzipped = 0, False, False
        for line in lines:
            name, _, value = line.partition(":")
            name, value = name.lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "content-encoding":
                gzipped = value.lower() == "gzip"
        data = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data, gzipped

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def _body(data: bytes, gzipped: bool) -> bytes:
    """The body as the server meant it; searched as bytes (the markers are ASCII), never decoded."""
    return gzip.decompress(data) if gzipped else data


# The verdict on each click's body, by its exact bytes: every learner is sent the same bytes for a
# step (a kept fragment), and decompressing and searching them again for each click cost the load
# generator about 0.03 ms of the 2 cores it shares with the server per click. Identical bytes get
# the identical verdict, so every response is still checked.
_CLICK_VERDICTS: dict[tuple[bytes, bool, int], bool] = {}
_VERDICTS_KEPT = 10_000


def _click_ok(data: bytes, gzipped: bool, step: int, count: int) -> bool:
    key = (data, gzipped, step)
    verdict = _CLICK_VERDICTS.get(key)
    if verdict is None:
        verdict = _step_ok(_body(data, gzipped), step, count)
        if len(_CLICK_VERDICTS) >= _VERDICTS_KEPT:
            _CLICK_VERDICTS.clear()
        _CLICK_VERDICTS[key] = verdict
    return verdict


def _step_ok(body: bytes, step: int, count: int) -> bool:
    return (
        f"<strong>Step {step} of {count}</strong>".encode() in body
        and (step == 0 or f'id="row-{step}"'.encode() in body)
        and f'id="row-{step + 1}"'.encode() not in body
    )


async def _timed(tally: Tally, conn: Connection, method: str, path: str, **kwargs: object) -> tuple[int, bytes, bool]:
    if tally.think:
        await asyncio.sleep(random.uniform(0, 2 * tally.think))  # a learner reading: not part of the latency
    start = time.perf_counter()
    try:
        status, body, gzipped = await conn.request(method, path, **kwargs)  # type: ignore[arg-type]
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
        tally.errors.append(f"{method} {path}: {error!r}")
        await conn.close()
        return 0, b"", False
    elapsed = time.perf_counter() - start
    tally.latencies.append(elapsed)
    kind = "quiz answer" if method == "POST" else "step click" if kwargs.get("headers") else "full page"
    tally.kinds.setdefault(kind if "step" in path or method == "POST" else "hello", []).append(elapsed)
    tally.requests += 1
    if status >= 400:
        tally.errors.append(f"{method} {path}: HTTP {status}")
    return status, body, gzipped


@dataclass(frozen=True)
class Plan:
    """The walk and quiz question every learner uses, read from the lesson file."""

    base: str
    count: int
    quiz: str
    question: int
    right: int


def plan() -> Plan:
    lesson = load_file(ROOT / "lessons" / f"{LESSON}.yaml").lesson
    assert lesson is not None
    walk = lesson.step_throughs[0]
    question = next(q for q in walk.quiz if not q.ask_before_step and not q.multiple)
    right = next(i for i, c in enumerate(question.choices) if c.correct)
    return Plan(f"/lessons/{LESSON}/step-through", len(walk.steps), f"step-through:{walk.slug}", question.number, right)


def start_offsets(learners: int, per_session: int, seed: int, lockstep: bool = False) -> list[int]:
    """Each learner's extra clicks at step 1 before the first session: 0 to per_session - 1, drawn by seed.

    The same seed (a round's number) gives the same counts, so tutor's and hello-world's learners
    of a round send as many requests; --lockstep gives none, and the learners move in step.
    """
    draw = random.Random(seed)
    return [0 if lockstep else draw.randrange(per_session) for _ in range(learners)]


async def tutor_learner(port: int, p: Plan, sessions: int, deadline: float, tally: Tally, offset: int = 0) -> None:
    """`sessions` walk-and-quiz sessions, after `offset` clicks at step 1 (see the module's docstring)."""
    conn = Connection(port)
    click = {"HX-Request": "true"}
    try:
        for _ in range(offset):  # the first one makes the learner (and their cookie), as a page would
            status, data, gzipped = await _timed(tally, conn, "GET", f"{p.base}?step=1", headers=click)
            if status == 200 and not _click_ok(data, gzipped, 1, p.count):
                tally.errors.append("wrong fragment for step 1")
        for _ in range(sessions):
            if time.monotonic() > deadline:
                return
            status, data, gzipped = await _timed(tally, conn, "GET", f"{p.base}?step=0")
            page = _body(data, gzipped)
            if status != 200 or not _step_ok(page, 0, p.count):
                tally.errors.append(f"wrong page at step 0 (HTTP {status})")
                continue
            token = re.search(rb'name="csrf" value="([^"]*)"', page)
            if token is None:
                tally.errors.append("no CSRF token on the page")
                continue
            csrf = html.unescape(token.group(1).decode())
            for step in [*range(1, FORWARD + 1), *range(FORWARD - 1, 2, -1)]:
                status, data, gzipped = await _timed(tally, conn, "GET", f"{p.base}?step={step}", headers=click)
                if status == 200 and not _click_ok(data, gzipped, step, p.count):
                    tally.errors.append(f"wrong fragment for step {step}")
            form = (
                f"csrf={_quote(csrf)}&quiz={_quote(p.quiz)}&question={p.question}&place=mode&choice={p.right}"
            ).encode()
            headers = {**click, "Content-Type": "application/x-www-form-urlencoded"}
            status, data, gzipped = await _timed(
                tally, conn, "POST", f"/lessons/{LESSON}/quiz/answer", headers=headers, body=form
            )
            if status == 200 and b"is-right" not in _body(data, gzipped):
                tally.errors.append("the right answer was not graded right")
    finally:
        tally.retries += conn.retries
        await conn.close()


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def hello_learner(port: int, requests: int, deadline: float, tally: Tally) -> None:
    conn = Connection(port)
    try:
        for _ in range(requests):
            if time.monotonic() > deadline:
                return
            status, data, gzipped = await _timed(tally, conn, "GET", "/")
            if status == 200 and _body(data, gzipped) != b"Hello, World!":
                tally.errors.append("wrong hello-world body")
    finally:
        tally.retries += conn.retries
        await conn.close()


async def _run_all(make: list[object]) -> float:
    start = time.perf_counter()
    await asyncio.gather(*make)  # type: ignore[arg-type]
    return time.perf_counter() - start


@contextlib.contextmanager
def gunicorn(app: str, args: argparse.Namespace, env: dict[str, str], cwd: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="tutor-gunicorn-", suffix=".log", delete=False)
    command = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--threads", str(args.threads)]
    command += [*SERVER_ARGS, *args.gunicorn, "--bind", f"127.0.0.1:{port}", app]
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=log)
    try:
        wait_for_port(port, process, seconds=60)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        text = Path(log.name).read_text(errors="replace")
        if "Traceback" in text:
            print(f"(gunicorn log {log.name} holds a traceback)")


def report(label: str, run: Run) -> None:
    tally = run.tally
    ordered = sorted(tally.latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

    per = 1000 / max(tally.requests, 1)
    print(
        f"  {label:12s} {tally.requests:7d} requests in {run.seconds:6.1f} s = {run.throughput:7.1f} req/s   "
        f"p50 {pct(0.50):7.1f} ms  p95 {pct(0.95):7.1f} ms  p99 {pct(0.99):7.1f} ms  "
        f"mean {statistics.mean(ordered) * 1000:6.1f} ms  errors {len(tally.errors)}  "
        f"CPU per request: server {run.server_cpu * per:.2f} ms (request threads {run.request_threads_cpu * per:.2f}), "
        f"load generator {run.client_cpu * per:.2f} ms"
        + ("" if run.stores_cpu is None else f", PostgreSQL + Redis {run.stores_cpu * per:.2f} ms")
        + f"; resent after a keep-alive close: {tally.retries}"
    )
    if len(tally.kinds) > 1:
        for kind, times in sorted(tally.kinds.items()):
            times = sorted(times)
            print(
                f"      {kind:12s} {len(times):6d}  p50 {times[len(times) // 2] * 1000:7.1f} ms  "
                f"p99 {times[min(len(times) - 1, int(len(times) * 0.99))] * 1000:7.1f} ms"
            )
    for error in sorted(set(tally.errors))[:5]:
        print(f"      e.g. {error}")


async def warm(port: int, p: Plan, args: argparse.Namespace) -> None:
    """Sessions in parallel first, so every worker has parsed the lessons and run the walk before timing."""
    count = 4 * args.workers * args.threads
    await asyncio.gather(*(tutor_learner(port, p, 1, time.monotonic() + 120, Tally()) for _ in range(count)))


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU seconds of gunicorn's master and its workers; and of those, the request threads'.

    A gthread worker's main thread accepts connections and watches the kept-alive ones; its pool's
    threads parse each request, call the app and send the answer. Whatever a worker's threads other
    than its main one spend is counted as the request threads' (a sync worker has none).
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = threads = 0.0

    def seconds(stat: Path) -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *(int(c) for c in children.read_text().split())] if children.exists() else [pid]
    for one in pids:
        with contextlib.suppress(OSError):
            total += seconds(Path(f"/proc/{one}/stat"))  # every thread's, ended ones' included
            threads += sum(
                seconds(task / "stat") for task in Path(f"/proc/{one}/task").iterdir() if task.name != str(one)
            )
    return total, threads


def store_cpu_seconds(database_url: str, redis_url: str) -> float | None:
    """User + system CPU seconds of PostgreSQL's processes (postmaster and backends) and of redis-server.

    Read from /proc for PostgreSQL (its data directory's postmaster.pid: needs the cluster on this
    machine and a role that may read data_directory) and from INFO cpu for Redis; None if either is out of reach.
    """
    import redis
    import sqlalchemy

    from tutor import db

    try:
        engine = sqlalchemy.create_engine(db.normalise_url(database_url), poolclass=sqlalchemy.NullPool)
        with engine.connect() as connection:
            data = connection.execute(sqlalchemy.text("SHOW data_directory")).scalar_one()
        postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
        info = redis.Redis.from_url(redis_url).info("cpu")
    except (OSError, ValueError, sqlalchemy.exc.SQLAlchemyError, redis.RedisError):
        return None
    return cpu_seconds(postmaster)[0] + float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=3, help="walk-and-quiz sessions per learner")
    parser.add_argument("--seconds", type=float, default=120, help="stop starting new sessions after this")
    parser.add_argument("--think", type=float, default=0.0, help="mean pause before each request (seconds)")
    parser.add_argument("--lockstep", action="store_true", help="no extra clicks at the start: learners in step")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--gunicorn", action="append", default=[], help="one more gunicorn argument for both servers (repeatable)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed loads of each app, in turn")
    parser.add_argument("--redis", help="an existing Redis (else a throwaway redis-server)")
    parser.add_argument("--database", help="an existing PostgreSQL URL (else a throwaway cluster)")
    args = parser.parse_args()
    # A kill (SIGTERM) unwinds the `with` blocks below, so gunicorn, redis-server and PostgreSQL stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = plan()
    per_session = 1 + FORWARD + (FORWARD - 3) + 1
    with contextlib.ExitStack() as stack:
        redis_url = args.redis or stack.enter_context(redis_server())
        database_url = args.database or stack.enter_context(postgres_server())
        instance = Path(tempfile.mkdtemp(prefix="tutor-load-instance-"))
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "TUTOR_SECRET_KEY": "load-benchmark",
            "TUTOR_LESSONS": str(ROOT / "lessons"),
            "TUTOR_INSTANCE_PATH": str(instance),
        }
        print(
            f"{args.learners} learners x {args.sessions} sessions ({per_session} requests each: a page, "
            f"{FORWARD} steps forward, {FORWARD - 3} back, a quiz answer); gunicorn --workers {args.workers} "
            f"--threads {args.threads} {' '.join([*SERVER_ARGS, *args.gunicorn])}; {os.cpu_count()} cores; "
            "real redis-server and PostgreSQL; "
            f"think time {args.think} s (0: a closed loop, latency = learners / throughput); "
            + ("learners in step" if args.lockstep else f"learners staggered by 0 to {per_session - 1} extra clicks")
        )
        tutor_runs: list[Run] = []
        hello_runs: list[Run] = []
        with (
            gunicorn("tutor:create_app()", args, env, ROOT) as (tutor_port, tutor_pid),
            gunicorn("hello_app:app", args, env, ROOT / "bench") as (hello_port, hello_pid),
        ):
            asyncio.run(warm(tutor_port, p, args))
            asyncio.run(_run_all([hello_learner(hello_port, 20, time.monotonic() + 60, Tally()) for _ in range(8)]))
            for number in range(args.rounds):  # in turn, so a disturbance of the machine does not fall on one app only
                offsets = start_offsets(args.learners, per_session, number, args.lockstep)
                tally = Tally(think=args.think)
                deadline = time.monotonic() + args.seconds
                learners = [tutor_learner(tutor_port, p, args.sessions, deadline, tally, extra) for extra in offsets]
                tutor_runs.append(_measure(tally, learners, tutor_pid, (database_url, redis_url)))
                tally = Tally(think=args.think)
                deadline = time.monotonic() + args.seconds
                requests = args.sessions * per_session
                hellos = [hello_learner(hello_port, requests + extra, deadline, tally) for extra in offsets]
                hello_runs.append(_measure(tally, hellos, hello_pid, None))
    for number, (ours, theirs) in enumerate(zip(tutor_runs, hello_runs, strict=True), 1):
        print(f"round {number}:")
        report("tutor", ours)
        report("hello-world", theirs)
    ratios = sorted(ours.throughput / theirs.throughput for ours, theirs in zip(tutor_runs, hello_runs, strict=True))
    ours_median = statistics.median(run.throughput for run in tutor_runs)
    theirs_median = statistics.median(run.throughput for run in hello_runs)
    p99 = statistics.median(run.p99 for run in tutor_runs)
    hello_p99 = statistics.median(run.p99 for run in hello_runs)
    print(
        f"tutor / hello-world throughput: {ours_median / theirs_median:.2f} (medians of {args.rounds} rounds: "
        f"{ours_median:.0f} / {theirs_median:.0f} req/s; round by round {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"best / best {max(r.throughput for r in tutor_runs) / max(r.throughput for r in hello_runs):.2f}) "
        + ("(set by the learners' pace: not a capacity figure)" if args.think > 0 else "(target >= 0.5)")
    )
    print(
        f"tutor p99, median of the rounds: {p99:.1f} ms (target <= 50); hello-world's: {hello_p99:.1f} ms"
        + (
            ""
            if args.think > 0
            else f"; in a closed loop the mean is learners / throughput: {args.learners} / "
            f"{ours_median:.0f} req/s = {1000 * args.learners / ours_median:.0f} ms for tutor, "
            f"{1000 * args.learners / theirs_median:.0f} ms for hello-world"
        )
    )
    errors = sum(len(run.tally.errors) for run in [*tutor_runs, *hello_runs])
    for name, said in verdicts(args.think, ours_median, theirs_median, p99, errors, hello_p99):
        print(f"target {name}: {said}")


def verdicts(
    think: float, ours: float, theirs: float, p99: float, errors: int, hello_p99: float | None = None
) -> list[tuple[str, str]]:
    """Each target and what this run says of it: met, MISSED, or why this run cannot tell.

    With a think time the learners' pace sets both servers' throughput (each serves what its
    learners ask, as long as it can), so the ratio is not a measure of what either can serve: only
    a closed loop (--think 0) measures that. The p99 and the errors are verdicts either way; a
    missed p99 says so when hello-world's own p99, under the same server and load, misses it too:
    then the load sets it more than the app does (in a closed loop the mean latency of any server
    is learners / throughput, Little's law), and an app that serves fewer requests a second than
    hello-world has the longer mean latency of the two.
    """
    if think > 0:
        throughput = "not measured by this run (with --think the learners' pace sets the throughput; run --think 0)"
    else:
        throughput = "met" if ours >= theirs / 2 else "MISSED"
    latency = "met" if p99 <= 50 else "MISSED"
    if latency == "MISSED" and hello_p99 is not None and hello_p99 > 50:
        latency += f" (hello-world's own p99, {hello_p99:.0f} ms, misses it too under this load)"
    return [
        ("throughput at least half of hello-world's (medians)", throughput),
        ("p99 at most 50 ms (median of the rounds)", latency),
        ("no error, no wrong page", "met" if errors == 0 else "MISSED"),
    ]


@dataclass
class Run:
    """One timed load on one server: what the learners saw and what it cost the machine."""

    tally: Tally
    seconds: float
    server_cpu: float
    client_cpu: float
    stores_cpu: float | None
    request_threads_cpu: float = 0.0  # the part of server_cpu spent by the workers' request threads

    @property
    def throughput(self) -> float:
        return self.tally.requests / self.seconds

    @property
    def p99(self) -> float:
        ordered = sorted(self.tally.latencies) or [0.0]
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _measure(tally: Tally, learners: list[object], pid: int, stores: tuple[str, str] | None) -> Run:
    """Run the learners against the server `pid`; the CPU of its processes, of this one and of the stores."""
    (cpu, in_threads), own = cpu_seconds(pid), time.process_time()
    stores_before = store_cpu_seconds(*stores) if stores else None
    seconds = asyncio.run(_run_all(learners))
    (cpu_after, in_threads_after), client = cpu_seconds(pid), time.process_time() - own
    stores_after = store_cpu_seconds(*stores) if stores else None
    used = None if stores_before is None or stores_after is None else stores_after - stores_before
    return Run(tally, seconds, cpu_after - cpu, client, used, in_threads_after - in_threads)


if __name__ == "__main__":
    main()
